"""Graph verifier: SSA form, definition order, attributes, shapes and dtypes."""

from __future__ import annotations

from volta_core.ir.graph import Graph, Node, format_node
from volta_core.ir.ops import IRError, get_op


class VerifyError(IRError):
    """The graph breaks an IR invariant; the message shows the offending node."""

    def __init__(self, message: str, node: Node | None = None) -> None:
        self.node = node
        super().__init__(message if node is None else f"{message}\n  at: {format_node(node)}")


def verify(graph: Graph) -> None:
    """Check every IR invariant; raise :class:`VerifyError` on the first violation.

    Rules: ids are unique (SSA); every input is defined by an earlier node
    (use-before-def, which also makes the node list a topological order); the
    op exists and its arity matches; attributes re-normalise to themselves
    (valid, complete, sorted); re-running the shape rule gives the recorded
    shape and dtype; graph inputs/params/outputs name existing nodes of the
    right kind.
    """
    defined: set[int] = set()
    for node in graph.nodes:
        if node.id in defined:
            raise VerifyError(f"SSA violation: id %{node.id} is defined twice", node)
        try:
            opdef = get_op(node.op)
        except IRError as e:
            raise VerifyError(str(e), node) from None
        for i in node.inputs:
            if i not in defined:
                known = any(n.id == i for n in graph.nodes)
                why = "used before its definition" if known else "never defined"
                raise VerifyError(f"input %{i} is {why}", node)
        if not opdef.accepts_arity(len(node.inputs)):
            raise VerifyError(f"{node.op} takes {opdef.arity_text()} input(s), got {len(node.inputs)}", node)
        try:
            attrs = opdef.normalize_attrs(dict(node.attrs))
        except IRError as e:
            raise VerifyError(f"invalid attributes: {e}", node) from None
        if attrs != node.attrs:
            raise VerifyError("attributes are not in canonical (complete, sorted) form", node)
        types = [(graph.node(i).shape, graph.node(i).dtype) for i in node.inputs]
        try:
            shape, dtype = opdef.infer(types, attrs)
        except IRError as e:
            raise VerifyError(f"shape rule failed: {e}", node) from None
        if (shape, dtype) != (node.shape, node.dtype):
            raise VerifyError(
                f"recorded type {node.dtype}{list(node.shape)} differs from inferred {dtype}{list(shape)}", node
            )
        defined.add(node.id)
    for label, ids, op in (("input", graph.inputs, "input"), ("parameter", graph.params, "parameter")):
        for i in ids:
            if i not in defined or graph.node(i).op != op:
                raise VerifyError(f"graph {label} %{i} is not an {op} node")
    names = [graph.name_of(i) for i in (*graph.inputs, *graph.params)]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise VerifyError(f"duplicate input/parameter names: {', '.join(dupes)}")
    for i in graph.outputs:
        if i not in defined:
            raise VerifyError(f"graph output %{i} is not defined")
