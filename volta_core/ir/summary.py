"""One-call facts about a graph for ``volta inspect`` / ``%ir``."""

from __future__ import annotations

from typing import TypedDict

from volta_core.ir.fingerprint import graph_fingerprint
from volta_core.ir.graph import Graph
from volta_core.ir.memory import plan_memory
from volta_core.ir.ops import numel
from volta_core.ir.schedule import schedule
from volta_core.ir.verify import verify


class GraphSummary(TypedDict):
    nodes: int
    params: int
    param_count: int
    peak_bytes: int
    fingerprint: str


def summary(graph: Graph) -> GraphSummary:
    """``nodes`` (all nodes), ``params`` (parameter tensors), ``param_count`` (their
    elements), ``peak_bytes`` (the memory plan's buffer bytes for the scheduled
    graph; executor-owned inputs, parameters and constants excluded) and the
    graph ``fingerprint``. Verifies the graph first.
    """
    verify(graph)
    memory = plan_memory(graph, schedule(graph))
    return GraphSummary(
        nodes=len(graph),
        params=len(graph.params),
        param_count=sum(numel(graph.node(p).shape) for p in graph.params),
        peak_bytes=memory.peak_bytes,
        fingerprint=graph_fingerprint(graph),
    )
