"""The original Volta's example programs run as written (issue 19).

``tests/original_programs/`` holds them verbatim. ``xor.vt`` runs in full; the
benchmarks train 50 epochs of a 512-1024-1024-512-256-1 MLP, so here their
epochs are cut to one by text substitution (the layers, dataset and optimizer
stay as written).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from volta_core.analysis import analyze
from volta_core.lang import Session

ORIGINALS = Path(__file__).resolve().parent / "original_programs"
NAMES = ("xor", "bench_adagrad", "bench_dropout", "bench_layernorm")


def _text(name: str) -> str:
    return (ORIGINALS / f"{name}.vt").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", NAMES)
def test_original_program_checks_without_any_diagnostic(name: str) -> None:
    diagnostics = analyze(_text(name), f"{name}.vt").diagnostics
    assert [(d.code, d.message) for d in diagnostics] == []


def test_xor_runs_as_written_and_learns_xor() -> None:
    out: list[str] = []
    session = Session(stdout=out.append)
    result = session.run(_text("xor"), "xor.vt")
    assert result.ok, [d.message for d in result.diagnostics]
    text = "".join(out)
    assert "trained xor: 5000 epochs, 5000 steps" in text
    predictions = [float(line) for line in text.splitlines()[-4:]]
    assert [round(p) for p in predictions] == [0, 1, 1, 0]


@pytest.mark.parametrize(("name", "kinds", "optimizer"), [
    ("bench_adagrad", {"dense", "relu"}, "adagrad"),
    ("bench_dropout", {"dense", "relu", "dropout"}, "sgd"),
    ("bench_layernorm", {"dense", "relu", "layernorm"}, "sgd"),
])
def test_benchmark_trains_the_network_it_declares(name: str, kinds: set[str], optimizer: str) -> None:
    text = _text(name)
    assert "    epochs 50\n" in text
    out: list[str] = []
    session = Session(stdout=out.append)
    result = session.run(text.replace("    epochs 50\n", "    epochs 1\n"), f"{name}.vt")
    assert result.ok, [d.message for d in result.diagnostics]
    net = session.globals[name].net  # type: ignore[union-attr]
    assert {layer.kind for layer in net.info.layers} == kinds
    assert [layer.args[0] for layer in net.info.layers if layer.kind == "dense"] == [1024, 1024, 512, 256, 1]
    [report] = session.train_reports
    assert {s.name: s.value for s in report.settings}["optimizer"] == optimizer
    assert len(report.epochs) == 1 and report.steps == 4  # 256 synthetic samples in batches of 64
