"""Unit tests of the kernel's %step source generation and %plot text (no kernel process)."""

from __future__ import annotations

import pytest

from volta_core.train.progress import Progress
from volta_core.train.report import EpochStats, Setting
from volta_kernel.magics import MagicError, parse_step_args, step_source
from volta_kernel.plot import curves_text


def test_parse_step_args() -> None:
    assert parse_step_args(("m", "on", "d")) == ("m", "d", 1)
    assert parse_step_args(("m", "on", "d", "7")) == ("m", "d", 7)
    for bad in (("m",), ("m", "with", "d"), ("m", "on", "d", "x"), ("m", "on", "d", "-1")):
        with pytest.raises(MagicError):
            parse_step_args(bad)


def test_step_source_reuses_resolved_settings_but_not_defaults() -> None:
    settings = [
        Setting("epochs", 5, "explicit", "explicit"), Setting("optimizer", "sgd", "explicit", "explicit"),
        Setting("lr", 0.05, "rule", "rule"), Setting("batch", 16, "dataset", "dataset"),
        Setting("device", "cpu", "auto", "auto"), Setting("determinism", "strict", "default", "default"),
        Setting("clip_grad", 1.0, "explicit", "explicit"), Setting("early_stopping", 3, "explicit", "explicit"),
    ]
    assert step_source("m", "d", 3, settings) == (
        "# %step m on d 3\ntrain m on d\n    steps 3\n    optimizer sgd\n    lr 0.05\n    batch 16\n"
        "    clip_grad 1.0\n"
    )
    assert step_source("m", "d", 1, None) == "# %step m on d 1\ntrain m on d\n    steps 1\n"


def test_curves_text_shortens_long_histories() -> None:
    epochs = [EpochStats(i, i * 2, 1.0 / i, 0.5) for i in range(1, 31)]
    text = curves_text("m", epochs)
    assert text.splitlines()[0] == "training curves of m: 30 epochs, 60 steps"
    assert "…" in text and len(text.splitlines()) == 17
    assert "epoch 30  step 60  loss 0.0333  accuracy 0.5000" in text


def test_curves_text_counts_one_epoch_in_the_singular() -> None:
    assert curves_text("m", [EpochStats(1, 1, 0.5)]).splitlines()[0] == "training curves of m: 1 epoch, 1 step"


def test_progress_bar_shows_the_last_epoch() -> None:
    drawn: list[str] = []
    now = [0.0]
    bar = Progress(lambda _: None, drawn.append, 1, 2, clock=lambda: now[0])
    bar.step(1, 1, 0.5)
    bar.epoch(EpochStats(1, 1, 0.5), last=False)  # throttled: drawn 0 s ago
    bar.step(2, 2, 0.25)  # throttled too
    bar.epoch(EpochStats(2, 2, 0.25), last=True)  # the last epoch is always drawn
    bar.close()
    assert len(drawn) == 3
    assert drawn[1].startswith("\r\x1b[Kepoch 2/2  step 2  loss 0.2500  (last epoch: loss 0.2500)")
    assert drawn[2] == "\r\x1b[K"
