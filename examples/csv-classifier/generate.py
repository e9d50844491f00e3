"""Regenerate flowers.csv (deterministic: the same bytes on every machine).

Three species of a made-up flower, 100 of each, measured four ways (cm).
The species overlap a little, so a good classifier is right about 95% of the
time, not always.

    python examples/csv-classifier/generate.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

CENTRES = {0: (5.0, 3.4, 1.5, 0.3), 1: (5.9, 2.8, 4.3, 1.3), 2: (6.6, 3.0, 5.5, 2.0)}
SPREAD = (0.35, 0.30, 0.35, 0.20)


def main() -> None:
    rng = np.random.Generator(np.random.PCG64(2024))
    rows = []
    for species, centre in CENTRES.items():
        values = rng.normal(centre, SPREAD, size=(100, 4))
        rows += [(*np.round(np.abs(v), 1), species) for v in values]
    order = rng.permutation(len(rows))
    lines = ["sepal_length,sepal_width,petal_length,petal_width,species"]
    lines += [",".join(f"{v:.1f}" for v in rows[i][:4]) + f",{rows[i][4]}" for i in order]
    (Path(__file__).resolve().parent / "flowers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
