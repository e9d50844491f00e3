"""Optimizers with PyTorch's update formulas, in NumPy, updating weights in place.

Each optimizer matches ``torch.optim`` (single-tensor CPU path) with default
hyper-parameters except those named here: ``sgd`` (SGD, no momentum),
``momentum`` (SGD with momentum, dampening 0, no Nesterov), ``adam`` and
``adamw`` (betas 0.9/0.999, eps 1e-8; adamw's weight decay is decoupled),
``rmsprop`` (alpha 0.99, eps 1e-8, optional momentum, not centred),
``adagrad`` (lr_decay 0, initial accumulator 0, eps 1e-10).
``weight_decay`` is L2 added to the gradient for every optimizer but adamw,
as PyTorch does. :func:`clip_grad_norm` has ``torch.nn.utils.clip_grad_norm_``
semantics. Tests compare ≥ 20-step trajectories with ``torch.optim``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

from volta_core.backends.cpu.blas import configured_threads
from volta_core.check.schema import OPTIMIZERS

#: Adagrad's default eps in PyTorch (every other optimizer here uses 1e-8).
ADAGRAD_EPS = 1e-10
_BLOCK = 1 << 16  # elements per block of an update (256 KiB of float32 per array)
_PARALLEL_MIN = 1 << 20  # fewer elements in all: one thread (measured: no gain below ~1M on 2 cores)
_POOL: ThreadPoolExecutor | None = None


def _pool(workers: int) -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None or _POOL._max_workers < workers:
        _POOL = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="volta-optim")
    return _POOL
_STATE_SEP = "::"


class Optimizer:
    """State per parameter name plus the step count; :meth:`step` updates in place."""

    #: The key of the step count in :meth:`state_arrays`.
    STEPS_KEY = f"{_STATE_SEP}steps"

    def __init__(
        self,
        name: str,
        *,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float | None = None,
        alpha: float = 0.99,
    ) -> None:
        if name not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {name!r}")
        self.name = name
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.betas = betas
        self.eps = eps if eps is not None else (ADAGRAD_EPS if name == "adagrad" else 1e-8)
        self.alpha = alpha
        self.steps = 0
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self._flat: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # scratch per worker, not state
        # the last step's blocks, reused while the same arrays come back (see _plan_for)
        self._plan: tuple[object, float, list[tuple[str, np.ndarray, np.ndarray]],
                          list[tuple[np.ndarray, np.ndarray, list[np.ndarray], bool]], int] | None = None
        self._serial_cache: tuple[object, object, list[tuple[np.ndarray, np.ndarray, list[np.ndarray],
                                                             np.ndarray, np.ndarray, bool]]] | None = None

    def slot_names(self) -> tuple[str, ...]:
        """The state arrays this optimizer keeps per parameter (after its first step)."""
        if self.name == "momentum":
            return ("momentum_buffer",)
        if self.name in ("adam", "adamw"):
            return ("exp_avg", "exp_avg_sq")
        if self.name == "rmsprop":
            return ("square_avg", "momentum_buffer") if self.momentum > 0 else ("square_avg",)
        if self.name == "adagrad":
            return ("sum",)
        return ()

    @staticmethod
    def state_key(param: str, slot: str) -> str:
        """The key of one parameter's slot in :meth:`state_arrays`."""
        return f"{param}{_STATE_SEP}{slot}"

    def hyper(self) -> tuple[object, ...]:
        """What must match for state to carry over between `train` statements."""
        return (self.name, self.momentum, self.weight_decay, self.betas, self.eps, self.alpha)

    def step(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray], lr: float) -> str | None:
        """One update of every parameter (sorted by name) with learning rate ``lr``.

        The update is elementwise, so it is cut into blocks (cache-sized pieces of
        each contiguous parameter) and the blocks are split, in order, between
        :func:`~volta_core.backends.cpu.blas.configured_threads` threads (NumPy releases the GIL in its loops). Every
        element goes through the same ufunc calls whichever thread runs it, so the
        result is bitwise the same for any thread count.

        Returns None, or the name of the first parameter (in sorted order) that
        holds ``nan`` or ``inf`` after the update (which is applied either way).
        Each block is checked while it is still in cache: the sum of its squares
        (one BLAS dot) is finite only when every value is.
        """
        self.steps += 1
        blocks, total = self._plan_for(params, grads)
        workers = min(configured_threads(), len(blocks)) if total >= _PARALLEL_MIN else 1
        if workers <= 1:
            squares = 0.0
            for p, g, slots, a, b, first in self._serial(blocks):
                self._apply(p, g, slots, a, b, lr, first)
                squares += float(np.vdot(p, p))
            return None if math.isfinite(squares) else _first_non_finite(params)
        groups: list[list[tuple[np.ndarray, np.ndarray, list[np.ndarray], bool]]] = [[] for _ in range(workers)]
        done = 0
        for blk in blocks:  # contiguous runs of about total / workers elements each
            groups[min(workers - 1, done * workers // total)].append(blk)
            done += blk[0].size
        pool = _pool(workers - 1)
        futures = [pool.submit(self._run, grp, k, lr) for k, grp in enumerate(groups[1:], start=1)]
        try:
            squares = self._run(groups[0], 0, lr)
        finally:
            wait(futures)  # never return (or raise) with a worker still writing the weights
        for f in futures:
            squares += f.result()
        return None if math.isfinite(squares) else _first_non_finite(params)

    def _plan_for(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray],
                  ) -> tuple[list[tuple[np.ndarray, np.ndarray, list[np.ndarray], bool]], int]:
        """The blocks of this step and their element count.

        The block list is reused while the same parameter, gradient and state
        arrays come back (the training loop passes the live weights and the
        executor's gradient buffers every step), which saves rebuilding the views.
        """
        plan = self._plan
        if (plan is not None and plan[0] is self.state and plan[1] == self.momentum
                and len(params) == len(plan[2]) == len(grads)
                and all(params.get(n) is p and grads.get(n) is g for n, p, g in plan[2])):
            return plan[3], plan[4]
        blocks: list[tuple[np.ndarray, np.ndarray, list[np.ndarray], bool]] = []
        keys = [(name, params[name], grads[name]) for name in sorted(params)]
        for name, p, g in keys:
            self._blocks(name, p, g, blocks)
        total = sum(blk[0].size for blk in blocks)
        # A momentum buffer's first step differs (a copy): reuse only plans without one.
        self._plan = None if any(blk[3] for blk in blocks) else (self.state, self.momentum, keys, blocks, total)
        return blocks, total

    def _run(self, blocks: list[tuple[np.ndarray, np.ndarray, list[np.ndarray], bool]], slot: int, lr: float) -> float:
        """Update ``blocks`` with worker ``slot``'s scratch; the sum of the squares of the new values."""
        squares = 0.0
        if not blocks:
            return squares
        a, b = self._scratch(slot, max(blk[0].size for blk in blocks), blocks[0][0].dtype)
        for p, g, slots, first in blocks:
            n = p.size
            self._apply(p, g, slots, a[:n].reshape(p.shape), b[:n].reshape(p.shape), lr, first)
            squares += float(np.vdot(p, p))
        return squares

    def _serial(self, blocks: list[tuple[np.ndarray, np.ndarray, list[np.ndarray], bool]],
                ) -> list[tuple[np.ndarray, np.ndarray, list[np.ndarray], np.ndarray, np.ndarray, bool]]:
        """``blocks`` with worker 0's scratch views, as :meth:`_run` makes them, kept while
        the same block list and scratch come back (one-thread steps)."""
        if not blocks:
            return []
        scratch = self._scratch(0, max(blk[0].size for blk in blocks), blocks[0][0].dtype)
        have = self._serial_cache
        if have is not None and have[0] is blocks and have[1] is scratch:
            return have[2]
        a, b = scratch
        out = [(p, g, slots, a[: p.size].reshape(p.shape), b[: p.size].reshape(p.shape), first)
               for p, g, slots, first in blocks]
        self._serial_cache = (blocks, scratch, out)
        return out

    def _scratch(self, slot: int, size: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
        """Two flat work arrays of at least ``size`` elements for worker ``slot``, reused every step."""
        have = self._flat.get(slot)
        if have is None or have[0].size < size or have[0].dtype != dtype:
            have = self._flat[slot] = (np.empty(size, dtype), np.empty(size, dtype))
        return have

    def _blocks(self, name: str, p: np.ndarray, g: np.ndarray,
                out: list[tuple[np.ndarray, np.ndarray, list[np.ndarray], bool]]) -> None:
        st = self.state.setdefault(name, {})
        # A momentum buffer starts as a copy of the first gradient; every other slot at zero.
        first = self.name == "momentum" and "momentum_buffer" not in st
        for slot in self.slot_names():
            if slot not in st:
                st[slot] = np.empty_like(p) if first else np.zeros_like(p)
        slots = [st[slot] for slot in self.slot_names()]
        arrays = [p, g, *slots]
        n = p.size
        if n > _BLOCK and all(x.flags.c_contiguous and x.shape == p.shape and x.dtype == p.dtype for x in arrays):
            flat = [x.reshape(-1) for x in arrays]
            for lo in range(0, n, _BLOCK):
                blk = [x[lo : lo + _BLOCK] for x in flat]
                out.append((blk[0], blk[1], blk[2:], first))
        else:
            out.append((p, g, slots, first))

    def _apply(self, p: np.ndarray, g: np.ndarray, slots: list[np.ndarray], a: np.ndarray, b: np.ndarray,
               lr: float, first: bool) -> None:
        # Every step is one NumPy ufunc call with ``out=`` into state, the parameter or
        # scratch (``a``, ``b``), in exactly the order of PyTorch's single-tensor formulas
        # (the expression each line replaces is in its comment), so results are bitwise
        # what the allocating form gives; ``g`` itself is never written.
        f32 = p.dtype.type
        wd = self.weight_decay
        if self.name == "adamw":
            if wd:
                p *= f32(1.0 - lr * wd)
        elif wd:
            np.multiply(p, f32(wd), out=a)  # g = g + wd * p
            np.add(g, a, out=a)
            g = a
        if self.name == "sgd":
            np.multiply(g, f32(-lr), out=b)  # p += -lr * g
            p += b
        elif self.name == "momentum":
            (buf,) = slots
            if first:
                np.copyto(buf, g)  # buf = g.copy()
            else:
                buf *= f32(self.momentum)  # buf = momentum * buf + g
                buf += g
            np.multiply(buf, f32(-lr), out=b)  # p += -lr * buf
            p += b
        elif self.name in ("adam", "adamw"):
            m, v = slots
            b1, b2 = self.betas
            np.subtract(g, m, out=b)  # m += (1 - b1) * (g - m)   (torch: exp_avg.lerp_(grad, 1 - beta1))
            np.multiply(b, f32(1.0 - b1), out=b)
            m += b
            v *= f32(b2)  # v = b2 * v + (1 - b2) * g * g   (torch: exp_avg_sq.mul_(b2).addcmul_(g, g, 1 - b2))
            np.multiply(g, f32(1.0 - b2), out=b)
            np.multiply(b, g, out=b)
            v += b
            eps_c, neg_step_c = self.adam_scalars(lr)
            np.sqrt(v, out=b)  # p += -step_size * m / (sqrt(v) / bc2_sqrt + eps), multiplied through
            np.add(b, f32(eps_c), out=b)  # by bc2_sqrt to save a pass (see adam_scalars)
            np.divide(m, b, out=b)
            np.multiply(b, f32(neg_step_c), out=b)
            p += b
        elif self.name == "adagrad":
            (acc,) = slots
            np.multiply(g, g, out=b)  # acc = acc + g * g   (torch: state_sum.addcmul_(g, g, value=1))
            acc += b
            np.sqrt(acc, out=b)  # std = sqrt(acc) + eps
            np.add(b, f32(self.eps), out=b)
            np.divide(g, b, out=b)  # p += -lr * (g / std)   (torch: param.addcdiv_(g, std, value=-lr))
            np.multiply(b, f32(-lr), out=b)
            p += b
        else:  # rmsprop
            sq = slots[0]
            sq *= f32(self.alpha)  # sq = alpha * sq + (1 - alpha) * (g * g)
            np.multiply(g, g, out=b)
            np.multiply(b, f32(1.0 - self.alpha), out=b)
            sq += b
            np.sqrt(sq, out=b)  # avg = sqrt(sq) + eps
            np.add(b, f32(self.eps), out=b)
            np.divide(g, b, out=b)  # g / avg
            if self.momentum > 0:
                buf = slots[1]
                buf *= f32(self.momentum)  # buf = momentum * buf + g / avg
                buf += b
                np.multiply(buf, f32(-lr), out=b)  # p += -lr * buf
            else:
                np.multiply(b, f32(-lr), out=b)  # p += -lr * (g / avg)
            p += b

    def adam_scalars(self, lr: float) -> tuple[float, float]:
        """Adam's two per-step constants at the current step count: ``eps * bc2_sqrt`` and
        ``-step_size * bc2_sqrt``.

        PyTorch's ``p += -step_size * m / (sqrt(v) / bc2_sqrt + eps)`` (``step_size =
        lr / (1 - b1^t)``, ``bc2_sqrt = sqrt(1 - b2^t)``) is computed as ``p +=
        (-step_size * bc2_sqrt) * m / (sqrt(v) + eps * bc2_sqrt)``: the same quantity,
        one elementwise pass fewer, different only by float32 rounding. The CPU and GPU
        updates both take these constants from here.
        """
        b1, b2 = self.betas
        t = self.steps
        bc2_sqrt = math.sqrt(1.0 - b2**t)
        return self.eps * bc2_sqrt, -(lr / (1.0 - b1**t)) * bc2_sqrt

    # ------------------------------------------------------- persistence
    def state_arrays(self) -> dict[str, np.ndarray]:
        """Flat ``{"param::slot": array}`` for checkpoints (plus the step count)."""
        out = {self.state_key(n, slot): a for n, slots in self.state.items() for slot, a in slots.items()}
        out[self.STEPS_KEY] = np.array([self.steps], np.int64)
        return out

    def load_state_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.state = {}
        self._plan = None
        for key, value in arrays.items():
            name, _, slot = key.rpartition(_STATE_SEP)
            if not name:
                if slot == "steps":
                    self.steps = int(np.asarray(value).reshape(-1)[0])
                continue
            self.state.setdefault(name, {})[slot] = np.array(value, np.float32)


def _first_non_finite(params: Mapping[str, np.ndarray]) -> str | None:
    """The first parameter (sorted by name) holding nan or inf; None when the sum
    of squares only overflowed (values around 1e19 are finite)."""
    return next((name for name in sorted(params) if not np.isfinite(params[name]).all()), None)


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
