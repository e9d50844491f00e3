"""Optimizers with PyTorch's update formulas, in NumPy, updating weights in place.

Each optimizer matches ``torch.optim`` (single-tensor CPU path) with default
hyper-parameters except those named here: ``sgd`` (SGD, no momentum),
``momentum`` (SGD with momentum, dampening 0, no Nesterov), ``adam`` and
``adamw`` (betas 0.9/0.999, eps 1e-8; adamw's weight decay is decoupled),
``rmsprop`` (alpha 0.99, eps 1e-8, optional momentum, not centred).
``weight_decay`` is L2 added to the gradient for every optimizer but adamw,
as PyTorch does. :func:`clip_grad_norm` has ``torch.nn.utils.clip_grad_norm_``
semantics. Tests compare ≥ 20-step trajectories with ``torch.optim``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

OPTIMIZERS = ("sgd", "momentum", "adam", "adamw", "rmsprop")
_STATE_SEP = "::"


class Optimizer:
    """State per parameter name plus the step count; :meth:`step` updates in place."""

    def __init__(
        self,
        name: str,
        *,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        alpha: float = 0.99,
    ) -> None:
        if name not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {name!r}")
        self.name = name
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.betas = betas
        self.eps = eps
        self.alpha = alpha
        self.steps = 0
        self.state: dict[str, dict[str, np.ndarray]] = {}

    def hyper(self) -> tuple[object, ...]:
        """What must match for state to carry over between `train` statements."""
        return (self.name, self.momentum, self.weight_decay, self.betas, self.eps, self.alpha)

    def step(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray], lr: float) -> None:
        """One update of every parameter (sorted by name) with learning rate ``lr``."""
        self.steps += 1
        for name in sorted(params):
            self._update(name, params[name], grads[name], lr)

    def _update(self, name: str, p: np.ndarray, g: np.ndarray, lr: float) -> None:
        st = self.state.setdefault(name, {})
        f32 = p.dtype.type
        wd = self.weight_decay
        if self.name == "adamw":
            if wd:
                p *= f32(1.0 - lr * wd)
        elif wd:
            g = g + f32(wd) * p
        if self.name == "sgd":
            p += f32(-lr) * g
        elif self.name == "momentum":
            buf = st.get("momentum_buffer")
            if buf is None:
                buf = st["momentum_buffer"] = g.copy()
            else:
                buf *= f32(self.momentum)
                buf += g
            p += f32(-lr) * buf
        elif self.name in ("adam", "adamw"):
            b1, b2 = self.betas
            m = st.setdefault("exp_avg", np.zeros_like(p))
            v = st.setdefault("exp_avg_sq", np.zeros_like(p))
            m += f32(1.0 - b1) * (g - m)  # torch: exp_avg.lerp_(grad, 1 - beta1)
            v *= f32(b2)
            v += f32(1.0 - b2) * (g * g)
            t = self.steps
            bc1 = 1.0 - b1**t
            bc2_sqrt = math.sqrt(1.0 - b2**t)
            step_size = lr / bc1
            denom = np.sqrt(v) / f32(bc2_sqrt) + f32(self.eps)
            p += f32(-step_size) * (m / denom)
        else:  # rmsprop
            sq = st.setdefault("square_avg", np.zeros_like(p))
            sq *= f32(self.alpha)
            sq += f32(1.0 - self.alpha) * (g * g)
            avg = np.sqrt(sq) + f32(self.eps)
            if self.momentum > 0:
                buf = st.setdefault("momentum_buffer", np.zeros_like(p))
                buf *= f32(self.momentum)
                buf += g / avg
                p += f32(-lr) * buf
            else:
                p += f32(-lr) * (g / avg)

    # ------------------------------------------------------- persistence
    def state_arrays(self) -> dict[str, np.ndarray]:
        """Flat ``{"param::slot": array}`` for checkpoints (plus the step count)."""
        out = {f"{n}{_STATE_SEP}{slot}": a for n, slots in self.state.items() for slot, a in slots.items()}
        out[f"{_STATE_SEP}steps"] = np.array([self.steps], np.int64)
        return out

    def load_state_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.state = {}
        for key, value in arrays.items():
            name, _, slot = key.rpartition(_STATE_SEP)
            if not name:
                if slot == "steps":
                    self.steps = int(np.asarray(value).reshape(-1)[0])
                continue
            self.state.setdefault(name, {})[slot] = np.array(value, np.float32)


def clip_grad_norm(grads: Mapping[str, np.ndarray], max_norm: float) -> float:
    """Scale all gradients in place so their global L2 norm is at most ``max_norm``.

    As ``torch.nn.utils.clip_grad_norm_``: the norm of the per-tensor norms,
    ``coef = max_norm / (norm + 1e-6)`` clamped to 1, every gradient multiplied
    by it. Returns the norm before clipping.
    """
    names = sorted(grads)
    if not names:
        return 0.0
    norms = np.array([np.linalg.norm(grads[n].reshape(-1)) for n in names], np.float32)
    total = np.float32(np.linalg.norm(norms))
    coef = np.float32(max_norm) / (total + np.float32(1e-6))
    coef = min(coef, np.float32(1.0))
    for n in names:
        grads[n] *= coef
    return float(total)
