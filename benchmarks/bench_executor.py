"""Per-step overhead of the CPU executor on a tiny graph, and what elementwise fusion buys.

Overhead = (time per executor step) - (time of the same NumPy kernel calls
written out by hand with ``out=`` buffers), i.e. what the plan/loop machinery
costs on top of NumPy. Fusion: the same chain of elementwise ops executed
unfused (one planned buffer per value) and fused (one kernel, one output
buffer reused via ``out=``), at several sizes.
Run: ``python benchmarks/bench_executor.py``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from volta_core.backends.cpu import CpuExecutor
from volta_core.ir import Graph, compile_plan
from volta_core.ir.passes import fuse_elementwise


def tiny_graph() -> Graph:
    g = Graph()
    x = g.input("x", (4, 8))
    w = g.parameter("w", (8, 8))
    b = g.parameter("b", (8,))
    h = g.op("relu", g.op("add", g.op("matmul", x, w), b))
    g.set_outputs([g.op("reduce_sum", g.op("mul", h, h), axes=(0, 1))])
    return g


def chain_graph(shape: tuple[int, ...]) -> Graph:
    """bias-add, gelu-free activation chain typical of an MLP/LN epilogue: 7 elementwise ops."""
    g = Graph()
    x = g.input("x", shape)
    b = g.parameter("b", shape[-1:])
    s = g.parameter("s", shape[-1:])
    h = g.op("add", x, b)
    h = g.op("mul", h, s)
    h = g.op("tanh", h)
    h = g.op("mul", h, h)
    h = g.op("exp", g.op("neg", h))
    h = g.op("relu", g.op("sub", h, b))
    g.set_outputs([h])
    return g


def bench_fusion(runs: int) -> None:
    rng = np.random.default_rng(0)
    print("elementwise fusion (7-op chain, f32):")
    for shape, inner in (((4, 8), 20000), ((64, 256), 2000), ((512, 512), 100), ((2048, 1024), 10)):
        g = chain_graph(shape)
        feeds = {"x": rng.standard_normal(shape).astype(np.float32),
                 "b": rng.standard_normal(shape[-1:]).astype(np.float32),
                 "s": rng.standard_normal(shape[-1:]).astype(np.float32)}
        plain, fused = CpuExecutor(compile_plan(g)), CpuExecutor(compile_plan(fuse_elementwise(g)))
        plain.feed(feeds)
        fused.feed(feeds)
        t_plain = best_of(plain.execute, runs, inner)
        t_fused = best_of(fused.execute, runs, inner)
        print(f"  {list(shape)!s:>12}: unfused {t_plain * 1e6:10.2f} us  fused {t_fused * 1e6:10.2f} us  "
              f"speedup {t_plain / t_fused:5.2f}x  (buffers {plain.plan.memory.peak_bytes} B -> "
              f"{fused.plan.memory.peak_bytes} B)")


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
    ap.add_argument("--fusion-only", action="store_true")
    args = ap.parse_args()
    bench_fusion(args.runs)
    if args.fusion_only:
        return
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
