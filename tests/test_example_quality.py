"""Each training example reaches its stated quality, through the language.

| example | bar |
|---|---|
| `xor.vt` | 100% training accuracy |
| `spiral.vt` | ≥ 95% validation accuracy (3 classes) |
| `regression.vt` | validation MSE at most half its value before training |
| `blobs.vt` | ≥ 90% validation accuracy |
| `csv-classifier/classifier.vt` | ≥ 90% validation accuracy on the bundled CSV |
| `shapes-cnn/shapes.vt` | ≥ 95% validation accuracy on the bundled images |
| `shapes-cnn/residual.vt` | ≥ 95% validation accuracy on the bundled images |

How long they take is measured in benchmarks/, not asserted here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from volta_core.analysis import analyze
from volta_core.lang import Session

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(rel: str) -> Session:
    path = EXAMPLES / rel
    session = Session(stdout=lambda _: None, base_dir=path.parent)
    result = session.run(path.read_text(encoding="utf-8"), str(path))
    assert result.ok, [d.message for d in result.diagnostics]
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


def _generator(folder: str):  # type: ignore[no-untyped-def]
    import importlib.util

    spec = importlib.util.spec_from_file_location("generate", EXAMPLES / folder / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bundled_csv_is_what_the_generator_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = _generator("csv-classifier")
    bundled = (EXAMPLES / "csv-classifier" / "flowers.csv").read_bytes()
    monkeypatch.setattr(module, "__file__", str(tmp_path / "generate.py"))
    module.main()
    assert (tmp_path / "flowers.csv").read_bytes() == bundled


@pytest.mark.slow
@pytest.mark.parametrize(("program", "model"), [("shapes.vt", "shapes_cnn"), ("residual.vt", "resnet")])
def test_shapes_cnns_reach_95_percent_validation_accuracy(program: str, model: str) -> None:
    session = run_example(f"shapes-cnn/{program}")
    data = session.globals["shapes"].loaded  # type: ignore[union-attr]
    assert (len(data.train), len(data.val), data.n_classes, data.sample_shape) == (480, 120, 3, (1, 24, 24))
    assert metric(session, model, "val_accuracy") >= 0.95


def test_bundled_images_are_what_the_generator_draws(tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    made = _generator("shapes-cnn").main(tmp_path / "shapes")
    bundled = EXAMPLES / "shapes-cnn" / "shapes"
    names = sorted(p.relative_to(bundled).as_posix() for p in bundled.rglob("*.png"))
    assert names == sorted(p.relative_to(made).as_posix() for p in made.rglob("*.png"))
    assert len(names) == 600
    for name in names:  # pixels, not bytes: PNG encoders may differ between Pillow versions
        assert np.array_equal(np.asarray(Image.open(bundled / name)), np.asarray(Image.open(made / name))), name
