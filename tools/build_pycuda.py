"""Build a PyCUDA wheel from its sdist with every C++ file compiled in parallel.

Run inside an unpacked PyCUDA sdist (after ``python configure.py --cuda-root=...``):

    python /path/to/tools/build_pycuda.py            # bdist_wheel into dist/

setuptools compiles one extension's sources one after another; PyCUDA's
``_driver`` extension has about 40 of them, so on a many-core GPU machine this
takes the build from minutes to about half a minute. Used to test the CUDA
backend on machines without PyCUDA (docs/gpu.md, "Testing on a GPU machine").
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from setuptools._distutils import ccompiler


def _parallel_compile(self: Any, sources: list[str], output_dir: str | None = None, macros: Any = None,
                      include_dirs: Any = None, debug: int = 0, extra_preargs: Any = None,
                      extra_postargs: Any = None, depends: Any = None) -> list[str]:
    macros, objects, extra_postargs, pp_opts, build = self._setup_compile(
        output_dir, macros, include_dirs, sources, depends, extra_postargs)
    cc_args = self._get_cc_args(pp_opts, debug, extra_preargs)

    def one(obj: str) -> None:
        if obj in build:
            src, ext = build[obj]
            self._compile(obj, src, ext, cc_args, extra_postargs, pp_opts)

    with ThreadPoolExecutor(os.cpu_count() or 4) as pool:
        list(pool.map(one, objects))
    return list(objects)


def main() -> None:
    ccompiler.CCompiler.compile = _parallel_compile  # type: ignore[method-assign, assignment]
    sys.path.insert(0, os.getcwd())  # PyCUDA's setup.py imports aksetup_helper from its own directory
    sys.argv = ["setup.py", *(sys.argv[1:] or ["bdist_wheel"])]
    with open("setup.py", encoding="utf-8") as f:
        code = compile(f.read(), "setup.py", "exec")
    exec(code, {"__name__": "__main__", "__file__": "setup.py"})


if __name__ == "__main__":
    main()
