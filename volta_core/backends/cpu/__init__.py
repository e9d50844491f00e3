"""NumPy CPU backend: importing it registers its kernels with the op registry."""

from volta_core.backends.cpu.executor import CpuExecutor
from volta_core.backends.cpu.kernels import register

register()

__all__ = ["CpuExecutor", "register"]
