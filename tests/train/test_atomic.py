"""Atomic writes respect links, permissions and file kinds, and clean up after
killed writes (issue 24, item 2)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from volta_core.lang import Session
from volta_core.train import atomic

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX links and permission bits")

SAVE = 'model m\n    layers 2 4 2\n    loss cross_entropy\nsave m as "ck.safetensors"\n'


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _run(tmp_path: Path, text: str) -> list[str]:
    result = Session(stdout=lambda s: None, base_dir=tmp_path).run(text, "t.vt")
    return [f"{d.code} {d.message}" for d in result.errors]


@posix_only
def test_a_read_only_file_is_refused_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "ck.safetensors"
    path.write_bytes(b"precious")
    os.chmod(path, 0o444)
    errors = _run(tmp_path, SAVE)
    assert len(errors) == 1 and errors[0].startswith("E0801") and "read-only" in errors[0], errors
    assert path.read_bytes() == b"precious" and _mode(path) == 0o444
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.safetensors"]


@posix_only
def test_a_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    os.chmod(path, 0o600)  # private stays private
    atomic.atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"new" and _mode(path) == 0o600


@posix_only
def test_writes_go_through_a_link_to_an_existing_file(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "ck.safetensors"
    real.write_bytes(b"old")
    (tmp_path / "ck.safetensors").symlink_to(real)
    assert _run(tmp_path, SAVE) == []
    link = tmp_path / "ck.safetensors"
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes() != b"old"
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["ck.safetensors"]


@posix_only
def test_a_dangling_link_or_a_loop_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ck.safetensors").symlink_to(tmp_path / "elsewhere" / "x")
    errors = _run(tmp_path, SAVE)
    assert len(errors) == 1 and "symbolic link" in errors[0] and "does not exist" in errors[0], errors
    assert not (tmp_path / "elsewhere").exists()
    (tmp_path / "ck.safetensors").unlink()
    (tmp_path / "ck.safetensors").symlink_to(tmp_path / "ck.safetensors")
    errors = _run(tmp_path, SAVE)
    assert len(errors) == 1 and "loop of symbolic links" in errors[0], errors


@posix_only
def test_something_that_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "ck.safetensors")
    errors = _run(tmp_path, SAVE)
    assert len(errors) == 1 and "not a regular file" in errors[0], errors
    assert stat.S_ISFIFO((tmp_path / "ck.safetensors").stat().st_mode)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@posix_only
def test_temporaries_are_recognisable_and_stale_ones_are_removed(tmp_path: Path) -> None:
    with atomic.atomic_output(tmp_path / "ck.safetensors") as tmp:
        assert tmp.name.startswith("ck.safetensors" + atomic.TEMP_MARK) and tmp.parent == tmp_path
        tmp.write_bytes(b"x")
    stale = tmp_path / f"ck.safetensors{atomic.TEMP_MARK}{_dead_pid()}-0badf00d"
    live = tmp_path / f"ck.safetensors{atomic.TEMP_MARK}{os.getppid()}-0badf00d"  # a running process
    other = tmp_path / f"other.safetensors{atomic.TEMP_MARK}{_dead_pid()}-0badf00d"  # another target
    for p in (stale, live, other):
        p.write_bytes(b"partial")
    assert _run(tmp_path, SAVE) == []
    assert not stale.exists()
    assert live.exists() and other.exists()


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic.atomic_output(path) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]
