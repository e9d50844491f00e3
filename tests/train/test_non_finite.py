"""A non-finite weight, validation loss, evaluation or prediction is never a
success, and the help names a cause that fits (issue 24, items 5 and 15)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from volta_core.lang import Session
from volta_core.train.optim import Optimizer

XOR = "dataset d\n    type xor\n"
MODEL = "model m\n    layers 2 4 2\n    loss cross_entropy\n    seed 1\n"


def _run(tmp_path: Path, text: str) -> tuple[list[str], str, Session]:
    out: list[str] = []
    session = Session(stdout=out.append, base_dir=tmp_path)
    result = session.run(text, "t.vt")
    errors = [f"{d.code} {d.message} | " + " | ".join((*d.helps, *d.notes)) for d in result.errors]
    return errors, "".join(out), session


def test_a_huge_learning_rate_stops_at_the_update_that_broke_the_weights(tmp_path: Path) -> None:
    program = XOR + MODEL + "train m on d\n    epochs 1\n    lr 1e39\n    optimizer sgd\n" \
        'save m as "m.safetensors"\n'
    errors, out, _ = _run(tmp_path, program)
    assert len(errors) == 1, errors
    assert errors[0].startswith("E0625 the update at step 1 (epoch 1) made the weights not finite: `0.dense.bias`")
    assert "`lr 1e+39` is beyond float32" in errors[0]
    assert "trained m" not in out
    assert not (tmp_path / "m.safetensors").exists()


def test_save_refuses_non_finite_weights(tmp_path: Path) -> None:
    errors, _, session = _run(tmp_path, XOR + MODEL)
    assert errors == []
    session.globals["m"].net.params["2.dense.weight"][0, 0] = np.inf  # type: ignore[attr-defined]
    errors, _, _ = _run_in(session, 'save m as "m.safetensors"\n')
    assert len(errors) == 1 and errors[0].startswith("E0625 model `m` was not saved"), errors
    assert "`2.dense.weight` holds nan or inf" in errors[0]
    assert not (tmp_path / "m.safetensors").exists()


def _run_in(session: Session, text: str) -> tuple[list[str], str, Session]:
    result = session.run(text, "more.vt")
    return [f"{d.code} {d.message}" for d in result.errors], "", session


def test_the_optimizer_names_the_first_non_finite_parameter() -> None:
    params = {"a": np.ones(3, np.float32), "b": np.ones((300, 300), np.float32)}
    grads = {"a": np.zeros(3, np.float32), "b": np.zeros((300, 300), np.float32)}
    opt = Optimizer("sgd")
    assert opt.step(params, grads, 0.1) is None
    grads["b"][7, 7] = np.inf
    assert opt.step(params, grads, 0.1) == "b"
    big = {"a": np.full(3, 1e19, np.float32)}  # squares overflow, values do not
    assert Optimizer("sgd").step(big, {"a": np.zeros(3, np.float32)}, 0.1) is None


def test_a_first_step_that_overflows_does_not_blame_the_learning_rate(tmp_path: Path) -> None:
    program = XOR + ("model m\n    input 2\n    layer dense 4\n    layer leaky_relu 1e308\n"
                     "    layer dense 2\n    loss cross_entropy\n    seed 1\n") + "train m on d\n    epochs 2\n"
    errors, _, _ = _run(tmp_path, program)
    assert len(errors) == 1 and errors[0].startswith("E0620 the loss became nan at step 1"), errors
    assert "learning rate is not the cause" in errors[0] and "`leaky_relu`'s slope" in errors[0]
    assert "lower the learning rate" not in errors[0]


def test_a_non_finite_validation_loss_stops_training(tmp_path: Path) -> None:
    # The validation rows are finite in float32, but their squared error is not.
    (tmp_path / "f.csv").write_text("a,b,y\n0.1,0.2,0.3\n0.2,0.1,0.1\n1e20,1e20,0.5\n1e20,1e20,0.2\n",
                                    encoding="utf-8")
    program = ('dataset d\n    type csv\n    source "f.csv"\n    target "y"\n    split 0.5\n    shuffle false\n'
               "model m\n    layers 2 4 1\n    loss mse\n    seed 1\n"
               "train m on d\n    epochs 3\n    early_stopping 1\n")
    errors, out, _ = _run(tmp_path, program)
    assert len(errors) == 1, errors
    assert errors[0].startswith("E0620 the validation loss became inf after epoch 1"), errors[0]
    assert "trained m" not in out


def test_evaluate_and_infer_never_report_a_non_finite_result(tmp_path: Path) -> None:
    errors, _, session = _run(tmp_path, XOR + MODEL)
    assert errors == []
    for w in session.globals["m"].net.params.values():  # type: ignore[attr-defined]
        w[...] = np.float32(3e37)
    errors, _, _ = _run_in(session, "evaluate m on d\n")
    assert len(errors) == 1 and errors[0].startswith("E0620 the loss of `m` on `d` is "), errors
    errors, _, _ = _run_in(session, "infer m\n    input 1 1\n")
    assert len(errors) == 1 and errors[0].startswith("E0606 the prediction for input row 1 is not finite"), errors


def test_numpy_warnings_never_reach_the_user(tmp_path: Path) -> None:
    # A real process: pytest would capture the warnings before they reach stderr.
    program = tmp_path / "p.vt"
    program.write_text(XOR + ("model m\n    input 2\n    layer dense 4\n    layer leaky_relu 1e308\n"
                              "    layer dense 2\n    loss cross_entropy\n    seed 1\n") + "infer m\n    input 1e30 1\n",
                       encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "volta_core", "run", str(program)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "error[E0606]" in proc.stderr, proc.stderr
    assert "RuntimeWarning" not in proc.stderr and ".py:" not in proc.stderr, proc.stderr
