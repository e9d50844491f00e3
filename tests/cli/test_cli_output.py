"""Real processes: a failing standard output, Ctrl-C, and paths that are not
regular files (issue 24, items 10, 11 and 15)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

posix_only = pytest.mark.skipif(os.name != "posix", reason="/dev/full, named pipes, signals")


def _volta(*argv: str, stdout: object = subprocess.PIPE, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "volta_core", *argv], stdout=stdout, stderr=subprocess.PIPE,
                          text=True, timeout=timeout, check=False)


@posix_only
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("command", ["run", "check"])
def test_a_full_standard_output_is_reported_not_an_internal_error(tmp_path: Path, command: str) -> None:
    program = tmp_path / "p.vt"
    program.write_text('print "hello"\n' * 3, encoding="utf-8")
    with open("/dev/full", "w") as full:
        proc = _volta(command, str(program), stdout=full)
    assert proc.returncode == 1, proc.stderr
    assert "No space left on device" in proc.stderr
    assert "E9999" not in proc.stderr and "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr


@posix_only
def test_ctrl_c_exits_130(tmp_path: Path) -> None:
    program = tmp_path / "p.vt"
    program.write_text('print "started"\nx 0\nloop 100000000\n    x = x + 1\n', encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-u", "-m", "volta_core", "run", str(program)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "started\n"
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "error[E0607]" in err


@posix_only
def test_check_refuses_a_named_pipe_instead_of_waiting(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.vt")
    proc = _volta("check", str(tmp_path / "pipe.vt"), timeout=60)
    assert proc.returncode == 1
    assert "error[E0801]" in proc.stdout and "it is a named pipe, not a regular file" in proc.stdout


@posix_only
def test_a_loop_of_symbolic_links_is_named(tmp_path: Path) -> None:
    (tmp_path / "loop.vt").symlink_to(tmp_path / "loop.vt")
    proc = _volta("run", str(tmp_path / "loop.vt"))
    assert proc.returncode == 1
    assert "it is a loop of symbolic links" in proc.stderr and "not found" not in proc.stderr
