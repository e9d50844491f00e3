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

from volta_core.ir.graph import Graph, moment_rows
from volta_core.ir.ops import IRError, broadcast_shapes, infer_reshape, numpy_dtype, slice_key

CONTRACT_VERSION = "volta-interop/1"
#: The graph input of a fine-tuning graph that keys its Dropout masks (fed per step).
DROPOUT_STEP = "dropout_step"
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
                    "unsupported op (docs/onnx.md lists the supported ones)", node.name, node.op_type
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
        graph, mapping, _ = self.lower()
        return graph, mapping

    def lower(self, train_mode: bool = False) -> tuple[Graph, dict[str, int], list[tuple[int, str, str, float]]]:
        """:meth:`to_graph`, and with ``train_mode`` BatchNormalization on batch statistics: the third
        result lists each one's (moments node [2, C], running-mean and running-var initializer, momentum)."""
        self.validate()
        lowering = _Lowering(self, train_mode)
        graph, mapping = lowering.run()
        return graph, mapping, lowering.stats


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


class _NotStatic(_Unsupported):
    """An input that must be known at import is a runtime value; ``value`` finds its name."""

    def __init__(self, what: str, value: int) -> None:
        super().__init__(what)
        self.what = what
        self.value = value


class _Lowering:
    def __init__(self, contract: Contract, train_mode: bool = False) -> None:
        self.c = contract
        self.g = Graph()
        self.env: dict[str, Value] = {}
        self.mapping: dict[str, int] = {}
        #: Fine-tuning (train_mode): BatchNormalization normalises with the batch's moments;
        #: one (moments node, running-mean name, running-var name, ONNX momentum) per node.
        self.train_mode = train_mode
        self.stats: list[tuple[int, str, str, float]] = []

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
            except _NotStatic as e:
                tensor = next((i for i, v in zip(node.inputs, args, strict=True) if type(v) is int and v == e.value), "?")
                raise ContractError(
                    f"input {e.what} ({tensor!r}) must be known at import time: a constant, an initializer used "
                    "only here, or computed from static shapes; here it depends on runtime data",
                    node.name, node.op_type,
                ) from None
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
    def dropout_step(self) -> int:
        """The scalar ``dropout_step`` input keying every Dropout mask of a fine-tuning graph."""
        step = next((i for i in self.g.inputs if self.g.name_of(i) == DROPOUT_STEP), None)
        return step if step is not None else self.g.input(DROPOUT_STEP, (), "i64")

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
        raise _NotStatic(what, v)
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
        return [np.power(x, exp.astype(x.dtype) if x.dtype.kind == "f" else exp).astype(x.dtype)]
    if lw.dtype(x) not in ("f32", "f64"):
        raise _Unsupported(f"Pow of {lw.dtype(x)} runtime values is not supported")
    shape = broadcast_shapes(lw.shape(x), exp.shape)
    flat = exp.reshape(-1)
    if flat.size and np.all(flat == flat[0]):
        out = lw.op("pow", x, exponent=float(flat[0]))
    else:
        # A tensor exponent: |x|^y = exp(y·log|x|), the sign (-1)^y for negative x and integer y,
        # NaN for negative x and fractional y, and x^0 = 1 (as numpy.power).
        dt = numpy_dtype(lw.dtype(x))
        e = exp.astype(dt)
        whole = np.floor(e) == e
        odd = whole & (np.mod(e, 2) == 1)
        magnitude = lw.op("exp", lw.op("mul", lw.op("log", lw.op("abs", x)), e))
        negative = lw.op("compare", x, lw.scalar(0.0, x), cmp="lt")
        sign = np.where(odd, -1.0, np.where(whole, 1.0, np.nan)).astype(dt)
        out = lw.op("where", negative, lw.op("mul", magnitude, sign), magnitude)
        out = lw.op("where", np.asarray(e == 0), np.ones((), dt), out)
    if shape != lw.shape(out):
        out = lw.op("broadcast_to", out, shape=shape)
    return [out]


@_lowering("Mod")
def _mod(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x, y = _static(a[0], "A"), _static(a[1], "B")
    if int(n.attrs.get("fmod", 0)):
        return [np.fmod(x, y).astype(x.dtype)]
    if x.dtype.kind == "f":
        raise _Unsupported("fmod = 0 needs integer inputs")
    with np.errstate(divide="ignore"):
        return [np.mod(x, y).astype(x.dtype)]


@_lowering("Size")
def _size(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    return [np.asarray(math.prod(lw.shape(_required(a[0], "data"))), np.int64)]


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


@_lowering("LessOrEqual", "GreaterOrEqual")
def _compare_or_equal(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    # (a < b) or (a == b): False with a NaN, as ONNX (not the negation of Greater).
    x, y = _required(a[0], "A"), _required(a[1], "B")
    if _all_static([x, y]):
        return [np.asarray(np.less_equal(x, y) if n.op_type == "LessOrEqual" else np.greater_equal(x, y))]
    strict = lw.op("compare", x, y, cmp="lt" if n.op_type == "LessOrEqual" else "gt")
    return [lw.op("where", strict, np.ones((), np.bool_), lw.op("compare", x, y, cmp="eq"))]


def _bools(lw: _Lowering, *values: Value) -> None:
    for v in values:
        if lw.dtype(v) != "bool":
            raise _Unsupported(f"inputs must be bool, got {lw.dtype(v)}")


@_lowering("Not")
def _not(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x = _required(a[0], "X")
    _bools(lw, x)
    if isinstance(x, np.ndarray):
        return [np.logical_not(x)]
    return [lw.op("compare", x, np.zeros((), np.bool_), cmp="eq")]


@_lowering("And", "Or", "Xor")
def _logic(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x, y = _required(a[0], "A"), _required(a[1], "B")
    _bools(lw, x, y)
    fn = {"And": np.logical_and, "Or": np.logical_or, "Xor": np.logical_xor}[n.op_type]
    if _all_static([x, y]):
        return [np.asarray(fn(x, y))]
    false, true = np.zeros((), np.bool_), np.ones((), np.bool_)
    if n.op_type == "And":
        return [lw.op("where", x, y, false)]
    if n.op_type == "Or":
        return [lw.op("where", x, true, y)]
    return [lw.op("compare", lw.op("compare", x, y, cmp="eq"), false, cmp="eq")]


@_lowering("Reciprocal")
def _reciprocal(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x = _required(a[0], "X")
    if isinstance(x, np.ndarray):
        return [np.asarray(1 / x).astype(x.dtype)]
    _float_input(lw, x)
    return [lw.op("div", lw.scalar(1.0, x), x)]


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


@_lowering("Cast", "CastLike")
def _cast(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x = _required(a[0], "input")
    to = str(n.attrs["to"]) if n.op_type == "Cast" else lw.dtype(_required(a[1], "target_type"))
    if to not in SUPPORTED_DTYPES:
        raise _Unsupported(f"cast to unsupported dtype {to} (supported: {', '.join(SUPPORTED_DTYPES)})")
    if isinstance(x, np.ndarray):
        return [x.astype(numpy_dtype(to))]
    if lw.dtype(x) == to:
        return [x]
    return [lw.op("cast", x, dtype=to)]


@_lowering("Identity")
def _identity(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    return [_required(a[0], "input")]


@_lowering("Dropout")
def _dropout(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    """Inference (training_mode absent or false, or ratio 0): the identity with an all-true mask.
    Random dropout (training_mode true with ratio > 0) is rejected: never silently the identity.
    Fine-tuning (``train_mode`` lowering): seeded dropout, as Volta's ``dropout`` layer."""
    x = _required(a[0], "data")
    if "is_test" in n.attrs and not int(n.attrs["is_test"]):
        raise _Unsupported("is_test = 0 (training mode, opset < 7: random dropout) is not supported")
    ratio_in = a[1] if len(a) > 1 else None

    def ratio() -> float:  # read only when dropout can act: an inference graph may compute it at run time
        return float(n.attrs.get("ratio", 0.5)) if ratio_in is None else float(_static(ratio_in, "ratio").reshape(-1)[0])

    training = a[2] if len(a) > 2 else None
    if training is not None and bool(_static(training, "training_mode").reshape(-1)[0]) and ratio() != 0.0:
        raise _Unsupported(
            f"training_mode = true with ratio {ratio():g}: random dropout is not supported "
            "(import the model for inference, with training_mode false)"
        )
    if lw.train_mode and not isinstance(x, np.ndarray) and ratio() != 0.0:
        if not 0.0 < ratio() < 1.0:
            raise _Unsupported(f"ratio {ratio():g} must be in [0, 1)")
        step = lw.dropout_step()
        seed = lw.c.nodes.index(n)
        y = lw.op("dropout", x, step, p=ratio(), seed=seed, training=True)
        ones = np.ones(lw.shape(x), numpy_dtype(lw.dtype(x)))
        mask = lw.op("compare", lw.op("dropout", ones, step, p=ratio(), seed=seed, training=True),
                     lw.scalar(0.0, x), cmp="gt")
        return [y, mask]
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
    stash = int(n.attrs.get("stash_type", 1))
    if stash != 1:
        raise _Unsupported(f"stash_type {stash} (only 1, float32 statistics, is supported)")
    if len(n.outputs) > 1 and any(n.outputs[1:]):
        return _layer_norm_parts(lw, x, scale, bias, axis, eps)
    if axis == len(shape) - 1 and lw.shape(scale) == (shape[-1],) and (bias is None or lw.shape(bias) == (shape[-1],)):
        shift = bias if bias is not None else np.zeros(shape[-1], numpy_dtype(lw.dtype(x)))
        return [lw.op("layernorm", x, scale, shift, eps=eps)]
    # Normalising several trailing axes: decompose into registered ops (autograd covers them).
    return _layer_norm_parts(lw, x, scale, bias, axis, eps)[:1]


def _layer_norm_parts(lw: _Lowering, x: Value, scale: Value, bias: Value | None, axis: int, eps: float) -> list[Value]:
    """LayerNormalization decomposed into registered ops, with its Mean and InvStdDev outputs."""
    axes = tuple(range(axis, len(lw.shape(x))))
    mean = lw.op("reduce_mean", x, axes=axes, keepdims=True)
    centred = lw.op("sub", x, mean)
    var = lw.op("reduce_mean", lw.op("mul", centred, centred), axes=axes, keepdims=True)
    inv_std = lw.op("div", lw.scalar(1.0, x), lw.op("sqrt", lw.op("add", var, lw.scalar(eps, x))))
    out: Value = lw.op("mul", lw.op("mul", centred, inv_std), scale)
    if bias is not None:
        out = lw.op("add", out, bias)
    return [out, mean, inv_std]


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


# -- convolution, pooling, normalisation, padding, resizing (images) ---------------
def _pair(values: Sequence[int], is_1d: bool, fill: int) -> tuple[int, int]:
    return (fill, int(values[0])) if is_1d else (int(values[0]), int(values[1]))


def _image_rank(lw: _Lowering, x: Value, what: str = "X") -> bool:
    """True for a 1-D signal [N, C, L] (run as [N, C, 1, L]); 2-D images [N, C, H, W] give False."""
    rank = len(lw.shape(x))
    if rank == 3:
        return True
    if rank == 4:
        return False
    raise _Unsupported(f"{what} has rank {rank}: only 1-D [N, C, L] and 2-D [N, C, H, W] inputs are supported")


def _ints_attr(n: ContractNode, name: str, count: int, default: int) -> list[int]:
    values = [int(v) for v in n.attrs.get(name, [default] * count)]
    if len(values) != count:
        raise _Unsupported(f"{name} {values} needs {count} values")
    return values


def _split_padding(total: int, upper: bool) -> tuple[int, int]:
    """(begin, end) of ``total`` padding: the odd one at the end for SAME_UPPER, else at the beginning."""
    small, large = total // 2, total - total // 2
    return (small, large) if upper else (large, small)


def _window_geometry(
    n: ContractNode, spatial: Sequence[int], kernel: Sequence[int], transpose: bool = False
) -> tuple[list[int], list[int], list[int]]:
    """strides, dilations and pads ([begins..., ends...]) of a conv/pool node, auto_pad resolved."""
    dims = len(spatial)
    strides = _ints_attr(n, "strides", dims, 1)
    dilations = _ints_attr(n, "dilations", dims, 1)
    if min(strides) < 1 or min(dilations) < 1:
        raise _Unsupported(f"strides {strides} and dilations {dilations} must be >= 1")
    auto = str(n.attrs.get("auto_pad", "NOTSET"))
    if auto == "NOTSET":
        pads = _ints_attr(n, "pads", 2 * dims, 0)
    elif auto == "VALID":
        pads = [0] * (2 * dims)
    elif auto in ("SAME_UPPER", "SAME_LOWER"):
        if "pads" in n.attrs:
            raise _Unsupported(f"auto_pad {auto} and explicit pads cannot be used together")
        begins: list[int] = []
        ends: list[int] = []
        for size, k, s, d in zip(spatial, kernel, strides, dilations, strict=True):
            extent = (k - 1) * d + 1
            if transpose:
                extra = int(n.attrs.get("output_padding", [0] * dims)[len(begins)])
                total = max(0, s * (size - 1) + extra + extent - size * s)
            else:
                total = max(0, (-(-size // s) - 1) * s + extent - size)
            begin, end = _split_padding(total, auto == "SAME_UPPER")
            begins.append(begin)
            ends.append(end)
        pads = begins + ends
    else:
        raise _Unsupported(f"auto_pad {auto!r} (expected NOTSET, SAME_UPPER, SAME_LOWER or VALID)")
    if min(pads, default=0) < 0:
        raise _Unsupported(f"negative pads {pads}")
    return strides, dilations, pads


def _ir_window(is_1d: bool, strides: list[int], dilations: list[int], pads: list[int]) -> dict[str, Any]:
    """The IR's 2-D attributes (pads top, left, bottom, right) from ONNX's 1-D or 2-D ones."""
    dims = 1 if is_1d else 2
    begins, ends = pads[:dims], pads[dims:]
    return {
        "strides": _pair(strides, is_1d, 1),
        "dilations": _pair(dilations, is_1d, 1),
        "pads": (*_pair(begins, is_1d, 0), *_pair(ends, is_1d, 0)),
    }


def _as_2d(lw: _Lowering, x: Value, is_1d: bool) -> Value:
    if not is_1d:
        return x
    shape = lw.shape(x)
    return _reshape_to(lw, x, (*shape[:2], 1, shape[2]))


def _from_2d(lw: _Lowering, y: Value, is_1d: bool) -> Value:
    if not is_1d:
        return y
    shape = lw.shape(y)
    return _reshape_to(lw, y, (shape[0], shape[1], shape[3]))


def _float_input(lw: _Lowering, x: Value, what: str = "X") -> None:
    if lw.dtype(x) not in ("f32", "f64"):
        raise _Unsupported(f"{what} is {lw.dtype(x)}; only float and double are supported")


@_lowering("Conv", "ConvTranspose")
def _conv(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x, w = _required(a[0], "X"), _required(a[1], "W")
    b = a[2] if len(a) > 2 else None
    _float_input(lw, x)
    is_1d = _image_rank(lw, x)
    w_shape = lw.shape(w)
    if len(w_shape) != len(lw.shape(x)):
        raise _Unsupported(f"W {list(w_shape)} must have the rank of X {list(lw.shape(x))}")
    kernel = list(w_shape[2:])
    if "kernel_shape" in n.attrs and [int(k) for k in n.attrs["kernel_shape"]] != kernel:
        raise _Unsupported(f"kernel_shape {list(n.attrs['kernel_shape'])} differs from W's spatial shape {kernel}")
    spatial = list(lw.shape(x)[2:])
    transpose = n.op_type == "ConvTranspose"
    strides, dilations, pads = _window_geometry(n, spatial, kernel, transpose)
    attrs = _ir_window(is_1d, strides, dilations, pads)
    attrs["groups"] = int(n.attrs.get("group", 1))
    if transpose:
        dims = len(spatial)
        extra = _ints_attr(n, "output_padding", dims, 0)
        if "output_shape" in n.attrs:
            want = [int(v) for v in n.attrs["output_shape"]][-dims:]
            begins, ends = [], []
            for size, k, s, d, e, o in zip(spatial, kernel, strides, dilations, extra, want, strict=True):
                total = s * (size - 1) + e + (k - 1) * d + 1 - o
                if total < 0:
                    raise _Unsupported(f"output_shape {want} is larger than the full transposed convolution")
                begin, end = _split_padding(total, str(n.attrs.get("auto_pad", "NOTSET")) == "SAME_UPPER")
                begins.append(begin)
                ends.append(end)
            attrs.update(_ir_window(is_1d, strides, dilations, begins + ends))
        attrs["output_padding"] = _pair(extra, is_1d, 0)
    args: list[Value] = [_as_2d(lw, x, is_1d), _as_2d(lw, w, is_1d)] + ([b] if b is not None else [])
    y = lw.op("conv_transpose2d" if transpose else "conv2d", *args, **attrs)
    return [_from_2d(lw, y, is_1d)]


@_lowering("MaxPool", "AveragePool")
def _pool(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x = _required(a[0], "X")
    _float_input(lw, x)
    is_1d = _image_rank(lw, x)
    if len(n.outputs) > 1 and n.outputs[1]:
        raise _Unsupported("the Indices output is not supported")
    dims = 1 if is_1d else 2
    if "kernel_shape" not in n.attrs:
        raise _Unsupported("kernel_shape is required")
    kernel = _ints_attr(n, "kernel_shape", dims, 1)
    strides, dilations, pads = _window_geometry(n, list(lw.shape(x)[2:]), kernel)
    attrs = _ir_window(is_1d, strides, dilations, pads)
    attrs["kernel"] = _pair(kernel, is_1d, 1)
    attrs["ceil_mode"] = bool(n.attrs.get("ceil_mode", 0))
    if attrs["ceil_mode"] and lw.c.opset < 19:
        dims_in = lw.shape(x)[2:]
        for size, k, s, d, lo, hi in zip(dims_in, kernel, strides, dilations, pads[:dims], pads[dims:], strict=True):
            span = size + lo + hi - ((k - 1) * d + 1)
            if span >= 0 and -(-span // s) * s >= size + lo:
                # ONNX before opset 19 keeps such a window (all padding); opset 19 and PyTorch drop it.
                raise _Unsupported(
                    f"ceil_mode with a last window that starts in the end padding (input {size}, pads {lo}/{hi}, "
                    f"kernel {k}, stride {s}) before opset 19 (which drops that window, as Volta does)"
                )
    if n.op_type == "AveragePool":
        if max(dilations) != 1:
            raise _Unsupported(f"dilations {dilations} (only 1 is supported for AveragePool)")
        del attrs["dilations"]
        attrs["count_include_pad"] = bool(n.attrs.get("count_include_pad", 0))
    y = lw.op("max_pool2d" if n.op_type == "MaxPool" else "avg_pool2d", _as_2d(lw, x, is_1d), **attrs)
    return [_from_2d(lw, y, is_1d)]


@_lowering("GlobalAveragePool", "GlobalMaxPool")
def _global_pool(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x = _required(a[0], "X")
    _float_input(lw, x)
    rank = len(lw.shape(x))
    if rank < 3:
        raise _Unsupported(f"X needs rank >= 3 [N, C, ...], got {list(lw.shape(x))}")
    ir_name = "reduce_mean" if n.op_type == "GlobalAveragePool" else "reduce_max"
    return [lw.op(ir_name, x, axes=tuple(range(2, rank)), keepdims=True)]


@_lowering("BatchNormalization")
def _batch_norm(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x = _required(a[0], "X")
    scale, bias = _required(a[1], "scale"), _required(a[2], "B")
    mean, var = _required(a[3] if len(a) > 3 else None, "input_mean"), _required(a[4] if len(a) > 4 else None, "input_var")
    _float_input(lw, x)
    eps = float(n.attrs.get("epsilon", 1e-5))
    momentum = float(n.attrs.get("momentum", 0.9))
    if not int(n.attrs.get("spatial", 1)):
        raise _Unsupported("spatial = 0 (statistics per activation, not per channel) is not supported")
    training = bool(n.attrs.get("training_mode", 0))
    extra = [o for o in n.outputs[1:] if o]
    if "is_test" in n.attrs and not int(n.attrs["is_test"]):
        raise _Unsupported("is_test = 0 (training mode, opset < 7) is not supported")
    if extra and not training:
        raise _Unsupported("outputs beyond Y (running or saved statistics) exist only in training mode")
    if len(n.outputs) > 3 and any(n.outputs[3:]):
        raise _Unsupported("the saved_mean/saved_var outputs (opset < 9) are not supported")
    if training:
        batch_mean, batch_var = moment_rows(lw.g, lw.op("moments", x), lw.shape(scale))
        y = lw.op("batchnorm", x, scale, bias, batch_mean, batch_var, eps=eps)
        keep, take = lw.scalar(momentum, x), lw.scalar(1.0 - momentum, x)
        running_mean = lw.op("add", lw.op("mul", mean, keep), lw.op("mul", batch_mean, take))
        running_var = lw.op("add", lw.op("mul", var, keep), lw.op("mul", batch_var, take))
        return [y, running_mean, running_var]
    if lw.train_mode and not isinstance(mean, np.ndarray) and not isinstance(var, np.ndarray):
        # Fine-tuning an imported model: batch statistics, running statistics updated after each step.
        moments = lw.op("moments", x)
        lw.stats.append((moments, lw.g.name_of(mean), lw.g.name_of(var), momentum))
        mean, var = moment_rows(lw.g, moments, lw.shape(scale))
    return [lw.op("batchnorm", x, scale, bias, mean, var, eps=eps)]


@_lowering("Pad")
def _pad(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x = _required(a[0], "data")
    shape = lw.shape(x)
    rank = len(shape)
    mode = str(n.attrs.get("mode", "constant"))
    if mode not in ("constant", "reflect", "edge"):
        raise _Unsupported(f"mode {mode!r} (supported: constant, reflect, edge)")
    pads = _ints(a[1] if len(a) > 1 else None, "pads")
    value = a[2] if len(a) > 2 else None
    fill = 0.0
    if value is not None:
        v = _static(value, "constant_value")
        if v.size != 1:
            raise _Unsupported(f"constant_value must be a scalar, got shape {list(v.shape)}")
        fill = float(v.reshape(-1)[0])
    axes = list(range(rank))
    if len(a) > 3 and a[3] is not None:
        axes = [int(ax) % rank for ax in _ints(a[3], "axes")]
    if len(pads) != 2 * len(axes):
        raise _Unsupported(f"pads {pads} needs {2 * len(axes)} values (two per axis)")
    full = [0] * (2 * rank)
    for i, ax in enumerate(axes):
        full[ax], full[rank + ax] = pads[i], pads[len(axes) + i]
    crop = [max(0, -p) for p in full]
    grow = [max(0, p) for p in full]
    if mode != "constant":
        fill = 0.0
    out: Value = x
    if isinstance(x, np.ndarray):
        widths = list(zip(grow[:rank], grow[rank:], strict=True))
        if mode == "constant":
            out = np.pad(x, widths, mode="constant", constant_values=fill)
        else:
            out = np.pad(x, widths, mode="edge" if mode == "edge" else "reflect")
    elif any(grow):
        _float_input(lw, x, "data")
        out = lw.op("pad", x, pads=tuple(grow), mode=mode, value=fill)
    if any(crop):
        # Negative pads remove elements (after padding: ONNX's order).
        out_shape = lw.shape(out)
        attrs = {"starts": tuple(crop[:rank]), "ends": tuple(d - c for d, c in zip(out_shape, crop[rank:], strict=True)),
                 "axes": tuple(range(rank)), "steps": (1,) * rank}
        out = out[slice_key(out.shape, attrs)].copy() if isinstance(out, np.ndarray) else lw.op("slice", out, **attrs)
    return [out]


_COORDINATES = ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric")


@_lowering("Resize")
def _resize(lw: _Lowering, n: ContractNode, a: list[Value | None]) -> list[Value]:
    x = _required(a[0], "X")
    _float_input(lw, x)
    shape = lw.shape(x)
    rank = len(shape)
    mode = str(n.attrs.get("mode", "nearest"))
    if mode not in ("nearest", "linear"):
        raise _Unsupported(f"mode {mode!r} (supported: nearest, linear)")
    how = str(n.attrs.get("coordinate_transformation_mode", "half_pixel"))
    if how not in _COORDINATES:
        raise _Unsupported(f"coordinate_transformation_mode {how!r} (supported: {', '.join(_COORDINATES)})")
    nearest = str(n.attrs.get("nearest_mode", "round_prefer_floor"))
    if nearest not in ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil"):
        raise _Unsupported(f"nearest_mode {nearest!r}")
    if int(n.attrs.get("exclude_outside", 0)):
        raise _Unsupported("exclude_outside = 1 is not supported")
    policy = str(n.attrs.get("keep_aspect_ratio_policy", "stretch"))
    if policy != "stretch":
        raise _Unsupported(f"keep_aspect_ratio_policy {policy!r} (only stretch is supported)")
    axes = [int(v) % rank for v in n.attrs.get("axes", range(rank))]
    scales_in = a[2] if len(a) > 2 else None
    sizes_in = a[3] if len(a) > 3 else None
    scales_arr = None if scales_in is None else _static(scales_in, "scales").astype(np.float64).reshape(-1)
    if scales_arr is not None and scales_arr.size == 0:
        scales_arr = None
    sizes = None if sizes_in is None or _static(sizes_in, "sizes").size == 0 else _ints(sizes_in, "sizes")
    if (scales_arr is None) == (sizes is None):
        raise _Unsupported("exactly one of scales and sizes must be given")
    full_scales = [1.0] * rank
    full_sizes = list(shape)
    for i, ax in enumerate(axes):
        if scales_arr is not None:
            if len(scales_arr) != len(axes):
                raise _Unsupported(f"scales has {len(scales_arr)} values for {len(axes)} axes")
            full_scales[ax] = float(scales_arr[i])
            full_sizes[ax] = math.floor(shape[ax] * float(scales_arr[i]))
        else:
            assert sizes is not None
            if len(sizes) != len(axes):
                raise _Unsupported(f"sizes has {len(sizes)} values for {len(axes)} axes")
            full_sizes[ax] = sizes[i]
    if rank != 4 or full_sizes[:2] != list(shape[:2]) or full_scales[:2] != [1.0, 1.0]:
        raise _Unsupported(f"only resizing the last two axes of a 4-D [N, C, H, W] input is supported (X {list(shape)})")
    if int(n.attrs.get("antialias", 0)) and mode == "linear" and min(full_sizes[2] / shape[2], full_sizes[3] / shape[3]) < 1:
        raise _Unsupported("antialias = 1 when downsampling is not supported")
    if how == "align_corners" and scales_arr is not None and any(
        shape[ax] * full_scales[ax] != full_sizes[ax] for ax in (2, 3)
    ):
        raise _Unsupported(
            "align_corners with scales that give a fractional output size (ONNX maps coordinates with the "
            "fractional size; give sizes instead)"
        )
    attrs: dict[str, Any] = {"size": tuple(full_sizes[2:]), "mode": mode, "coordinates": how, "nearest_mode": nearest,
                             "scales": tuple(full_scales[2:]) if scales_arr is not None else ()}
    return [lw.op("resize2d", x, **attrs)]
