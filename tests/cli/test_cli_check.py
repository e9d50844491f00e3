"""``volta check``: text and JSON reports, summary, exit codes, colour."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import EXAMPLES, volta, write

BAD = 'print "ok"\ntrian m on d\nx = = 1\n'


def test_check_clean_files(capsys: pytest.CaptureFixture[str]) -> None:
    r = volta(capsys, "check", str(EXAMPLES / "quickstart.vt"), str(EXAMPLES / "models.vt"))
    assert (r.code, r.out, r.err) == (0, "check: 2 files, no problems\n", "")


def test_check_reports_every_error_and_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path / "bad.vt", BAD)
    good = write(tmp_path / "good.vt", "print 1\n")
    r = volta(capsys, "check", str(bad), str(good))
    assert r.code == 1
    assert r.out.count("error[") == 2
    assert f"--> {bad}:2:1" in r.out
    assert r.out.endswith("check: 2 files, 2 errors\n")
    assert "\x1b[" not in r.out  # not a terminal


def test_check_json_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path / "bad.vt", BAD)
    good = write(tmp_path / "good.vt", "print 1\n")
    r = volta(capsys, "check", "--format", "json", str(bad), str(good))
    assert r.code == 1
    doc = json.loads(r.out)
    assert set(doc) == {"files", "summary"}
    assert doc["summary"] == {"files": 2, "errors": 2, "warnings": 0}
    assert [f["path"] for f in doc["files"]] == [str(bad), str(good)]
    assert doc["files"][1]["diagnostics"] == []
    first = doc["files"][0]["diagnostics"][0]
    assert set(first) == {
        "code", "severity", "message", "file", "range", "label", "labels", "notes", "helps", "fixes", "tags",
    }
    assert first["code"] == "E0101"
    assert first["severity"] == "error"
    assert first["file"] == str(bad)
    assert first["range"] == {"start": {"line": 2, "column": 1}, "end": {"line": 2, "column": 6}}
    assert first["fixes"] and first["fixes"][0]["edits"][0]["new_text"] == "train"
    assert first["fixes"][0]["edits"][0]["range"] == first["range"]


def _span(r: dict[str, dict[str, int]]) -> tuple[int, int, int, int]:
    return (r["start"]["line"], r["start"]["column"], r["end"]["line"], r["end"]["column"])


def test_check_json_ranges_start_and_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """1-based lines and columns counted in characters, the end exclusive: for
    every diagnostic, label and fix edit (a removed line ends on the next line)."""
    src = write(tmp_path / "r.vt", (
        'print "é😀", nope\n'  # `nope` is columns 13-16 (characters, not UTF-16 units)
        "rate 1\nrate 2\nprint rate\n"
        "model m\n    layers 2 4 2\n    seed 1\n    seed 2\n"
    ))
    r = volta(capsys, "check", "--format", "json", str(src))
    got = [
        (d["code"], _span(d["range"]), [_span(lab["range"]) for lab in d["labels"]],
         [_span(e["range"]) for fix in d["fixes"] for e in fix["edits"]])
        for d in json.loads(r.out)["files"][0]["diagnostics"]
    ]
    assert got == [
        ("E0301", (1, 13, 1, 17), [], [(1, 1, 1, 1)]),
        ("W0101", (2, 1, 2, 5), [], []),
        ("E0303", (3, 1, 3, 5), [(2, 1, 2, 5)], [(3, 5, 3, 5)]),
        ("E0206", (8, 5, 8, 9), [(7, 5, 7, 9)], [(8, 1, 9, 1)]),
    ]


def test_check_json_clean(capsys: pytest.CaptureFixture[str]) -> None:
    r = volta(capsys, "check", "--format=json", str(EXAMPLES / "primes.vt"))
    assert r.code == 0
    assert json.loads(r.out)["summary"] == {"files": 1, "errors": 0, "warnings": 0}


def test_check_json_file_errors_name_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "nope.vt")
    r = volta(capsys, "check", "--format", "json", missing)
    assert r.code == 1
    diag = json.loads(r.out)["files"][0]["diagnostics"][0]
    assert (diag["code"], diag["file"]) == ("E0801", missing)


def test_check_missing_file_is_e0801_and_others_still_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path / "bad.vt", BAD)
    r = volta(capsys, "check", str(tmp_path / "missing.vt"), str(bad))
    assert r.code == 1
    assert "error[E0801]" in r.out
    assert r.out.endswith("check: 2 files, 3 errors\n")


def test_check_invalid_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "bin.vt"
    src.write_bytes(b"\xff\xfe")
    r = volta(capsys, "check", str(src))
    assert r.code == 1
    assert "error[E0802]" in r.out and "byte offset 0" in r.out


def test_check_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert volta(capsys, "check").code == 2  # no files
    assert volta(capsys, "check", str(tmp_path)).code == 2  # a directory
    assert volta(capsys, "check", "notes.md").code == 2  # not .vt
    assert volta(capsys, "check", "--format", "xml", str(EXAMPLES / "primes.vt")).code == 2


def test_force_colour_and_no_color(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    bad = write(tmp_path / "bad.vt", BAD)
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert "\x1b[" in volta(capsys, "check", str(bad)).out
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in volta(capsys, "check", str(bad)).out


def _check_on_a_tty(path: Path, env: dict[str, str]) -> str:
    """stdout of ``python -m volta_core check PATH`` when stdout is a terminal."""
    main, child = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "volta_core", "check", str(path)],
            stdout=child, stderr=subprocess.PIPE, env=env, timeout=60, check=False,
        )
        os.close(child)
        child = -1
        chunks = []
        while True:
            try:
                data = os.read(main, 65536)
            except OSError:  # EIO once the terminal is drained
                break
            if not data:
                break
            chunks.append(data)
    finally:
        if child != -1:
            os.close(child)
        os.close(main)
    assert proc.returncode == 1
    return b"".join(chunks).decode()


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_colour_on_a_terminal_unless_no_color(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.vt", BAD)
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    assert "\x1b[" in _check_on_a_tty(bad, env)
    assert "\x1b[" not in _check_on_a_tty(bad, {**env, "NO_COLOR": "1"})
