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

    # jupyter_kernel_test skips the next four checks without a sample. The Volta
    # kernel has nothing to sample for them; each states why and checks what the
    # kernel does instead.

    def test_execute_result(self) -> None:
        """No ``execute_result``: a Volta statement has no value to show (a bare
        expression is not a statement); output is ``stream`` for `print` and
        ``display_data`` for tables and plots (``test_display_data``)."""
        self.flush_channels()
        reply, output = self.execute_helper("x 41\nprint x + 1")
        self.assertEqual(reply["content"]["status"], "ok")
        self.assertEqual([(m["msg_type"], m["content"].get("text")) for m in output], [("stream", "42\n")])

    def test_execute_stderr(self) -> None:
        """No ``stderr`` stream: a notebook paints stderr as an error, so a cell's
        warnings (the cell still succeeds) are a ``display_data`` with ANSI text, and
        errors are ``error`` messages (``test_error``)."""
        self.flush_channels()
        reply, output = self.execute_helper("inspct 3")
        self.assertEqual(reply["content"]["status"], "ok")
        self.assertEqual([m["msg_type"] for m in output], ["display_data"])
        self.assertIn("warning[W0101]", output[0]["content"]["data"]["text/plain"])

    def test_history(self) -> None:
        """Jupyter's ``history_request`` gets ipykernel's default answer, an empty
        list: the kernel keeps its own history of cells for ``%history`` and
        ``%replay`` (tests/kernel/test_kernel.py)."""
        reply = self.history_helper(["print 1"], output=False, raw=True, hist_access_type="tail", n=1)
        self.assertEqual((reply["content"]["status"], reply["content"]["history"]), ("ok", []))

    def test_pager(self) -> None:
        """No pager payloads: documentation is served by ``inspect_request``
        (Shift-Tab, ``test_inspect``), so execute replies carry an empty payload."""
        self.flush_channels()
        reply, _ = self.execute_helper("%who")
        self.assertEqual(reply["content"]["payload"], [])

    def test_clear_output(self) -> None:
        """No ``clear_output``: training progress is one display updated in place
        (``display_data``, then ``update_display_data`` with the same display id)."""
        self.flush_channels()
        reply, output = self.execute_helper(
            "model conformance_p\n    layers 2 3 2\n    loss cross_entropy\n"
            "dataset conformance_d\n    type xor\ntrain conformance_p on conformance_d\n    epochs 2"
        )
        self.assertEqual(reply["content"]["status"], "ok")
        kinds = [m["msg_type"] for m in output]
        self.assertNotIn("clear_output", kinds)
        progress = [m for m in output if "display_id" in m["content"].get("transient", {})]
        self.assertTrue(progress)
        self.assertEqual(progress[0]["msg_type"], "display_data")
        self.assertEqual({m["content"]["transient"]["display_id"] for m in progress},
                         {progress[0]["content"]["transient"]["display_id"]})
        self.assertTrue(all(m["msg_type"] == "update_display_data" for m in progress[1:]))


if __name__ == "__main__":  # pragma: no cover
    unittest.main()
