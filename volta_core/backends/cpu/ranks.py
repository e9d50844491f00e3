"""Kernels of the cross-rank ops: synchronised batchnorm in data-parallel training.

``rank_moments`` turns one rank's batch moments into the whole global batch's
and ``rank_moments_grad`` is its adjoint (docs/distributed.md). Both exchange
a few floats per channel with the other ranks through the job's ``gather``,
which :mod:`volta_core.train.distributed` binds when a job has more than one
rank (this module imports nothing of MPI). Unbound, a graph runs as a job of
one rank: ``rank_moments`` returns its input and its gradient passes through.

Every rank receives every rank's contribution (an allgather, rank order) and
combines them in float64 with the same additions in the same order, so the
ranks compute the same bits whatever the MPI library does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from volta_core.ir.graph import Node

Kernel = Callable[[tuple[np.ndarray, ...], np.ndarray], None]
#: (this rank's 1-D float64 row, what the job is doing) → every rank's row stacked in rank order.
Gather = Callable[[np.ndarray, str], np.ndarray]

_gather: Gather | None = None


def bind(gather: Gather | None) -> None:
    """Make the rank ops exchange through ``gather`` (None: a job of one rank)."""
    global _gather
    _gather = gather


def exchange(row: np.ndarray, what: str) -> np.ndarray:
    """Every rank's ``row`` in rank order (``[1, len]`` without a job)."""
    row = np.ascontiguousarray(row, np.float64)
    return row.reshape(1, -1) if _gather is None else _gather(row, what)


def combine_moments(moments: Sequence[np.ndarray], counts: Sequence[float], dtype: type = np.float32) -> np.ndarray:
    """The ``[2, C]`` mean and biased variance of a whole batch from the moments of
    its shards (``counts``: values per channel in each shard), exactly combined in
    float64 in shard order, as ``dtype``. Empty shards (count 0) are left out;
    with none left, zeros."""
    shards = [(m, n) for m, n in zip(moments, counts, strict=True) if n > 0]
    mean = np.zeros(moments[0].shape[1], np.float64)
    var = np.zeros_like(mean)
    if not shards:
        return np.stack([mean, var]).astype(dtype)
    total = float(sum(n for _, n in shards))
    for m, n in shards:
        mean += np.asarray(m[0], np.float64) * n
    mean /= total
    for m, n in shards:
        var += (np.asarray(m[1], np.float64) + (np.asarray(m[0], np.float64) - mean) ** 2) * n
    var /= total
    return np.stack([mean, var]).astype(dtype)


def _rows(parts: np.ndarray) -> tuple[list[float], list[np.ndarray]]:
    """(count, [2, C] block) per rank from gathered ``[count, 2·C values]`` rows."""
    channels = (parts.shape[1] - 1) // 2
    return [float(p[0]) for p in parts], [p[1:].reshape(2, channels) for p in parts]


def _rank_moments(node: Node, ins: Sequence[Node]) -> Kernel:
    count = float(node.attr("count"))
    what = "exchanging the batchnorm statistics of a training step"

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        counts, moments = _rows(exchange(np.concatenate([[count], i[0].reshape(-1)]), what))
        np.copyto(out, combine_moments(moments, counts, out.dtype.type))

    return k


def _rank_moments_grad(node: Node, ins: Sequence[Node]) -> Kernel:
    # The whole batch's moments M combine each rank's (mean m_r, var v_r) with weight w_r = n_r / N.
    # The job's loss is Σ w_r L_r, so its gradient to M is G = Σ w_r g_r; each rank's gradients are
    # scaled by w_r afterwards, so this rank continues with (1 / w_r) dL/d(m_r, v_r):
    # d m_r = G_mean + 2 G_var (m_r - M_mean), d v_r = G_var.
    count = float(node.attr("count"))
    what = "exchanging the batchnorm gradients of a training step"

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        counts, grads = _rows(exchange(np.concatenate([[count], i[2].reshape(-1)]), what))
        total = sum(counts)
        g = np.zeros(grads[0].shape, np.float64)
        for n, part in zip(counts, grads, strict=True):
            if n > 0:
                g += part * (n / total)
        local, whole = np.asarray(i[0], np.float64), np.asarray(i[1], np.float64)
        np.copyto(out[0], g[0] + 2.0 * g[1] * (local[0] - whole[0]), casting="unsafe")
        np.copyto(out[1], g[1], casting="unsafe")

    return k


KERNELS: dict[str, Callable[..., Kernel]] = {
    "rank_moments": _rank_moments,
    "rank_moments_grad": _rank_moments_grad,
}
