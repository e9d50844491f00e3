"""The CUDA device: PyCUDA import, context, compiled kernels, stream and cuBLAS.

Nothing here imports PyCUDA at module import time; :func:`cuda_status` says
what is missing (PyCUDA, the driver, a device) without raising, and
:func:`device` builds the process-wide :class:`Device` on first use.
"""

from __future__ import annotations

import atexit
import os
from functools import cache
from importlib import resources
from typing import Any

WORKSPACE_BYTES = 32 << 20  # cuBLAS' recommended workspace on Hopper
NVCC_OPTIONS = ["-std=c++17", "-fmad=false", "-O3"]


class CudaUnavailable(RuntimeError):
    """No usable CUDA device; the message names what is missing."""


class KernelError(RuntimeError):
    """A kernel flagged bad data (an index out of range); the message names the op."""


@cache
def cuda_status() -> str | None:
    """None when a CUDA device is usable, else what is missing (PyCUDA, the driver, a device)."""
    try:
        import pycuda  # noqa: F401
    except ImportError:
        return "PyCUDA is not installed (pip install 'volta-lang[cuda]')"
    try:
        import pycuda.driver as drv
    except ImportError as err:  # libcuda.so is missing: PyCUDA's extension cannot load
        return f"the NVIDIA driver could not be loaded ({err})"
    try:
        drv.init()
        count = drv.Device.count()
    except Exception as err:  # pycuda.driver.Error and friends: no driver, driver too old, no device
        return f"CUDA could not start ({err})"
    if count == 0:
        return "CUDA found no GPU"
    return None


def kernel_source() -> str:
    return resources.files("volta_core.backends.cuda").joinpath("cu").joinpath("volta.cu").read_text(encoding="utf-8")


class Device:
    """Device 0's primary context, the compiled kernel module, one stream and one cuBLAS handle.

    Everything Volta runs goes on this one stream, in plan order: with no
    concurrency and no atomics (strict mode), results are bitwise repeatable.
    """

    def __init__(self) -> None:
        missing = cuda_status()
        if missing is not None:
            raise CudaUnavailable(missing)
        import pycuda.driver as drv
        from pycuda.compiler import SourceModule

        from volta_core.backends.cuda import cublas

        if os.environ.get("NVIDIA_TF32_OVERRIDE") == "1":
            raise CudaUnavailable("NVIDIA_TF32_OVERRIDE=1 forces TF32 matmuls, which strict determinism forbids; unset it")
        self.drv = drv
        self.dev = drv.Device(0)
        self.name = str(self.dev.name())
        self.ctx = self.dev.retain_primary_context()
        self.ctx.push()
        atexit.register(self.close)
        self.module = SourceModule(kernel_source(), no_extern_c=True, options=list(NVCC_OPTIONS))
        self.stream = drv.Stream()
        self._functions: dict[str, Any] = {}
        self.workspace = drv.mem_alloc(WORKSPACE_BYTES)
        self.cublas_lib = cublas.load()
        self.blas = cublas.Handle(self.cublas_lib, self.stream.handle, int(self.workspace), WORKSPACE_BYTES, tf32=False)
        self.tf32 = False

    def function(self, name: str) -> Any:
        fn = self._functions.get(name)
        if fn is None:
            fn = self._functions[name] = self.module.get_function(name)
        return fn

    def set_tf32(self, on: bool) -> None:
        if on != self.tf32:
            self.blas.set_tf32(on)
            self.tf32 = on

    def synchronize(self) -> None:
        self.stream.synchronize()

    def close(self) -> None:
        ctx = getattr(self, "ctx", None)
        if ctx is None:
            return
        try:
            self.blas.destroy()
            ctx.pop()
        except Exception:  # interpreter shutdown: the driver may already be gone
            pass
        self.ctx = None


def gpu_failure(exc: BaseException) -> str | None:
    """A one-line message if ``exc`` came from the GPU stack (PyCUDA, nvcc, cuBLAS, a kernel's
    error flag), else None."""
    from volta_core.backends.cuda.cublas import CublasError

    module = type(exc).__module__ or ""
    if isinstance(exc, CudaUnavailable | CublasError | KernelError) or module.startswith("pycuda"):
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"{type(exc).__name__}: {first}" if module.startswith("pycuda") else first
    return None


_DEVICE: Device | None = None


def device() -> Device:
    """The process-wide device (created on first use); raises :class:`CudaUnavailable`."""
    global _DEVICE
    if _DEVICE is None:
        _DEVICE = Device()
    return _DEVICE
