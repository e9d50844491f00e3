"""Regenerate the `shapes/` image folder (deterministic: the same pixels on every machine).

Three classes of 24×24 greyscale pictures — a filled circle, square or
triangle of random size, position and brightness on a noisy background —
200 of each, one sub-folder per class, as an `images` dataset reads them;
and `samples.npz`, three more (one per class, in that order) for `infer`.

    python examples/shapes-cnn/generate.py
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image

SIZE = 24
PER_CLASS = 200
CLASSES = ("circle", "square", "triangle")


def draw(kind: str, rng: np.random.Generator) -> np.ndarray:
    """One picture as uint8 pixels [SIZE, SIZE]."""
    r = rng.uniform(4.0, 8.0)  # half the shape's extent
    cy, cx = rng.uniform(r + 1, SIZE - r - 1, size=2)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] + 0.5
    dy, dx = yy - cy, xx - cx
    if kind == "circle":
        inside = dy**2 + dx**2 <= r**2
    elif kind == "square":
        inside = (np.abs(dy) <= r * 0.8) & (np.abs(dx) <= r * 0.8)
    else:  # an upward triangle: apex at the top, base at the bottom
        inside = (dy <= r * 0.8) & (dy >= -r) & (np.abs(dx) <= (dy + r) * 0.6)
    background = rng.uniform(20, 70)
    foreground = rng.uniform(150, 240)
    pixels = np.where(inside, foreground, background) + rng.normal(0.0, 18.0, size=(SIZE, SIZE))
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def main(root: Path | None = None) -> Path:
    """Write the folder (replacing an old one) and `samples.npz` beside it — three
    new pictures (a circle, a square, a triangle) for `infer`; returns the folder."""
    out = root or Path(__file__).resolve().parent / "shapes"
    if out.exists():
        shutil.rmtree(out)
    rng = np.random.Generator(np.random.PCG64(24))
    for kind in CLASSES:
        (out / kind).mkdir(parents=True)
        for i in range(PER_CLASS):
            Image.fromarray(draw(kind, rng)).save(out / kind / f"{i:03d}.png", optimize=False)
    samples = np.stack([draw(kind, rng) for kind in CLASSES])[:, None]  # [3, 1, 24, 24] uint8
    np.savez(out.parent / "samples.npz", x=samples)
    return out


if __name__ == "__main__":
    main()
