"""Model statements end to end through a Session: training, autopilot table,
NaN detection, interrupts, checkpoints, inference, members, determinism."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from volta_core.lang import Session

XOR = """model xor_net
    layers 2 8 2
    activation tanh
    output softmax
    seed 7
dataset xor_data
    type xor
    batch 4
"""
TRAIN = "train xor_net on xor_data\n    epochs 150\n    optimizer adam\n    lr 0.05\n    log_every 1000\n"


class Run:
    def __init__(self, base: Path | None = None) -> None:
        self.out: list[str] = []
        self.session = Session(stdout=self.out.append, base_dir=base)

    def __call__(self, text: str):  # type: ignore[no-untyped-def]
        return self.session.run(text, "t.vt")

    @property
    def text(self) -> str:
        return "".join(self.out)


def weights(run: Run, name: str = "xor_net") -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in run.session.globals[name].net.params.items()}  # type: ignore[union-attr]


def test_xor_trains_to_full_accuracy_and_sets_members() -> None:
    run = Run()
    assert run(XOR + TRAIN + "print xor_net.accuracy, xor_net.steps, xor_net.epochs, xor_net.params\n").ok
    assert run.text.endswith("1.0 150 150 42\n")
    report = run.session.train_reports[-1]
    assert report.steps == 150 and len(report.epochs) == 150 and len(report.weights_sha256) == 64
    assert run("print xor_data.size, xor_data.train_size, xor_data.val_size, xor_data.batch\n").ok
    assert run.text.endswith("4 4 0 4\n")


def test_autopilot_table_golden() -> None:
    run = Run()
    assert run("model m\n    layers 2 8 2\n    output softmax\ndataset d\n    type xor\n"
               "train m on d\n    epochs 1\n").ok
    assert run.text.startswith(
        "Auto configuration:\n"
        "    epochs = 1 (explicit)\n"
        "    optimizer = adam (rule: small model, 3 layers)\n"
        "    lr = 0.001 (rule: small model)\n"
        "    batch = 32 (dataset)\n"
        "    device = cpu (auto: no CUDA device)\n"
        "    precision = fp32 (rule: device=cpu)\n"
        "    determinism = strict (default)\n"
        "epoch 1/1  loss "
    )


def test_autopilot_size_rules() -> None:
    from volta_core.train.autopilot import resolve

    small = resolve({}, widths=3, model_optimizer=None, dataset_batch=None)
    assert (small["optimizer"], small["lr"], small["batch"], small["epochs"]) == ("adam", 0.001, 32, 10)
    medium = resolve({}, widths=6, model_optimizer=None, dataset_batch=8)
    assert (medium["optimizer"], medium["lr"], medium["batch"]) == ("adam", 0.0007, 8)
    large = resolve({"batch": 4}, widths=7, model_optimizer=("sgd", 0.1), dataset_batch=8)
    assert (large["optimizer"], large["lr"], large["batch"]) == ("sgd", 0.1, 4)
    assert resolve({}, widths=7, model_optimizer=None, dataset_batch=None)["optimizer"] == "adamw"


def test_training_again_continues() -> None:
    run = Run()
    assert run(XOR + "train xor_net on xor_data\n    epochs 5\n    lr 0.05\n").ok
    opt = run.session.globals["xor_net"].optimizer  # type: ignore[union-attr]
    assert run("train xor_net on xor_data\n    epochs 5\n    lr 0.05\n").ok
    model = run.session.globals["xor_net"]
    assert model.optimizer is opt and opt.steps == 10 and model.steps == 10  # type: ignore[union-attr]


def test_nan_stops_with_diagnostic_naming_the_step() -> None:
    run = Run()
    result = run("model xor_net\n    layers 2 8 1\n    loss mse\ndataset xor_data\n    type xor\n"
                 "train xor_net on xor_data\n    epochs 50\n    optimizer sgd\n    lr 1e10\n")
    err = result.errors[-1]
    assert err.code == "E0620"
    assert "at step" in err.message
    step = int(err.message.split("at step ")[1].split()[0])
    report = run.session.train_reports[-1]
    assert report.stopped == "nan" and report.steps == step - 1
    assert all(np.isfinite(v).all() for v in weights(run).values())


def _at_step(model: object, n: int, action: Callable[[], None]) -> dict[str, int]:
    """Make ``model``'s n-th training step call ``action`` before it computes; returns the step counter."""
    calls = {"n": 0}
    original = model.net.train_step  # type: ignore[attr-defined]

    def step(x, y, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == n:
            action()
        return original(x, y, *args, **kwargs)

    model.net.train_step = step  # type: ignore[attr-defined]
    return calls


def test_interrupt_stops_at_a_step_boundary() -> None:
    run = Run()
    assert run(XOR).ok
    model = run.session.globals["xor_net"]
    _at_step(model, 7, run.session.interrupt)
    result = run("train xor_net on xor_data\n    epochs 100\n")
    assert result.errors[-1].code == "E0607"
    assert "after step 7" in result.errors[-1].message
    assert model.steps == 7 and model.optimizer.steps == 7  # type: ignore[union-attr]
    assert run.session.train_reports[-1].stopped == "interrupted"


def test_ctrl_c_during_a_step_is_deferred_to_the_step_boundary() -> None:
    """A real SIGINT in the middle of step 3 lets that step finish and stops
    training before step 4 (E0607), instead of cutting the step in half or
    being lost. Runs in the main thread, where Python delivers signals."""
    assert threading.current_thread() is threading.main_thread()
    run = Run()
    assert run(XOR).ok
    model = run.session.globals["xor_net"]
    calls = _at_step(model, 3, lambda: signal.raise_signal(signal.SIGINT))  # the handler runs mid-step
    before = signal.getsignal(signal.SIGINT)
    result = run("train xor_net on xor_data\n    epochs 100\n")
    assert [d.code for d in result.errors] == ["E0607"]
    assert result.errors[0].message == "training interrupted after step 3 (epoch 3 complete)"
    assert model.steps == 3 and model.optimizer.steps == 3 and calls["n"] == 3  # type: ignore[union-attr]
    assert signal.getsignal(signal.SIGINT) is before  # the previous handler is put back
    assert run("print xor_net.steps\n").ok and run.text.endswith("3\n")


def test_save_load_round_trip_and_mismatch(tmp_path: Path) -> None:
    run = Run(tmp_path)
    assert run(XOR + TRAIN + 'save xor_net as "x.safetensors" with optimizer\n').ok
    trained = weights(run)
    other = Run(tmp_path)
    assert other(XOR + 'load xor_net from "x.safetensors"\n').ok
    loaded = weights(other)
    assert all(np.array_equal(trained[k], loaded[k]) and trained[k].dtype == loaded[k].dtype for k in trained)
    assert other.session.globals["xor_net"].steps == 150  # type: ignore[union-attr]
    assert other.session.globals["xor_net"].optimizer.steps == 150  # type: ignore[union-attr]
    bad = Run(tmp_path)
    result = bad('model xor_net\n    layers 2 4 2\n    output softmax\nload xor_net from "x.safetensors"\n')
    err = result.errors[-1]
    assert "0.dense.bias" in err.message and "[4]" in err.message and "[8]" in err.message


def test_save_before_train_writes_initial_weights(tmp_path: Path) -> None:
    run = Run(tmp_path)
    assert run(XOR + 'save xor_net as "init.safetensors"\n').ok
    assert (tmp_path / "init.safetensors").exists()


def test_infer_rows_and_csv(tmp_path: Path) -> None:
    run = Run(tmp_path)
    (tmp_path / "in.csv").write_text("a,b\n0,0\n0,1\n1,0\n1,1\n")
    assert run(XOR + TRAIN + 'infer xor_net on "in.csv" as "out.csv"\ninfer xor_net\n    input 1 0\n').ok
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert lines[0] == "pred_0,pred_1" and len(lines) == 5
    preds = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    assert list(np.argmax(preds, axis=1)) == [0, 1, 1, 0]
    assert run.text.splitlines()[-1].startswith("class 1  probabilities ")
    (tmp_path / "bad.csv").write_text("a,b\n0,zero\n")
    err = run('infer xor_net on "bad.csv" as "o2.csv"\n').errors[-1]
    assert err.code == "E0623" and "row 2" in err.message and "`b`" in err.message
    assert not (tmp_path / "o2.csv").exists()


def test_blobs_validation_accuracy_and_no_early_stop_while_improving() -> None:
    run = Run()
    assert run("dataset b\n    type blobs\n    samples 400\n    classes 3\n    split 0.8\n    seed 3\n"
               "model m\n    layers 2 16 3\n    output softmax\n    seed 1\n"
               "train m on b\n    epochs 15\n    lr 0.01\n    early_stopping 2\n    log_every 100\n").ok
    assert run.session.globals["m"].metrics["val_accuracy"] >= 0.9  # type: ignore[union-attr]
    # the validation loss falls every epoch, so early stopping never fires
    # (runs that must stop: tests/train/test_early_stopping.py)
    report = run.session.train_reports[-1]
    assert report.stopped is None and len(report.epochs) == 15


def test_regression_loss_decreases_and_accuracy_is_unavailable() -> None:
    run = Run()
    assert run("model r\n    layers 3 8 1\n    loss mse\ndataset s\n    type synthetic\n    samples 128\n"
               "train r on s\n    epochs 1\n    lr 0.01\n").ok
    first = run.session.globals["r"].metrics["loss"]  # type: ignore[union-attr]
    assert run("train r on s\n    epochs 20\n    lr 0.01\n    log_every 100\n").ok
    assert run.session.globals["r"].metrics["loss"] < first  # type: ignore[union-attr]
    err = run("print r.accuracy\n").errors[-1]
    assert err.code == "E0621" and "regression" in err.message


def test_dataset_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("x,label\n1,0\nfoo,1\n")
    run = Run(tmp_path)
    result = run('dataset d\n    type csv\n    source "d.csv"\n    target "label"\n')
    err = result.errors[-1]
    assert "d.csv" in err.message and "row" in err.message


DET = XOR + "train xor_net on xor_data\n    epochs 30\n    lr 0.05\n    log_every 1\n"


def test_determinism_in_process() -> None:
    a, b = Run(), Run()
    assert a(DET).ok and b(DET).ok
    assert a.text == b.text
    assert a.session.train_reports[0].weights_sha256 == b.session.train_reports[0].weights_sha256


def test_determinism_across_processes(tmp_path: Path) -> None:
    src = tmp_path / "d.vt"
    src.write_text(DET)
    outs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        proc = subprocess.run([sys.executable, "-m", "volta_core", "run", str(src)], capture_output=True,
                              text=True, env=env, timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr
        outs.append(proc.stdout)
    assert outs[0] == outs[1]


def test_evaluate_is_the_mean_over_examples_with_an_uneven_last_batch() -> None:
    """Batches of 4, 4 and 2 examples: the loss is the mean over the 10 examples
    (the last batch weighs half as much as the others), as one batch of 10 gives."""
    run = Run()
    data = "    type blobs\n    samples 10\n    classes 2\n    seed 4\n"
    assert run("model m\n    layers 2 3 2\n    output softmax\n    seed 2\n"
               f"dataset by4\n{data}    batch 4\ndataset by10\n{data}    batch 10\n").ok
    assert run("evaluate m on by4\nx4 m.loss\nevaluate m on by10\nx10 m.loss\n").ok
    by4, by10 = run.session.globals["x4"], run.session.globals["x10"]
    assert isinstance(by4, float) and isinstance(by10, float)
    assert by4 == pytest.approx(by10, rel=1e-6)
    assert "evaluate m on by4 (all data, 10 examples): loss " in run.text
    # the premise: the plain mean of the three batch means is a different number
    net = run.session.globals["m"].net  # type: ignore[union-attr]
    split = run.session.globals["by4"].load().train  # type: ignore[union-attr]
    batch_means = [net.loss_on(split.x[i : i + 4], split.y[i : i + 4])[0] for i in (0, 4, 8)]
    assert abs(float(np.mean(batch_means)) - by4) > 1e-3


def test_a_second_train_counts_its_own_epochs_and_shows_the_model_totals_apart() -> None:
    run = Run()
    assert run(XOR + "train xor_net on xor_data\n    epochs 3\n").ok
    first = run.text
    assert "epoch 3/3  loss" in first and "trained xor_net: 3 epochs, 3 steps  loss" in first
    run.out.clear()
    assert run("train xor_net on xor_data\n    epochs 2\n").ok
    lines = [line for line in run.text.splitlines() if line.startswith(("epoch", "trained"))]
    assert [line.split("  ")[0] for line in lines] == [
        "epoch 1/2 (model epoch 4)",
        "epoch 2/2 (model epoch 5)",
        "trained xor_net: 2 epochs, 2 steps (model total: 5 epochs, 5 steps)",
    ]
    run.out.clear()
    assert run("train xor_net on xor_data\n    steps 1\n").ok
    assert "trained xor_net: 1 epoch, 1 step (model total: 6 epochs, 6 steps)" in run.text


def test_the_progress_bar_of_a_second_train_shows_its_own_counts_and_the_models() -> None:
    from volta_core.train.progress import Progress
    from volta_core.train.report import EpochStats

    drawn: list[str] = []
    bar = Progress(lambda _: None, drawn.append, 1, 2, clock=lambda: 0.0, start_epoch=3, start_step=12)
    bar.step(5, 16, 0.5)
    bar.epoch(EpochStats(5, 16, 0.5), last=True)
    assert drawn[-1].startswith("\r\x1b[Kepoch 2/2 (model epoch 5)  step 4 (model step 16)  loss 0.5000")
