"""Synchronised batchnorm (``rank_moments`` / ``rank_moments_grad``) without MPI.

Ranks are simulated by threads, one network each, exchanging through a
barrier-backed ``gather`` bound in place of the job's allgather: the math of the
rank ops is checked against one process training on the whole batch, and the
collectives are checked to run in the same order on every rank. The MPI job
itself is tested in ``test_distributed.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest

from volta_core.analysis import analyze
from volta_core.backends.cpu import ranks
from volta_core.nn.network import Network, init_params
from volta_core.train.distributed import shard

CNN = """
model net
    input image 2 6 6
    layer conv 4 3 pad 1
    layer batchnorm
    layer relu
    residual project
        layer conv 6 3 stride 2 pad 1 bias false
        layer batchnorm
        layer relu
    layer global_avg_pool
    layer dense 8
    layer batchnorm
    layer dense 3
    loss cross_entropy
"""


class _Threads:
    """A gather over ``size`` threads: each thread's row, stacked in rank order; every
    call records (rank, what) so the test can compare the ranks' sequences."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.local = threading.local()
        self.rows: list[np.ndarray | None] = [None] * size
        self.barrier = threading.Barrier(size, timeout=30)
        self.calls: list[list[int]] = [[] for _ in range(size)]

    def __call__(self, row: np.ndarray, what: str) -> np.ndarray:
        rank = self.local.rank
        self.calls[rank].append(row.size)
        self.rows[rank] = row.copy()
        self.barrier.wait()
        out = np.stack([r for r in self.rows if r is not None])
        self.barrier.wait()
        return out


@pytest.fixture
def bound() -> Iterator[None]:
    yield
    ranks.bind(None)


def _network() -> Network:
    info = analyze(CNN, "net.vt").symbols.models["net"]
    return Network(info, "cross_entropy", init_params(info, 3))


def _data(rows: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return rng.standard_normal((rows, 2, 6, 6)).astype(np.float32) * 2 + 0.5, rng.integers(0, 3, rows)


def _ranks(size: int, x: np.ndarray, y: np.ndarray) -> tuple[_Threads, list[dict[str, np.ndarray]], list[list[np.ndarray]]]:
    """Each thread's gradients (scaled by its share of the batch) and batch moments."""
    gather = _Threads(size)
    ranks.bind(gather)
    grads: list[dict[str, np.ndarray]] = [{} for _ in range(size)]
    stats: list[list[np.ndarray]] = [[] for _ in range(size)]
    errors: list[BaseException] = []

    def run(rank: int) -> None:
        gather.local.rank = rank
        try:
            net = _network()
            net.synced = True
            lo, hi = shard(len(x), rank, size)
            _, _, g = net.train_step(x[lo:hi], y[lo:hi])
            grads[rank] = {k: v * np.float32((hi - lo) / len(x)) for k, v in g.items()}
            stats[rank] = net.batch_stats
        except BaseException as exc:
            errors.append(exc)
            gather.barrier.abort()

    threads = [threading.Thread(target=run, args=(r,)) for r in range(size)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return gather, grads, stats


@pytest.mark.parametrize("size", [2, 3])
def test_ranks_with_synchronised_batchnorm_compute_the_whole_batchs_gradients(bound: None, size: int) -> None:
    x, y = _data(11)  # shards of 6 and 5 (2 ranks), 4, 4 and 3 (3 ranks)
    whole = _network()
    _, _, expected = whole.train_step(x, y)
    gather, grads, stats = _ranks(size, x, y)
    largest = max(float(np.abs(g).max()) for g in expected.values())
    for name, want in expected.items():  # a conv bias before batchnorm has gradient 0 up to rounding
        got = sum(g[name].astype(np.float64) for g in grads)
        scale = max(float(np.abs(want).max()), 1e-2 * largest)
        assert float(np.abs(got - want).max()) / scale < 2e-5, name
    # every rank normalised with the whole batch's moments, bit for bit the same on each
    for rank_stats in stats[1:]:
        assert all(a.tobytes() == b.tobytes() for a, b in zip(stats[0], rank_stats, strict=True))
    for got, want in zip(stats[0], whole.batch_stats, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # one exchange per batchnorm forward and one per backward, in the same order on every rank
    assert len(gather.calls[0]) == 2 * len(whole.batchnorm_layers()) == 8
    assert all(calls == gather.calls[0] for calls in gather.calls)
    assert gather.calls[0][:4] == gather.calls[0][4:][::-1]


def test_without_a_job_the_rank_ops_change_nothing() -> None:
    """Unbound (one process), rank_moments passes the moments and their gradient through."""
    x, y = _data(5)
    plain, synced = _network(), _network()
    synced.synced = True
    loss_a, _, ga = plain.train_step(x, y)
    loss_b, _, gb = synced.train_step(x, y)
    assert loss_a == loss_b
    for name in ga:
        np.testing.assert_array_equal(ga[name], gb[name], err_msg=name)
    ops = [n.op for n in synced.executor(5, True)[1].graph.nodes]
    assert ops.count("rank_moments") == 4 and ops.count("rank_moments_grad") == 4
    assert "rank_moments" not in [n.op for n in plain.executor(5, True)[1].graph.nodes]
