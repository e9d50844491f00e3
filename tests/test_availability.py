"""Availability checks test what starting the thing needs (issue 19, item 2).

A plain install (no `lsp` or `kernel` extra) has the packages `volta_lsp`
and `volta_kernel` but not their frameworks: importing the package succeeds,
starting it does not. ``sys.modules[name] = None`` makes a module missing
for one interpreter, as if it were not installed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from volta_core import doctor


def _python(code: str, *, without: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter in which ``without`` cannot be imported."""
    prelude = f"import sys\nsys.modules[{without!r}] = None\n"
    return subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True, timeout=120,
                          check=False)  # fmt: skip


def test_the_server_check_fails_without_pygls_although_the_package_imports() -> None:
    assert _python("import volta_lsp", without="pygls").returncode == 0  # what the old check ran
    proc = _python("from volta_lsp import main\nsys.exit(main(['--check']))", without="pygls")
    assert proc.returncode == 2, proc.stderr
    assert "pip install 'volta-lang[lsp]'" in proc.stderr


def test_the_server_check_passes_where_the_server_starts() -> None:
    proc = subprocess.run([sys.executable, "-m", "volta_lsp", "--check"], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "can start" in proc.stdout


def test_kernel_install_writes_no_kernelspec_without_ipykernel(tmp_path: Path) -> None:
    proc = _python(f"from volta_kernel import main\nsys.exit(main(['install', '--prefix', {str(tmp_path)!r}]))",
                   without="ipykernel")
    assert proc.returncode == 2, proc.stderr
    assert "pip install 'volta-lang[kernel]'" in proc.stderr and "no kernelspec was written" in proc.stderr
    assert list(tmp_path.rglob("kernel.json")) == []


@pytest.mark.parametrize(("missing", "section", "row"), [
    ("pygls", "lsp", "language server  cannot start (pygls not installed: pip install 'volta-lang[lsp]')"),
    ("ipykernel", "kernel", "cannot start (ipykernel not installed: pip install 'volta-lang[kernel]')"),
])
def test_doctor_says_a_front_door_cannot_start_when_its_framework_is_missing(
    monkeypatch: pytest.MonkeyPatch, missing: str, section: str, row: str
) -> None:
    report = doctor.collect()
    assert report[section]["ready"] is True and report[section]["missing"] == []
    monkeypatch.setitem(sys.modules, missing, None)
    report = doctor.collect()
    assert report[section]["ready"] is False and report[section]["missing"] == [missing]
    text = doctor.render(report)
    assert row in text
    assert "importable" not in text
