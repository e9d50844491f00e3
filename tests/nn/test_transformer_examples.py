"""The text examples train to their targets quickly and deterministically.

- examples/text-classifier: validation accuracy ≥ 0.85;
- examples/tiny-lm: validation loss (nats per character) below the unigram
  entropy of its corpus's characters;
- each within 60 s on a 2-core CPU;
- training a transformer twice (in this process, and in a subprocess) gives
  bit-identical weights.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from volta_core.lang import Session
from volta_core.train.loop import weights_sha256

ROOT = Path(__file__).resolve().parents[2]
CLASSIFIER = ROOT / "examples" / "text-classifier" / "classifier.vt"
TINY_LM = ROOT / "examples" / "tiny-lm" / "tiny_lm.vt"


def _run(path: Path) -> Session:
    out: list[str] = []
    session = Session(stdout=out.append, base_dir=path.parent)
    result = session.run(path.read_text(encoding="utf-8"), str(path))
    assert result.ok, [d.message for d in result.diagnostics]
    return session


def test_text_classifier_reaches_85_percent() -> None:
    start = time.perf_counter()
    session = _run(CLASSIFIER)
    elapsed = time.perf_counter() - start
    model = session.globals["sentiment"]
    assert model.metrics["val_accuracy"] >= 0.85  # type: ignore[attr-defined]
    assert elapsed < 60


def unigram_entropy(text: str) -> float:
    """Entropy (nats) of the character distribution of ``text``."""
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log(c / n) for c in counts.values())


def test_tiny_lm_beats_the_unigram_entropy() -> None:
    corpus = (TINY_LM.parent / "declaration.txt").read_text(encoding="utf-8")
    entropy = unigram_entropy(corpus)
    assert 2.5 < entropy < 3.5
    start = time.perf_counter()
    session = _run(TINY_LM)
    elapsed = time.perf_counter() - start
    model = session.globals["tiny_lm"]
    assert model.metrics["val_loss"] < entropy  # type: ignore[attr-defined]
    assert elapsed < 60


def _lm_program() -> str:
    # a smaller copy of the tiny LM (a few steps) for the determinism checks
    text = TINY_LM.read_text(encoding="utf-8")
    text = text.replace("    epochs 8\n", "    steps 12\n").replace('"declaration.txt"', f'"{TINY_LM.parent / "declaration.txt"}"')
    return text.split("evaluate ")[0]


def _weights_hash() -> str:
    session = Session(stdout=lambda s: None)
    result = session.run(_lm_program(), "lm.vt")
    assert result.ok, [d.message for d in result.diagnostics]
    return weights_sha256(session.globals["tiny_lm"].net.params)  # type: ignore[attr-defined]


def test_transformer_training_is_bit_identical_in_process_and_subprocess() -> None:
    first, second = _weights_hash(), _weights_hash()
    assert first == second
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "from tests.nn.test_transformer_examples import _weights_hash; print(_weights_hash())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(ROOT)], capture_output=True, text=True, env=env, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == first
