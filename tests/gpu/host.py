"""volta.cu compiled for the host, and a stand-in device that runs plans with it (no GPU needed).

Every kernel becomes a plain C++ function (``g++ -ffp-contract=off``, so no
fused multiply-adds, as nvcc's ``-fmad=false``). A launch calls it once with
``blockIdx = threadIdx = 0`` and ``blockDim = gridDim = 1``: the grid-stride
loops then visit every element in order and the block-tree reductions reduce
to a sequential sum. Device memory is host memory, and cuBLAS GEMMs run in
NumPy. What this checks: the kernels' arithmetic and indexing and the
builders' arguments, metadata, workspace offsets and GEMM strides, end to end
through :class:`CudaExecutor`. What it cannot check: anything about real
threads (races, block sizes, shared memory), the GPU's math library, cuBLAS.
"""

from __future__ import annotations

import ctypes
import shutil
import struct
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from volta_core.backends.cuda.driver import kernel_source
from volta_core.backends.cuda.kernels import SIGNATURES

PRELUDE = r"""
#include <math.h>
#include <string.h>
#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__
#define __align__(x)
struct HostDim { long long x, y, z; };
static const HostDim threadIdx{0, 0, 0}, blockIdx{0, 0, 0}, blockDim{1, 1, 1}, gridDim{1, 1, 1};
static inline void __syncthreads() {}
static inline float __int_as_float(int v) { float f; memcpy(&f, &v, 4); return f; }
static inline double __longlong_as_double(long long v) { double d; memcpy(&d, &v, 8); return d; }
template <typename T> static inline T atomicAdd(T* p, T v) { const T old = *p; *p = old + v; return old; }
static inline long long min(long long a, long long b) { return a < b ? a : b; }
static inline long long max(long long a, long long b) { return a > b ? a : b; }
extern "C" { unsigned char smem[1 << 20]; }  // every kernel's dynamic shared memory
"""

_CTYPES = {"q": ctypes.c_longlong, "i": ctypes.c_int, "d": ctypes.c_double, "f": ctypes.c_float, "P": ctypes.c_void_p}


def build_library(folder: Path) -> ctypes.CDLL | None:
    """Compile volta.cu for the host; None without a C++ compiler."""
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        return None
    src = folder / "volta_host.cpp"
    src.write_text(PRELUDE + kernel_source(), encoding="utf-8")
    lib = folder / "libvolta_host.so"
    subprocess.run([cxx, "-std=c++17", "-O1", "-ffp-contract=off", "-fPIC", "-shared", "-w", "-o", str(lib), str(src)],
                   check=True, capture_output=True, text=True, timeout=600)
    return ctypes.CDLL(str(lib))


def kernel_signature(name: str) -> str:
    """The argument format of kernel ``name`` (``binary_f32`` -> SIGNATURES["binary"], {T} resolved)."""
    kind = max((k for k in SIGNATURES if name == k or name.startswith(k + "_")), key=len)
    return SIGNATURES[kind].replace("{T}", "d" if "f64" in name.split("_") else "f")


class HostFunction:
    def __init__(self, lib: ctypes.CDLL, name: str, log: list[str]) -> None:
        self.fn = getattr(lib, name)
        self.name, self.log = name, log
        self.fmt = kernel_signature(name)
        self.fn.argtypes = [_CTYPES[c] for c in self.fmt]
        self.fn.restype = None

    def _launch_kernel(self, grid: tuple[int, ...], block: tuple[int, ...], buf: bytes, shared: int, stream: Any) -> None:
        self.log.append(self.name)
        self.fn(*struct.unpack("@" + self.fmt, buf))


class HostAlloc:
    def __init__(self, size: int) -> None:
        self.buf = np.zeros(max(size, 1), np.uint8)

    def __int__(self) -> int:
        return int(self.buf.ctypes.data)

    def free(self) -> None:
        pass


class HostDrv:
    """PyCUDA's driver calls the executor makes, on host memory."""

    def __init__(self) -> None:
        self.allocs: list[HostAlloc] = []

    def mem_alloc(self, size: int) -> HostAlloc:
        self.allocs.append(HostAlloc(size))
        return self.allocs[-1]

    def memset_d8(self, addr: int, value: int, n: int) -> None:
        ctypes.memset(addr, value, n)

    def memset_d8_async(self, addr: int, value: int, n: int, stream: Any) -> None:
        ctypes.memset(addr, value, n)

    def memcpy_htod(self, addr: int, array: np.ndarray) -> None:
        ctypes.memmove(addr, np.ascontiguousarray(array).ctypes.data, array.nbytes)

    def memcpy_htod_async(self, addr: int, array: np.ndarray, stream: Any) -> None:
        self.memcpy_htod(addr, array)

    def memcpy_dtod_async(self, dst: int, src: int, n: int, stream: Any) -> None:
        ctypes.memmove(dst, src, n)

    def memcpy_dtoh(self, array: np.ndarray, addr: int) -> None:
        ctypes.memmove(array.ctypes.data, addr, array.nbytes)

    def memcpy_dtoh_async(self, array: np.ndarray, addr: int, stream: Any) -> None:
        self.memcpy_dtoh(array, addr)


def _matrix(addr: int, dtype: type, rows: int, cols: int, ld: int) -> np.ndarray:
    """A column-major rows x cols matrix with leading dimension ld, as a NumPy view."""
    size = np.dtype(dtype).itemsize
    count = ld * (cols - 1) + rows
    flat = np.ctypeslib.as_array((ctypes.c_byte * (count * size)).from_address(addr)).view(dtype)
    return np.lib.stride_tricks.as_strided(flat, (rows, cols), (size, ld * size))


class HostCublas:
    """cublas{S,D}gemm_v2 and ...StridedBatched (column-major, as cuBLAS) computed with NumPy."""

    def __getattr__(self, name: str) -> Any:
        dtype = np.float64 if name.startswith("cublasD") else np.float32
        batched = name.endswith("StridedBatched")

        def call(*args: Any) -> int:
            if batched:
                (_, ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc, count) = args
            else:
                (_, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) = args
                sa = sb = sc = 0
                count = 1
            size = np.dtype(dtype).itemsize
            for i in range(count):
                pa, pb, pc = (p.value + i * s * size for p, s in ((a, sa), (b, sb), (c, sc)))
                opa = _matrix(pa, dtype, k, m, lda).T if ta else _matrix(pa, dtype, m, k, lda)
                opb = _matrix(pb, dtype, n, k, ldb).T if tb else _matrix(pb, dtype, k, n, ldb)
                out = _matrix(pc, dtype, m, n, ldc)
                out[...] = alpha._obj.value * (opa @ opb) + beta._obj.value * out
            return 0

        call.__name__ = name
        return call


class HostDevice:
    """Stands in for :class:`volta_core.backends.cuda.driver.Device`; ``launched`` names every kernel run."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self.lib = lib
        self.drv = HostDrv()
        self.stream = SimpleNamespace(handle=0)
        self.cublas_lib = HostCublas()
        self.blas = SimpleNamespace(handle=None)
        self.launched: list[str] = []

    def function(self, name: str) -> HostFunction:
        return HostFunction(self.lib, name, self.launched)

    def synchronize(self) -> None:
        pass

    def set_tf32(self, on: bool) -> None:
        pass
