"""ONNX → :class:`~volta_core.interop.contract.Contract` → IR.

The importer's job is to read and distrust the file (size limit, protobuf
parse, checker, external data that must exist inside the model's folder),
bind the symbolic batch dimension, and rewrite each node's opset-specific form
into the contract's single (opset-17 style) form. Everything about what an op
*means* lives in the contract's lowering table.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from volta_core.interop.contract import (
    LOWERINGS,
    Contract,
    ContractError,
    ContractNode,
    InteropError,
    TensorSpec,
)
from volta_core.ir.graph import Graph
from volta_core.ir.ops import IRError

MAX_BYTES = 2 * 1024**3  # protobuf's own limit for one message; larger models need external data

ONNX_DTYPES: dict[int, str] = {
    TensorProto.FLOAT: "f32",
    TensorProto.DOUBLE: "f64",
    TensorProto.INT32: "i32",
    TensorProto.INT64: "i64",
    TensorProto.BOOL: "bool",
}


class OnnxImportError(InteropError):
    """The model cannot be imported; carries the node name, op type, opset and reason when known."""

    def __init__(
        self, reason: str, node: str | None = None, op_type: str | None = None, opset: int | None = None
    ) -> None:
        self.reason = reason
        self.node = node
        self.op_type = op_type
        self.opset = opset
        where = []
        if node is not None:
            where.append(f"node {node!r}")
        if op_type is not None:
            where.append(f"op {op_type}")
        if opset is not None:
            where.append(f"opset {opset}")
        super().__init__((", ".join(where) + ": " if where else "") + reason)


@dataclass
class ImportedModel:
    """An ONNX model lowered to the IR. ``params`` holds the trainable initializers by IR parameter name."""

    graph: Graph
    params: dict[str, np.ndarray]
    input_names: list[str]
    output_names: list[str]
    contract: Contract
    #: With ``train_mode``: each BatchNormalization's (moments node, running-mean name, running-var name, momentum).
    stats: list[tuple[int, str, str, float]] = field(default_factory=list)

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run the forward graph on the CPU backend; returns outputs by ONNX output name."""
        from volta_core.backends.cpu.executor import CpuExecutor
        from volta_core.ir.plan import compile_plan

        outs = CpuExecutor(compile_plan(self.graph)).run({**self.params, **inputs})
        return dict(zip(self.output_names, outs, strict=True))


def dtype_name(elem_type: int) -> str:
    return str(TensorProto.DataType.Name(elem_type)).lower() if elem_type in TensorProto.DataType.values() else str(
        elem_type
    )


# ---------------------------------------------------------------------------
# Reading the file
# ---------------------------------------------------------------------------
def read_model(path: str | os.PathLike[str], max_bytes: int = MAX_BYTES) -> onnx.ModelProto:
    """Read, parse and check an ONNX file, loading external data that lies beside it."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as e:
        raise OnnxImportError(f"cannot read {str(p)!r}: {e.strerror or e}") from None
    if not p.is_file():
        raise OnnxImportError(f"{str(p)!r} is not a file")
    if size > max_bytes:
        raise OnnxImportError(
            f"{str(p)!r} is {size:,} bytes, over the {max_bytes:,}-byte limit (store large weights as external data)"
        )
    data = p.read_bytes()
    model = parse_model(data)
    _load_external_data(model, p.parent)
    return model


def parse_model(data: bytes) -> onnx.ModelProto:
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as e:  # protobuf raises DecodeError, or RuntimeError from the C++ parser
        raise OnnxImportError(f"malformed protobuf: not an ONNX model ({type(e).__name__}: {e})") from None
    if model.ir_version <= 0 or not model.HasField("graph") or not model.graph.output:
        raise OnnxImportError("malformed protobuf: not an ONNX model (no IR version, graph or graph outputs)")
    return model


def _external_tensors(model: onnx.ModelProto) -> list[TensorProto]:
    tensors = list(model.graph.initializer)
    for node in model.graph.node:
        tensors += [a.t for a in node.attribute if a.type == onnx.AttributeProto.TENSOR]
    return [t for t in tensors if t.data_location == TensorProto.EXTERNAL]


def _load_external_data(model: onnx.ModelProto, base: Path) -> None:
    external = _external_tensors(model)
    if not external:
        return
    root = base.resolve()
    for t in external:
        info = {e.key: e.value for e in t.external_data}
        location = info.get("location", "")
        target = (root / location).resolve()
        if not location or os.path.isabs(location) or root not in (target, *target.parents):
            raise OnnxImportError(
                f"initializer {t.name!r}: external data location {location!r} must be a relative path "
                "inside the model's folder"
            )
        if not target.is_file():
            raise OnnxImportError(f"initializer {t.name!r}: external data file {str(target)!r} does not exist")
        end = int(info.get("offset", 0)) + int(info.get("length", 0))
        if end > target.stat().st_size:
            raise OnnxImportError(
                f"initializer {t.name!r}: external data file {str(target)!r} is shorter than the "
                f"{end:,} bytes it must hold"
            )
    try:
        onnx.external_data_helper.load_external_data_for_model(model, str(root))
    except Exception as e:
        raise OnnxImportError(f"cannot load external data: {e}") from None


def model_opset(model: onnx.ModelProto) -> int:
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            return int(imp.version)
    raise OnnxImportError("the model does not import the default ONNX operator set")


# ---------------------------------------------------------------------------
# ONNX graph → contract
# ---------------------------------------------------------------------------
def _tensor(t: TensorProto, what: str, opset: int, node: str | None = None, op: str | None = None) -> np.ndarray:
    if t.data_type not in ONNX_DTYPES:
        raise OnnxImportError(
            f"{what}: unsupported dtype {dtype_name(t.data_type)} "
            f"(supported: float, double, int32, int64, bool)",
            node,
            op,
            opset,
        )
    try:
        return np.array(numpy_helper.to_array(t))
    except Exception as e:  # raw data shorter than the dims claim, bad external data…
        raise OnnxImportError(f"{what}: cannot decode its data ({e})", node, op, opset) from None


def _attrs(node: onnx.NodeProto, opset: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for a in node.attribute:
        value = helper.get_attribute_value(a)
        if isinstance(value, TensorProto):
            value = _tensor(value, f"attribute {a.name!r}", opset, node.name, node.op_type)
        elif isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        elif isinstance(value, list) and value and isinstance(value[0], bytes):
            value = [v.decode("utf-8", "replace") for v in value]
        out[a.name] = value
    return out


def _constant_value(node: onnx.NodeProto, attrs: dict[str, Any], opset: int) -> np.ndarray:
    if "value" in attrs:
        return np.asarray(attrs["value"])
    if "value_float" in attrs:
        return np.asarray(attrs["value_float"], np.float32)
    if "value_floats" in attrs:
        return np.asarray(attrs["value_floats"], np.float32)
    if "value_int" in attrs:
        return np.asarray(attrs["value_int"], np.int64)
    if "value_ints" in attrs:
        return np.asarray(attrs["value_ints"], np.int64)
    raise OnnxImportError(
        f"Constant with attribute(s) {', '.join(sorted(attrs)) or 'none'} is not supported "
        "(only value, value_float(s), value_int(s))",
        node.name,
        node.op_type,
        opset,
    )


# Input slots whose value is a shape/axes/bounds: an initializer used only there is not trainable.
_STATIC_SLOTS: dict[str, set[int]] = {
    "Reshape": {1},
    "Expand": {1},
    "Slice": {1, 2, 3, 4},
    "Squeeze": {1},
    "Unsqueeze": {1},
    "ReduceSum": {1},
    "ReduceMean": {1},
    "ReduceMax": {1},
    "Pow": {1},
    "ConstantOfShape": {0},
    "Gather": {1},
    "Clip": {1, 2},
    "Dropout": {1, 2},
    "Pad": {1, 2, 3},
    "Resize": {1, 2, 3},
    "Mod": {0, 1},
}

# Every attribute of every supported op, in any opset, is either handled (its value is read, or
# it cannot change the result for the dtypes Volta supports) or rejected by name; any other
# attribute is rejected too (tests/interop/test_onnx_coverage.py walks onnx.defs against these).
_LEGACY = frozenset({"consumed_inputs"})  # opset < 6 memory hint, no effect on values
_BROADCAST = frozenset({"broadcast"})  # opset < 7: numpy broadcasting covers every valid use
_WINDOW = frozenset({"auto_pad", "dilations", "kernel_shape", "pads", "strides"})
HANDLED_ATTRS: dict[str, frozenset[str]] = {
    **{op: _LEGACY for op in ("Abs", "Exp", "Log", "Neg", "Relu", "Sigmoid", "Sqrt", "Tanh", "Max", "Min",
                              "Reciprocal")},
    **{op: _LEGACY | _BROADCAST for op in ("Add", "Sub", "Mul", "Div")},
    **{op: _BROADCAST for op in ("Equal", "Less", "Greater", "Pow", "And", "Or", "Xor")},
    **{op: frozenset() for op in ("Erf", "Expand", "Identity", "MatMul", "Where", "GlobalAveragePool",
                                   "GlobalMaxPool", "Size", "Not", "LessOrEqual", "GreaterOrEqual")},
    "AveragePool": _WINDOW | {"ceil_mode", "count_include_pad"},
    "BatchNormalization": _LEGACY | {"epsilon", "is_test", "momentum", "spatial", "training_mode"},
    # saturate/round_mode only affect float8 targets, which are rejected
    "Cast": frozenset({"to", "saturate", "round_mode"}),
    "CastLike": frozenset({"saturate", "round_mode"}),
    "Clip": _LEGACY | {"min", "max"},
    "Concat": frozenset({"axis"}),
    "Constant": frozenset({"value", "value_float", "value_floats", "value_int", "value_ints"}),
    "ConstantOfShape": frozenset({"value"}),
    "Conv": _WINDOW | {"group"},
    "ConvTranspose": _WINDOW | {"group", "output_padding", "output_shape"},
    "Dropout": _LEGACY | {"is_test", "ratio", "seed"},  # seed: only random (training) dropout, rejected
    "Flatten": frozenset({"axis"}),
    "Gather": frozenset({"axis"}),
    "Gelu": frozenset({"approximate"}),
    "Gemm": _BROADCAST | {"alpha", "beta", "transA", "transB"},
    "LayerNormalization": frozenset({"axis", "epsilon", "stash_type"}),
    "LeakyRelu": _LEGACY | {"alpha"},
    "LogSoftmax": frozenset({"axis"}),
    "Softmax": frozenset({"axis"}),
    "MaxPool": _WINDOW | {"ceil_mode", "storage_order"},  # storage_order: only the Indices output, rejected
    "Mod": frozenset({"fmod"}),
    "Pad": frozenset({"mode", "pads", "paddings", "value"}),
    "ReduceMax": frozenset({"axes", "keepdims", "noop_with_empty_axes"}),
    "ReduceMean": frozenset({"axes", "keepdims", "noop_with_empty_axes"}),
    "ReduceSum": frozenset({"axes", "keepdims", "noop_with_empty_axes"}),
    "Reshape": _LEGACY | {"allowzero", "shape"},
    # extrapolation_value: only tf_crop_and_resize (rejected); cubic_coeff_a: only cubic (rejected)
    "Resize": frozenset({"antialias", "axes", "coordinate_transformation_mode", "cubic_coeff_a", "exclude_outside",
                         "extrapolation_value", "keep_aspect_ratio_policy", "mode", "nearest_mode"}),
    "Shape": frozenset({"start", "end"}),
    "Slice": frozenset({"axes", "ends", "starts"}),
    "Squeeze": frozenset({"axes"}),
    "Transpose": frozenset({"perm"}),
    "Unsqueeze": frozenset({"axes"}),
}
REJECTED_ATTRS: dict[str, dict[str, str]] = {
    **{op: {"axis": "legacy (opset < 7) broadcasting along an axis"}
       for op in ("Add", "Sub", "Mul", "Div", "Equal", "Less", "Greater", "Pow", "And", "Or", "Xor")},
    "Constant": {"sparse_value": "sparse tensors", "value_string": "strings", "value_strings": "strings"},
}
#: How many inputs each lowering reads; a further (non-empty) input is rejected by name. None: variadic.
INPUTS: dict[str, int | None] = {
    **{op: 1 for op in ("Abs", "Exp", "Log", "Neg", "Relu", "Sigmoid", "Sqrt", "Tanh", "Erf", "Identity",
                        "GlobalAveragePool", "GlobalMaxPool", "Size", "AveragePool", "MaxPool", "Flatten",
                        "Transpose", "Softmax", "LogSoftmax", "LeakyRelu", "Gelu", "Cast", "Shape",
                        "ConstantOfShape", "Not", "Reciprocal")},
    **{op: 2 for op in ("Add", "Sub", "Mul", "Div", "Equal", "Less", "Greater", "Pow", "MatMul", "Mod",
                        "CastLike", "Expand", "Gather", "Reshape", "Squeeze", "Unsqueeze", "ReduceMax",
                        "ReduceMean", "ReduceSum", "And", "Or", "Xor", "LessOrEqual", "GreaterOrEqual")},
    **{op: 3 for op in ("Where", "Clip", "Conv", "ConvTranspose", "Gemm", "LayerNormalization", "Dropout")},
    **{op: None for op in ("Max", "Min", "Concat")},
    "BatchNormalization": 5, "Pad": 4, "Resize": 4, "Slice": 5, "Constant": 0,
}


def _check_coverage(node: onnx.NodeProto, attrs: Mapping[str, Any], opset: int) -> None:
    op = node.op_type
    handled = HANDLED_ATTRS.get(op, frozenset())
    for name in attrs:
        if name in handled:
            continue
        why = REJECTED_ATTRS.get(op, {}).get(name)
        raise OnnxImportError(
            f"attribute {name!r} is not supported" + (f" ({why})" if why else ""), node.name or None, op, opset
        )
    limit = INPUTS.get(op)
    if limit is not None:
        extra = [name for name in node.input[limit:] if name]
        if extra:
            raise OnnxImportError(
                f"input {limit + 1} ({extra[0]!r}) is not supported (Volta reads {limit} input(s) of {op})",
                node.name or None, op, opset,
            )


# opset-specific forms: (op, first opset where the attribute became an input, attribute, input slot)
_ATTR_TO_INPUT: tuple[tuple[str, int, str, int], ...] = (
    ("ReduceSum", 13, "axes", 1),
    ("ReduceMean", 18, "axes", 1),
    ("ReduceMax", 18, "axes", 1),
    ("Squeeze", 13, "axes", 1),
    ("Unsqueeze", 13, "axes", 1),
    ("Reshape", 5, "shape", 1),
    ("Slice", 10, "starts", 1),
    ("Slice", 10, "ends", 2),
    ("Slice", 10, "axes", 3),
    ("Clip", 11, "min", 1),
    ("Clip", 11, "max", 2),
    ("Pad", 11, "pads", 1),
    ("Pad", 11, "paddings", 1),
    ("Pad", 11, "value", 2),
)


class _Converter:
    def __init__(self, model: onnx.ModelProto, batch: int | None) -> None:
        self.model = model
        self.graph = model.graph
        self.opset = model_opset(model)
        self.batch = batch
        self.constants: dict[str, np.ndarray] = {}
        self.initializers: dict[str, np.ndarray] = {}
        self.nodes: list[ContractNode] = []
        self._names: set[str] = set()

    def error(self, reason: str, node: onnx.NodeProto | None = None) -> OnnxImportError:
        if node is None:
            return OnnxImportError(reason, opset=self.opset)
        return OnnxImportError(reason, node.name or None, node.op_type, self.opset)

    def fresh(self, base: str) -> str:
        i = 0
        name = base
        while name in self._names:
            i += 1
            name = f"{base}_{i}"
        self._names.add(name)
        return name

    def convert(self) -> Contract:
        g = self.graph
        for name in _all_names(g):
            self._names.add(name)
        init_names = {t.name for t in g.initializer}
        static_only = self._static_only_names()
        for t in g.initializer:
            arr = _tensor(t, f"initializer {t.name!r}", self.opset)
            trainable = arr.dtype.kind == "f" and arr.ndim > 0 and t.name not in static_only
            (self.initializers if trainable else self.constants)[t.name] = arr
        inputs = [self._input_spec(v) for v in g.input if v.name not in init_names]
        outputs = [self._value_spec(v, "graph output") for v in g.output]
        for index, node in enumerate(g.node):
            self._convert_node(node, index)
        return Contract(
            inputs=inputs,
            outputs=outputs,
            initializers=self.initializers,
            constants=self.constants,
            nodes=self.nodes,
            opset=self.opset,
            producer=f"{self.model.producer_name} {self.model.producer_version}".strip(),
        )

    def _static_only_names(self) -> set[str]:
        return names_used_only_at(self.graph, _STATIC_SLOTS)

    def _dims(self, v: onnx.ValueInfoProto, what: str, bind: bool) -> tuple[tuple[int | None, ...], str]:
        if not v.type.HasField("tensor_type"):
            raise self.error(f"{what} {v.name!r} is not a tensor")
        tt = v.type.tensor_type
        if tt.elem_type not in ONNX_DTYPES:
            raise self.error(
                f"{what} {v.name!r}: unsupported dtype {dtype_name(tt.elem_type)} "
                "(supported: float, double, int32, int64, bool)"
            )
        dtype = ONNX_DTYPES[tt.elem_type]
        if not tt.HasField("shape"):
            if bind:
                raise self.error(f"{what} {v.name!r} has no shape; Volta needs static input shapes")
            return (), dtype
        dims: list[int | None] = []
        for axis, d in enumerate(tt.shape.dim):
            if d.HasField("dim_value") and d.dim_value >= 0:
                dims.append(int(d.dim_value))
                continue
            label = d.dim_param or "?"
            if not bind:
                dims.append(self.batch if axis == 0 and self.batch is not None else None)
            elif axis == 0 and self.batch is not None:
                dims.append(self.batch)
            elif axis == 0:
                raise self.error(
                    f"{what} {v.name!r} has a dynamic batch dimension {label!r} at axis 0; "
                    "give a batch size (`import ... with batch N`, or batch=N)"
                )
            else:
                raise self.error(
                    f"{what} {v.name!r} has a dynamic dimension {label!r} at axis {axis} that cannot be "
                    "resolved (only axis 0 can be bound, with the batch size)"
                )
        return tuple(dims), dtype

    def _input_spec(self, v: onnx.ValueInfoProto) -> TensorSpec:
        dims, dtype = self._dims(v, "graph input", bind=True)
        return TensorSpec(v.name, dims, dtype)

    def _value_spec(self, v: onnx.ValueInfoProto, what: str) -> TensorSpec:
        dims, dtype = self._dims(v, what, bind=False)
        has_shape = v.type.tensor_type.HasField("shape")
        return TensorSpec(v.name, dims if has_shape else None, dtype)

    def _convert_node(self, node: onnx.NodeProto, index: int) -> None:
        attrs = _attrs(node, self.opset)
        name = node.name or f"{node.op_type}_{index}"
        inputs = list(node.input)
        op = node.op_type
        _check_coverage(node, attrs, self.opset)
        if op == "Constant":
            self.constants[node.output[0]] = _tensor_like(_constant_value(node, attrs, self.opset), self, node)
            return
        for op_name, since, attr, slot in _ATTR_TO_INPUT:
            if op == op_name and self.opset < since and attr in attrs:
                value = np.asarray(attrs.pop(attr), np.float32 if op == "Clip" or attr == "value" else np.int64)
                const = self.fresh(f"{name}.{attr}")
                self.constants[const] = value
                while len(inputs) <= slot:
                    inputs.append("")
                inputs[slot] = const
        if op in ("Softmax", "LogSoftmax") and self.opset < 13:
            attrs["legacy_2d"] = 1
            attrs.setdefault("axis", 1)
        if op == "Resize" and self.opset < 11:
            # Resize-10: (X, scales), asymmetric coordinates, nearest rounds down.
            inputs = [inputs[0], "", *inputs[1:2]]
            attrs.setdefault("coordinate_transformation_mode", "asymmetric")
            attrs.setdefault("nearest_mode", "floor")
        if op == "Cast":
            to = int(attrs.get("to", 0))
            if to not in ONNX_DTYPES:
                raise self.error(
                    f"cast to unsupported dtype {dtype_name(to)} (supported: float, double, int32, int64, bool)",
                    node,
                )
            attrs["to"] = ONNX_DTYPES[to]
        self.nodes.append(ContractNode(name, op, tuple(inputs), tuple(node.output), attrs))


def op_key(node: onnx.NodeProto) -> str:
    """An op as the messages show it: ``Conv``, or ``domain::Op`` outside the default domain."""
    return node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}::{node.op_type}"


def unsupported_ops(graph: onnx.GraphProto) -> dict[str, int]:
    """Every op of ``graph`` Volta cannot import, with how many nodes use it (first-use order)."""
    counts: dict[str, int] = {}
    for node in graph.node:
        key = op_key(node)
        if key not in LOWERINGS and key != "Constant":
            counts[key] = counts.get(key, 0) + 1
    return counts


def unsupported_message(counts: Mapping[str, int]) -> str:
    """``unsupported op(s) …`` with counts, short, and where to look (the same from check, run and info)."""
    listed = ", ".join(f"{op} ×{n}" if n > 1 else op for op, n in counts.items())
    return f"unsupported op{'s' if len(counts) > 1 else ''} {listed}; {UNSUPPORTED_HINT}"


#: Where an unsupported-op message points.
UNSUPPORTED_HINT = "`volta info FILE.onnx` lists the file's ops, docs/onnx.md the supported ones"


def _tensor_like(arr: np.ndarray, conv: _Converter, node: onnx.NodeProto) -> np.ndarray:
    if arr.dtype not in (np.float32, np.float64, np.int32, np.int64, np.bool_):
        raise conv.error(f"constant of unsupported dtype {arr.dtype}", node)
    return arr


def _all_names(g: onnx.GraphProto) -> set[str]:
    names = {v.name for v in g.input} | {t.name for t in g.initializer}
    for node in g.node:
        names.update(node.output)
    return names


def names_used_only_at(graph: onnx.GraphProto, slots: Mapping[str, set[int]]) -> set[str]:
    """Values whose every use is an input slot listed in ``slots`` (op type → input indices)."""
    uses: dict[str, list[bool]] = {}
    for node in graph.node:
        listed = slots.get(node.op_type, set())
        for i, name in enumerate(node.input):
            uses.setdefault(name, []).append(i in listed)
    for out in graph.output:
        uses.setdefault(out.name, []).append(False)
    return {name for name, flags in uses.items() if flags and all(flags)}


def running_statistics(model: onnx.ModelProto) -> set[str]:
    """Initializers used only as a BatchNormalization's input_mean/input_var: buffers, not trained."""
    inits = {t.name for t in model.graph.initializer}
    return inits & names_used_only_at(model.graph, {"BatchNormalization": {3, 4}})


def _unique_node_names(model: onnx.ModelProto) -> None:
    seen: set[str] = set()
    for i, node in enumerate(model.graph.node):
        if not node.name or node.name in seen:
            node.name = f"{node.op_type}_{i}" if not node.name else f"{node.name}_{i}"
        seen.add(node.name)


def model_to_contract(model: onnx.ModelProto, batch: int | None = None) -> Contract:
    """Rewrite a parsed ONNX model into a validated contract (no lowering yet)."""
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
        raise OnnxImportError(f"batch must be a positive integer, got {batch!r}")
    missing = unsupported_ops(model.graph)
    if missing:  # before the opset: a model of only ai.onnx.ml ops has no default opset, and says which ops
        first = next(n for n in model.graph.node if op_key(n) in missing)
        opset_of = {imp.domain or "ai.onnx": int(imp.version) for imp in model.opset_import}
        raise OnnxImportError(unsupported_message(missing), first.name or None, op_key(first),
                              opset_of.get(first.domain or "ai.onnx"))
    opset = model_opset(model)
    newest = int(onnx.defs.onnx_opset_version())
    if not 1 <= opset <= newest:
        raise OnnxImportError(f"opset {opset} is not supported (Volta reads opsets 1 to {newest})", opset=opset)
    try:
        onnx.checker.check_model(model)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise OnnxImportError(f"invalid ONNX model: {first}", opset=opset) from None
    _unique_node_names(model)
    contract = _Converter(model, batch).convert()
    try:
        contract.validate()
    except ContractError as e:
        raise OnnxImportError(e.reason, e.node, e.op_type, opset) from None
    return contract


def load_onnx(path: str | os.PathLike[str], batch: int | None = None, max_bytes: int = MAX_BYTES) -> Contract:
    """Read ``path`` and return its validated :class:`Contract`; raises :class:`OnnxImportError`."""
    return model_to_contract(read_model(path, max_bytes), batch)


def contract_to_model(contract: Contract, train_mode: bool = False) -> ImportedModel:
    """Lower a contract to the IR, reporting failures as :class:`OnnxImportError`; ``train_mode``
    normalises BatchNormalization with batch statistics (fine-tuning, see :meth:`Contract.lower`)."""
    try:
        graph, _mapping, stats = contract.lower(train_mode)
    except ContractError as e:
        raise OnnxImportError(e.reason, e.node, e.op_type, contract.opset) from None
    except IRError as e:
        raise OnnxImportError(f"cannot lower to the IR: {e}", opset=contract.opset) from None
    params = {name: np.ascontiguousarray(arr) for name, arr in contract.initializers.items()}
    return ImportedModel(
        graph=graph,
        params=params,
        input_names=[s.name for s in contract.inputs],
        output_names=[s.name for s in contract.outputs],
        contract=contract,
        stats=stats,
    )


def import_model(path: str | os.PathLike[str], batch: int | None = None, max_bytes: int = MAX_BYTES) -> ImportedModel:
    """``import "path" as m with batch N``: read, validate and lower an ONNX model.

    Guarantees: the returned graph verifies, its parameters are exactly the
    float initializers (trainable), and every failure is an
    :class:`OnnxImportError` naming the node, op type, opset and reason.
    """
    return contract_to_model(load_onnx(path, batch, max_bytes))
