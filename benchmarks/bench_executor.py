"""Per-step overhead of the CPU executor on a tiny graph.

Overhead = (time per executor step) - (time of the same NumPy kernel calls
written out by hand with ``out=`` buffers), i.e. what the plan/loop machinery
costs on top of NumPy. Run: ``python benchmarks/bench_executor.py``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from volta_core.backends.cpu import CpuExecutor
from volta_core.ir import Graph, compile_plan


def tiny_graph() -> Graph:
    g = Graph()
    x = g.input("x", (4, 8))
    w = g.parameter("w", (8, 8))
    b = g.parameter("b", (8,))
    h = g.op("relu", g.op("add", g.op("matmul", x, w), b))
    g.set_outputs([g.op("reduce_sum", g.op("mul", h, h), axes=(0, 1))])
    return g


def best_of(fn, runs: int, inner: int) -> float:
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        best = min(best, (time.perf_counter() - t0) / inner)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--inner", type=int, default=20000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    feeds = {"x": rng.standard_normal((4, 8)).astype(np.float32),
             "w": rng.standard_normal((8, 8)).astype(np.float32),
             "b": rng.standard_normal(8).astype(np.float32)}
    ex = CpuExecutor(compile_plan(tiny_graph()))
    ex.feed(feeds)

    x, w, b = feeds["x"], feeds["w"], feeds["b"]
    m, a, r, s = (np.empty((4, 8), np.float32) for _ in range(4))
    out = np.empty((), np.float32)

    def by_hand() -> None:
        np.matmul(x, w, out=m)
        np.add(m, b, out=a)
        np.maximum(a, 0, out=r)
        np.multiply(r, r, out=s)
        np.sum(s, axis=(0, 1), keepdims=False, out=out)

    t_exec = best_of(ex.execute, args.runs, args.inner)
    t_numpy = best_of(by_hand, args.runs, args.inner)
    steps = len(ex.steps)
    print(f"kernels per step      : {steps}")
    print(f"executor step         : {t_exec * 1e6:8.2f} us")
    print(f"hand-written numpy    : {t_numpy * 1e6:8.2f} us")
    print(f"overhead per step     : {(t_exec - t_numpy) * 1e6:8.2f} us "
          f"({(t_exec - t_numpy) / steps * 1e9:.0f} ns per kernel)")


if __name__ == "__main__":
    main()
