"""The CUDA backend (PyCUDA kernels, cuBLAS matmuls); see ``docs/gpu.md``.

Importing this package never imports PyCUDA: :func:`cuda_status` says whether a
GPU is usable and, if not, what is missing.
"""

from volta_core.backends.cuda.driver import CudaUnavailable, cuda_status

__all__ = ["CudaUnavailable", "cuda_status"]
