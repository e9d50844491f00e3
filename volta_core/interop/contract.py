"""The versioned interop contract between foreign model formats and the IR.

A :class:`Contract` is what an importer produces and what :meth:`Contract.to_graph`
lowers: typed inputs and outputs, trainable initializers, frozen constants, and
nodes in a small operator vocabulary. The vocabulary is ONNX's operator names
with the conventions of ONNX opset 17 (axes, shapes, slice bounds and clip
bounds are *inputs*); importers rewrite older-opset forms into it, so lowering
handles exactly one semantics per op. The one extension is ``Softmax`` with
``legacy_2d=1`` (opset < 13: the input is flattened to 2-D at ``axis``).

Lowering tracks every value as either an IR node or a *static* NumPy array.
Nodes whose inputs are all static are folded at import time (this is how
``Shape``/``ConstantOfShape``/shape arithmetic disappears); initializers are
never static, so they stay trainable IR parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from volta_core.ir.graph import Graph
from volta_core.ir.ops import IRError, broadcast_shapes, infer_reshape, numpy_dtype, slice_key

CONTRACT_VERSION = "volta-interop/1"
SUPPORTED_VERSIONS = (CONTRACT_VERSION,)
SUPPORTED_DTYPES = ("f32", "f64", "i32", "i64", "bool")


class InteropError(ValueError):
    """Base class of import/export errors; messages are meant for users."""


class ContractError(InteropError):
    """The contract is invalid or cannot be lowered; names the node and op when there is one."""

    def __init__(self, reason: str, node: str | None = None, op_type: str | None = None) -> None:
        self.reason = reason
        self.node = node
        self.op_type = op_type
        where = f"node {node!r} ({op_type}): " if node is not None else ""
        super().__init__(where + reason)


@dataclass(frozen=True)
class TensorSpec:
    """A named tensor type. ``shape`` entries are ints; outputs may leave dims unknown (None)."""

    name: str
    shape: tuple[int | None, ...] | None
    dtype: str


@dataclass(frozen=True)
class ContractNode:
    name: str
    op_type: str
    inputs: tuple[str, ...]  # "" marks an omitted optional input
    outputs: tuple[str, ...]
    attrs: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Contract:
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    initializers: dict[str, np.ndarray]
    constants: dict[str, np.ndarray]
    nodes: list[ContractNode]
    opset: int
    version: str = CONTRACT_VERSION
    producer: str = ""

    def validate(self) -> None:
        """Check version, unique names, definitions before use, dtypes and ops; raise ContractError."""
        if self.version not in SUPPORTED_VERSIONS:
            raise ContractError(
                f"unknown contract version {self.version!r} (supported: {', '.join(SUPPORTED_VERSIONS)})"
            )
        defined: set[str] = set()

        def define(name: str, what: str) -> None:
            if not name:
                raise ContractError(f"{what} has an empty name")
            if name in defined:
                raise ContractError(f"name {name!r} is defined twice ({what})")
            defined.add(name)

        for spec in self.inputs:
            define(spec.name, "graph input")
            _check_dtype(spec.dtype, f"graph input {spec.name!r}")
            if spec.shape is None or any(d is None or d < 0 for d in spec.shape):
                raise ContractError(f"graph input {spec.name!r} has an unresolved shape {spec.shape}")
        for kind, table in (("initializer", self.initializers), ("constant", self.constants)):
            for name, arr in table.items():
                define(name, kind)
                _check_dtype(dtype_of(arr, f"{kind} {name!r}"), f"{kind} {name!r}")
        for arr_name, arr in self.initializers.items():
            if dtype_of(arr, arr_name) not in ("f32", "f64"):
                raise ContractError(f"initializer {arr_name!r} is {arr.dtype}; trainable values must be floats")
        names = {n.name for n in self.nodes}
        if len(names) != len(self.nodes):
            seen: set[str] = set()
            dup = next(n.name for n in self.nodes if n.name in seen or seen.add(n.name))  # type: ignore[func-returns-value]
            raise ContractError(f"node name {dup!r} is used twice")
        for node in self.nodes:
            if node.op_type not in LOWERINGS:
                raise ContractError(
                    f"unsupported op; supported ops: {', '.join(supported_ops())}", node.name, node.op_type
                )
            for i in node.inputs:
                if i and i not in defined:
                    raise ContractError(f"input {i!r} is not defined before this node", node.name, node.op_type)
            for o in node.outputs:
                if o:
                    if o in defined:
                        raise ContractError(f"output {o!r} is defined twice", node.name, node.op_type)
                    defined.add(o)
        for spec in self.outputs:
            if spec.name not in defined:
                raise ContractError(f"graph output {spec.name!r} is never defined")

    def to_graph(self) -> tuple[Graph, dict[str, int]]:
        """Lower to an IR :class:`Graph`; the mapping takes input, initializer and output names to node ids.

        Initializers become IR parameters (trainable), constants become IR
        constants. Raises :class:`ContractError` naming the node that failed.
        """
        self.validate()
        return _Lowering(self).run()


def supported_ops() -> list[str]:
    return sorted(LOWERINGS)


def _check_dtype(dtype: str, what: str) -> None:
    if dtype not in SUPPORTED_DTYPES:
        raise ContractError(f"{what}: unsupported dtype {dtype} (supported: {', '.join(SUPPORTED_DTYPES)})")


_FROM_NUMPY = {
    np.dtype(np.float32): "f32",
    np.dtype(np.float64): "f64",
    np.dtype(np.int32): "i32",
    np.dtype(np.int64): "i64",
    np.dtype(np.bool_): "bool",
}


def dtype_of(arr: np.ndarray, what: str) -> str:
    try:
        return _FROM_NUMPY[arr.dtype]
    except KeyError:
        raise ContractError(
            f"{what}: unsupported dtype {arr.dtype} (supported: {', '.join(SUPPORTED_DTYPES)})"
        ) from None


# ---------------------------------------------------------------------------
# Lowering
# ---------------------------------------------------------------------------
Value = int | np.ndarray  # an IR node id, or a static (import-time) array


class _Unsupported(Exception):
    """Raised inside a lowering; re-raised as ContractError with the node's name."""


class _Lowering:
    def __init__(self, contract: Contract) -> None:
        self.c = contract
        self.g = Graph()
        self.env: dict[str, Value] = {}
        self.mapping: dict[str, int] = {}

    def run(self) -> tuple[Graph, dict[str, int]]:
        for spec in self.c.inputs:
            assert spec.shape is not None
            nid = self.g.input(spec.name, [int(d) for d in spec.shape if d is not None], spec.dtype)
            self.env[spec.name] = self.mapping[spec.name] = nid
        for name in sorted(self.c.initializers):
            arr = self.c.initializers[name]
            nid = self.g.parameter(name, arr.shape, dtype_of(arr, name))
            self.env[name] = self.mapping[name] = nid
        for name, arr in self.c.constants.items():
            self.env[name] = arr
        for node in self.c.nodes:
            try:
                args = [self.env[i] if i else None for i in node.inputs]
                results = LOWERINGS[node.op_type](self, node, args)
            except _Unsupported as e:
                raise ContractError(str(e), node.name, node.op_type) from None
            except IRError as e:
                raise ContractError(f"cannot lower to the IR: {e}", node.name, node.op_type) from None
            if len(results) < len([o for o in node.outputs if o]):
                raise ContractError(
                    f"produces {len(results)} output(s), the node names {len(node.outputs)}", node.name, node.op_type
                )
            for out_name, value in zip(node.outputs, results, strict=False):
                if out_name:
                    # NumPy folds may return scalars (np.int64 is not an int): keep statics as arrays.
                    self.env[out_name] = value if type(value) is int else np.asarray(value)
        outs = []
        for spec in self.c.outputs:
            nid = self.ir(self.env[spec.name])
            got = self.g.node(nid).shape
            if spec.shape is not None and (
                len(spec.shape) != len(got) or any(w is not None and w != d for w, d in zip(spec.shape, got, strict=False))
            ):
                raise ContractError(
                    f"graph output {spec.name!r}: declared shape {list(spec.shape)}, computed {list(got)}"
                )
            self.mapping[spec.name] = nid
            outs.append(nid)
        self.g.set_outputs(outs)
        return self.g, self.mapping

    # -- helpers used by the lowering table ------------------------------------
    def ir(self, v: Value) -> int:
        """The IR node for a value (static arrays become IR constants)."""
        if isinstance(v, np.ndarray):
            return self.g.constant(v, dtype_of(v, "constant"))
        return v

    def shape(self, v: Value) -> tuple[int, ...]:
        return tuple(v.shape) if isinstance(v, np.ndarray) else self.g.node(v).shape

    def dtype(self, v: Value) -> str:
        return dtype_of(v, "value") if isinstance(v, np.ndarray) else self.g.node(v).dtype

    def op(self, name: str, *inputs: Value, **attrs: object) -> int:
        return self.g.op(name, *(self.ir(i) for i in inputs), **attrs)

    def scalar(self, value: float, like: Value) -> np.ndarray:
        return np.asarray(value, dtype=numpy_dtype(self.dtype(like)))


def _static(v: Value | None, what: str) -> np.ndarray:
    if v is None:
        raise _Unsupported(f"missing required input ({what})")
    if not isinstance(v, np.ndarray):
        raise _Unsupported(f"{what} must be known at import time (a constant or computed from static shapes)")
    return v


def _required(v: Value | None, what: str) -> Value:
    if v is None:
        raise _Unsupported(f"missing required input ({what})")
    return v


def _ints(v: Value | None, what: str) -> list[int]:
    return [int(x) for x in _static(v, what).reshape(-1)]


def _all_static(args: Sequence[Value | None]) -> bool:
    return all(a is None or isinstance(a, np.ndarray) for a in args)


Lower = Callable[[_Lowering, ContractNode, list[Value | None]], list[Value]]
LOWERINGS: dict[str, Lower] = {}


def _lowering(*names: str) -> Callable[[Lower], Lower]:
    def deco(fn: Lower) -> Lower:
        for n in names:
            LOWERINGS[n] = fn
        return fn

    return deco


# -- elementwise ------------------------------------------------------------
_BINARY = {"Add": ("add", np.add), "Sub": ("sub", np.subtract), "Mul": ("mul", np.multiply)}


@_lowering("Add", "Sub", "Mul")
def _binary(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x, y = _required(a[0], "A"), _required(a[1], "B")
    ir_name, fn = _BINARY[n.op_type]
    if _all_static([x, y]):
        return [np.asarray(fn(x, y)).astype(x.dtype)]  # type: ignore[union-attr]
    return [lw.op(ir_name, x, y)]


@_lowering("Div")
def _div(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x, y = _required(a[0], "A"), _required(a[1], "B")
    if isinstance(x, np.ndarray) and isinstance(y, np.ndarray):
        if x.dtype.kind in "iu":
            return [np.asarray(np.trunc(x / y)).astype(x.dtype)]  # ONNX integer division truncates
        return [np.asarray(x / y).astype(x.dtype)]
    if lw.dtype(x) not in ("f32", "f64"):
        raise _Unsupported(f"integer Div of runtime values is not supported ({lw.dtype(x)})")
    return [lw.op("div", x, y)]


def _erf_np(x: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erf, otypes=[x.dtype])(x)


_UNARY: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray] | None]] = {
    "Neg": ("neg", np.negative),
    "Abs": ("abs", np.abs),
    "Sqrt": ("sqrt", np.sqrt),
    "Exp": ("exp", np.exp),
    "Log": ("log", np.log),
    "Erf": ("erf", _erf_np),
    "Relu": ("relu", lambda x: np.maximum(x, 0)),
    "Sigmoid": ("sigmoid", None),
    "Tanh": ("tanh", np.tanh),
}


@_lowering(*_UNARY)
def _unary(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x = _required(a[0], "X")
    ir_name, fn = _UNARY[n.op_type]
    if isinstance(x, np.ndarray) and fn is not None:
        return [np.asarray(fn(x)).astype(x.dtype)]
    return [lw.op(ir_name, x)]


@_lowering("LeakyRelu")
def _leaky_relu(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    return [lw.op("leaky_relu", _required(a[0], "X"), alpha=float(n.attrs.get("alpha", 0.01)))]


@_lowering("Gelu")
def _gelu(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    approx = str(n.attrs.get("approximate", "none"))
    if approx not in ("none", "tanh"):
        raise _Unsupported(f"approximate={approx!r} (expected 'none' or 'tanh')")
    return [lw.op("gelu", _required(a[0], "X"), approximate=approx)]


@_lowering("Pow")
def _pow(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x, y = _required(a[0], "X"), a[1]
    exp = _static(y, "exponent Y")
    if isinstance(x, np.ndarray):
        return [np.power(x, exp).astype(x.dtype)]
    if exp.size != 1:
        raise _Unsupported(f"only a scalar exponent is supported, got shape {list(exp.shape)}")
    if lw.dtype(x) not in ("f32", "f64"):
        raise _Unsupported(f"Pow of {lw.dtype(x)} runtime values is not supported")
    out = lw.op("pow", x, exponent=float(exp.reshape(-1)[0]))
    shape = broadcast_shapes(lw.shape(x), exp.shape)
    if shape != lw.shape(out):
        out = lw.op("broadcast_to", out, shape=shape)
    return [out]


@_lowering("Where")
def _where(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    c, x, y = (_required(v, w) for v, w in zip(a, ("condition", "X", "Y"), strict=False))
    if _all_static([c, x, y]):
        return [np.where(c, x, y).astype(x.dtype)]  # type: ignore[union-attr]
    return [lw.op("where", c, x, y)]


_COMPARE = {"Equal": ("eq", np.equal), "Less": ("lt", np.less), "Greater": ("gt", np.greater)}


@_lowering(*_COMPARE)
def _compare(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x, y = _required(a[0], "A"), _required(a[1], "B")
    cmp, fn = _COMPARE[n.op_type]
    if _all_static([x, y]):
        return [np.asarray(fn(x, y))]
    return [lw.op("compare", x, y, cmp=cmp)]


def _select(lw: _Lowering, x: Value, y: Value, keep_x_when: str) -> Value:
    """min (keep_x_when='lt') or max ('gt') of two values with broadcasting."""
    if _all_static([x, y]):
        fn = np.minimum if keep_x_when == "lt" else np.maximum
        return np.asarray(fn(x, y)).astype(x.dtype)  # type: ignore[union-attr]
    return lw.op("where", lw.op("compare", x, y, cmp=keep_x_when), x, y)


@_lowering("Min", "Max")
def _min_max(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    vals = [v for v in a if v is not None]
    if not vals:
        raise _Unsupported("needs at least one input")
    out = vals[0]
    for v in vals[1:]:
        out = _select(lw, out, v, "lt" if n.op_type == "Min" else "gt")
    return [out]


@_lowering("Clip")
def _clip(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x = _required(a[0], "input")
    out = x
    lo = a[1] if len(a) > 1 else None
    hi = a[2] if len(a) > 2 else None
    if lo is not None:
        out = _select(lw, out, lo, "gt")
    if hi is not None:
        out = _select(lw, out, hi, "lt")
    return [out]


@_lowering("Cast")
def _cast(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x = _required(a[0], "input")
    to = str(n.attrs["to"])
    if to not in SUPPORTED_DTYPES:
        raise _Unsupported(f"cast to unsupported dtype {to} (supported: {', '.join(SUPPORTED_DTYPES)})")
    if isinstance(x, np.ndarray):
        return [x.astype(numpy_dtype(to))]
    if lw.dtype(x) == to:
        return [x]
    return [lw.op("cast", x, dtype=to)]


@_lowering("Identity", "Dropout")
def _identity(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    # Dropout is imported for inference: the identity, with an all-true mask.
    x = _required(a[0], "input")
    return [x, np.ones(lw.shape(x), dtype=np.bool_)]


# -- linear algebra -------------------------------------------------------------
@_lowering("MatMul")
def _matmul(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x, y = _required(a[0], "A"), _required(a[1], "B")
    if _all_static([x, y]):
        return [np.matmul(x, y)]
    xs, ys = lw.shape(x), lw.shape(y)
    xv: Value = lw.op("reshape", x, shape=(1, xs[0])) if len(xs) == 1 else x
    yv: Value = lw.op("reshape", y, shape=(ys[0], 1)) if len(ys) == 1 else y
    out = lw.op("matmul", xv, yv)
    if len(xs) == 1 or len(ys) == 1:
        shape = lw.shape(out)
        drop = {len(shape) - 2} if len(xs) == 1 else set()
        drop |= {len(shape) - 1} if len(ys) == 1 else set()
        out = lw.op("reshape", out, shape=tuple(d for i, d in enumerate(shape) if i not in drop))
    return [out]


@_lowering("Gemm")
def _gemm(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x, w = _required(a[0], "A"), _required(a[1], "B")
    c = a[2] if len(a) > 2 else None
    attrs = {
        "alpha": float(n.attrs.get("alpha", 1.0)),
        "beta": float(n.attrs.get("beta", 1.0)),
        "transA": bool(n.attrs.get("transA", 0)),
        "transB": bool(n.attrs.get("transB", 0)),
    }
    if c is None or attrs["beta"] == 0.0:
        return [lw.op("gemm", x, w, **attrs)]
    return [lw.op("gemm", x, w, c, **attrs)]


@_lowering("Transpose")
def _transpose(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x = _required(a[0], "data")
    rank = len(lw.shape(x))
    perm = tuple(int(p) for p in n.attrs.get("perm", range(rank - 1, -1, -1)))
    if isinstance(x, np.ndarray):
        return [np.transpose(x, perm)]
    return [lw.op("transpose", x, perm=perm)]


# -- normalisation / softmax -------------------------------------------------------
@_lowering("Softmax", "LogSoftmax")
def _softmax(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x = _required(a[0], "input")
    shape = lw.shape(x)
    rank = len(shape)
    axis = int(n.attrs.get("axis", 1 if n.attrs.get("legacy_2d") else -1))
    if not -rank <= axis < rank:
        raise _Unsupported(f"axis {axis} is out of range for rank {rank}")
    axis %= rank
    ir_name = "softmax" if n.op_type == "Softmax" else "log_softmax"
    if n.attrs.get("legacy_2d") and axis != rank - 1:
        # opset < 13: softmax over the flattened trailing block [axis:].
        flat = (math.prod(shape[:axis]), math.prod(shape[axis:]))
        y = lw.op(ir_name, lw.op("reshape", x, shape=flat), axis=1)
        return [lw.op("reshape", y, shape=shape)]
    return [lw.op(ir_name, x, axis=axis)]


@_lowering("LayerNormalization")
def _layer_norm(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x, scale = _required(a[0], "X"), _required(a[1], "Scale")
    bias = a[2] if len(a) > 2 else None
    shape = lw.shape(x)
    axis = int(n.attrs.get("axis", -1))
    if not -len(shape) <= axis < len(shape):
        raise _Unsupported(f"axis {axis} is out of range for rank {len(shape)}")
    axis %= len(shape)
    eps = float(n.attrs.get("epsilon", 1e-5))
    if len(n.outputs) > 1 and any(n.outputs[1:]):
        raise _Unsupported("the Mean/InvStdDev outputs (training-only) are not supported")
    if axis == len(shape) - 1 and lw.shape(scale) == (shape[-1],) and (bias is None or lw.shape(bias) == (shape[-1],)):
        shift = bias if bias is not None else np.zeros(shape[-1], numpy_dtype(lw.dtype(x)))
        return [lw.op("layernorm", x, scale, shift, eps=eps)]
    # Normalising several trailing axes: decompose into registered ops (autograd covers them).
    axes = tuple(range(axis, len(shape)))
    mean = lw.op("reduce_mean", x, axes=axes, keepdims=True)
    centred = lw.op("sub", x, mean)
    var = lw.op("reduce_mean", lw.op("mul", centred, centred), axes=axes, keepdims=True)
    std = lw.op("sqrt", lw.op("add", var, lw.scalar(eps, x)))
    out: Value = lw.op("mul", lw.op("div", centred, std), scale)
    if bias is not None:
        out = lw.op("add", out, bias)
    return [out]


# -- reductions --------------------------------------------------------------
_REDUCE: dict[str, tuple[str, Callable[..., Any]]] = {
    "ReduceSum": ("reduce_sum", np.sum),
    "ReduceMean": ("reduce_mean", np.mean),
    "ReduceMax": ("reduce_max", np.max),
}


@_lowering(*_REDUCE)
def _reduce(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x = _required(a[0], "data")
    rank = len(lw.shape(x))
    keepdims = bool(n.attrs.get("keepdims", 1))
    axes_in = a[1] if len(a) > 1 else None
    axes: tuple[int, ...]
    if axes_in is None or _static(axes_in, "axes").size == 0:
        if n.attrs.get("noop_with_empty_axes", 0):
            return [x]
        axes = tuple(range(rank))
    else:
        axes = tuple(sorted({int(v) % rank for v in _ints(axes_in, "axes")}))
    ir_name, fn = _REDUCE[n.op_type]
    if isinstance(x, np.ndarray):
        return [np.asarray(fn(x, axis=axes, keepdims=keepdims)).astype(x.dtype)]
    return [lw.op(ir_name, x, axes=axes, keepdims=keepdims)]


# -- shape ops ---------------------------------------------------------------
def _reshape_to(lw: _Lowering, x: Value, shape: Sequence[int]) -> Value:
    shape = tuple(int(d) for d in shape)
    if isinstance(x, np.ndarray):
        return x.reshape(shape)
    if shape == lw.shape(x):
        return x
    return lw.op("reshape", x, shape=shape)


@_lowering("Reshape")
def _reshape(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x = _required(a[0], "data")
    target = _ints(a[1] if len(a) > 1 else None, "shape")
    shape = lw.shape(x)
    if not n.attrs.get("allowzero", 0):
        for i, d in enumerate(target):
            if d == 0:
                if i >= len(shape):
                    raise _Unsupported(f"shape {target}: 0 at axis {i} has no input dimension to copy")
                target[i] = shape[i]
    if isinstance(x, np.ndarray):
        return [x.reshape(target)]
    return [_reshape_to(lw, x, infer_reshape(shape, target))]


@_lowering("Flatten")
def _flatten(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x = _required(a[0], "input")
    shape = lw.shape(x)
    axis = int(n.attrs.get("axis", 1))
    if not -len(shape) <= axis <= len(shape):
        raise _Unsupported(f"axis {axis} is out of range for rank {len(shape)}")
    if axis < 0:
        axis += len(shape)
    return [_reshape_to(lw, x, (math.prod(shape[:axis]), math.prod(shape[axis:])))]


@_lowering("Squeeze")
def _squeeze(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x = _required(a[0], "data")
    shape = lw.shape(x)
    axes_in = a[1] if len(a) > 1 else None
    if axes_in is None:
        axes = {i for i, d in enumerate(shape) if d == 1}
    else:
        axes = {v % len(shape) for v in _ints(axes_in, "axes")}
        bad = [ax for ax in sorted(axes) if shape[ax] != 1]
        if bad:
            raise _Unsupported(f"cannot squeeze axis {bad[0]} of shape {list(shape)} (size is not 1)")
    return [_reshape_to(lw, x, [d for i, d in enumerate(shape) if i not in axes])]


@_lowering("Unsqueeze")
def _unsqueeze(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x = _required(a[0], "data")
    shape = list(lw.shape(x))
    out_rank = len(shape) + len(_ints(a[1] if len(a) > 1 else None, "axes"))
    axes = sorted(v % out_rank for v in _ints(a[1], "axes"))
    for ax in axes:
        shape.insert(ax, 1)
    return [_reshape_to(lw, x, shape)]


@_lowering("Expand")
def _expand(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x = _required(a[0], "input")
    target = broadcast_shapes(lw.shape(x), tuple(_ints(a[1] if len(a) > 1 else None, "shape")))
    if isinstance(x, np.ndarray):
        return [np.broadcast_to(x, target).copy()]
    if target == lw.shape(x):
        return [x]
    return [lw.op("broadcast_to", x, shape=target)]


@_lowering("Shape")
def _shape(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    shape = lw.shape(_required(a[0], "data"))
    start = int(n.attrs.get("start", 0))
    end = n.attrs.get("end")
    return [np.asarray(shape[start : None if end is None else int(end)], dtype=np.int64)]


@_lowering("ConstantOfShape")
def _constant_of_shape(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    shape = _ints(a[0], "shape")
    value = n.attrs.get("value")
    fill = np.zeros(1, np.float32) if value is None else np.asarray(value).reshape(-1)
    return [np.full(shape, fill[0], dtype=fill.dtype)]


@_lowering("Concat")
def _concat(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    vals = [v for v in a if v is not None]
    axis = int(n.attrs["axis"])
    rank = len(lw.shape(vals[0])) if vals else 0
    if not -rank <= axis < rank:
        raise _Unsupported(f"axis {axis} is out of range for rank {rank}")
    if _all_static(vals):
        return [np.concatenate(vals, axis=axis)]
    return [lw.op("concat", *vals, axis=axis % len(lw.shape(vals[0])))]


@_lowering("Gather")
def _gather(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    data, idx = _required(a[0], "data"), _required(a[1], "indices")
    rank = len(lw.shape(data))
    axis = int(n.attrs.get("axis", 0))
    if not -rank <= axis < rank:
        raise _Unsupported(f"axis {axis} is out of range for rank {rank}")
    axis %= rank
    size = lw.shape(data)[axis]
    if isinstance(idx, np.ndarray):
        if idx.size and (idx.min() < -size or idx.max() >= size):
            raise _Unsupported(f"indices out of range for axis {axis} of size {size}")
        idx = np.where(idx < 0, idx + size, idx).astype(idx.dtype)  # ONNX allows negative indices
        if isinstance(data, np.ndarray):
            return [np.take(data, idx, axis=axis)]
    return [lw.op("gather", data, idx, axis=axis)]


@_lowering("Slice")
def _slice(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x = _required(a[0], "data")
    starts = _ints(a[1] if len(a) > 1 else None, "starts")
    ends = _ints(a[2] if len(a) > 2 else None, "ends")
    axes = _ints(a[3], "axes") if len(a) > 3 and a[3] is not None else list(range(len(starts)))
    steps = _ints(a[4], "steps") if len(a) > 4 and a[4] is not None else [1] * len(starts)
    rank = len(lw.shape(x))
    # ONNX clamps starts/ends exactly as Python slicing does, which is also the IR's `slice` semantics.
    attrs = {"starts": tuple(starts), "ends": tuple(ends), "axes": tuple(ax % rank for ax in axes),
             "steps": tuple(steps)}
    if isinstance(x, np.ndarray):
        return [x[slice_key(x.shape, attrs)].copy()]
    return [lw.op("slice", x, **attrs)]
