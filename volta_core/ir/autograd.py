"""Reverse-mode autodiff that builds a separate backward graph.

The forward graph is only read. Forward values the backward pass needs
("saved" activations) become ``input`` nodes of the backward graph named
``fwd.%<id>``; forward constants are copied instead. :func:`training_graph`
splices forward and backward into one graph for planning and execution,
again without touching the forward graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from volta_core.ir.graph import Graph, Node
from volta_core.ir.ops import FLOAT_DTYPES, IRError, Shape, TensorType, broadcast_axes, get_op

SAVED_PREFIX = "fwd.%"


@dataclass(frozen=True)
class GradMapping:
    """How the backward graph relates to the forward one.

    ``grads[p]`` is the backward output holding d(loss)/d(p) for each forward
    id ``p`` in ``wrt``; ``saved[f]`` is the backward input that must be fed the
    value of forward node ``f``.
    """

    grads: dict[int, int]
    saved: dict[int, int]


class _Context:
    def __init__(self, forward: Graph, backward: Graph) -> None:
        self.forward = forward
        self.backward = backward
        self.saved: dict[int, int] = {}
        self.node: Node | None = None

    def fwd_value(self, fid: int) -> int:
        if fid not in self.saved:
            n = self.forward.node(fid)
            if n.op == "constant":
                self.saved[fid] = self.backward.op("constant", **n.attr_dict)
            else:
                self.saved[fid] = self.backward.input(f"{SAVED_PREFIX}{fid}", n.shape, n.dtype)
        return self.saved[fid]

    def _current(self) -> Node:
        assert self.node is not None
        return self.node

    def x(self, i: int) -> int:
        return self.fwd_value(self._current().inputs[i])

    def y(self) -> int:
        return self.fwd_value(self._current().id)

    def op(self, name: str, /, *inputs: int, **attrs: object) -> int:
        return self.backward.op(name, *inputs, **attrs)

    def const(self, value: float, dtype: str) -> int:
        return self.backward.constant(value, dtype)

    def type_of(self, value: int) -> TensorType:
        n = self.backward.node(value)
        return n.shape, n.dtype

    def unbroadcast(self, grad: int, shape: Shape) -> int:
        gshape = self.backward.node(grad).shape
        if gshape == tuple(shape):
            return grad
        axes = broadcast_axes(shape, gshape)
        summed = self.op("reduce_sum", grad, axes=axes, keepdims=False)
        if self.backward.node(summed).shape != tuple(shape):
            summed = self.op("reshape", summed, shape=tuple(shape))
        return summed


def _differentiable(n: Node) -> bool:
    return n.dtype in FLOAT_DTYPES


def grad(forward: Graph, loss: int, wrt: Sequence[int]) -> tuple[Graph, GradMapping]:
    """Build the backward graph of ``loss`` with respect to ``wrt``.

    The seed gradient is a constant of ones shaped like ``loss`` (so a
    non-scalar ``loss`` means "sum of its elements"). Every ``wrt`` id gets a
    gradient output, zeros when it does not influence ``loss``. The forward
    graph is not modified.
    """
    for p in wrt:
        if not _differentiable(forward.node(p)):
            raise IRError(f"cannot differentiate with respect to non-float node %{p}")
    loss_node = forward.node(loss)
    if not _differentiable(loss_node):
        raise IRError(f"loss %{loss} must be floating point, got {loss_node.dtype}")

    # Nodes on a path wrt -> loss, in forward order.
    depends = set(wrt)
    for n in forward.nodes:
        if any(i in depends for i in n.inputs) and _differentiable(n):
            depends.add(n.id)
    ancestors = {loss}
    for n in reversed(forward.nodes):
        if n.id in ancestors:
            ancestors.update(n.inputs)
    active = depends & ancestors

    backward = Graph()
    ctx = _Context(forward, backward)
    grads: dict[int, int] = {}
    if loss in active:
        grads[loss] = backward.constant(np.ones(loss_node.shape), loss_node.dtype)
    for n in reversed(forward.nodes):
        if n.id not in active or n.id not in grads or n.op in ("input", "parameter"):
            continue
        rule = get_op(n.op).grad
        if rule is None:
            continue
        ctx.node = n
        input_grads = rule(ctx, n, grads[n.id])
        for src, g in zip(n.inputs, input_grads, strict=True):
            if g is None or src not in active:
                continue
            grads[src] = backward.op("add", grads[src], g) if src in grads else g

    outputs: dict[int, int] = {}
    for p in wrt:
        if p in grads:
            outputs[p] = grads[p]
        else:
            pn = forward.node(p)
            outputs[p] = backward.op("broadcast_to", backward.constant(0.0, pn.dtype), shape=pn.shape)
    backward.set_outputs(outputs[p] for p in wrt)
    return backward, GradMapping(grads=outputs, saved=dict(ctx.saved))


def training_graph(forward: Graph, loss: int, wrt: Sequence[int]) -> tuple[Graph, list[int]]:
    """One graph computing the forward outputs, ``loss`` and its gradients.

    Returns the spliced graph (outputs: forward outputs, ``loss``, then one
    gradient per ``wrt`` id) and the ids of the gradient outputs. Forward
    node ids are kept; the forward graph itself is not modified.
    """
    backward, mapping = grad(forward, loss, wrt)
    joined = Graph()
    for n in forward.nodes:
        joined.append(n)
    saved_by_input = {b: f for f, b in mapping.saved.items() if backward.node(b).op == "input"}
    remap: dict[int, int] = {}
    for n in backward.nodes:
        if n.id in saved_by_input:
            remap[n.id] = saved_by_input[n.id]
            continue
        remap[n.id] = joined.op(n.op, *(remap[i] for i in n.inputs), **n.attr_dict)
    grad_ids = [remap[mapping.grads[p]] for p in wrt]
    outs: list[int] = []
    for o in (*forward.outputs, loss, *grad_ids):
        if o not in outs:
            outs.append(o)
    joined.set_outputs(outs)
    return joined, grad_ids
