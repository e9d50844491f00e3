"""Shared builders for the IR tests."""

from __future__ import annotations

import numpy as np

import volta_core.backends.cpu  # noqa: F401  (registers the CPU kernels)
from volta_core.backends.cpu import CpuExecutor
from volta_core.ir import Graph, compile_plan


def run_graph(graph: Graph, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    return CpuExecutor(compile_plan(graph)).run(feeds)


def mlp(layers: int = 6, width: int = 64, batch: int = 32, classes: int = 10, dtype: str = "f32"):
    """``layers`` dense layers (relu between), softmax cross-entropy loss. Returns (graph, loss, params)."""
    g = Graph()
    x = g.input("x", (batch, width), dtype)
    t = g.input("t", (batch,), "i64")
    h = x
    params = []
    for i in range(layers):
        out = classes if i == layers - 1 else width
        w = g.parameter(f"{i}.dense.weight", (width, out), dtype)
        b = g.parameter(f"{i}.dense.bias", (out,), dtype)
        params += [w, b]
        h = g.op("add", g.op("matmul", h, w), b)
        if i < layers - 1:
            h = g.op("relu", h)
    loss = g.op("softmax_cross_entropy", h, t)
    g.set_outputs([loss])
    return g, loss, params


def mlp_feeds(graph: Graph, seed: int = 0, dtype=np.float32) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    feeds: dict[str, np.ndarray] = {}
    for nid in (*graph.inputs, *graph.params):
        node = graph.node(nid)
        name = graph.name_of(nid)
        if node.dtype == "i64":
            feeds[name] = rng.integers(0, 10, node.shape)
        else:
            feeds[name] = (rng.standard_normal(node.shape) * 0.3).astype(dtype)
    return feeds
