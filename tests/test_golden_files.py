"""The golden-file rule (``tests/golden_files.py``): an update run can never pass vacuously."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import golden_files
import pytest
from golden_files import check_golden, check_goldens

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(params=[False, True], ids=["compare", "update"])
def update(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    monkeypatch.setattr(golden_files, "UPDATE", request.param)
    return bool(request.param)


def test_a_matching_file_passes_and_is_left_alone(tmp_path: Path, update: bool) -> None:
    path = tmp_path / "a.out"
    path.write_text("same\n", encoding="utf-8")
    os.utime(path, ns=(0, 0))
    check_golden(path, "same\n")
    assert path.stat().st_mtime_ns == 0


def test_a_differing_file_fails_and_is_rewritten_only_when_updating(tmp_path: Path, update: bool) -> None:
    path = tmp_path / "a.out"
    path.write_text("old\nkept\n", encoding="utf-8")
    with pytest.raises(pytest.fail.Exception) as info:
        check_golden(path, "new\nkept\n")
    if update:
        assert "VOLTA_UPDATE_GOLDEN=1 rewrote a.out" in str(info.value)
        assert path.read_text(encoding="utf-8") == "new\nkept\n"
    else:
        assert "a.out differs from the output" in str(info.value) and "-old\n+new\n" in str(info.value)
        assert path.read_text(encoding="utf-8") == "old\nkept\n"


def test_a_missing_file_fails_and_is_written_only_when_updating(tmp_path: Path, update: bool) -> None:
    path = tmp_path / "b.out"
    with pytest.raises(pytest.fail.Exception, match="rewrote b.out" if update else "missing golden file"):
        check_golden(path, "text\n")
    assert path.exists() is update


def test_every_differing_file_of_a_test_is_rewritten_before_it_fails(tmp_path: Path, update: bool) -> None:
    a, b, c = tmp_path / "a.out", tmp_path / "a.err", tmp_path / "same.out"
    for path in (a, b, c):
        path.write_text("x\n", encoding="utf-8")
    with pytest.raises(pytest.fail.Exception):
        check_goldens([(a, "1\n"), (c, "x\n"), (b, "2\n")])
    assert [p.read_text(encoding="utf-8") for p in (a, b, c)] == (["1\n", "2\n", "x\n"] if update else ["x\n"] * 3)


def test_ci_refuses_to_run_while_updating_is_requested(tmp_path: Path) -> None:
    # A stand-in `python3` that fails at once: if the refusal were missing, the
    # script would stop there (exit 97) instead of building a virtual environment.
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "python3").write_text("#!/bin/sh\nexit 97\n", encoding="utf-8")
    (fake / "python3").chmod(0o755)
    env = dict(os.environ, VOLTA_UPDATE_GOLDEN="1", PATH=f"{fake}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(["bash", str(ROOT / ".ci" / "run")], capture_output=True, text=True, env=env,
                          timeout=30, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "VOLTA_UPDATE_GOLDEN is set" in proc.stderr and proc.stdout == ""
