"""A second `train` continues the model's optimizer state only when the
optimizer's settings are unchanged (docs/training.md, "The loop").

The settings that decide are the optimizer's name, ``momentum`` and
``weight_decay``; the learning rate (and its schedule) may change between
statements without losing the state, as when a PyTorch optimizer's ``lr`` is
edited. Each statement's record states the values it used.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from volta_core.lang import Session
from volta_core.train.optim import Optimizer
from volta_core.train.report import TrainReport

PROGRAM = """model m
    layers 2 8 2
    activation tanh
    output softmax
    seed 7
dataset d
    type blobs
    samples 32
    classes 2
    batch 8
    seed 3
"""
STEPS_PER_EPOCH = 4


def _train(session: Session, settings: str, epochs: int = 2) -> TrainReport:
    block = f"train m on d\n    epochs {epochs}\n    log_every 100\n" + "".join(
        f"    {line.strip()}\n" for line in settings.split(";") if line.strip()
    )
    result = session.run(block, "t.vt")
    assert result.ok, [d.message for d in result.diagnostics]
    return session.train_reports[-1]


def _setting(report: TrainReport, name: str) -> object:
    return next(s.value for s in report.settings if s.name == name)


def _optimizer(session: Session) -> Optimizer:
    opt = session.globals["m"].optimizer  # type: ignore[union-attr]
    assert isinstance(opt, Optimizer)
    return opt


@pytest.mark.parametrize(
    ("first", "second", "continues"),
    [
        ("optimizer adam; lr 0.05", "optimizer adam; lr 0.05", True),
        ("optimizer adam; lr 0.05", "optimizer adam; lr 0.01", True),
        ("optimizer adam; lr 0.05", "optimizer adam; lr 0.05; lr_schedule cosine", True),
        ("optimizer adam; weight_decay 0.0", "optimizer adam", True),
        ("optimizer adam", "optimizer adamw", False),
        ("optimizer adam", "optimizer rmsprop", False),
        ("optimizer adam", "optimizer adam; weight_decay 0.01", False),
        ("optimizer adamw; weight_decay 0.01", "optimizer adamw; weight_decay 0.02", False),
        ("optimizer momentum; momentum 0.9", "optimizer momentum; momentum 0.5", False),
        ("optimizer rmsprop", "optimizer rmsprop; momentum 0.9", False),
        ("optimizer adagrad; lr 0.05", "optimizer adagrad; lr 0.01", True),
        ("optimizer adagrad", "optimizer rmsprop", False),
    ],
)
def test_changed_optimizer_settings_start_fresh_state(first: str, second: str, continues: bool) -> None:
    session = Session(stdout=lambda s: None)
    assert session.run(PROGRAM, "t.vt").ok
    before = _train(session, first)
    opt = _optimizer(session)
    after = _train(session, second)
    now = _optimizer(session)
    assert (now is opt) is continues
    assert now.steps == (4 if continues else 2) * STEPS_PER_EPOCH  # steps this state has seen
    assert session.globals["m"].steps == 4 * STEPS_PER_EPOCH  # type: ignore[union-attr]
    # the record of each statement states what its optimizer used
    for report, opt_used in ((before, opt), (after, now)):
        assert _setting(report, "optimizer") == opt_used.name
        assert _setting(report, "weight_decay") == opt_used.weight_decay
        if opt_used.name in ("momentum", "rmsprop"):
            assert _setting(report, "momentum") == opt_used.momentum


def test_fresh_state_is_the_state_of_a_reloaded_model(tmp_path: Path) -> None:
    """A changed weight_decay trains exactly as if the model had been saved and
    loaded without its optimizer (which drops the state) before the second train."""
    changed = Session(stdout=lambda s: None)
    assert changed.run(PROGRAM, "t.vt").ok
    _train(changed, "optimizer adam; lr 0.05")
    direct = _train(changed, "optimizer adam; lr 0.05; weight_decay 0.01")

    reloaded = Session(stdout=lambda s: None, base_dir=tmp_path)
    assert reloaded.run(PROGRAM, "t.vt").ok
    _train(reloaded, "optimizer adam; lr 0.05")
    assert reloaded.run('save m as "w.safetensors"\nload m from "w.safetensors"\n', "t.vt").ok
    assert reloaded.globals["m"].optimizer is None  # type: ignore[union-attr]
    fresh = _train(reloaded, "optimizer adam; lr 0.05; weight_decay 0.01")
    assert direct.weights_sha256 == fresh.weights_sha256
    assert [e.loss for e in direct.epochs] == [e.loss for e in fresh.epochs]
