"""Learning-rate schedules with linear warm-up (formulas in docs/training.md).

``s`` is the 0-based index of the step about to be taken within one `train`
statement, ``T`` the number of steps it will take, ``W`` the warm-up steps:

- warm-up (``s < W``): ``lr · (s + 1) / W``;
- ``constant``: ``lr``;
- ``cosine``: ``lr · ½ (1 + cos(π · (s − W) / max(1, T − W)))``;
- ``step``: ``lr · 0.1 ^ ⌊(s − W) / max(1, ⌊(T − W) / 3⌋)⌋`` (three equal phases,
  each ten times smaller than the last).
"""

from __future__ import annotations

import math

SCHEDULES = ("constant", "cosine", "step")


def lr_at(base: float, schedule: str, step: int, total: int, warmup: int = 0) -> float:
    if warmup > 0 and step < warmup:
        return base * (step + 1) / warmup
    s = step - warmup
    span = max(1, total - warmup)
    if schedule == "cosine":
        return base * 0.5 * (1.0 + math.cos(math.pi * min(s, span) / span))
    if schedule == "step":
        phase = max(1, span // 3)
        return base * 0.1 ** (s // phase)
    return base
