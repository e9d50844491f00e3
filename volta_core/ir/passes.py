"""Graph rewrites. Each pass verifies its input and its result and returns a new graph."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from volta_core.ir.graph import Graph, Node, constant_array
from volta_core.ir.ops import FUSABLE, IRError, get_op, kernel_factory, numel, numpy_dtype
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


# ---------------------------------------------------------------------------
# Constant folding
# ---------------------------------------------------------------------------
FOLD_LIMIT = 4096  # elements; bigger results stay computed (constants live in node attributes)


def fold_constants(graph: Graph, backend: str = "cpu", limit: int = FOLD_LIMIT) -> Graph:
    """Replace nodes whose inputs are all constants by a ``constant`` of their value.

    The value is computed by the same backend kernel the executor would call,
    on the same input values, so folding never changes a result's bits (NaN
    payloads aside). Nodes of more than ``limit`` elements, and every node when
    the backend's kernels are not registered, are left alone. Node ids are kept.
    """
    verify(graph)
    consts: dict[int, np.ndarray] = {}
    keep: list[Node] = []
    for n in graph.nodes:
        opdef = get_op(n.op)
        if n.op == "constant":
            consts[n.id] = constant_array(n)
        elif (
            not opdef.source
            and n.inputs
            and all(i in consts for i in n.inputs)
            and numel(n.shape) <= limit
        ):
            try:
                factory = kernel_factory(backend, n.op)
            except IRError:
                keep.append(n)
                continue
            out = np.empty(n.shape, numpy_dtype(n.dtype))
            factory(n, [graph.node(i) for i in n.inputs])(tuple(consts[i] for i in n.inputs), out)
            consts[n.id] = out
            attrs = get_op("constant").normalize_attrs(
                {"value": tuple(out.ravel().tolist()), "shape": n.shape, "dtype": n.dtype}
            )
            n = Node(n.id, "constant", (), attrs, n.shape, n.dtype)
        keep.append(n)
    return _rebuild(graph, keep, {})


# ---------------------------------------------------------------------------
# Algebraic simplification
# ---------------------------------------------------------------------------
def _is_const(graph: Graph, nid: int, value: float) -> bool:
    n = graph.node(nid)
    return n.op == "constant" and all(v == value for v in n.attr("value"))


def simplify(graph: Graph) -> Graph:
    """Algebraic identities: ``x*1, 1*x, x+0, 0+x, x-0, x/1, neg(neg x)`` become ``x``;
    ``transpose(transpose(x))`` becomes one transpose with the composed perm (none
    when it is the identity); ``reshape(reshape(x))`` becomes one reshape (none
    when the shape is unchanged). A rewrite that would change the result's shape
    or dtype (``x*1`` broadcasting ``x`` up) is not applied. Node ids are kept;
    rewritten-away nodes are dropped, nodes they bypass are left for DCE.
    Results are bitwise identical except that removing ``x+0`` / ``x-0``
    keeps a ``-0.0`` the addition would have turned into ``+0.0``.
    """
    verify(graph)
    remap: dict[int, int] = {}
    keep: list[Node] = []
    index: dict[int, Node] = {}

    def same_type(a: int, n: Node) -> bool:
        src = index[a]
        return src.shape == n.shape and src.dtype == n.dtype

    for orig in graph.nodes:
        n = Node(orig.id, orig.op, tuple(remap.get(i, i) for i in orig.inputs), orig.attrs, orig.shape, orig.dtype)
        ins = n.inputs
        target: int | None = None
        if n.op in ("mul", "add") and len(ins) == 2:
            unit = 1.0 if n.op == "mul" else 0.0
            if _is_const(graph, ins[1], unit) and same_type(ins[0], n):
                target = ins[0]
            elif _is_const(graph, ins[0], unit) and same_type(ins[1], n):
                target = ins[1]
        elif n.op in ("sub", "div"):
            unit = 0.0 if n.op == "sub" else 1.0
            if _is_const(graph, ins[1], unit) and same_type(ins[0], n):
                target = ins[0]
        elif n.op == "neg" and index[ins[0]].op == "neg":
            target = index[ins[0]].inputs[0]
        elif n.op == "transpose" and index[ins[0]].op == "transpose":
            inner = index[ins[0]]
            p1, p2 = inner.attr("perm"), n.attr("perm")
            perm = tuple(p1[p] for p in p2)
            if perm == tuple(range(len(perm))):
                target = inner.inputs[0]
            else:
                n = Node(n.id, "transpose", inner.inputs, (("perm", perm),), n.shape, n.dtype)
        elif n.op == "reshape" and index[ins[0]].op == "reshape":
            n = Node(n.id, "reshape", index[ins[0]].inputs, (("shape", n.shape),), n.shape, n.dtype)
        if n.op in ("transpose", "reshape") and target is None and same_type(n.inputs[0], n):
            if n.op == "reshape" or n.attr("perm") == tuple(range(len(n.shape))):
                target = n.inputs[0]
        if target is not None:
            remap[n.id] = target
            continue
        keep.append(n)
        index[n.id] = n
    return _rebuild(graph, keep, remap)


# ---------------------------------------------------------------------------
# Elementwise fusion
# ---------------------------------------------------------------------------
def _step_text(n: Node, args: Sequence[str]) -> str:
    head = f"pow[{n.attr('exponent')!r}]" if n.op == "pow" else n.op
    return f"{head}:{','.join(args)}"


def fuse_elementwise(graph: Graph, min_length: int = 2) -> Graph:
    """Fuse chains of elementwise ops into one ``fused_elementwise`` node.

    A chain link ``u -> v`` needs: both ops in :data:`~volta_core.ir.ops.FUSABLE`,
    ``v`` the only user of ``u`` (possibly through both operands), ``u`` not a
    graph output, and equal shape and dtype (so every step writes the whole
    output buffer and no operand is broadcast *from* the chain value). The
    fused node takes the id of the chain's last node and runs every step in
    its output buffer with the same NumPy calls as the unfused kernels, so
    results are bitwise identical. Must run after autograd (no gradient rule).
    """
    verify(graph)
    users: dict[int, set[int]] = {n.id: set() for n in graph.nodes}
    for n in graph.nodes:
        for i in n.inputs:
            users[i].add(n.id)
    outputs = set(graph.outputs)
    pred: dict[int, int] = {}
    for n in graph.nodes:
        if n.op not in FUSABLE:
            continue
        for i in n.inputs:
            u = graph.node(i)
            if (
                u.op in FUSABLE
                and users[i] == {n.id}
                and i not in outputs
                and (u.shape, u.dtype) == (n.shape, n.dtype)
            ):
                pred[n.id] = i
                break
    has_succ = set(pred.values())
    fused: dict[int, Node] = {}
    absorbed: set[int] = set()
    for n in graph.nodes:
        if n.id not in pred or n.id in has_succ:
            continue
        chain = [n.id]
        while chain[-1] in pred:
            chain.append(pred[chain[-1]])
        chain.reverse()
        if len(chain) < min_length:
            continue
        externals: list[int] = []
        steps: list[str] = []
        prev: int | None = None
        for cid in chain:
            c = graph.node(cid)
            args: list[str] = []
            for i in c.inputs:
                if i == prev:
                    args.append("@")
                else:
                    if i not in externals:
                        externals.append(i)
                    args.append(f"${externals.index(i)}")
            steps.append(_step_text(c, args))
            prev = cid
        attrs = get_op("fused_elementwise").normalize_attrs({"program": ";".join(steps)})
        fused[n.id] = Node(n.id, "fused_elementwise", tuple(externals), attrs, n.shape, n.dtype)
        absorbed.update(chain[:-1])
    keep = [fused.get(n.id, n) for n in graph.nodes if n.id not in absorbed]
    return _rebuild(graph, keep, {})


PASSES: dict[str, Callable[[Graph], Graph]] = {
    "fold": fold_constants,
    "simplify": simplify,
    "cse": common_subexpression_elimination,
    "dce": dead_code_elimination,
    "fuse": fuse_elementwise,
}


def run_passes(graph: Graph, names: Sequence[str] = ("fold", "simplify", "cse", "dce", "fuse")) -> Graph:
    """Apply the named passes in order (each verifies its input and output)."""
    for name in names:
        try:
            graph = PASSES[name](graph)
        except KeyError:
            raise IRError(f"unknown pass {name!r} (expected one of {', '.join(PASSES)})") from None
    return graph
