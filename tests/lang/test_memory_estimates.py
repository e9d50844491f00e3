"""Sizes beyond the machine are one E0608 naming the statement and the size,
never an internal error, and a batch is never larger than the data (issue 24, item 10)."""

from __future__ import annotations

from pathlib import Path

import pytest

from volta_core import cli
from volta_core.lang import Session

BIG = 9223372036854775807


def _errors(text: str) -> list[str]:
    result = Session(stdout=lambda s: None).run(text, "t.vt")
    return [f"{d.code} {d.message}" for d in result.errors]


@pytest.mark.parametrize("model", [
    f"model m\n    layers 2 {BIG} 1\n",
    "model m\n    layers 2 100000000000 1\n",
    f"model m\n    input tokens 4\n    layer embedding {BIG} 4\n    layer mean_pool\n    layer dense 2\n"
    "    loss cross_entropy\n",
    f"model m\n    input tokens 4\n    layer embedding 10 {BIG}\n    layer mean_pool\n    layer dense 2\n"
    "    loss cross_entropy\n",
    f"model m\n    input tokens 4\n    layer embedding 10 4\n    layer transformer 2 {BIG}\n    layer mean_pool\n"
    "    layer dense 2\n    loss cross_entropy\n",
])
def test_a_model_too_large_for_memory_is_e0608(model: str) -> None:
    errors = _errors(model)
    assert len(errors) == 1 and errors[0].startswith("E0608 the weights of model `m` ("), errors
    assert "would need" in errors[0] and "of memory" in errors[0]


def test_a_batch_beyond_memory_is_e0608(monkeypatch: pytest.MonkeyPatch) -> None:
    from volta_core.ir import budget

    monkeypatch.setattr(budget, "physical_memory", lambda: 64 * 1024**2)  # a 64 MiB machine
    errors = _errors("model m\n    layers 2 4096 2\n    loss cross_entropy\n"
                     "dataset d\n    type blobs\n    samples 100000\n    batch 100000\n"
                     "train m on d\n    epochs 1\n")
    assert len(errors) == 1 and errors[0].startswith("E0608 training model `m` at batch 100000 would need"), errors
    assert "this machine has 64.0 MiB" in errors[0]


@pytest.mark.parametrize("where", ["train", "dataset"])
def test_a_batch_far_beyond_the_data_is_sized_to_the_data(where: str) -> None:
    batch = f"    batch {BIG}\n"
    text = ("model m\n    layers 2 4 2\n    loss cross_entropy\ndataset d\n    type xor\n"
            + (batch if where == "dataset" else "") + "train m on d\n    epochs 1\n"
            + (batch if where == "train" else "") + "evaluate m on d\n")
    assert _errors(text) == []


def test_inspect_of_a_huge_model_is_a_table_not_an_internal_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "huge.vt"
    src.write_text(f"model m\n    layers 2 {BIG} 1\n", encoding="utf-8")
    assert cli.main(["inspect", str(src), "m"]) == 0
    out, err = capsys.readouterr()
    assert "IR: not available (its 36,893,488,147,419,103,229 parameters would need more than 8 EiB" in out
    assert "E9999" not in out + err
