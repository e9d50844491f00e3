"""Volta Jupyter kernel (ipykernel): cells of ``.vt`` source in one Session.

``python -m volta_kernel install [--user|--sys-prefix|--prefix P]`` writes the
``volta`` kernelspec; ``python -m volta_kernel -f CONNECTION_FILE`` runs the
kernel (what Jupyter does). Importing this package imports no Jupyter
framework; they are loaded only when a command needs them.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

USAGE = (
    "usage: python -m volta_kernel install [--user | --sys-prefix | --prefix PREFIX]\n"
    "       python -m volta_kernel -f CONNECTION_FILE   (started by Jupyter)\n"
)
_MISSING = "volta_kernel: {exc}; install the `kernel` extra: pip install 'volta-lang[kernel]'\n"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """The prebuilt JupyterLab extension (Volta highlighting), for ``jupyter labextension
    develop`` from a checkout; an installed wheel puts it in share/jupyter/labextensions."""
    return [{"src": "labextension", "dest": "@volta-lang/jupyterlab-volta"}]


def _install(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m volta_kernel install", description="Install the Volta kernelspec")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="install for the current user")
    where.add_argument("--sys-prefix", action="store_true", help="install into sys.prefix (e.g. the virtualenv)")
    where.add_argument("--prefix", metavar="PREFIX", help="install under PREFIX/share/jupyter/kernels")
    args = parser.parse_args(argv)
    try:
        # A kernelspec is only worth writing when Jupyter can start the kernel it names.
        _kernel_class()
        from volta_kernel.install import install
    except ImportError as exc:
        sys.stderr.write(_MISSING.format(exc=exc))
        sys.stderr.write("volta_kernel: no kernelspec was written\n")
        return 2
    prefix = sys.prefix if args.sys_prefix else args.prefix
    try:
        path = install(user=args.user, prefix=prefix)
    except ImportError as exc:
        sys.stderr.write(_MISSING.format(exc=exc))
        return 2
    except OSError as exc:
        sys.stderr.write(f"volta_kernel: cannot install the kernelspec: {exc}\n")
        return 1
    sys.stdout.write(f"Installed the Volta kernelspec in {path}\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Install the kernelspec or run the kernel; exit status 2 on usage errors."""
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "install":
        return _install(args[1:])
    if not args or args[0] in ("-h", "--help"):
        stream = sys.stdout if args else sys.stderr
        stream.write(USAGE)
        return 0 if args else 2
    try:
        app, kernel_class = _kernel_class()
    except ImportError as exc:
        sys.stderr.write(_MISSING.format(exc=exc))
        return 2
    app.launch_instance(argv=args, kernel_class=kernel_class)
    return 0


def _kernel_class() -> tuple[Any, type]:
    """What starting the kernel imports: ipykernel's application and the Volta kernel
    (raises ImportError when the `kernel` extra is missing)."""
    from ipykernel.kernelapp import IPKernelApp

    from volta_kernel.kernel import VoltaKernel

    return IPKernelApp, VoltaKernel
