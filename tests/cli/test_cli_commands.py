"""``info``, ``inspect``, ``verify``, ``explain``, ``doctor``, ``version``,
argument errors and internal-error handling."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from volta_core import __version__, cli
from volta_core.check.symbols import LayerInfo, ModelInfo, SymbolTable
from volta_core.diagnostic_codes import CODES

from .helpers import EXAMPLES, TRAIN_PROGRAM, volta, write

# ------------------------------------------------------------------ info


def test_info_summarises_a_program(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write(
        tmp_path / "p.vt",
        'rate 0.5\nname "n"\nfn add(a, b)\n    return a + b\nloop 2\n    print add(1, 2)\n'
        "model m\n    layers 2 4 1\n    loss mse\ndataset d\n    type csv\n    source \"x.csv\"\n"
        '    target "y"\ntrain m on d\nprint rate, name\n',
    )
    r = volta(capsys, "info", str(src))
    assert r.code == 0, r.err
    assert "statements: 10 (2 declaration, 2 print, 1 dataset, 1 fn, 1 loop, 1 model, 1 return, 1 train)" in r.out
    assert "  models: 1\n    m: " in r.out
    assert '  datasets: 1\n    d: csv from "x.csv"\n' in r.out
    assert "  functions: 1\n    add(a, b): arity 2\n" in r.out
    assert "  variables: 2\n    rate" in r.out
    assert "diagnostics: none" in r.out


def test_info_on_a_file_with_errors_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write(tmp_path / "bad.vt", "print 1\ntrian m on d\n")
    r = volta(capsys, "info", str(src))
    assert r.code == 1
    assert "unparsable line" in r.out
    assert "volta check" in r.err


def test_inspect_of_an_onnx_file_says_what_to_use(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    r = volta(capsys, "inspect", str(tmp_path / "model.onnx"), "m")
    assert r.code == 2
    assert "is an ONNX file; `volta inspect` takes a `.vt` file" in r.err
    assert f"`volta info {tmp_path / 'model.onnx'}` summarises an ONNX file" in r.err and "inspect m" in r.err
    assert "arrives" not in r.err


def test_info_missing_onnx_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    r = volta(capsys, "info", str(tmp_path / "model.onnx"))
    assert r.code == 1
    assert "cannot read" in r.err and "model.onnx" in r.err and "Traceback" not in r.err


def test_info_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    r = volta(capsys, "info", str(tmp_path / "none.vt"))
    assert r.code == 1 and "error[E0801]" in r.err


# --------------------------------------------------------------- inspect


def _fake_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give the analysis a resolved layer table, as the checker will."""
    info = ModelInfo(
        name="xor_net",
        input_shape=(2,),
        token_input=False,
        layers=(
            LayerInfo(0, "dense", (8,), (8,), 24),
            LayerInfo(1, "tanh", (), (8,), 0),
            LayerInfo(2, "dense", (2,), (2,), 18),
            LayerInfo(3, "softmax", (), (2,), 0),
        ),
        loss="cross_entropy",
        total_params=42,
    )
    real = cli.analyze

    def analyze(text: str, path: str = "<input>") -> object:
        analysis = real(text, path)
        if "xor_net" not in analysis.symbols.models:
            analysis.symbols = SymbolTable(analysis.symbols.symbols, {"xor_net": info})
        return analysis

    monkeypatch.setattr(cli, "analyze", analyze)


def test_inspect_prints_the_layer_table(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_models(monkeypatch)
    r = volta(capsys, "inspect", str(EXAMPLES / "models.vt"), "xor_net")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0] == "model xor_net: input [2] -> output [2], loss cross_entropy"
    assert lines[2].split() == ["#", "layer", "output", "shape", "params"]
    assert lines[4].split() == ["input", "2", "[2]"]
    assert lines[5].split() == ["0", "dense", "8", "[8]", "24"]
    assert lines[6].split() == ["1", "tanh", "[8]", "0"]
    assert lines[-5].split() == ["total", "4", "layers", "[2]", "42"]
    assert lines[-3] == "  IR nodes: 11 (inference, batch 1)"
    assert re.fullmatch(r"  peak planned memory: [\d,]+ bytes", lines[-2])
    assert re.fullmatch(r"  graph fingerprint: [0-9a-f]{16}", lines[-1])


def test_inspect_unknown_model_suggests(capsys: pytest.CaptureFixture[str]) -> None:
    r = volta(capsys, "inspect", str(EXAMPLES / "models.vt"), "xor_nett")
    assert r.code == 2
    assert "no model named `xor_nett`" in r.err
    assert "did you mean `xor_net`?" in r.err


def test_inspect_in_a_file_without_models(capsys: pytest.CaptureFixture[str]) -> None:
    r = volta(capsys, "inspect", str(EXAMPLES / "primes.vt"), "m")
    assert r.code == 2
    assert "declares no models" in r.err


def test_inspect_unresolved_model_is_honest(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    real = cli.analyze

    def analyze(text: str, path: str = "<input>") -> object:
        analysis = real(text, path)
        analysis.symbols = SymbolTable(analysis.symbols.symbols, {})
        return analysis

    monkeypatch.setattr(cli, "analyze", analyze)
    r = volta(capsys, "inspect", str(EXAMPLES / "models.vt"), "blob_net")
    assert r.code == 1
    assert "could not be resolved" in r.err
    assert r.out == ""


# ---------------------------------------------------- verify, explain, version


def test_verify_bit_identical_and_divergence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write(tmp_path / "p.vt", TRAIN_PROGRAM)
    rec = tmp_path / "out" / "run.json"
    rec.parent.mkdir()
    assert volta(capsys, "run", str(src), "--quiet", "--record", str(rec)).code == 0
    assert json.loads(rec.read_text())["program"] == "../p.vt"
    r = volta(capsys, "verify", str(rec))
    assert (r.code, r.out) == (0, "bit-identical: 1 train statement, 2 epochs\n")
    assert r.err == ""
    # a changed program is re-run after a warning, and the divergence is named
    write(src, TRAIN_PROGRAM.replace("epochs 2", "epochs 2\n    lr 0.5"))
    r = volta(capsys, "verify", str(rec))
    assert r.code == 1
    assert "changed since the record was written" in r.err
    assert r.out.startswith("diverged: train statement 1 (`train m on d`): setting `lr` differs: recorded 0.001")
    # a tampered epoch loss is reported with the epoch
    write(src, TRAIN_PROGRAM)
    data = json.loads(rec.read_text())
    data["trains"][0]["epochs"][1]["loss"] += 1e-9
    rec.write_text(json.dumps(data))
    r = volta(capsys, "verify", str(rec))
    assert r.code == 1 and "epoch 2: loss differs" in r.out
    assert "BLAS kernels" not in r.out  # same kernels: no note
    # a record from other BLAS kernels: the divergence comes with a note naming both
    data["blas"] = "Prescott (forced: OPENBLAS_CORETYPE=Prescott)"
    rec.write_text(json.dumps(data))
    r = volta(capsys, "verify", str(rec))
    assert r.code == 1
    assert "note: recorded with BLAS kernels Prescott (forced: OPENBLAS_CORETYPE=Prescott); now " in r.out


def test_verify_bad_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = volta(capsys, "verify", str(tmp_path / "run.json"))
    assert r.code == 1 and "not found" in r.err
    write(tmp_path / "bad.json", "{")
    r = volta(capsys, "verify", str(tmp_path / "bad.json"))
    assert r.code == 1 and "not valid JSON" in r.err


@pytest.mark.parametrize("code", ["E0203", "e0203", " W0101 "])
def test_explain_known_code(code: str, capsys: pytest.CaptureFixture[str]) -> None:
    r = volta(capsys, "explain", code)
    assert r.code == 0
    key = code.strip().upper()
    assert r.out.startswith(f"{key}: {CODES[key].title}\n\n")


def test_explain_every_code(capsys: pytest.CaptureFixture[str]) -> None:
    for code in CODES:
        assert volta(capsys, "explain", code).code == 0


def test_explain_unknown_code_suggests(capsys: pytest.CaptureFixture[str]) -> None:
    r = volta(capsys, "explain", "E0230")
    assert r.code == 2
    assert "unknown diagnostic code `E0230`" in r.err
    assert "did you mean `E0203`?" in r.err or "did you mean `E0230`" not in r.err


def test_explain_nonsense_has_no_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    r = volta(capsys, "explain", "banana")
    assert r.code == 2
    assert "did you mean" not in r.err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert volta(capsys, "version").out == f"volta {__version__}\n"
    r = volta(capsys, "--version")
    assert (r.code, r.out) == (0, f"volta {__version__}\n")


# ---------------------------------------------------------------- doctor


def test_doctor_json_keys(capsys: pytest.CaptureFixture[str]) -> None:
    r = volta(capsys, "doctor", "--json")
    assert r.code == 0
    report = json.loads(r.out)
    assert set(report) == {
        "python", "platform", "volta", "numpy", "blas_kernels", "conv_kernels", "threads", "cuda", "onnx", "onnxruntime", "kernel",
        "lsp", "mpi",
    }
    assert set(report["mpi"]) == {"mpi4py", "mpiexec"}
    assert report["volta"]["version"] == __version__
    assert report["numpy"]["installed"] is True
    assert "OMP_NUM_THREADS" in report["threads"]["env"]
    assert set(report["cuda"]) == {"pycuda", "gpu", "devices", "cublas", "backend"}
    assert report["lsp"]["ready"] is True and set(report["lsp"]) == {"pygls", "ready", "missing", "why"}
    assert set(report["onnx"]) == {"installed", "version"}


def test_doctor_text(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    r = volta(capsys, "doctor")
    assert r.code == 0
    for key in ("python", "numpy", "blas", "cpu count", "pycuda", "gpu", "onnxruntime", "ipykernel", "language server", "pygls"):
        assert f"\n  {key} " in r.out
    assert "OMP_NUM_THREADS=3" in r.out


def test_doctor_survives_a_broken_pycuda(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from volta_core import doctor

    monkeypatch.setattr(doctor, "_package", lambda name, module=None: {"installed": True, "version": "9"})

    def boom(name: str) -> object:
        raise RuntimeError("driver exploded")

    monkeypatch.setattr(doctor.importlib, "import_module", boom)
    r = volta(capsys, "doctor", "--json")
    assert r.code == 0
    assert "driver exploded" in json.loads(r.out)["cuda"]["gpu"]


# --------------------------------------------------- usage and internal errors


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    r = volta(capsys)
    assert r.code == 2
    assert "usage: volta" in r.err


def test_unknown_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    r = volta(capsys, "frobnicate")
    assert r.code == 2
    assert "invalid choice" in r.err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    r = volta(capsys, "--help")
    assert r.code == 0 and "usage: volta" in r.out


def _crash(*args: object, **kwargs: object) -> object:
    raise RuntimeError("boom")


@pytest.mark.parametrize("debug_first", [True, False])
def test_internal_error_traceback_only_with_debug(
    debug_first: bool, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "analyze", _crash)
    path = str(EXAMPLES / "primes.vt")
    r = volta(capsys, "check", path)
    assert r.code == 1
    assert r.err.startswith("error[E9999]: internal error\n")
    assert "RuntimeError: boom" in r.err
    assert "--debug" in r.err and "volta doctor" in r.err
    assert "Traceback" not in r.err
    argv = ["--debug", "check", path] if debug_first else ["check", path, "--debug"]
    r = volta(capsys, *argv)
    assert r.code == 1
    assert "error[E9999]" in r.err
    assert "Traceback (most recent call last)" in r.err


def test_internal_error_while_running(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from volta_core.lang import interpreter

    monkeypatch.setattr(interpreter.Interpreter, "execute", _crash)
    src = write(tmp_path / "a.vt", "print 1\n")
    r = volta(capsys, "run", str(src))
    assert r.code == 1
    assert "error[E9999]" in r.err and "Traceback" not in r.err
    r = volta(capsys, "run", str(src), "--debug")
    assert r.code == 1
    assert "error[E9999]" in r.err and "Traceback (most recent call last)" in r.err


def test_keyboard_interrupt_exits_130(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(*args: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "analyze", interrupt)
    r = volta(capsys, "check", str(EXAMPLES / "primes.vt"))
    assert r.code == 130
    assert "Traceback" not in r.err
