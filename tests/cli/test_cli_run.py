"""``volta run``: output, diagnostics, exit codes, options and file errors."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import EXAMPLES, TRAIN_PROGRAM, volta, write


def test_run_prints_program_output_and_no_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write(tmp_path / "a.vt", 'x 2\nprint "x is", x * 3\n')
    r = volta(capsys, "run", str(src))
    assert (r.code, r.out, r.err) == (0, "x is 6\n", "")


def test_run_runtime_error_exits_1_with_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write(tmp_path / "div.vt", 'print "before"\nprint 1 / 0\nprint "after"\n')
    r = volta(capsys, "run", str(src))
    assert r.code == 1
    assert r.out == "before\n"
    assert "error[E0601]" in r.err
    assert f"{src}:2:" in r.err
    assert r.err.rstrip().endswith("run: 1 error")


def test_run_syntax_error_does_not_execute(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write(tmp_path / "bad.vt", 'print "never"\ntrian m on d\n')
    r = volta(capsys, "run", str(src))
    assert r.code == 1
    assert r.out == ""
    assert "error[E0101]" in r.err
    assert "run: 1 error" in r.err


MISSPELT_EPOCHS = "model m\n    layers 2 2\n    output softmax\ndataset d\n    type xor\ntrain m on d\n    epoch 3\n"


def test_a_misspelt_property_key_is_an_error_in_check_and_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # `epoch 3` would otherwise train the default 10 epochs without a word.
    src = write(tmp_path / "typo.vt", MISSPELT_EPOCHS)
    checked = volta(capsys, "check", str(src))
    assert checked.code == 1 and "error[E0201]: unknown property `epoch` in train block" in checked.out
    assert "did you mean `epochs`?" in checked.out
    ran = volta(capsys, "run", str(src))
    assert ran.code == 1 and "error[E0201]" in ran.err
    assert ran.out == ""  # nothing ran: no autopilot table, no training


def test_use_fn_is_not_supported_in_check_and_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write(tmp_path / "use.vt", "fn forward(x)\n    return x\nmodel m\n    layers 2 1\n    use forward\n")
    for command, stream in (("check", "out"), ("run", "err")):
        r = volta(capsys, command, str(src))
        text = getattr(r, stream)
        assert r.code == 1, text
        assert "error[E0201]: `use FN` (a model backed by a function) is not supported" in text
        assert "explicit stack" in text and "W0102" not in text


def test_run_models_example_trains(capsys: pytest.CaptureFixture[str]) -> None:
    r = volta(capsys, "run", str(EXAMPLES / "models.vt"), "--quiet")
    assert r.code == 0, r.err
    assert "Auto configuration:" in r.out


def test_run_device_gpu_is_an_error_not_a_fallback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write(tmp_path / "g.vt", "model m\n    layers 2 2\n    output softmax\n"
                "dataset d\n    type xor\ntrain m on d\n    epochs 1\n")
    r = volta(capsys, "run", str(src), "--device", "gpu")
    assert r.code == 1
    assert "error[E0622]" in r.err and "`device gpu` is not available" in r.err


def test_run_record_without_training(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write(tmp_path / "a.vt", 'print "ran"\n')
    r = volta(capsys, "run", str(src), "--record", str(tmp_path / "run.json"))
    assert r.code == 0
    assert r.out == "ran\n"
    assert "wrote run record" in r.err and "0 train statements" in r.err
    assert (tmp_path / "run.json").exists()


def test_run_record_not_written_when_the_program_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write(tmp_path / "a.vt", "print 1 / 0\n")
    r = volta(capsys, "run", str(src), "--record", str(tmp_path / "run.json"))
    assert r.code == 1
    assert "no run record written" in r.err
    assert not (tmp_path / "run.json").exists()


@pytest.mark.parametrize("device", ["cpu", "gpu", "auto"])
def test_run_accepts_valid_devices(device: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write(tmp_path / "a.vt", "print 1\n")
    assert volta(capsys, "run", str(src), "--device", device, "--quiet").code == 0


def test_run_rejects_unknown_device(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write(tmp_path / "a.vt", "print 1\n")
    r = volta(capsys, "run", str(src), "--device", "tpu")
    assert r.code == 2
    assert "invalid choice" in r.err


def test_run_missing_file_is_e0801(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = volta(capsys, "run", str(tmp_path / "missing.vt"))
    assert r.code == 1
    assert r.err.startswith("error[E0801]: cannot read")
    assert "missing.vt" in r.err
    assert "Traceback" not in r.err


def test_run_invalid_utf8_is_e0802_with_byte_offset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "latin1.vt"
    src.write_bytes(b'print "ok"\nprint "caf\xe9"\n')
    r = volta(capsys, "run", str(src))
    assert r.code == 1
    assert "error[E0802]" in r.err
    assert "byte offset 21" in r.err
    assert f"{src}:2:11" in r.err  # line and column of the bad byte


def test_run_directory_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = volta(capsys, "run", str(tmp_path))
    assert r.code == 2
    assert "is a directory" in r.err


def test_run_non_vt_path_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write(tmp_path / "a.txt", "print 1\n")
    r = volta(capsys, "run", str(src))
    assert r.code == 2
    assert "not a Volta source file" in r.err


def test_run_resolves_relative_to_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # The session's base directory is the file's directory, whatever the cwd.
    from volta_core import lang

    seen: list[Path | None] = []
    original = lang.Session.__init__

    def spy(self: lang.Session, **kwargs: object) -> None:
        seen.append(kwargs.get("base_dir"))  # type: ignore[arg-type]
        original(self, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(lang.Session, "__init__", spy)
    write(tmp_path / "sub" / "a.vt", "print 1\n")
    monkeypatch.chdir(tmp_path)
    assert volta(capsys, "run", "sub/a.vt").code == 0
    assert seen == [(tmp_path / "sub").resolve()]


def test_run_warnings_only_exit_0_with_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from volta_core.analysis import analyze

    text = "unused 1\nprint 2\n"
    assert [d.code for d in analyze(text).warnings] == ["W0101"]  # the premise: a warning, no error
    src = write(tmp_path / "w.vt", text)
    r = volta(capsys, "run", str(src))
    assert r.code == 0
    assert r.out == "2\n"
    assert "warning[" in r.err and "run: 1 warning" in r.err


def _run_on_a_terminal(path: Path, *options: str) -> str:
    """Everything ``python -m volta_core run PATH`` writes when stdout and stderr are a terminal."""
    main, child = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    proc = subprocess.Popen([sys.executable, "-m", "volta_core", "run", str(path), *options],
                            stdout=child, stderr=child, env=env)  # fmt: skip
    os.close(child)
    chunks = []
    try:
        while True:  # read while it runs: a full terminal buffer would block the program
            try:
                data = os.read(main, 65536)
            except OSError:  # EIO once the program has exited and the terminal is drained
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(main)
        code = proc.wait(timeout=120)
    assert code == 0, b"".join(chunks).decode()
    return b"".join(chunks).decode().replace("\r\n", "\n")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_quiet_on_a_terminal_shows_no_progress(tmp_path: Path) -> None:
    src = write(tmp_path / "t.vt", TRAIN_PROGRAM.replace("epochs 2", "epochs 30"))
    shown = _run_on_a_terminal(src)
    assert "\r\x1b[K" in shown and "epoch 30/30" in shown  # the updating line
    assert "\nepoch 1/30  " not in shown  # and no line per epoch
    quiet = _run_on_a_terminal(src, "--quiet")
    assert "Auto configuration:" in quiet and "trained m: 30 epochs" in quiet
    assert "epoch 1/30" not in quiet and "\r\x1b[K" not in quiet
    assert len(quiet.splitlines()) < len(shown.splitlines()) + 5
