"""Schema rows hold real defaults and ranges; the docs render them and the runtime reads them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from volta_core.check import schema as S
from volta_core.train import autopilot


def _values_with_defaults() -> list[tuple[str, str, S.ValueSpec]]:
    return [
        (block.name, spec.key, v)
        for block in S.BLOCKS.values()
        for spec in block.properties.values()
        for v in spec.values
        if v.default is not None
    ]


def test_some_values_have_defaults() -> None:
    keys = {(block, key) for block, key, _ in _values_with_defaults()}
    assert {("dataset", "batch"), ("dataset", "split"), ("train", "epochs"), ("model", "activation")} <= keys


@pytest.mark.parametrize(("block", "key", "value"), _values_with_defaults())
def test_every_default_is_a_value_its_row_accepts(block: str, key: str, value: S.ValueSpec) -> None:
    default = value.default
    if value.kind == "choice":
        assert default in value.choices
    elif value.kind == "bool":
        assert isinstance(default, bool)
    elif value.kind == "string":
        assert isinstance(default, str)
    else:
        assert isinstance(default, int if value.kind == "int" else (int, float))
        assert not isinstance(default, bool)
        assert value.in_range(default)


def test_default_doc_renders_the_value_then_the_note() -> None:
    dataset = S.DATASET.properties
    assert dataset["batch"].default_doc == "32"
    assert dataset["shuffle"].default_doc == "true"
    assert dataset["features"].default_doc == '"x"'
    assert dataset["split"].default_doc == "1 (no validation split)"
    assert S.TRAIN.properties["weight_decay"].default_doc == "0"
    assert S.MODEL.properties["activation"].default_doc == "relu"
    # A default the runtime computes has only the note; a key without one has nothing.
    assert S.TRAIN.properties["lr"].default_doc == "autopilot by model size"
    assert S.TRAIN.properties["steps"].default_doc == ""


@pytest.mark.parametrize(
    ("value", "interval"),
    [
        (S.ValueSpec("F", "number", minimum=0, maximum=1, exclusive_min=True), "(0, 1]"),
        (S.ValueSpec("M", "number", minimum=0, maximum=1, exclusive_max=True), "[0, 1)"),
        (S.ValueSpec("W", "number", minimum=0.5), "[0.5, inf)"),
        (S.ValueSpec("X", "number", maximum=2), "(-inf, 2]"),
    ],
)
def test_interval_text(value: S.ValueSpec, interval: str) -> None:
    assert value.interval_text() == interval


def test_autopilot_reads_the_train_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """Changing a train row's default changes what autopilot picks: it keeps no copy."""
    for key, default in (("epochs", 3), ("log_every", 2), ("determinism", "balanced")):
        spec = S.TRAIN.properties[key]
        monkeypatch.setitem(S.TRAIN.properties, key, replace(spec, values=(replace(spec.values[0], default=default),)))
    monkeypatch.setattr(autopilot, "cuda_status", lambda: "no driver")
    cfg = autopilot.resolve({}, widths=2, model_optimizer=None, dataset_batch=8)
    assert (cfg["epochs"], cfg["log_every"], cfg["determinism"], cfg["weight_decay"]) == (3, 2, "balanced", 0.0)
