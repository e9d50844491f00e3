"""Graph rewrites. Each pass verifies its input and its result and returns a new graph."""

from __future__ import annotations

from volta_core.ir.graph import Graph, Node
from volta_core.ir.verify import verify


def _rebuild(graph: Graph, keep: list[Node], remap: dict[int, int]) -> Graph:
    out = Graph()
    for n in keep:
        out.append(Node(n.id, n.op, tuple(remap.get(i, i) for i in n.inputs), n.attrs, n.shape, n.dtype))
    out.set_outputs(remap.get(o, o) for o in graph.outputs)
    verify(out)
    return out


def dead_code_elimination(graph: Graph) -> Graph:
    """Drop nodes no output depends on; inputs and parameters are always kept (they are the signature)."""
    verify(graph)
    live = set(graph.outputs) | set(graph.inputs) | set(graph.params)
    for n in reversed(graph.nodes):
        if n.id in live:
            live.update(n.inputs)
    return _rebuild(graph, [n for n in graph.nodes if n.id in live], {})


def common_subexpression_elimination(graph: Graph) -> Graph:
    """Merge nodes with the same op, (remapped) inputs and attributes; inputs/parameters never merge."""
    verify(graph)
    seen: dict[tuple[object, ...], int] = {}
    remap: dict[int, int] = {}
    keep: list[Node] = []
    for n in graph.nodes:
        inputs = tuple(remap.get(i, i) for i in n.inputs)
        key = (n.op, inputs, n.attrs, n.shape, n.dtype)
        if n.op not in ("input", "parameter") and key in seen:
            remap[n.id] = seen[key]
            continue
        seen.setdefault(key, n.id)
        keep.append(n)
    return _rebuild(graph, keep, remap)
