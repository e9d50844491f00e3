"""Liveness-based memory planner with buffer reuse.

Values produced by kernels get a buffer from a pool: a value takes a free
buffer of exactly its byte size if one exists, else the smallest free buffer
that is large enough (best fit), else a new buffer. A buffer returns to the
pool after the last step that reads its value. A kernel's output is
assigned *before* its inputs are released, so no kernel ever writes into a
buffer it is reading. Graph outputs stay live to the end. Inputs, parameters
and constants are owned by the executor and not planned here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from volta_core.ir.fingerprint import sequence_fingerprint
from volta_core.ir.graph import Graph
from volta_core.ir.ops import get_op, numel, numpy_dtype


@dataclass(frozen=True)
class MemoryPlan:
    """``assignment[node id] = buffer index``; ``buffer_sizes[i]`` in bytes.

    ``peak_bytes`` is the memory the plan needs (the sum of its buffers);
    ``no_reuse_bytes`` is what one buffer per value would need.
    """

    assignment: dict[int, int]
    buffer_sizes: tuple[int, ...]
    peak_bytes: int
    no_reuse_bytes: int

    def fingerprint(self) -> str:
        return sequence_fingerprint("memory-plan", [sorted(self.assignment.items()), self.buffer_sizes])


def nbytes(shape: tuple[int, ...], dtype: str) -> int:
    return numel(shape) * np.dtype(numpy_dtype(dtype)).itemsize


def plan_memory(graph: Graph, order: list[int]) -> MemoryPlan:
    position = {nid: step for step, nid in enumerate(order)}
    last_use: dict[int, int] = {nid: step for nid, step in position.items()}
    for step, nid in enumerate(order):
        for i in graph.node(nid).inputs:
            last_use[i] = max(last_use[i], step)
    for o in graph.outputs:
        last_use[o] = len(order)
    release_at: dict[int, list[int]] = {}
    for nid, step in last_use.items():
        release_at.setdefault(step, []).append(nid)

    sizes: list[int] = []
    free: list[int] = []  # buffer indices, kept sorted
    assignment: dict[int, int] = {}
    no_reuse = 0
    for step, nid in enumerate(order):
        node = graph.node(nid)
        if not get_op(node.op).source:
            need = nbytes(node.shape, node.dtype)
            no_reuse += need
            exact = [b for b in free if sizes[b] == need]
            fits = sorted((sizes[b], b) for b in free if sizes[b] >= need)
            if exact:
                buf = exact[0]
            elif fits:
                buf = fits[0][1]
            else:
                buf = len(sizes)
                sizes.append(need)
            if buf in free:
                free.remove(buf)
            assignment[nid] = buf
        for done in sorted(release_at.get(step, ())):
            if done in assignment:
                free.append(assignment[done])
        free.sort()
    return MemoryPlan(assignment, tuple(sizes), sum(sizes), no_reuse)
