"""The one compiled part of Volta: the CPU backend's native convolution kernels.

Everything else is in pyproject.toml. The extension is optional: where it cannot be
built (no C compiler, not x86-64) the install still succeeds, and the CPU backend runs
its NumPy convolutions and says so (``volta doctor``, run records; docs/performance.md).
"""

import platform

from setuptools import Extension, setup

X86 = platform.machine().lower() in {"x86_64", "amd64"}

setup(
    ext_modules=[
        Extension(
            "volta_core.backends.cpu._native",
            ["volta_core/backends/cpu/_native.c"],
            extra_compile_args=["-O3", "-std=c11", "-ffp-contract=off", "-fno-strict-aliasing"],
            extra_link_args=["-lpthread"],
            optional=True,
        )
    ]
    if X86
    else [],
)
