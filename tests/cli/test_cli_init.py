"""``volta init``: a runnable starter that is never written over."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from volta_core import cli
from volta_core.analysis import analyze

from .helpers import volta

STARTER = {"main.vt", "model.vt", "data/xor.csv", "notebook.ipynb", "README.md"}


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_init_fresh_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "proj"
    r = volta(capsys, "init", str(target))
    assert r.code == 0, r.err
    assert _files(target) == STARTER
    assert "volta run main.vt" in r.out


def test_init_defaults_to_the_current_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert volta(capsys, "init").code == 0
    assert _files(tmp_path) == STARTER


def test_starter_checks_and_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    volta(capsys, "init", str(tmp_path))
    r = volta(capsys, "check", str(tmp_path / "main.vt"), str(tmp_path / "model.vt"))
    assert (r.code, r.out) == (0, "check: 2 files, no problems\n")
    r = volta(capsys, "run", str(tmp_path / "main.vt"))
    assert r.code == 0, r.err
    assert r.err == ""
    assert "hello from" in r.out


def test_starter_model_matches_its_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    volta(capsys, "init", str(tmp_path))
    header = (tmp_path / "data" / "xor.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    model = (tmp_path / "model.vt").read_text(encoding="utf-8")
    assert 'source "data/xor.csv"' in model
    assert header == ["x1", "x2", "label"] and 'target "label"' in model
    assert analyze(model, "model.vt").symbols.models["xor_net"].input_shape == (2,)


def test_starter_notebook_is_nbformat_4_with_the_volta_kernel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    volta(capsys, "init", str(tmp_path))
    nb = json.loads((tmp_path / "notebook.ipynb").read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4 and nb["nbformat_minor"] >= 5
    assert nb["metadata"]["kernelspec"]["name"] == "volta"
    ids = [c["id"] for c in nb["cells"]]
    assert len(set(ids)) == len(ids)
    for cell in nb["cells"]:
        assert cell["cell_type"] in ("code", "markdown")
        assert isinstance(cell["source"], list)
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
    # The code cells, run in order like a session, form a valid program.
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert analyze(code).errors == []


def test_init_is_idempotent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert volta(capsys, "init", str(tmp_path)).code == 0
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    r = volta(capsys, "init", str(tmp_path))
    assert r.code == 0
    assert "nothing to do" in r.out
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_init_fills_in_missing_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    volta(capsys, "init", str(tmp_path))
    (tmp_path / "README.md").unlink()
    r = volta(capsys, "init", str(tmp_path))
    assert r.code == 0
    assert "README.md" in r.out and "main.vt" not in r.out.replace("volta run main.vt", "")
    assert _files(tmp_path) == STARTER


def test_init_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "main.vt").write_text('print "mine"\n', encoding="utf-8")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "xor.csv").write_text("a,b\n", encoding="utf-8")
    r = volta(capsys, "init", str(tmp_path))
    assert r.code == 1
    assert "refusing to overwrite" in r.err
    assert "main.vt" in r.err and "data/xor.csv" in r.err
    assert (tmp_path / "main.vt").read_text(encoding="utf-8") == 'print "mine"\n'
    assert _files(tmp_path) == {"main.vt", "data/xor.csv"}  # nothing else written


def test_init_on_a_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "file.txt"
    f.write_text("x", encoding="utf-8")
    assert volta(capsys, "init", str(f)).code == 2


# ---------------------------------------------------------------- issue 24


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_init_never_writes_through_a_link(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "proj"
    target.mkdir()
    outside = tmp_path / "outside.vt"
    (target / "main.vt").symlink_to(outside)  # dangling, and outside the project
    r = volta(capsys, "init", str(target))
    assert r.code == 1
    assert "main.vt (a symbolic link)" in r.err and "nothing was written" in r.err
    assert not outside.exists()
    assert sorted(p.name for p in target.iterdir()) == ["main.vt"]


def test_init_writes_nothing_when_a_folder_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "proj"
    target.mkdir()
    (target / "data").write_text("not a folder", encoding="utf-8")
    r = volta(capsys, "init", str(target))
    assert r.code == 1
    assert "data (a file, where the starter needs a folder)" in r.err
    assert sorted(p.name for p in target.iterdir()) == ["data"]  # no README.md either


def test_init_undoes_a_half_written_project(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = open
    calls: list[str] = []

    def failing_open(path: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        if mode == "xb":
            calls.append(str(path))
            if len(calls) == 3:
                raise OSError(28, "No space left on device", str(path))
        return real_open(path, mode, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(cli, "open", failing_open, raising=False)
    target = tmp_path / "proj"
    r = volta(capsys, "init", str(target))
    assert r.code == 1
    assert "No space left on device" in r.err and "nothing was written" in r.err
    assert len(calls) == 3
    assert not target.exists() or not any(target.rglob("*"))
