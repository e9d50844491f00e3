"""Stable SHA-256 fingerprints over a canonical serialisation (never ``hash()``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from volta_core.ir.graph import Graph


def _canon(value: object) -> object:
    # Floats are written with float.hex so equal bits give equal text on every platform.
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        return {"f": value.hex()}
    if isinstance(value, tuple | list):
        return [_canon(v) for v in value]
    raise TypeError(f"cannot canonicalise {type(value).__name__}")


def canonical_graph(graph: Graph) -> list[object]:
    """Nodes renumbered by position, so graphs differing only in id numbering agree."""
    pos = {n.id: i for i, n in enumerate(graph.nodes)}
    nodes = [
        [n.op, [pos[i] for i in n.inputs], [[k, _canon(v)] for k, v in n.attrs], list(n.shape), n.dtype]
        for n in graph.nodes
    ]
    return [nodes, [pos[i] for i in graph.inputs], [pos[i] for i in graph.params], [pos[i] for i in graph.outputs]]


def digest(payload: object) -> str:
    text = json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def graph_fingerprint(graph: Graph) -> str:
    return digest(["volta-ir-1", canonical_graph(graph)])


def sequence_fingerprint(kind: str, items: Iterable[object]) -> str:
    """Fingerprint of a schedule or memory plan (any JSON-able, canonicalisable items)."""
    return digest([kind, _canon(list(items))])
