"""Deterministic, stable topological order."""

from __future__ import annotations

import heapq

from volta_core.ir.graph import Graph
from volta_core.ir.verify import VerifyError


def schedule(graph: Graph) -> list[int]:
    """Kahn's algorithm, always taking the ready node that appears first in ``graph.nodes``.

    Depends only on the node list (never on dict/set iteration or hashing),
    so equal graphs get equal schedules in every process. Only nodes that an
    output depends on are scheduled.
    """
    pos = {n.id: i for i, n in enumerate(graph.nodes)}
    live = set(graph.outputs)
    for n in reversed(graph.nodes):
        if n.id in live:
            live.update(n.inputs)
    users: dict[int, list[int]] = {nid: [] for nid in pos}
    pending: dict[int, int] = {}
    for n in graph.nodes:
        if n.id not in live:
            continue
        deps = set(n.inputs)
        pending[n.id] = len(deps)
        for d in sorted(deps, key=pos.__getitem__):
            users[d].append(n.id)
    ready = [pos[nid] for nid, count in pending.items() if count == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        nid = graph.nodes[heapq.heappop(ready)].id
        order.append(nid)
        for u in users[nid]:
            pending[u] -= 1
            if pending[u] == 0:
                heapq.heappush(ready, pos[u])
    if len(order) != len(pending):
        raise VerifyError("graph has a cycle; no topological order exists")
    return order
