"""SSA graph: frozen nodes with one output each, a builder, and a printer.

Every node's shape and dtype are inferred by its op's shape rule when it is
added (see :mod:`volta_core.ir.ops`), so a graph built through :class:`Graph`
is well typed by construction; :func:`volta_core.ir.verify.verify` re-checks
graphs that were assembled or rewritten by other means.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from volta_core.ir import ops as _ops
from volta_core.present import format_shape

Attrs = tuple[tuple[str, object], ...]


@dataclass(frozen=True, slots=True)
class Node:
    """One SSA value: ``id = op(inputs) {attrs} : dtype[shape]``.

    ``attrs`` is sorted by name and holds only hashable values (ints, floats,
    strings, bools and tuples of them), so nodes compare and hash by value.
    """

    id: int
    op: str
    inputs: tuple[int, ...]
    attrs: Attrs
    shape: tuple[int, ...]
    dtype: str

    def attr(self, name: str) -> Any:
        for key, value in self.attrs:
            if key == name:
                return value
        raise KeyError(f"node %{self.id} ({self.op}) has no attribute {name!r}")

    @property
    def attr_dict(self) -> dict[str, Any]:
        return dict(self.attrs)


def format_type(shape: Sequence[int], dtype: str) -> str:
    return format_shape(shape, dtype)


def _format_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple):
        if len(value) > 8:
            return "[" + ", ".join(_format_value(v) for v in value[:8]) + f", …({len(value)})]"
        return "[" + ", ".join(_format_value(v) for v in value) + "]"
    return repr(value)


def format_node(node: Node) -> str:
    """``%3 = matmul %1 %2 : f32[64, 10]`` (attributes in braces before the type)."""
    parts = [f"%{node.id} = {node.op}"]
    parts.extend(f"%{i}" for i in node.inputs)
    if node.attrs:
        parts.append("{" + ", ".join(f"{k}={_format_value(v)}" for k, v in node.attrs) + "}")
    return " ".join(parts) + f" : {format_type(node.shape, node.dtype)}"


class Graph:
    """A list of nodes in definition order plus the graph's inputs, parameters and outputs.

    Node ids are unique and increase in insertion order; rewrites build new
    graphs instead of mutating nodes.
    """

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.inputs: list[int] = []
        self.params: list[int] = []
        self.outputs: list[int] = []
        self._index: dict[int, Node] = {}
        self._next_id = 0

    # -- access -------------------------------------------------------------
    def node(self, node_id: int) -> Node:
        try:
            return self._index[node_id]
        except KeyError:
            raise KeyError(f"graph has no node %{node_id}") from None

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._index

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def name_of(self, node_id: int) -> str:
        """The name of an ``input`` or ``parameter`` node."""
        return str(self.node(node_id).attr("name"))

    def by_name(self, name: str) -> int:
        for nid in (*self.inputs, *self.params):
            if self.name_of(nid) == name:
                return nid
        raise KeyError(f"graph has no input or parameter named {name!r}")

    # -- building -----------------------------------------------------------
    def append(self, node: Node) -> int:
        """Append a prebuilt node unchanged (no inference); used by rewrites and tests."""
        if node.id in self._index:
            raise ValueError(f"duplicate node id %{node.id}")
        self.nodes.append(node)
        self._index[node.id] = node
        self._next_id = max(self._next_id, node.id + 1)
        if node.op == "input":
            self.inputs.append(node.id)
        elif node.op == "parameter":
            self.params.append(node.id)
        return node.id

    def op(self, name: str, /, *inputs: int, **attrs: object) -> int:
        """Add ``name(inputs) {attrs}``; validates attributes and infers shape and dtype."""
        opdef = _ops.get_op(name)
        types = []
        for i in inputs:
            n = self.node(i)
            types.append((n.shape, n.dtype))
        norm = opdef.normalize_attrs(attrs)
        shape, dtype = opdef.infer(types, norm)
        node = Node(self._next_id, name, tuple(inputs), norm, shape, dtype)
        return self.append(node)

    def input(self, name: str, shape: Sequence[int], dtype: str = "f32") -> int:
        return self.op("input", name=name, shape=tuple(shape), dtype=dtype)

    def parameter(self, name: str, shape: Sequence[int], dtype: str = "f32") -> int:
        return self.op("parameter", name=name, shape=tuple(shape), dtype=dtype)

    def constant(self, value: object, dtype: str = "f32") -> int:
        arr = np.asarray(value, dtype=_ops.numpy_dtype(dtype))
        return self.op("constant", value=tuple(arr.ravel().tolist()), shape=arr.shape, dtype=dtype)

    def set_outputs(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        for i in ids:
            self.node(i)
        self.outputs = ids

    # -- output -------------------------------------------------------------
    def __str__(self) -> str:
        lines = [format_node(n) for n in self.nodes]
        lines.append("return " + " ".join(f"%{i}" for i in self.outputs))
        return "\n".join(lines)


def moment_rows(g: Graph, moments: int, channels: Sequence[int]) -> tuple[int, int]:
    """The mean and the variance of ``[2, C]`` batch moments (``moments`` op), each shaped
    ``channels`` as ``batchnorm`` takes them."""
    mean, var = (g.op("reshape", g.op("slice", moments, starts=(k,), ends=(k + 1,), axes=(0,)), shape=tuple(channels))
                 for k in (0, 1))
    return mean, var


def constant_array(node: Node) -> np.ndarray:
    """The value of a ``constant`` node as a fresh numpy array."""
    arr = np.array(node.attr("value"), dtype=_ops.numpy_dtype(node.dtype))
    return arr.reshape(node.shape)
