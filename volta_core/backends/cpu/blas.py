"""Which kernels NumPy's BLAS runs: asked of OpenBLAS itself, for ``volta doctor``,
run records and the benchmarks.

NumPy's wheels bundle OpenBLAS built with ``DYNAMIC_ARCH``: one library with
kernel sets for many CPUs, one of which it picks at load time, unless
``OPENBLAS_CORETYPE`` forces one. The choice matters for speed (AVX2 ``Haswell``
against AVX-512 ``SkylakeX`` kernels: see ``docs/performance.md``) and for bits
(kernel sets round matrix products differently), so it is reported, never changed.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path
from typing import Any

#: Variables that make OpenBLAS run a kernel set other than the one it detects.
BLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
#: Variables that set how many threads BLAS and OpenMP use (with the CPU count,
#: they decide how a matrix product is split, and so how it rounds).
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VOLTA_NUM_THREADS",
)


def numpy_openblas() -> ctypes.CDLL | None:
    """NumPy's bundled OpenBLAS (the handle NumPy already loaded), or None where NumPy's BLAS
    is something else. Any failure to find it is None: callers report, never raise."""
    try:
        import numpy

        root = Path(numpy.__file__).resolve().parent
        for folder in (root.parent / "numpy.libs", root / ".dylibs"):
            for lib_path in sorted(folder.glob("lib*openblas*")) if folder.is_dir() else ():
                lib = ctypes.CDLL(str(lib_path))  # NumPy loaded it already: the same handle
                if getattr(lib, "gotoblas_corename", None) is not None:
                    return lib
    except Exception:  # a probe
        return None
    return None


def openblas_threads(lib: ctypes.CDLL) -> int:
    """How many threads ``lib`` runs products on (its symbol is prefixed in NumPy's builds)."""
    for name in ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads", "openblas_get_num_threads64_",
                 "openblas_get_num_threads"):
        fn = getattr(lib, name, None)
        if fn is not None:
            fn.restype = ctypes.c_int
            fn.argtypes = []
            return int(fn())
    return 1


def openblas_kernels() -> dict[str, Any]:
    """The kernel set NumPy's bundled OpenBLAS runs (``gotoblas_corename``) and the
    variables that forced it, if any. ``kernels`` is None where NumPy's BLAS is not a
    bundled ``DYNAMIC_ARCH`` OpenBLAS or cannot be asked. The kernel set matters twice:
    for speed (AVX2 ``Haswell`` against AVX-512 ``SkylakeX``) and for bits (different
    kernels round matrix products differently)."""
    forced = {name: os.environ[name] for name in BLAS_OVERRIDES if os.environ.get(name)}
    result: dict[str, Any] = {"kernels": None, "forced": forced}
    try:
        lib = numpy_openblas()
        if lib is not None:
            corename = lib.gotoblas_corename
            corename.restype = ctypes.c_char_p
            corename.argtypes = []
            name = corename()
            result["kernels"] = name.decode(errors="replace") if name else None
    except Exception as exc:  # a probe: report, never raise
        result["error"] = str(exc)
    return result


def describe_kernels(info: dict[str, Any]) -> str:
    """``SkylakeX``, ``Haswell (forced: OPENBLAS_CORETYPE=Haswell)`` or why it is unknown."""
    if not info.get("kernels"):
        return "unknown (not NumPy's bundled OpenBLAS)"
    forced = ", ".join(f"{k}={v}" for k, v in info.get("forced", {}).items())
    return f"{info['kernels']} ({f'forced: {forced}' if forced else 'detected by OpenBLAS'})"


def configured_threads() -> int:
    """Threads Volta's own parallel work uses (optimizer updates, the native kernels):
    ``VOLTA_NUM_THREADS``, else ``OPENBLAS_NUM_THREADS`` (the BLAS setting, which ``volta run
    --ranks`` sets per rank), else the number of cores."""
    for var in ("VOLTA_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        value = os.environ.get(var, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return os.cpu_count() or 1


def describe_threads() -> str:
    """The thread settings that can change how matrix products round: the CPU count
    and every thread variable that is set, e.g. ``2 CPUs, OPENBLAS_NUM_THREADS=1``."""
    cpus = os.cpu_count()
    parts = [f"{cpus} CPU{'s' if cpus != 1 else ''}" if cpus else "unknown CPU count"]
    parts += [f"{name}={os.environ[name]}" for name in THREAD_VARIABLES if os.environ.get(name)]
    return ", ".join(parts)
