"""Files Volta writes get the usual permissions: ``0o666`` less the umask, like
any file a program creates (atomic writes go through a temporary file created
``0o600``, so the mode must be set explicitly); a file Volta replaces keeps
its own mode."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from volta_core import cli
from volta_core.lang import Session

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")

UMASK = 0o027  # unusual on purpose: neither 0o600 nor 0o644 is the expected mode
EXPECTED = 0o666 & ~UMASK  # 0o640

PROGRAM = """model m
    layers 2 4 2
    output softmax
    seed 1
dataset d
    type xor
train m on d
    epochs 2
    log_every 100
"""


@pytest.fixture
def umask() -> Iterator[int]:
    old = os.umask(UMASK)
    try:
        yield UMASK
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_checkpoints_predictions_and_onnx_files_respect_the_umask(tmp_path: Path, umask: int) -> None:
    (tmp_path / "in.csv").write_text("a,b\n0,1\n", encoding="utf-8")
    assert _mode(tmp_path / "in.csv") == EXPECTED  # what any newly created file gets
    (tmp_path / "old.safetensors").write_bytes(b"")
    os.chmod(tmp_path / "old.safetensors", 0o600)  # a replaced file keeps its mode
    session = Session(stdout=lambda s: None, base_dir=tmp_path)
    result = session.run(
        PROGRAM + 'save m as "c.safetensors" with optimizer\nsave m as "old.safetensors"\n'
        'infer m on "in.csv" as "out.csv"\nexport m as "m.onnx"\n', "t.vt",
    )
    assert result.ok, [d.message for d in result.diagnostics]
    modes = {name: oct(_mode(tmp_path / name)) for name in ("c.safetensors", "out.csv", "m.onnx")}
    assert modes == dict.fromkeys(modes, oct(EXPECTED))
    assert oct(_mode(tmp_path / "old.safetensors")) == oct(0o600)
    assert not [p.name for p in tmp_path.iterdir() if "partial" in p.name or p.name.endswith(".tmp")]


def test_run_records_respect_the_umask(tmp_path: Path, umask: int, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "p.vt").write_text(PROGRAM, encoding="utf-8")
    assert cli.main(["run", str(tmp_path / "p.vt"), "--quiet", "--record", str(tmp_path / "run.json")]) == 0
    assert oct(_mode(tmp_path / "run.json")) == oct(EXPECTED)
