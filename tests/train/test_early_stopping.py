"""`early_stopping P` (docs/training.md, "The loop"): training stops when the
monitored loss — the validation loss, or the training loss without a validation
split — has not improved (strictly decreased) for P epochs in a row; the run
stops right after that epoch, reports ``stopped == "early_stopping"`` and keeps
the last epoch's weights."""

from __future__ import annotations

import math

import pytest

from volta_core.lang import Session
from volta_core.train.report import TrainReport

# With sgd at lr 1e-30 no update changes a float32 weight by a representable
# amount, so the training loss is the same every epoch: never an improvement.
PLATEAU = """model m
    layers 2 8 2
    output softmax
    seed 7
dataset d
    type xor
train m on d
    epochs 20
    optimizer sgd
    lr 1e-30
    log_every 100
"""

SPIRAL = """dataset b
    type spiral
    samples 120
    classes 3
    split 0.5
    seed 3
    batch 8
model m
    layers 2 32 3
    output softmax
    seed 1
train m on b
    epochs 60
    lr 0.3
    log_every 100
"""


def _train(program: str) -> tuple[Session, TrainReport, str]:
    out: list[str] = []
    session = Session(stdout=out.append)
    result = session.run(program, "t.vt")
    assert result.ok, [d.message for d in result.diagnostics]
    return session, session.train_reports[-1], "".join(out)


def _improvements(losses: list[float]) -> str:
    """``+`` for an epoch whose loss is a new best, ``-`` otherwise."""
    best, marks = math.inf, []
    for loss in losses:
        marks.append("+" if loss < best else "-")
        best = min(best, loss)
    return "".join(marks)


@pytest.mark.parametrize("patience", [1, 2, 3])
def test_a_plateau_stops_after_exactly_patience_epochs_without_improvement(patience: int) -> None:
    session, report, out = _train(PLATEAU + f"    early_stopping {patience}\n")
    losses = [e.loss for e in report.epochs]
    assert len(set(losses)) == 1  # the premise: a flat loss, epoch 1 is the only "improvement"
    # epoch 1 sets the best; epochs 2 … patience + 1 do not improve; the last of them stops
    assert len(report.epochs) == patience + 1
    assert report.stopped == "early_stopping"
    assert session.globals["m"].epochs == patience + 1  # type: ignore[union-attr]
    assert f"trained m: {patience + 1} epochs, {patience + 1} steps (early stopping)" in out


def test_without_early_stopping_the_plateau_runs_every_epoch() -> None:
    _, report, out = _train(PLATEAU)
    assert len(report.epochs) == 20 and report.stopped is None
    assert "(early stopping)" not in out


@pytest.mark.parametrize(
    ("patience", "epochs", "marks"),
    [
        # epochs 7 and 8 do not improve: patience 2 stops at epoch 8 ...
        (2, 8, "+++-++--"),
        # ... patience 3 does not (epoch 9 improves and resets the count) and stops at 12
        (3, 12, "+++-++--+---"),
    ],
)
def test_the_validation_loss_decides_and_an_improvement_resets_the_count(
    patience: int, epochs: int, marks: str
) -> None:
    _, report, _ = _train(SPIRAL + f"    early_stopping {patience}\n")
    val = [e.val_loss for e in report.epochs]
    assert all(v is not None for v in val)
    assert _improvements([v for v in val if v is not None]) == marks
    assert len(report.epochs) == epochs and report.stopped == "early_stopping"
