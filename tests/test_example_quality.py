"""Each training example reaches its stated quality, through the CLI, in under 10 s.

| example | bar |
|---|---|
| `xor.vt` | 100% training accuracy |
| `spiral.vt` | ≥ 95% validation accuracy (3 classes) |
| `regression.vt` | validation MSE at most half its value before training |
| `blobs.vt` | ≥ 90% validation accuracy |
| `csv-classifier/classifier.vt` | ≥ 90% validation accuracy on the bundled CSV |
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from volta_core.analysis import analyze
from volta_core.lang import Session

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SECONDS = 10.0


def run_example(rel: str) -> Session:
    path = EXAMPLES / rel
    session = Session(stdout=lambda _: None, base_dir=path.parent)
    start = time.perf_counter()
    result = session.run(path.read_text(encoding="utf-8"), str(path))
    elapsed = time.perf_counter() - start
    assert result.ok, [d.message for d in result.diagnostics]
    assert elapsed < SECONDS, f"{rel} took {elapsed:.1f} s"
    return session


def metric(session: Session, model: str, name: str) -> float:
    return float(session.globals[model].metrics[name])  # type: ignore[union-attr]


def test_xor_reaches_full_accuracy() -> None:
    assert metric(run_example("xor.vt"), "xor_net", "accuracy") == 1.0


def test_spiral_reaches_95_percent_validation_accuracy() -> None:
    session = run_example("spiral.vt")
    assert session.globals["spiral"].loaded.n_classes == 3  # type: ignore[union-attr]
    assert metric(session, "swirl", "val_accuracy") >= 0.95


def test_regression_halves_the_validation_loss() -> None:
    session = run_example("regression.vt")
    before = float(session.globals["before"])  # type: ignore[arg-type]
    assert metric(session, "reg", "val_loss") <= 0.5 * before


def test_blobs_reaches_90_percent_validation_accuracy() -> None:
    assert metric(run_example("blobs.vt"), "classifier", "val_accuracy") >= 0.9


def test_csv_classifier_reaches_90_percent_validation_accuracy() -> None:
    session = run_example("csv-classifier/classifier.vt")
    data = session.globals["flowers"].loaded  # type: ignore[union-attr]
    assert (len(data.train), len(data.val), data.n_classes) == (240, 60, 3)
    assert metric(session, "species", "val_accuracy") >= 0.9


def test_csv_classifier_checks_clean() -> None:
    path = EXAMPLES / "csv-classifier" / "classifier.vt"
    assert analyze(path.read_text(encoding="utf-8"), str(path)).diagnostics == []


def test_bundled_csv_is_what_the_generator_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("generate", EXAMPLES / "csv-classifier" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    bundled = (EXAMPLES / "csv-classifier" / "flowers.csv").read_bytes()
    monkeypatch.setattr(module, "__file__", str(tmp_path / "generate.py"))
    module.main()
    assert (tmp_path / "flowers.csv").read_bytes() == bundled
