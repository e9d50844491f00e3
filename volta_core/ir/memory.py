"""Liveness-based memory planner with buffer reuse.

Values produced by kernels get a buffer from a pool: a value takes a free
buffer of exactly its byte size if one exists, else the smallest free buffer
that is large enough (best fit), else a new buffer. A buffer returns to the
pool after the last step that reads its value. A kernel's output is
assigned *before* its inputs are released, so no kernel ever writes into a
buffer it is reading. Graph outputs stay live to the end. Inputs, parameters
and constants are owned by the executor and not planned here.

A node whose op declares a workspace (``OpDef.workspace``: im2col columns,
padded copies) also gets a scratch buffer, taken after its output and
returned to the pool at the end of the same step: it never aliases the
step's inputs or output, and later steps reuse it. Kernels must not expect
a workspace to keep its contents between runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    views: dict[int, int] = field(default_factory=dict)  # view node -> the node whose storage it reads
    workspace: dict[int, tuple[int, int]] = field(default_factory=dict)  # node -> (buffer, bytes) for its step

    def fingerprint(self) -> str:
        parts: list[object] = [sorted(self.assignment.items()), self.buffer_sizes]
        if self.workspace:  # plans without workspaces keep the fingerprints they always had
            parts.append(sorted(self.workspace.items()))
        return sequence_fingerprint("memory-plan", parts)


def nbytes(shape: tuple[int, ...], dtype: str) -> int:
    return numel(shape) * np.dtype(numpy_dtype(dtype)).itemsize


VIEW_OPS = ("transpose", "broadcast_to", "reshape", "squeeze", "unsqueeze")
_RESHAPES = ("reshape", "squeeze", "unsqueeze")
# Which ops a backend runs as views: NumPy has strided views; the CUDA backend keeps every
# value contiguous, so only reshapes (same bytes, new shape) are views there.
VIEW_POLICY = {"cpu": VIEW_OPS, "cuda": _RESHAPES}


def view_nodes(graph: Graph, order: list[int], ops: tuple[str, ...] = VIEW_OPS) -> dict[int, int]:
    """Nodes the CPU executor runs as NumPy views of their input (no kernel, no buffer).

    ``transpose`` and ``broadcast_to`` are always views (strided / zero-stride);
    ``reshape``/``squeeze``/``unsqueeze`` only of a C-contiguous value (a kernel
    output, input, parameter or constant, or a reshape-view of one), where NumPy
    guarantees ``reshape`` does not copy. Returns ``view id -> input id``.
    """
    views: dict[int, int] = {}
    contiguous: set[int] = set()
    for nid in order:
        node = graph.node(nid)
        if node.op in ("transpose", "broadcast_to") and node.op in ops:
            views[nid] = node.inputs[0]
        elif node.op in _RESHAPES and node.op in ops and node.inputs[0] in contiguous:
            views[nid] = node.inputs[0]
            contiguous.add(nid)
        else:
            contiguous.add(nid)
    return views


def plan_memory(graph: Graph, order: list[int], views: bool = True, backend: str = "cpu") -> MemoryPlan:
    """Plan buffers for ``order``; with ``views``, :func:`view_nodes` (of ``backend``'s
    :data:`VIEW_POLICY`) get no buffer and extend the lifetime of the buffer they alias
    to their own last use."""
    aliases = view_nodes(graph, order, VIEW_POLICY[backend]) if views else {}
    position = {nid: step for step, nid in enumerate(order)}
    last_use: dict[int, int] = {nid: step for nid, step in position.items()}
    for step, nid in enumerate(order):
        for i in graph.node(nid).inputs:
            last_use[i] = max(last_use[i], step)
    for o in graph.outputs:
        last_use[o] = len(order)
    # A view keeps its root's storage alive: walk views in reverse order so chains propagate.
    for nid in reversed(order):
        if nid in aliases:
            src = aliases[nid]
            last_use[src] = max(last_use[src], last_use[nid])
    release_at: dict[int, list[int]] = {}
    for nid, step in last_use.items():
        release_at.setdefault(step, []).append(nid)

    sizes: list[int] = []
    free: list[int] = []  # buffer indices, kept sorted
    assignment: dict[int, int] = {}
    workspace: dict[int, tuple[int, int]] = {}
    no_reuse = 0

    def take(need: int) -> int:
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
        return buf

    for step, nid in enumerate(order):
        node = graph.node(nid)
        opdef = get_op(node.op)
        if not opdef.source and nid not in aliases:
            need = nbytes(node.shape, node.dtype)
            no_reuse += need
            assignment[nid] = take(need)
            types = [(graph.node(i).shape, graph.node(i).dtype) for i in node.inputs]
            scratch = opdef.workspace_bytes(types, node.attrs, (node.shape, node.dtype))
            if scratch:
                no_reuse += scratch
                workspace[nid] = (take(scratch), scratch)
                free.append(workspace[nid][0])
        for done in sorted(release_at.get(step, ())):
            if done in assignment:
                free.append(assignment[done])
        free.sort()
    return MemoryPlan(assignment, tuple(sizes), sum(sizes), no_reuse, aliases, workspace)
