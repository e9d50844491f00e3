"""``volta doctor``: a report of the environment Volta runs in.

Every probe is guarded: a missing or broken optional package is reported
(``not installed`` or the error), never raised. Optional packages are looked
up with :mod:`importlib.metadata`/``find_spec`` where that suffices, so the
report does not import heavy frameworks; PyCUDA is imported (it is the only
way to ask the driver for devices) inside a guard.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import platform
import sys
from typing import Any

from volta_core import __version__
from volta_core.backends.cpu import native as native_conv
from volta_core.backends.cpu.blas import THREAD_VARIABLES, describe_kernels, openblas_kernels

NOT_INSTALLED = "not installed"


def _package(name: str, module: str | None = None) -> dict[str, Any]:
    """Whether ``module`` can be found and the distribution ``name``'s version."""
    try:
        found = importlib.util.find_spec(module or name) is not None
    except (ImportError, ValueError):
        found = False
    version: str | None = None
    if found:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = None
    return {"installed": found, "version": version}


def _numpy() -> dict[str, Any]:
    try:
        import numpy
    except Exception as exc:  # numpy is a hard dependency; report rather than crash
        return {"installed": False, "version": None, "error": str(exc), "blas": None, "lapack": None}
    info: dict[str, Any] = {"installed": True, "version": numpy.__version__, "blas": None, "lapack": None}
    config: Any = None
    try:
        config = numpy.show_config(mode="dicts")
    except Exception:  # older numpy: no dict mode
        config = None
    deps = config.get("Build Dependencies", {}) if isinstance(config, dict) else {}
    for key in ("blas", "lapack"):
        dep = deps.get(key)
        if isinstance(dep, dict):
            info[key] = {
                "name": dep.get("name"),
                "version": dep.get("version"),
                "config": dep.get("openblas configuration"),
            }
    return info


def _cuda() -> dict[str, Any]:
    pkg = _package("pycuda")
    result: dict[str, Any] = {"pycuda": pkg, "gpu": None, "devices": [], "cublas": None, "backend": None}
    if not pkg["installed"]:
        result["gpu"] = "unknown (PyCUDA not installed: pip install 'volta-lang[cuda]')"
        result["backend"] = "unavailable (PyCUDA not installed)"
        return result
    try:
        driver: Any = importlib.import_module("pycuda.driver")
        driver.init()
        count = driver.Device.count()
        result["devices"] = [str(driver.Device(i).name()) for i in range(count)]
        result["gpu"] = f"{count} CUDA device{'s' if count != 1 else ''}" if count else "no CUDA device"
    except Exception as exc:
        result["gpu"] = f"unavailable ({type(exc).__name__}: {exc})"
    from volta_core.backends.cuda import cublas
    from volta_core.backends.cuda.driver import cuda_status

    found = cublas.candidates()
    result["cublas"] = found[0] if found else "not found (install the CUDA toolkit or nvidia-cublas)"
    missing = cuda_status()
    result["backend"] = "ready (`device auto` trains on the GPU)" if missing is None else f"unavailable ({missing})"
    return result


#: What starting each front door imports (`python -m volta_lsp`, `python -m volta_kernel`).
LSP_NEEDS = ("volta_lsp", "pygls", "lsprotocol")
KERNEL_NEEDS = ("volta_kernel", "ipykernel", "jupyter_client")


def _found(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _readiness(needs: tuple[str, ...], extra: str) -> dict[str, Any]:
    """``ready`` when every module starting the thing needs is installed; else ``missing`` names them."""
    missing = [m for m in needs if not _found(m)]
    why = None if not missing else f"{', '.join(missing)} not installed: pip install 'volta-lang[{extra}]'"
    return {"ready": not missing, "missing": missing, "why": why}


def _kernel() -> dict[str, Any]:
    result: dict[str, Any] = {"ipykernel": _package("ipykernel"), "kernelspec": None, **_readiness(KERNEL_NEEDS, "kernel")}
    if importlib.util.find_spec("jupyter_client") is None:
        result["kernelspec"] = "unknown (jupyter_client not installed)"
        return result
    try:
        kernelspec: Any = importlib.import_module("jupyter_client.kernelspec")
        specs = kernelspec.KernelSpecManager().find_kernel_specs()
        result["kernelspec"] = specs.get("volta") or "not installed"
    except Exception as exc:
        result["kernelspec"] = f"unknown ({type(exc).__name__}: {exc})"
    return result


def _lsp() -> dict[str, Any]:
    return {"pygls": _package("pygls"), **_readiness(LSP_NEEDS, "lsp")}


def collect() -> dict[str, Any]:
    """The environment report as a JSON-ready dictionary."""
    import volta_core

    return {
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "platform": {
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
            "description": platform.platform(),
        },
        "volta": {"version": __version__, "location": os.path.dirname(volta_core.__file__)},
        "numpy": _numpy(),
        "blas_kernels": openblas_kernels(),
        "conv_kernels": native_conv.describe(),
        "threads": {
            "cpu_count": os.cpu_count(),
            "env": {name: os.environ.get(name) for name in THREAD_VARIABLES},
        },
        "cuda": _cuda(),
        "onnx": _package("onnx"),
        "onnxruntime": _package("onnxruntime"),
        "kernel": _kernel(),
        "lsp": _lsp(),
        "mpi": _mpi(),
    }


def _mpi() -> dict[str, Any]:
    """Distributed training's needs (docs/distributed.md), found without importing mpi4py."""
    from volta_core.train.distributed import find_mpiexec

    return {"mpi4py": _package("mpi4py"), "mpiexec": find_mpiexec()}


def _version(pkg: dict[str, Any]) -> str:
    if not pkg.get("installed"):
        return NOT_INSTALLED
    return str(pkg.get("version") or "installed (version unknown)")


def _dep(dep: dict[str, Any] | None) -> str:
    if not dep:
        return "unknown"
    text = f"{dep.get('name')} {dep.get('version') or ''}".strip()
    return text


def render(report: dict[str, Any]) -> str:
    """The report as an aligned two-column text table."""
    py = report["python"]
    np_ = report["numpy"]
    threads = report["threads"]
    env = ", ".join(f"{k}={v}" for k, v in threads["env"].items() if v is not None) or "none set"
    cuda = report["cuda"]
    kernel = report["kernel"]
    lsp = report["lsp"]
    rows = [
        ("python", f"{py['version']} ({py['implementation']}) {py['executable']}"),
        ("platform", report["platform"]["description"]),
        ("volta", f"{report['volta']['version']} ({report['volta']['location']})"),
        ("numpy", np_["version"] if np_["installed"] else f"{NOT_INSTALLED}: {np_.get('error')}"),
        ("blas", _dep(np_["blas"])),
        ("blas kernels", describe_kernels(report["blas_kernels"])),
        ("conv kernels", str(report["conv_kernels"])),
        ("lapack", _dep(np_["lapack"])),
        ("cpu count", str(threads["cpu_count"])),
        ("thread env", env),
        ("pycuda", _version(cuda["pycuda"])),
        ("gpu", str(cuda["gpu"]) + (f": {', '.join(cuda['devices'])}" if cuda["devices"] else "")),
        *([("cublas", str(cuda["cublas"]))] if cuda["cublas"] else []),
        ("cuda backend", str(cuda["backend"])),
        ("onnx", _version(report["onnx"])),
        ("onnxruntime", _version(report["onnxruntime"])),
        ("ipykernel", _version(kernel["ipykernel"])),
        ("volta kernel", f"{kernel['kernelspec']}" + ("" if kernel["ready"] else f"; cannot start ({kernel['why']})")),
        ("pygls", _version(lsp["pygls"])),
        ("language server", "ready (python -m volta_lsp)" if lsp["ready"] else f"cannot start ({lsp['why']})"),
        ("mpi4py", _version(report["mpi"]["mpi4py"])),
        ("mpiexec", report["mpi"]["mpiexec"] or "not found (pip install 'volta-lang[mpi]')"),
    ]
    width = max(len(k) for k, _ in rows)
    return "volta doctor\n" + "".join(f"  {k:<{width}}  {v}\n" for k, v in rows)
