"""A stand-in for the CUDA device, so plan preparation runs (and is tested) without a GPU.

It records every launch and copy instead of doing it, and refuses a kernel
name that ``cu/volta.cu`` does not define.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from types import SimpleNamespace
from typing import Any

from volta_core.backends.cuda.driver import kernel_source


def kernel_names() -> set[str] | None:
    """The extern "C" kernels volta.cu instantiates (via the C preprocessor), or None without g++."""
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        return None
    src = kernel_source()
    # CUDA's qualifiers and built-ins mean nothing to the host preprocessor; only the names matter
    pre = "#define __global__\n#define __device__\n#define __forceinline__\n#define __restrict__\n" \
          "#define __shared__\n#define __align__(x)\n"
    proc = subprocess.run([cxx, "-std=c++17", "-E", "-P", "-x", "c++", "-"], input=pre + src, text=True,
                          capture_output=True, check=True)
    return set(re.findall(r'extern "C"\s+void\s+(\w+)\s*\(', proc.stdout))


class FakeAlloc:
    def __init__(self, base: int, size: int) -> None:
        self.base, self.size = base, size

    def __int__(self) -> int:
        return self.base

    def free(self) -> None:
        pass


class FakeDrv:
    def __init__(self, log: list[tuple[Any, ...]]) -> None:
        self.log = log
        self.next = 1 << 32

    def mem_alloc(self, size: int) -> FakeAlloc:
        a = FakeAlloc(self.next, size)
        self.next += (size + 4095) // 4096 * 4096 + 4096
        return a

    def __getattr__(self, name: str) -> Any:  # memset_d8, memcpy_htod, ... are recorded
        return lambda *args: self.log.append((name, *args))


class FakeFunction:
    def __init__(self, name: str, log: list[tuple[Any, ...]]) -> None:
        self.name, self.log = name, log

    def _launch_kernel(self, grid: tuple[int, ...], block: tuple[int, ...], buf: bytes, shared: int, stream: Any) -> None:
        self.log.append(("launch", self.name, grid, block, buf, shared))


class FakeCublas:
    def __init__(self, log: list[tuple[Any, ...]]) -> None:
        self.log = log

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any) -> int:
            self.log.append((name, *args))
            return 0

        call.__name__ = name
        return call


class FakeDevice:
    def __init__(self, names: set[str] | None) -> None:
        self.log: list[tuple[Any, ...]] = []
        self.names = names
        self.drv = FakeDrv(self.log)
        self.stream = SimpleNamespace(handle=0)
        self.cublas_lib = FakeCublas(self.log)
        self.blas = SimpleNamespace(handle=None)
        self.requested: set[str] = set()

    def function(self, name: str) -> FakeFunction:
        if self.names is not None and name not in self.names:
            raise AssertionError(f"volta.cu defines no kernel {name!r}")
        self.requested.add(name)
        return FakeFunction(name, self.log)

    def synchronize(self) -> None:
        pass

    def set_tf32(self, on: bool) -> None:
        pass
