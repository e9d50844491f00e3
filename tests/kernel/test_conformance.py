"""Jupyter messaging conformance of the Volta kernel (``jupyter_kernel_test``)."""

from __future__ import annotations

import unittest
from pathlib import Path

import pytest

pytest.importorskip("jupyter_kernel_test")

# A module alias: a `KernelTests` name here would be collected as a test class too.
import jupyter_kernel_test as jkt  # type: ignore[import-untyped]


@pytest.fixture(scope="module", autouse=True)
def _installed(kernel_prefix: Path) -> None:
    """The kernelspec in a temporary prefix, found through JUPYTER_PATH."""


class TestVoltaKernelConformance(jkt.KernelTests):
    kernel_name = "volta"
    language_name = "volta"
    file_extension = ".vt"

    code_hello_world = 'print "hello, world"'
    code_stderr = 'prnt "x"'  # a warning goes to stderr; the cell still succeeds
    code_generate_error = "print 1 / 0"
    code_display_data = [  # noqa: RUF012 - read by the unittest base class
        {"code": "%who", "mime": "text/html"},
        {"code": "model conformance_m\n    layers 2 3 1\ninspect conformance_m", "mime": "text/html"},
    ]
    completion_samples = [  # noqa: RUF012
        {"text": "pri", "matches": {"print"}},
        {"text": "%hist", "matches": {"history"}},
    ]
    complete_code_samples = ["print 1", "x 1\nprint x", "%who", "fn f(x)\n    return x\n"]  # noqa: RUF012
    incomplete_code_samples = ["loop 3", "fn f(x)\n    if x > 1", "model m"]  # noqa: RUF012
    invalid_code_samples = ['print "open']  # noqa: RUF012
    code_inspect_sample = "print"


if __name__ == "__main__":  # pragma: no cover
    unittest.main()
