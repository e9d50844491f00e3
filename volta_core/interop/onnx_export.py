"""IR forward graph → ONNX ModelProto (opset 17), checked with ``onnx.checker``.

Parameters become initializers (so a re-import finds them trainable), IR
constants become ``Constant`` nodes (so they stay constants), and each IR op
maps to one ONNX op or a short fixed expansion (``gelu``: opset 17 has no Gelu;
``silu``: x·sigmoid(x)). Dropout is exported for inference (identity).
Training-only ops (losses, scatters) and fused kernels are rejected by name.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from volta_core.interop.contract import InteropError
from volta_core.ir.graph import Graph, Node, constant_array
from volta_core.ir.ops import numpy_dtype

EXPORT_OPSET = 17

_ELEM = {
    "f32": TensorProto.FLOAT,
    "f64": TensorProto.DOUBLE,
    "i32": TensorProto.INT32,
    "i64": TensorProto.INT64,
    "bool": TensorProto.BOOL,
}


class OnnxExportError(InteropError):
    """The graph cannot be written as ONNX; names the IR node and op."""


class _Emitter:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.nodes: list[onnx.NodeProto] = []
        self.names: dict[int, str] = {}
        self._count = 0

    def fresh(self, base: str) -> str:
        self._count += 1
        return f"{base}_{self._count}"

    def emit(self, op: str, inputs: Sequence[str], out: str | None = None, **attrs: Any) -> str:
        out = out or self.fresh(op.lower())
        node = helper.make_node(op, list(inputs), [out], name=self.fresh(f"/{op}"))
        node.attribute.extend(helper.make_attribute(k, v) for k, v in attrs.items())
        self.nodes.append(node)
        return out

    def const(self, value: object, dtype: str) -> str:
        arr = np.asarray(value, dtype=numpy_dtype(dtype))
        out = self.fresh("const")
        self.nodes.append(
            helper.make_node("Constant", [], [out], name=self.fresh("/Constant"), value=numpy_helper.from_array(arr, out))
        )
        return out

    def ints(self, values: Sequence[int]) -> str:
        return self.const(np.asarray(list(values), np.int64), "i64")


Rule = Callable[[_Emitter, Node, list[str]], str]
_SIMPLE = {
    "add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "neg": "Neg", "sqrt": "Sqrt", "exp": "Exp",
    "log": "Log", "abs": "Abs", "sign": "Sign", "erf": "Erf", "matmul": "MatMul", "relu": "Relu",
    "sigmoid": "Sigmoid", "tanh": "Tanh", "where": "Where",
}  # fmt: skip


def _pow(e: _Emitter, n: Node, x: list[str]) -> str:
    return e.emit("Pow", [x[0], e.const(n.attr("exponent"), n.dtype)])


def _transpose(e: _Emitter, n: Node, x: list[str]) -> str:
    return e.emit("Transpose", x, perm=list(n.attr("perm")))


def _reshape(e: _Emitter, n: Node, x: list[str]) -> str:
    return e.emit("Reshape", [x[0], e.ints(n.shape)])


def _broadcast_to(e: _Emitter, n: Node, x: list[str]) -> str:
    return e.emit("Expand", [x[0], e.ints(n.attr("shape"))])


def _reduce(op: str) -> Rule:
    def rule(e: _Emitter, n: Node, x: list[str]) -> str:
        axes, keep = list(n.attr("axes")), int(bool(n.attr("keepdims")))
        if not axes:
            return e.emit("Identity", x)
        if op == "ReduceSum":  # axes became an input in opset 13 for ReduceSum only (18 for the others)
            return e.emit(op, [x[0], e.ints(axes)], keepdims=keep)
        return e.emit(op, x, axes=axes, keepdims=keep)

    return rule


def _leaky_relu(e: _Emitter, n: Node, x: list[str]) -> str:
    return e.emit("LeakyRelu", x, alpha=float(n.attr("alpha")))


def _gelu(e: _Emitter, n: Node, x: list[str]) -> str:
    dt = n.dtype
    half_x = e.emit("Mul", [x[0], e.const(0.5, dt)])
    if n.attr("approximate") == "tanh":
        cube = e.emit("Mul", [e.emit("Mul", [x[0], x[0]]), x[0]])
        inner = e.emit("Add", [x[0], e.emit("Mul", [cube, e.const(0.044715, dt)])])
        t = e.emit("Tanh", [e.emit("Mul", [inner, e.const(math.sqrt(2.0 / math.pi), dt)])])
    else:
        t = e.emit("Erf", [e.emit("Mul", [x[0], e.const(1.0 / math.sqrt(2.0), dt)])])
    return e.emit("Mul", [half_x, e.emit("Add", [t, e.const(1.0, dt)])])


def _silu(e: _Emitter, n: Node, x: list[str]) -> str:
    return e.emit("Mul", [x[0], e.emit("Sigmoid", x)])


def _axis_op(op: str) -> Rule:
    def rule(e: _Emitter, n: Node, x: list[str]) -> str:
        return e.emit(op, x, axis=int(n.attr("axis")))

    return rule


def _compare(e: _Emitter, n: Node, x: list[str]) -> str:
    return e.emit({"lt": "Less", "gt": "Greater", "eq": "Equal"}[n.attr("cmp")], x)


def _cast(e: _Emitter, n: Node, x: list[str]) -> str:
    return e.emit("Cast", x, to=_ELEM[n.attr("dtype")])


def _one_hot(e: _Emitter, n: Node, x: list[str]) -> str:
    values = e.const([0, 1], n.dtype)
    return e.emit("OneHot", [x[0], e.ints([n.attr("depth")]), values], axis=-1)


def _slice(e: _Emitter, n: Node, x: list[str]) -> str:
    starts = list(n.attr("starts"))
    axes = list(n.attr("axes")) or list(range(len(starts)))
    steps = list(n.attr("steps")) or [1] * len(starts)
    return e.emit("Slice", [x[0], e.ints(starts), e.ints(n.attr("ends")), e.ints(axes), e.ints(steps)])


def _gather(e: _Emitter, n: Node, x: list[str]) -> str:
    return e.emit("Gather", x, axis=int(n.attr("axis")))


def _embedding(e: _Emitter, n: Node, x: list[str]) -> str:
    return e.emit("Gather", x, axis=0)


def _squeeze(e: _Emitter, n: Node, x: list[str]) -> str:
    axes = list(n.attr("axes"))
    return e.emit("Squeeze", [x[0], e.ints(axes)] if axes else x)


def _unsqueeze(e: _Emitter, n: Node, x: list[str]) -> str:
    return e.emit("Unsqueeze", [x[0], e.ints(n.attr("axes"))])


def _layernorm(e: _Emitter, n: Node, x: list[str]) -> str:
    return e.emit("LayerNormalization", x, axis=-1, epsilon=float(n.attr("eps")))


def _dropout(e: _Emitter, n: Node, x: list[str]) -> str:
    return e.emit("Identity", x[:1])  # exported for inference


def _gemm(e: _Emitter, n: Node, x: list[str]) -> str:
    return e.emit(
        "Gemm", x, alpha=float(n.attr("alpha")), beta=float(n.attr("beta")),
        transA=int(bool(n.attr("transA"))), transB=int(bool(n.attr("transB"))),
    )  # fmt: skip


def _concat(e: _Emitter, n: Node, x: list[str]) -> str:
    return e.emit("Concat", x, axis=int(n.attr("axis")))


def _window(n: Node, kernel: Sequence[int]) -> dict[str, Any]:
    return {"kernel_shape": list(kernel), "strides": list(n.attr("strides")), "pads": list(n.attr("pads"))}


def _conv(e: _Emitter, n: Node, x: list[str]) -> str:
    kernel = e.graph.node(n.inputs[1]).shape[2:]
    op = "ConvTranspose" if n.op == "conv_transpose2d" else "Conv"
    extra: dict[str, Any] = {"output_padding": list(n.attr("output_padding"))} if op == "ConvTranspose" else {}
    return e.emit(op, x, **_window(n, kernel), dilations=list(n.attr("dilations")), group=int(n.attr("groups")),
                  **extra)


def _pool(e: _Emitter, n: Node, x: list[str]) -> str:
    """MaxPool/AveragePool in floor mode: a ceil_mode window count becomes extra end padding
    (opset 17's ceil_mode keeps a last window that starts in the padding; Volta drops it, as opset 19)."""
    from volta_core.ir.ops import pool_geometry

    src = e.graph.node(n.inputs[0]).shape
    windows, out_hw = pool_geometry(n.op, src, dict(n.attrs))
    attrs = _window(n, n.attr("kernel"))
    pads = list(n.attr("pads"))
    for axis, (win, size, out) in enumerate(zip(windows, src[2:], out_hw, strict=True)):
        need = (out - 1) * win.stride + win.extent - size - win.before
        if need > win.after:
            if n.op == "avg_pool2d" and n.attr("count_include_pad"):
                raise OnnxExportError(
                    f"IR node %{n.id} (avg_pool2d): ceil_mode with count_include_pad has no opset-17 equivalent"
                )
            pads[2 + axis] = need
    attrs["pads"] = pads
    if n.op == "max_pool2d":
        return e.emit("MaxPool", x, **attrs, dilations=list(n.attr("dilations")))
    return e.emit("AveragePool", x, **attrs, count_include_pad=int(bool(n.attr("count_include_pad"))))


def _batchnorm(e: _Emitter, n: Node, x: list[str]) -> str:
    return e.emit("BatchNormalization", x, epsilon=float(n.attr("eps")))


def _pad(e: _Emitter, n: Node, x: list[str]) -> str:
    value = [e.const(n.attr("value"), n.dtype)] if n.attr("mode") == "constant" else []
    return e.emit("Pad", [x[0], e.ints(n.attr("pads")), *value], mode=str(n.attr("mode")))


def _resize(e: _Emitter, n: Node, x: list[str]) -> str:
    src = e.graph.node(n.inputs[0]).shape
    scales = list(n.attr("scales"))
    size = ["", "", e.ints([*src[:2], *n.attr("size")])]
    if scales:
        if [math.floor(d * float(np.float32(f))) for d, f in zip(src[2:], scales, strict=True)] != list(n.attr("size")):
            raise OnnxExportError(
                f"IR node %{n.id} (resize2d): size {list(n.attr('size'))} is not floor(input × scales {scales}), "
                "which ONNX Resize cannot express"
            )
        size = ["", e.const(np.asarray([1.0, 1.0, *scales], np.float32), "f32")]
    extra = {"nearest_mode": str(n.attr("nearest_mode"))} if n.attr("mode") == "nearest" else {}
    return e.emit("Resize", [x[0], *size], mode=str(n.attr("mode")),
                  coordinate_transformation_mode=str(n.attr("coordinates")), **extra)


RULES: dict[str, Rule] = {
    "pow": _pow,
    "transpose": _transpose,
    "reshape": _reshape,
    "broadcast_to": _broadcast_to,
    "reduce_sum": _reduce("ReduceSum"),
    "reduce_mean": _reduce("ReduceMean"),
    "reduce_max": _reduce("ReduceMax"),
    "leaky_relu": _leaky_relu,
    "gelu": _gelu,
    "silu": _silu,
    "softmax": _axis_op("Softmax"),
    "log_softmax": _axis_op("LogSoftmax"),
    "compare": _compare,
    "cast": _cast,
    "one_hot": _one_hot,
    "concat": _concat,
    "slice": _slice,
    "gather": _gather,
    "embedding": _embedding,
    "squeeze": _squeeze,
    "unsqueeze": _unsqueeze,
    "layernorm": _layernorm,
    "dropout": _dropout,
    "gemm": _gemm,
    "conv2d": _conv,
    "conv_transpose2d": _conv,
    "max_pool2d": _pool,
    "avg_pool2d": _pool,
    "batchnorm": _batchnorm,
    "pad": _pad,
    "resize2d": _resize,
}


def exportable_ops() -> list[str]:
    return sorted({*_SIMPLE, *RULES, "input", "parameter", "constant"})


def graph_to_onnx(
    graph: Graph,
    params: Mapping[str, np.ndarray],
    output_names: Sequence[str] | None = None,
    graph_name: str = "volta",
) -> onnx.ModelProto:
    """Build and check an opset-17 ONNX model computing ``graph``'s outputs.

    Inputs keep their IR names; each parameter becomes an initializer holding
    ``params[name]`` (missing or mis-shaped values are an error); outputs are
    named ``output_names`` (default ``output``, or ``output_0``, ``output_1``…).
    """
    if output_names is None:
        output_names = ["output"] if len(graph.outputs) == 1 else [f"output_{i}" for i in range(len(graph.outputs))]
    if len(output_names) != len(graph.outputs):
        raise OnnxExportError(f"{len(output_names)} output name(s) for {len(graph.outputs)} graph output(s)")
    e = _Emitter(graph)
    inputs: list[onnx.ValueInfoProto] = []
    initializers: list[TensorProto] = []
    for node in graph.nodes:
        if node.op == "input":
            name = graph.name_of(node.id)
            inputs.append(helper.make_tensor_value_info(name, _ELEM[node.dtype], list(node.shape)))
            e.names[node.id] = name
        elif node.op == "parameter":
            name = graph.name_of(node.id)
            if name not in params:
                raise OnnxExportError(f"no value for parameter {name!r}")
            value = np.asarray(params[name], dtype=numpy_dtype(node.dtype))
            if value.shape != node.shape:
                raise OnnxExportError(
                    f"parameter {name!r}: graph says {list(node.shape)}, value is {list(value.shape)}"
                )
            initializers.append(numpy_helper.from_array(value, name))
            e.names[node.id] = name
        elif node.op == "constant":
            e.names[node.id] = e.const(constant_array(node), node.dtype)
        else:
            args = [e.names[i] for i in node.inputs]
            if node.op in _SIMPLE:
                e.names[node.id] = e.emit(_SIMPLE[node.op], args)
            elif node.op in RULES:
                e.names[node.id] = RULES[node.op](e, node, args)
            else:
                raise OnnxExportError(
                    f"IR node %{node.id} ({node.op}) has no ONNX equivalent in this exporter "
                    f"(exportable: {', '.join(exportable_ops())}); export the forward graph before fusion "
                    "and without loss nodes"
                )
    outputs = []
    for nid, out_name in zip(graph.outputs, output_names, strict=True):
        node = graph.node(nid)
        e.emit("Identity", [e.names[nid]], out=out_name)
        outputs.append(helper.make_tensor_value_info(out_name, _ELEM[node.dtype], list(node.shape)))
    g = helper.make_graph(e.nodes, graph_name, inputs, outputs, initializers)
    model = helper.make_model(
        g, opset_imports=[helper.make_opsetid("", EXPORT_OPSET)], producer_name="volta", producer_version="1"
    )
    model.ir_version = 8  # the IR version onnx pairs with opset 17; widely readable
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as err:
        raise OnnxExportError(f"exported model fails onnx.checker: {err}") from None
    return model


def export_graph(
    graph: Graph,
    params: Mapping[str, np.ndarray],
    path: str | os.PathLike[str],
    output_names: Sequence[str] | None = None,
) -> onnx.ModelProto:
    """``export m as "f.onnx"``: write ``graph`` as a checked ONNX file, atomically.

    The file appears complete or not at all (temporary file in the same folder,
    flushed, then renamed over the target). Returns the written model.
    """
    model = graph_to_onnx(graph, params, output_names)
    data = model.SerializeToString()
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise OnnxExportError(f"cannot write {str(target)!r}: {err.strerror or err}") from None
    return model
