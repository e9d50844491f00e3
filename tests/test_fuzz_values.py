"""Fuzz the runtime with extreme values (issue 24): 2,400 seeded programs that
train, evaluate, infer, save and load with extreme numbers in every slot —
widths, samples, classes, batch sizes, learning rates, layer arguments, data
cells and arrays — must end in diagnostics, never in an internal error (E9999).

Huge sizes are at least 2**45, so every memory estimate refuses them on any
machine (no test allocates terabytes because a CI machine is large). Each run
is interrupted after :data:`RUN_BUDGET_S` seconds (an `epochs 2**62` trains
until then). The cases are drawn from ``random.Random(seed)``: the same
programs on every run.
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from test_fuzz import check_diagnostics

from volta_core.diagnostics import render_text
from volta_core.lang import Session

CHUNKS = 24
CASES_PER_CHUNK = 100
RUN_BUDGET_S = 0.2

HUGE_INTS = ["9223372036854775807", "-9223372036854775808", "4611686018427387904", "35184372088832"]
SMALL_INTS = ["0", "1", "2", "3", "-1"]
FLOATS = ["0.0", "-0.0", "0.5", "1e-45", "5e-324", "1e-300", "3.4e38", "3.5e38", "1e39", "1e308", "-1e308",
          "1e300", "-1e39", "1e19"]
EXTREMES = HUGE_INTS + SMALL_INTS + FLOATS
DATA = Path(tempfile.mkdtemp(prefix="volta-fuzz-values-"))


def _write_data(rng: random.Random) -> tuple[list[str], list[str], list[str]]:
    """A pool of CSV, npz and text files with extreme cells: their names."""
    cells = [*EXTREMES, "10000000000000000000", "1e999", "nan", "-inf", "", "x", "2147483648"]
    csvs, npzs, texts = [], [], []
    for i in range(24):
        rows = ["a,b,label"]
        for _ in range(rng.randint(1, 6)):
            row = [rng.choice([*SMALL_INTS, "0.25", "-3.5"]) for _ in range(3)]
            if rng.random() < 0.6:
                row[rng.randrange(3)] = rng.choice(cells)
            rows.append(",".join(row))
        (DATA / f"d{i}.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        csvs.append(f"d{i}.csv")
    values = [0.0, 1.0, -1.0, 1e39, 1e308, 3e38, 2.0**64 - 1, 2.0**63, -(2.0**63), 0.5, np.nan, np.inf]
    dtypes = [np.float64, np.float32, np.int64, np.uint64, np.int8, np.bool_]
    for i in range(16):
        n = rng.randint(1, 5)
        with np.errstate(all="ignore"):
            x = np.array([[rng.choice(values) for _ in range(2)] for _ in range(n)]).astype(rng.choice(dtypes))
            y = np.array([rng.choice(values[:3] + values[rng.randrange(len(values)):]) for _ in range(n)])
            y = y.astype(rng.choice(dtypes))
        np.savez(DATA / f"a{i}.npz", x=x, y=y)
        npzs.append(f"a{i}.npz")
    for i in range(6):
        labels = [rng.choice(["0", "1", "pos", "-1", "9223372036854775807", "1e39", "0.5"]) for _ in range(3)]
        body = "".join(f"some words here,{label}\n" for label in labels)
        (DATA / f"t{i}.csv").write_text("t,l\n" + body, encoding="utf-8")
        texts.append(f"t{i}.csv")
    return csvs, npzs, texts


CSVS, NPZS, TEXTS = _write_data(random.Random(24))


def _value(rng: random.Random, normal: str, p: float = 0.25) -> str:
    return rng.choice(EXTREMES) if rng.random() < p else normal


def program(rng: random.Random) -> str:
    """One program: a dataset, a model, and the statements that use them."""
    # How many slots get an extreme value: a few programs have many (caught by the checker),
    # most have one or two, so that they reach training, evaluation, files and inference.
    heat = rng.choice((0.1, 0.2, 0.3, 1.0))
    v = lambda normal, p=0.25: _value(rng, normal, p * heat)  # noqa: E731
    kind = rng.choice(["xor", "blobs", "spiral", "synthetic", "csv", "npz", "text"])
    lines = ["dataset d", f"    type {kind}"]
    if kind in ("blobs", "spiral", "synthetic"):
        lines.append(f"    samples {v('8')}")
        if kind != "synthetic":
            lines.append(f"    classes {v('2')}")
    elif kind == "csv":
        lines += [f'    source "{rng.choice(CSVS)}"', '    target "label"']
    elif kind == "npz":
        lines.append(f'    source "{rng.choice(NPZS)}"')
    elif kind == "text":
        lines += [f'    source "{rng.choice(TEXTS)}"', '    text "t"', '    target "l"', f"    seq_len {v('4')}"]
        if rng.random() < 0.5:
            lines.append(f"    vocab {v('16')}")
    lines += [f"    batch {v('4')}", f"    split {v('0.75', 0.15)}", f"    seed {v('1', 0.1)}"]
    if kind == "text":
        lines += ["model m", "    input tokens 4", f"    layer embedding {v('16')} {v('8')}",
                  f"    layer transformer {v('2', 0.1)} {v('8')}", "    layer mean_pool", "    layer dense 2",
                  "    loss cross_entropy"]
    else:
        hidden = rng.choice([f"    layers 2 {v('3')} {v('2', 0.1)}",
                             f"    input 2\n    layer dense {v('3')}\n    layer leaky_relu {v('0.01')}\n"
                             f"    layer dropout {v('0.1', 0.1)}\n    layer dense {v('2', 0.1)}"])
        lines += ["model m", hidden, f"    loss {rng.choice(['cross_entropy', 'mse', 'bce'])}"]
    lines.append(f"    seed {v('1', 0.1)}")
    train = ["train m on d", f"    lr {v('0.01')}", f"    optimizer {rng.choice(['sgd', 'adam', 'momentum', 'rmsprop'])}",
             f"    momentum {v('0.9', 0.15)}", "    log_every 1000"]
    train.append(f"    steps {v('2', 0.1)}" if rng.random() < 0.5 else f"    epochs {v('1', 0.1)}")
    for key, normal in (("batch", "4"), ("weight_decay", "0.0"), ("clip_grad", "1.0"), ("warmup_steps", "0"),
                        ("early_stopping", "1")):
        if rng.random() < 0.3:
            train.append(f"    {key} {v(normal, 0.5)}")
    lines += train
    tail = ["evaluate m on d", f"infer m\n    input {v('0.5')} {v('1')}", 'save m as "c.safetensors"',
            'load m from "c.safetensors"', "print m.loss"]
    lines += rng.sample(tail, rng.randint(1, len(tail))) if kind != "text" else tail[2:]
    return "\n".join(lines) + "\n"


def run_bounded(text: str, folder: Path) -> None:
    session = Session(stdout=lambda s: None, base_dir=folder)
    done = threading.Event()

    def watchdog() -> None:  # interrupts until the run ends (one interrupt may land before it starts)
        start = time.monotonic()
        while not done.wait(0.02):
            if time.monotonic() - start > RUN_BUDGET_S:
                session.interrupt()

    guard = threading.Thread(target=watchdog, daemon=True)
    guard.start()
    try:
        result = session.run(text, "fuzz.vt")
    finally:
        done.set()
        guard.join()
    internal = [render_text(d) for d in result.diagnostics if d.code == "E9999"]
    assert not internal, f"{internal[0]}\n{result.internal_traceback}\n--- program:\n{text}"
    check_diagnostics(list(result.diagnostics), len(result.analysis.source.text))


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_extreme_values_never_cause_internal_errors(chunk: int, tmp_path: Path) -> None:
    rng = random.Random(1000 + chunk)
    for link in (*CSVS, *NPZS, *TEXTS):  # data and the programs' checkpoints side by side
        (tmp_path / link).symlink_to(DATA / link)
    for _ in range(CASES_PER_CHUNK):
        run_bounded(program(rng), tmp_path)
