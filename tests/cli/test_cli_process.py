"""True subprocess runs: ``python -m volta_core``, the ``volta`` script and the stubs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import EXAMPLES, ROOT


def _run(*argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    return subprocess.run(
        list(argv), capture_output=True, text=True, cwd=cwd, env=env, timeout=60, check=False,
    )


def test_python_dash_m_runs_the_quickstart() -> None:
    proc = _run(sys.executable, "-m", "volta_core", "run", str(EXAMPLES / "quickstart.vt"))
    assert proc.returncode == 0, proc.stderr
    golden = ROOT / "tests" / "golden" / "examples" / "quickstart.out"
    assert proc.stdout == golden.read_text(encoding="utf-8")
    assert proc.stderr == ""


def test_python_dash_m_exit_codes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.vt"
    bad.write_text("trian m on d\n", encoding="utf-8")
    proc = _run(sys.executable, "-m", "volta_core", "check", str(bad))
    assert proc.returncode == 1
    assert "error[E0101]" in proc.stdout and "\x1b[" not in proc.stdout  # piped: no colour
    assert _run(sys.executable, "-m", "volta_core", "explain", "E123").returncode == 2
    assert _run(sys.executable, "-m", "volta_core", "bogus").returncode == 2


def _volta_script() -> str | None:
    beside = Path(sys.executable).with_name("volta")
    return str(beside) if beside.exists() else shutil.which("volta")


def test_console_script_is_the_same_program() -> None:
    script = _volta_script()
    if script is None:
        pytest.skip("the `volta` console script is not installed")
    proc = _run(script, "version")
    assert proc.returncode == 0
    assert proc.stdout == _run(sys.executable, "-m", "volta_core", "version").stdout
    assert _run(script, "check", "nope.txt").returncode == 2


def test_kernel_without_arguments_prints_usage_and_exits_2() -> None:
    proc = _run(sys.executable, "-m", "volta_kernel")
    assert proc.returncode == 2
    assert "python -m volta_kernel install" in proc.stderr and "-f CONNECTION_FILE" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert _run(sys.executable, "-m", "volta_kernel", "--help").returncode == 0
    bad = _run(sys.executable, "-m", "volta_kernel", "install", "--user", "--prefix", "x")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_language_server_has_a_command_line() -> None:
    proc = _run(sys.executable, "-m", "volta_lsp", "--help")
    assert proc.returncode == 0
    assert "--tcp" in proc.stdout and "Volta language server" in proc.stdout
    bad = _run(sys.executable, "-m", "volta_lsp", "--tcp", "nohost")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_volta_core_does_not_import_lsp_or_jupyter_frameworks() -> None:
    code = (
        "import sys, volta_core.cli, volta_lsp, volta_kernel\n"
        "bad = [m for m in ('pygls', 'ipykernel', 'jupyter_client') if m in sys.modules]\n"
        "print(bad)\n"
    )
    proc = _run(sys.executable, "-c", code)
    assert proc.stdout.strip() == "[]", proc.stderr
