"""cuBLAS through ctypes, on the device pointers of Volta's arena.

Only what the executor needs: a handle bound to Volta's stream and workspace,
the math mode, and (strided-batched) SGEMM/DGEMM. Matrices are row-major on
Volta's side; a row-major ``C = A @ B`` is the column-major ``C^T = B^T A^T``,
so every call passes B first.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import sys
from typing import Any

OP_N, OP_T = 0, 1
DEFAULT_MATH, TF32_TENSOR_OP_MATH = 0, 3
_STATUS = {
    1: "NOT_INITIALIZED", 3: "ALLOC_FAILED", 7: "INVALID_VALUE", 8: "ARCH_MISMATCH", 11: "MAPPING_ERROR",
    13: "EXECUTION_FAILED", 14: "INTERNAL_ERROR", 15: "NOT_SUPPORTED", 16: "LICENSE_ERROR",
}


class CublasError(RuntimeError):
    pass


def candidates() -> list[str]:
    """Where libcublas is looked for, in order: $VOLTA_CUBLAS, the loader's path, CUDA_HOME/CUDA_PATH,
    /usr/local/cuda, and the NVIDIA wheels (nvidia-cublas) in site-packages."""
    out: list[str] = []
    if os.environ.get("VOLTA_CUBLAS"):
        out.append(os.environ["VOLTA_CUBLAS"])
    found = ctypes.util.find_library("cublas")
    if found:
        out.append(found)
    roots = [os.environ.get(v, "") for v in ("CUDA_HOME", "CUDA_PATH")] + ["/usr/local/cuda"]
    for root in filter(None, roots):
        out.extend(sorted(glob.glob(os.path.join(root, "lib64", "libcublas.so*")), reverse=True))
    for site in sys.path:
        for sub in ("nvidia/cublas/lib", "nvidia/cu13/lib", "nvidia/cu12/lib"):
            out.extend(sorted(glob.glob(os.path.join(site, sub, "libcublas.so*")), reverse=True))
    return list(dict.fromkeys(out))


def load() -> ctypes.CDLL:
    tried = []
    for path in candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError as err:
            tried.append(f"{path}: {err}")
            continue
        _declare(lib)
        return lib
    where = "; ".join(tried) if tried else "no libcublas.so found"
    raise CublasError(f"cuBLAS could not be loaded ({where}); install the CUDA toolkit or `pip install nvidia-cublas`, "
                      "or set VOLTA_CUBLAS to the library's path")


def _declare(lib: ctypes.CDLL) -> None:
    vp, i, p = ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p
    ll = ctypes.c_longlong
    lib.cublasCreate_v2.argtypes = [ctypes.POINTER(vp)]
    lib.cublasDestroy_v2.argtypes = [vp]
    lib.cublasSetStream_v2.argtypes = [vp, vp]
    lib.cublasSetMathMode.argtypes = [vp, i]
    lib.cublasSetWorkspace_v2.argtypes = [vp, vp, ctypes.c_size_t]
    gemm: list[Any] = [vp, i, i, i, i, i, p, p, i, p, i, p, p, i]
    lib.cublasSgemm_v2.argtypes = gemm
    lib.cublasDgemm_v2.argtypes = gemm
    batched: list[Any] = [vp, i, i, i, i, i, p, p, i, ll, p, i, ll, p, p, i, ll, i]
    lib.cublasSgemmStridedBatched.argtypes = batched
    lib.cublasDgemmStridedBatched.argtypes = batched
    for name in ("cublasCreate_v2", "cublasDestroy_v2", "cublasSetStream_v2", "cublasSetMathMode",
                 "cublasSetWorkspace_v2", "cublasSgemm_v2", "cublasDgemm_v2", "cublasSgemmStridedBatched",
                 "cublasDgemmStridedBatched"):
        getattr(lib, name).restype = ctypes.c_int


def check(status: int, what: str) -> None:
    if status != 0:
        raise CublasError(f"{what} failed: CUBLAS_STATUS_{_STATUS.get(status, status)}")


class Handle:
    """A cuBLAS handle on one stream, with a fixed workspace and math mode."""

    def __init__(self, lib: ctypes.CDLL, stream_handle: int, workspace: int, workspace_bytes: int, tf32: bool) -> None:
        self.lib = lib
        h = ctypes.c_void_p()
        check(lib.cublasCreate_v2(ctypes.byref(h)), "cublasCreate")
        self.handle = h
        check(lib.cublasSetStream_v2(h, ctypes.c_void_p(stream_handle)), "cublasSetStream")
        # a fixed, caller-owned workspace: cuBLAS picks the same algorithms every run
        check(lib.cublasSetWorkspace_v2(h, ctypes.c_void_p(workspace), workspace_bytes), "cublasSetWorkspace")
        self.set_tf32(tf32)

    def set_tf32(self, tf32: bool) -> None:
        check(self.lib.cublasSetMathMode(self.handle, TF32_TENSOR_OP_MATH if tf32 else DEFAULT_MATH), "cublasSetMathMode")

    def destroy(self) -> None:
        if self.handle:
            self.lib.cublasDestroy_v2(self.handle)
            self.handle = ctypes.c_void_p()
