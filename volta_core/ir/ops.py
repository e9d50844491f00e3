"""The op registry: every IR op is declared exactly once, here.

An :class:`OpDef` holds the op's name, arity, attribute schema, shape rule,
gradient rule and one-line doc. Kernels live with their backend (``volta_core.backends``)
and are attached with :func:`register_kernels`, so this module never imports
a backend: the dependency points from backends to the IR only.

Shape rules follow NumPy broadcasting (documented in ``docs/broadcasting.md``);
every shape error message names all shapes involved. There is no implicit
dtype promotion: binary ops need equal dtypes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from volta_core.present import format_shape

Shape = tuple[int, ...]
TensorType = tuple[Shape, str]
AttrMap = Mapping[str, Any]


class IRError(ValueError):
    """Base class for errors raised while building or checking IR."""


class ShapeError(IRError):
    """Shapes are incompatible; the message names every shape involved."""


class DTypeError(IRError):
    """Dtypes are incompatible or unsupported by the op."""


class AttrError(IRError):
    """An attribute is missing, unknown, or has an invalid value."""


FLOAT_DTYPES = ("f32", "f64")
INT_DTYPES = ("i32", "i64")
DTYPES = (*FLOAT_DTYPES, *INT_DTYPES, "bool")
_NUMPY = {"f32": np.float32, "f64": np.float64, "i32": np.int32, "i64": np.int64, "bool": np.bool_}


def numpy_dtype(dtype: str) -> type[np.generic]:
    try:
        return _NUMPY[dtype]
    except KeyError:
        raise DTypeError(f"unknown dtype {dtype!r} (expected one of {', '.join(DTYPES)})") from None


def numel(shape: Sequence[int]) -> int:
    return math.prod(shape)


# ---------------------------------------------------------------------------
# Broadcasting
# ---------------------------------------------------------------------------
def broadcast_shapes(*shapes: Sequence[int]) -> Shape:
    """NumPy broadcasting: align from the right; sizes must match or one must be 1.

    Raises :class:`ShapeError` naming every input shape and the first
    offending axis (counted from the right, as a negative index).
    """
    for s in shapes:
        if any((not isinstance(d, int)) or isinstance(d, bool) or d < 0 for d in s):
            raise ShapeError(f"invalid shape {format_shape(s)}: dimensions must be non-negative integers")
    rank = max((len(s) for s in shapes), default=0)
    out: list[int] = []
    for axis in range(-1, -rank - 1, -1):
        sizes = [s[axis] for s in shapes if len(s) >= -axis]
        distinct = sorted(set(sizes) - {1})
        if len(distinct) > 1:
            listed = " and ".join(format_shape(s) for s in shapes)
            raise ShapeError(
                f"cannot broadcast shapes {listed}: axis {axis} has sizes "
                f"{' and '.join(str(d) for d in distinct)} (sizes must match or one must be 1)"
            )
        out.append(distinct[0] if distinct else 1)
    return tuple(reversed(out))


def broadcast_axes(from_shape: Sequence[int], to_shape: Sequence[int]) -> tuple[int, ...]:
    """Axes of ``to_shape`` that broadcasting ``from_shape`` expanded (to sum over for gradients)."""
    lead = len(to_shape) - len(from_shape)
    axes = list(range(lead))
    axes += [lead + i for i, d in enumerate(from_shape) if d == 1 and to_shape[lead + i] != 1]
    return tuple(axes)


def normalize_axis(axis: int, rank: int, what: str, shape: Sequence[int]) -> int:
    if rank == 0 or not -rank <= axis < rank:
        raise ShapeError(f"{what}: axis {axis} is out of range for shape {format_shape(shape)}")
    return axis % rank


# ---------------------------------------------------------------------------
# Attributes
# ---------------------------------------------------------------------------
_REQUIRED = object()


@dataclass(frozen=True)
class Attr:
    """One attribute: ``kind`` is int, float, str, bool, ints, floats, scalars, or dtype."""

    name: str
    kind: str
    default: object = _REQUIRED
    choices: tuple[object, ...] = ()

    @property
    def required(self) -> bool:
        """True when a node must give the attribute (it has no default)."""
        return self.default is _REQUIRED

    def coerce(self, op: str, value: object) -> object:
        where = f"{op}: attribute {self.name!r}"
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise AttrError(f"{where} must be an int, got {value!r}")
            value = int(value)
        elif self.kind == "float":
            if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                raise AttrError(f"{where} must be a number, got {value!r}")
            value = float(value)
            if not math.isfinite(value):
                raise AttrError(f"{where} must be finite, got {value!r}")
        elif self.kind == "bool":
            if not isinstance(value, bool):
                raise AttrError(f"{where} must be a bool, got {value!r}")
        elif self.kind == "str":
            if not isinstance(value, str):
                raise AttrError(f"{where} must be a string, got {value!r}")
        elif self.kind == "dtype":
            if value not in DTYPES:
                raise AttrError(f"{where} must be one of {', '.join(DTYPES)}, got {value!r}")
        elif self.kind == "ints":
            if not isinstance(value, tuple | list) or any(
                isinstance(v, bool) or not isinstance(v, int | np.integer) for v in value
            ):
                raise AttrError(f"{where} must be a sequence of ints, got {value!r}")
            value = tuple(int(v) for v in value)
        elif self.kind == "scalars":
            if not isinstance(value, tuple | list) or any(
                not isinstance(v, int | float | bool | np.number) for v in value
            ):
                raise AttrError(f"{where} must be a sequence of numbers, got {value!r}")
            value = tuple(v.item() if isinstance(v, np.generic) else v for v in value)
        else:  # pragma: no cover - schema bug
            raise AssertionError(self.kind)
        if self.choices and value not in self.choices:
            raise AttrError(f"{where} must be one of {', '.join(map(str, self.choices))}, got {value!r}")
        return value


# ---------------------------------------------------------------------------
# Op definitions
# ---------------------------------------------------------------------------
class GradContext(Protocol):
    """What a gradient rule may do: read forward values and add backward nodes."""

    def x(self, i: int) -> int: ...  # forward input i, as a value of the backward graph
    def y(self) -> int: ...  # the forward node's own output
    def op(self, name: str, /, *inputs: int, **attrs: object) -> int: ...
    def const(self, value: float, dtype: str) -> int: ...
    def unbroadcast(self, grad: int, shape: Shape) -> int: ...
    def type_of(self, value: int) -> TensorType: ...


class GradNode(Protocol):
    """What a gradient rule may read of the forward node.

    :class:`volta_core.ir.graph.Node` is the one implementation; naming only
    these members here keeps the registry free of imports from the graph
    module, which builds on it.
    """

    @property
    def inputs(self) -> tuple[int, ...]: ...
    @property
    def shape(self) -> tuple[int, ...]: ...
    @property
    def dtype(self) -> str: ...
    @property
    def attr_dict(self) -> dict[str, Any]: ...
    def attr(self, name: str) -> Any: ...


ShapeRule = Callable[[Sequence[TensorType], AttrMap], TensorType]
GradRule = Callable[[GradContext, GradNode, int], Sequence[int | None]]
KernelFactory = Callable[..., Any]


@dataclass(frozen=True)
class OpDef:
    name: str
    arity: int
    attrs: tuple[Attr, ...]
    shape_rule: ShapeRule
    grad: GradRule | None = None  # None: no gradient flows through (integer/boolean results)
    source: bool = False  # input/parameter/constant: values supplied, no kernel
    max_arity: int | None = None  # None: exactly ``arity`` inputs; VARIADIC: ``arity`` or more
    doc: str = ""  # one line for the generated op table (docs/ir.md); every row sets it

    def accepts_arity(self, count: int) -> bool:
        top = self.arity if self.max_arity is None else self.max_arity
        return self.arity <= count <= top

    def arity_text(self) -> str:
        if self.max_arity is None:
            return str(self.arity)
        if self.max_arity == VARIADIC:
            return f"{self.arity}+"
        return f"{self.arity}-{self.max_arity}"

    def normalize_attrs(self, attrs: AttrMap) -> tuple[tuple[str, object], ...]:
        known = {a.name: a for a in self.attrs}
        unknown = sorted(set(attrs) - set(known))
        if unknown:
            raise AttrError(f"{self.name}: unknown attribute(s) {', '.join(unknown)}")
        out: list[tuple[str, object]] = []
        for a in self.attrs:
            if a.name in attrs:
                out.append((a.name, a.coerce(self.name, attrs[a.name])))
            elif a.required:
                raise AttrError(f"{self.name}: missing required attribute {a.name!r}")
            else:
                out.append((a.name, a.default))
        return tuple(sorted(out))

    def infer(self, inputs: Sequence[TensorType], attrs: tuple[tuple[str, object], ...]) -> TensorType:
        if not self.accepts_arity(len(inputs)):
            raise IRError(f"{self.name} takes {self.arity_text()} input(s), got {len(inputs)}")
        shape, dtype = self.shape_rule(inputs, dict(attrs))
        return tuple(int(d) for d in shape), dtype


VARIADIC = 1 << 30

_REGISTRY: dict[str, OpDef] = {}
_KERNELS: dict[str, dict[str, KernelFactory]] = {}


def _define(opdef: OpDef) -> None:
    if opdef.name in _REGISTRY:  # pragma: no cover - registry bug
        raise AssertionError(f"op {opdef.name} declared twice")
    _REGISTRY[opdef.name] = opdef


def get_op(name: str) -> OpDef:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise IRError(f"unknown op {name!r}") from None


def all_ops() -> tuple[OpDef, ...]:
    return tuple(_REGISTRY[k] for k in sorted(_REGISTRY))


def register_kernels(backend: str, table: Mapping[str, KernelFactory]) -> None:
    """Attach a backend's kernel factories (called by the backend package on import)."""
    for name in table:
        get_op(name)
    _KERNELS.setdefault(backend, {}).update(table)


def kernel_factory(backend: str, op: str) -> KernelFactory:
    try:
        return _KERNELS[backend][op]
    except KeyError:
        raise IRError(f"backend {backend!r} has no kernel for op {op!r} (is the backend imported?)") from None


def missing_kernels(backend: str) -> list[str]:
    table = _KERNELS.get(backend, {})
    return [op.name for op in all_ops() if not op.source and op.name not in table]


# ---------------------------------------------------------------------------
# Shape-rule helpers
# ---------------------------------------------------------------------------
def _need_float(op: str, dtype: str) -> None:
    if dtype not in FLOAT_DTYPES:
        raise DTypeError(f"{op} needs a floating-point input, got {dtype}")


def _same_dtype(op: str, types: Sequence[TensorType]) -> str:
    dtypes = [t[1] for t in types]
    if len(set(dtypes)) != 1:
        raise DTypeError(f"{op}: inputs must have the same dtype, got {' and '.join(dtypes)}")
    return dtypes[0]


def _elementwise_binary(op: str, floats_only: bool) -> ShapeRule:
    def rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
        dtype = _same_dtype(op, ts)
        if dtype == "bool" or (floats_only and dtype not in FLOAT_DTYPES):
            raise DTypeError(f"{op} does not support {dtype} inputs")
        try:
            shape = broadcast_shapes(ts[0][0], ts[1][0])
        except ShapeError as e:
            raise ShapeError(f"{op}: {e}") from None
        return shape, dtype

    return rule


def _unary(op: str, floats_only: bool = True) -> ShapeRule:
    def rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
        shape, dtype = ts[0]
        if floats_only:
            _need_float(op, dtype)
        elif dtype == "bool":
            raise DTypeError(f"{op} does not support bool inputs")
        return shape, dtype

    return rule


def _source_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    shape = attrs["shape"]
    if any(d < 0 for d in shape):
        raise ShapeError(f"invalid shape {format_shape(shape)}: dimensions must be non-negative")
    return shape, attrs["dtype"]


def _constant_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    shape, dtype = _source_rule(ts, attrs)
    if len(attrs["value"]) != numel(shape):
        raise ShapeError(f"constant: {len(attrs['value'])} values do not fill shape {format_shape(shape)}")
    return shape, dtype


def _reduce_axes(op: str, shape: Shape, axes: Sequence[int]) -> tuple[int, ...]:
    norm = tuple(sorted(normalize_axis(a, len(shape), op, shape) for a in axes))
    if len(set(norm)) != len(norm):
        raise ShapeError(f"{op}: repeated axis in {list(axes)} for shape {format_shape(shape)}")
    return norm


def _reduce_rule(op: str) -> ShapeRule:
    def rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
        shape, dtype = ts[0]
        if dtype == "bool":
            raise DTypeError(f"{op} does not support bool inputs")
        if op == "reduce_mean":
            _need_float(op, dtype)
        axes = _reduce_axes(op, shape, attrs["axes"])
        if op == "reduce_max":
            empty = [a for a in axes if shape[a] == 0]
            if empty:
                raise ShapeError(f"reduce_max over empty axis {empty[0]} of shape {format_shape(shape)}")
        if attrs["keepdims"]:
            return tuple(1 if i in axes else d for i, d in enumerate(shape)), dtype
        return tuple(d for i, d in enumerate(shape) if i not in axes), dtype

    return rule


def reduced_keepdims_shape(shape: Shape, axes: Sequence[int]) -> Shape:
    norm = {a % len(shape) for a in axes} if shape else set()
    return tuple(1 if i in norm else d for i, d in enumerate(shape))


def _matmul_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    (a, _), (b, _) = ts
    dtype = _same_dtype("matmul", ts)
    _need_float("matmul", dtype)
    if len(a) < 2 or len(b) < 2:
        raise ShapeError(f"matmul needs inputs of rank >= 2, got {format_shape(a)} and {format_shape(b)}")
    if a[-1] != b[-2]:
        raise ShapeError(
            f"matmul: inner dimensions differ: {format_shape(a)} @ {format_shape(b)} ({a[-1]} vs {b[-2]})"
        )
    try:
        batch = broadcast_shapes(a[:-2], b[:-2])
    except ShapeError:
        raise ShapeError(f"matmul: batch dimensions of {format_shape(a)} and {format_shape(b)} do not broadcast") from None
    return (*batch, a[-2], b[-1]), dtype


def _transpose_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    shape, dtype = ts[0]
    perm = attrs["perm"]
    if sorted(perm) != list(range(len(shape))):
        raise ShapeError(f"transpose: perm {list(perm)} is not a permutation of the axes of {format_shape(shape)}")
    return tuple(shape[p] for p in perm), dtype


def infer_reshape(shape: Shape, target: Sequence[int]) -> Shape:
    """Resolve one ``-1`` in ``target``; raise ShapeError naming both shapes otherwise."""
    unknown = [i for i, d in enumerate(target) if d == -1]
    if len(unknown) > 1 or any(d < -1 for d in target):
        raise ShapeError(f"reshape {format_shape(shape)} to {format_shape(target)}: at most one -1 and no other negative size")
    total = numel(shape)
    if unknown:
        known = numel([d for d in target if d != -1])
        if known == 0 or total % known:
            raise ShapeError(f"reshape {format_shape(shape)} to {format_shape(target)}: cannot infer -1 ({total} elements)")
        return tuple(total // known if d == -1 else d for d in target)
    if numel(target) != total:
        raise ShapeError(
            f"reshape {format_shape(shape)} to {format_shape(target)}: element counts differ ({total} vs {numel(target)})"
        )
    return tuple(target)


def _reshape_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    return infer_reshape(ts[0][0], attrs["shape"]), ts[0][1]


def _broadcast_to_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    shape, dtype = ts[0]
    target = attrs["shape"]
    try:
        result = broadcast_shapes(shape, target)
    except ShapeError:
        result = None
    if result != tuple(target):
        raise ShapeError(f"broadcast_to: cannot broadcast {format_shape(shape)} to {format_shape(target)}")
    return tuple(target), dtype


def _axis_rule(op: str) -> ShapeRule:
    def rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
        shape, dtype = ts[0]
        _need_float(op, dtype)
        normalize_axis(attrs["axis"], len(shape), op, shape)
        return shape, dtype

    return rule


def _where_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    (c, cd), (a, _), (b, _) = ts
    if cd != "bool":
        raise DTypeError(f"where: condition must be bool, got {cd}")
    dtype = _same_dtype("where", ts[1:])
    try:
        return broadcast_shapes(c, a, b), dtype
    except ShapeError as e:
        raise ShapeError(f"where: {e}") from None


def _compare_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    _same_dtype("compare", ts)
    try:
        return broadcast_shapes(ts[0][0], ts[1][0]), "bool"
    except ShapeError as e:
        raise ShapeError(f"compare: {e}") from None


def _cast_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    return ts[0][0], attrs["dtype"]


def _one_hot_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    shape, dtype = ts[0]
    if dtype not in INT_DTYPES:
        raise DTypeError(f"one_hot needs integer indices, got {dtype}")
    if attrs["depth"] < 1:
        raise AttrError(f"one_hot: depth must be >= 1, got {attrs['depth']}")
    return (*shape, attrs["depth"]), attrs["dtype"]


def _sce_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    (logits, ld), (targets, td) = ts
    _need_float("softmax_cross_entropy", ld)
    if td not in INT_DTYPES:
        raise DTypeError(f"softmax_cross_entropy: targets must be integers, got {td}")
    if len(logits) != 2 or len(targets) != 1 or logits[0] != targets[0]:
        raise ShapeError(
            f"softmax_cross_entropy needs logits [N,C] and targets [N], got {format_shape(logits)} and {format_shape(targets)}"
        )
    return (), ld


def _mse_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    dtype = _same_dtype("mse", ts)
    _need_float("mse", dtype)
    if ts[0][0] != ts[1][0]:
        raise ShapeError(f"mse needs equal shapes, got {format_shape(ts[0][0])} and {format_shape(ts[1][0])}")
    return (), dtype


# ---------------------------------------------------------------------------
# Gradient rules (each builds backward nodes out of other registered ops)
# ---------------------------------------------------------------------------
def _shape(c: GradContext, v: int) -> Shape:
    return c.type_of(v)[0]


def _g_add(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    return c.unbroadcast(g, _shape(c, c.x(0))), c.unbroadcast(g, _shape(c, c.x(1)))


def _g_sub(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    return c.unbroadcast(g, _shape(c, c.x(0))), c.unbroadcast(c.op("neg", g), _shape(c, c.x(1)))


def _g_mul(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    a, b = c.x(0), c.x(1)
    return (
        c.unbroadcast(c.op("mul", g, b), _shape(c, a)),
        c.unbroadcast(c.op("mul", g, a), _shape(c, b)),
    )


def _g_div(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    a, b = c.x(0), c.x(1)
    ga = c.op("div", g, b)
    gb = c.op("neg", c.op("div", c.op("mul", g, c.y()), b))
    return c.unbroadcast(ga, _shape(c, a)), c.unbroadcast(gb, _shape(c, b))


def _g_neg(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    return (c.op("neg", g),)


def _g_pow(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    p = n.attr("exponent")
    d = c.op("mul", c.op("pow", c.x(0), exponent=p - 1.0), c.const(p, n.dtype))
    return (c.op("mul", g, d),)


def _g_sqrt(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    return (c.op("div", g, c.op("mul", c.y(), c.const(2.0, n.dtype))),)


def _g_exp(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    return (c.op("mul", g, c.y()),)


def _g_log(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    return (c.op("div", g, c.x(0)),)


def _g_abs(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    return (c.op("mul", g, c.op("sign", c.x(0))),)


def _g_erf(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    x = c.x(0)
    e = c.op("exp", c.op("neg", c.op("mul", x, x)))
    return (c.op("mul", g, c.op("mul", e, c.const(2.0 / math.sqrt(math.pi), n.dtype))),)


def _swap_last(c: GradContext, v: int) -> int:
    rank = len(_shape(c, v))
    perm = (*range(rank - 2), rank - 1, rank - 2)
    return c.op("transpose", v, perm=perm)


def _g_matmul(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    a, b = c.x(0), c.x(1)
    ga = c.op("matmul", g, _swap_last(c, b))
    gb = c.op("matmul", _swap_last(c, a), g)
    return c.unbroadcast(ga, _shape(c, a)), c.unbroadcast(gb, _shape(c, b))


def _g_transpose(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    perm = n.attr("perm")
    inverse = tuple(sorted(range(len(perm)), key=lambda i: perm[i]))
    return (c.op("transpose", g, perm=inverse),)


def _g_reshape(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    return (c.op("reshape", g, shape=_shape(c, c.x(0))),)


def _g_broadcast_to(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    return (c.unbroadcast(g, _shape(c, c.x(0))),)


def _expand_reduced(c: GradContext, n: GradNode, g: int) -> int:
    """Bring a reduction's output gradient back to the input's shape."""
    xshape = _shape(c, c.x(0))
    kept = reduced_keepdims_shape(xshape, n.attr("axes"))
    if not n.attr("keepdims"):
        g = c.op("reshape", g, shape=kept)
    return c.op("broadcast_to", g, shape=xshape)


def _g_reduce_sum(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    return (_expand_reduced(c, n, g),)


def _g_reduce_mean(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    xshape = _shape(c, c.x(0))
    count = numel([xshape[a] for a in n.attr("axes")])
    return (c.op("mul", _expand_reduced(c, n, g), c.const(1.0 / max(count, 1), n.dtype)),)


def _g_reduce_max(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    # Ties share the gradient equally (like torch.amax).
    x = c.x(0)
    kept = reduced_keepdims_shape(_shape(c, x), n.attr("axes"))
    y = c.y() if n.attr("keepdims") else c.op("reshape", c.y(), shape=kept)
    mask = c.op("cast", c.op("compare", x, y, cmp="eq"), dtype=n.dtype)
    ties = c.op("reduce_sum", mask, axes=n.attr("axes"), keepdims=True)
    return (c.op("mul", _expand_reduced(c, n, g), c.op("div", mask, ties)),)


def _g_relu(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    positive = c.op("compare", c.x(0), c.const(0.0, n.dtype), cmp="gt")
    return (c.op("where", positive, g, c.const(0.0, n.dtype)),)


def _g_leaky_relu(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    positive = c.op("compare", c.x(0), c.const(0.0, n.dtype), cmp="gt")
    return (c.op("where", positive, g, c.op("mul", g, c.const(n.attr("alpha"), n.dtype))),)


def _one_minus(c: GradContext, v: int, dtype: str) -> int:
    return c.op("sub", c.const(1.0, dtype), v)


def _g_sigmoid(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    y = c.y()
    return (c.op("mul", g, c.op("mul", y, _one_minus(c, y, n.dtype))),)


def _g_tanh(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    y = c.y()
    return (c.op("mul", g, _one_minus(c, c.op("mul", y, y), n.dtype)),)


_GELU_K = math.sqrt(2.0 / math.pi)
_GELU_C = 0.044715


def _g_gelu(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    x, dt = c.x(0), n.dtype

    def k(v: float) -> int:
        return c.const(v, dt)

    half = k(0.5)
    if n.attr("approximate") == "tanh":
        x2 = c.op("mul", x, x)
        inner = c.op("mul", k(_GELU_K), c.op("add", x, c.op("mul", k(_GELU_C), c.op("mul", x2, x))))
        t = c.op("tanh", inner)
        d_inner = c.op("mul", k(_GELU_K), c.op("add", k(1.0), c.op("mul", k(3 * _GELU_C), x2)))
        sech2 = _one_minus(c, c.op("mul", t, t), dt)
        d = c.op("add", c.op("mul", half, c.op("add", k(1.0), t)),
                 c.op("mul", c.op("mul", half, x), c.op("mul", sech2, d_inner)))
    else:
        cdf = c.op("mul", half, c.op("add", k(1.0), c.op("erf", c.op("mul", x, k(1 / math.sqrt(2.0))))))
        pdf = c.op("mul", c.op("exp", c.op("mul", c.op("mul", x, x), k(-0.5))), k(1 / math.sqrt(2 * math.pi)))
        d = c.op("add", cdf, c.op("mul", x, pdf))
    return (c.op("mul", g, d),)


def _g_silu(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    x = c.x(0)
    s = c.op("sigmoid", x)
    d = c.op("mul", s, c.op("add", c.const(1.0, n.dtype), c.op("mul", x, _one_minus(c, s, n.dtype))))
    return (c.op("mul", g, d),)


def _g_softmax(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    y = c.y()
    dot = c.op("reduce_sum", c.op("mul", g, y), axes=(n.attr("axis"),), keepdims=True)
    return (c.op("mul", y, c.op("sub", g, dot)),)


def _g_log_softmax(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    total = c.op("reduce_sum", g, axes=(n.attr("axis"),), keepdims=True)
    return (c.op("sub", g, c.op("mul", c.op("exp", c.y()), total)),)


def _g_where(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    cond = c.x(0)
    zero = c.const(0.0, n.dtype)
    ga = c.op("where", cond, g, zero)
    gb = c.op("where", cond, zero, g)
    return None, c.unbroadcast(ga, _shape(c, c.x(1))), c.unbroadcast(gb, _shape(c, c.x(2)))


def _g_cast(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    src = c.type_of(c.x(0))[1]
    if src not in FLOAT_DTYPES or n.dtype not in FLOAT_DTYPES:
        return (None,)
    return (c.op("cast", g, dtype=src),)


def _g_sce(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    logits, targets = c.x(0), c.x(1)
    count, classes = _shape(c, logits)
    p = c.op("softmax", logits, axis=1)
    onehot = c.op("one_hot", targets, depth=classes, dtype=n.dtype)
    scale = c.op("mul", g, c.const(1.0 / max(count, 1), n.dtype))
    return c.op("mul", c.op("sub", p, onehot), scale), None


def _g_mse(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    a, b = c.x(0), c.x(1)
    count = numel(_shape(c, a))
    scale = c.op("mul", g, c.const(2.0 / max(count, 1), n.dtype))
    ga = c.op("mul", c.op("sub", a, b), scale)
    return ga, c.op("neg", ga)


# ---------------------------------------------------------------------------
# Shape and gradient rules of the structural / layer ops
# ---------------------------------------------------------------------------
def slice_ranges(shape: Shape, attrs: AttrMap) -> dict[int, range]:
    """Per sliced axis, the ``range`` of source indices (Python slice semantics, clamped).

    ``starts``/``ends``/``steps`` may be negative (counted from the end, as in
    Python); ends beyond the axis clamp, so ``ends=-(2**62)`` with a negative
    step runs to index 0. ``axes`` defaults to ``0..len(starts)-1`` and
    ``steps`` to ones.
    """
    starts, ends = attrs["starts"], attrs["ends"]
    axes = attrs["axes"] or tuple(range(len(starts)))
    steps = attrs["steps"] or (1,) * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise AttrError(
            f"slice: starts, ends, axes and steps need equal lengths, got {len(starts)}, {len(ends)}, "
            f"{len(axes)} and {len(steps)}"
        )
    if any(s == 0 for s in steps):
        raise AttrError("slice: steps must be non-zero")
    norm = [normalize_axis(a, len(shape), "slice", shape) for a in axes]
    if len(set(norm)) != len(norm):
        raise ShapeError(f"slice: repeated axis in {list(axes)} for shape {format_shape(shape)}")
    return {
        a: range(*slice(s, e, st).indices(shape[a]))
        for a, s, e, st in zip(norm, starts, ends, steps, strict=True)
    }


def slice_key(shape: Shape, attrs: AttrMap) -> tuple[slice, ...]:
    """The NumPy index that performs the slice (used by kernels and tests)."""
    ranges = slice_ranges(shape, attrs)
    key: list[slice] = []
    for axis in range(len(shape)):
        r = ranges.get(axis)
        if r is None or len(r) == 0:
            key.append(slice(None) if r is None else slice(0, 0))
        else:
            stop = r.stop if r.stop >= 0 else None
            key.append(slice(r.start, stop, r.step))
    return tuple(key)


def _sliced_shape(shape: Shape, attrs: AttrMap) -> Shape:
    ranges = slice_ranges(shape, attrs)
    return tuple(len(ranges[a]) if a in ranges else d for a, d in enumerate(shape))


def _slice_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    shape, dtype = ts[0]
    return _sliced_shape(shape, attrs), dtype


def _slice_scatter_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    gshape, dtype = ts[0]
    target = tuple(attrs["shape"])
    if any(d < 0 for d in target):
        raise ShapeError(f"slice_scatter: invalid shape {format_shape(target)}")
    expect = _sliced_shape(target, attrs)
    if gshape != expect:
        raise ShapeError(f"slice_scatter: source {format_shape(gshape)} does not fit slice {format_shape(expect)} of {format_shape(target)}")
    return target, dtype


def _concat_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    dtype = _same_dtype("concat", ts)
    first = ts[0][0]
    axis = normalize_axis(attrs["axis"], len(first), "concat", first)
    for shape, _ in ts[1:]:
        if len(shape) != len(first) or any(d != e for i, (d, e) in enumerate(zip(shape, first, strict=True)) if i != axis):
            listed = " and ".join(format_shape(s) for s, _ in ts)
            raise ShapeError(f"concat along axis {attrs['axis']}: shapes {listed} differ off that axis")
    return tuple(sum(s[axis] for s, _ in ts) if i == axis else d for i, d in enumerate(first)), dtype


def _need_int(op: str, what: str, dtype: str) -> None:
    if dtype not in INT_DTYPES:
        raise DTypeError(f"{op}: {what} must be integers, got {dtype}")


def _gather_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    (shape, dtype), (ishape, idt) = ts
    _need_int("gather", "indices", idt)
    axis = normalize_axis(attrs["axis"], len(shape), "gather", shape)
    if shape[axis] == 0 and numel(ishape):
        raise ShapeError(f"gather: cannot index empty axis {axis} of {format_shape(shape)}")
    return (*shape[:axis], *ishape, *shape[axis + 1:]), dtype


def _scatter_add_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    (gshape, dtype), (ishape, idt) = ts
    _need_int("scatter_add", "indices", idt)
    target = tuple(attrs["shape"])
    axis = normalize_axis(attrs["axis"], len(target), "scatter_add", target)
    expect = (*target[:axis], *ishape, *target[axis + 1:])
    if gshape != expect:
        raise ShapeError(
            f"scatter_add: updates {format_shape(gshape)} do not match indices {format_shape(ishape)} into {format_shape(target)} "
            f"(expected {format_shape(expect)})"
        )
    return target, dtype


def _embedding_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    (table, dtype), (ishape, idt) = ts
    _need_float("embedding", dtype)
    _need_int("embedding", "ids", idt)
    if len(table) != 2:
        raise ShapeError(f"embedding needs a table [V,D], got {format_shape(table)}")
    return (*ishape, table[1]), dtype


def _squeeze_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    shape, dtype = ts[0]
    axes = attrs["axes"]
    if not axes:
        return tuple(d for d in shape if d != 1), dtype
    norm = _reduce_axes("squeeze", shape, axes)
    bad = [a for a in norm if shape[a] != 1]
    if bad:
        raise ShapeError(f"squeeze: axis {bad[0]} of {format_shape(shape)} has size {shape[bad[0]]}, not 1")
    return tuple(d for i, d in enumerate(shape) if i not in norm), dtype


def _unsqueeze_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    shape, dtype = ts[0]
    rank = len(shape) + len(attrs["axes"])
    if not attrs["axes"]:
        raise AttrError("unsqueeze: axes must not be empty")
    probe = (1,) * rank
    norm = _reduce_axes("unsqueeze", probe, attrs["axes"])
    rest = iter(shape)
    return tuple(1 if i in norm else next(rest) for i in range(rank)), dtype


def _layernorm_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    dtype = _same_dtype("layernorm", ts)
    _need_float("layernorm", dtype)
    (x, _), (s, _), (b, _) = ts
    if not x or s != (x[-1],) or b != (x[-1],):
        raise ShapeError(
            f"layernorm normalises the last axis: needs scale and shift [{x[-1] if x else '?'}], "
            f"got x {format_shape(x)}, scale {format_shape(s)}, shift {format_shape(b)}"
        )
    if attrs["eps"] <= 0:
        raise AttrError(f"layernorm: eps must be > 0, got {attrs['eps']}")
    return x, dtype


def _dropout_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    shape, dtype = ts[0]
    _need_float("dropout", dtype)
    if not 0.0 <= attrs["p"] < 1.0:
        raise AttrError(f"dropout: p must be in [0, 1), got {attrs['p']}")
    if attrs["seed"] < 0:
        raise AttrError(f"dropout: seed must be >= 0, got {attrs['seed']}")
    if len(ts) == 2:
        sshape, sdt = ts[1]
        _need_int("dropout", "the seed input", sdt)
        if sshape != ():
            raise ShapeError(f"dropout: the seed input must be a scalar [], got {format_shape(sshape)}")
    return shape, dtype


def dropout_mask(shape: Shape, p: float, seed: int, step: int | None = None) -> np.ndarray:
    """The keep-mask (bool) of ``dropout``: a pure function of shape, p, seed and the optional seed input.

    Uses its own ``numpy.random.Generator`` (PCG64) seeded with ``[seed]`` or
    ``[seed, step mod 2**64]``; the global RNG is never touched, so every
    backend and every run reproduces the same mask.
    """
    key = [seed] if step is None else [seed, int(step) % (1 << 64)]
    return np.random.default_rng(key).random(shape) >= p


def _gemm_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    dtype = _same_dtype("gemm", ts)
    _need_float("gemm", dtype)
    a, b = ts[0][0], ts[1][0]
    if len(a) != 2 or len(b) != 2:
        raise ShapeError(f"gemm needs 2-D A and B, got {format_shape(a)} and {format_shape(b)}")
    m, k = (a[1], a[0]) if attrs["transA"] else a
    k2, n = (b[1], b[0]) if attrs["transB"] else b
    if k != k2:
        raise ShapeError(
            f"gemm: inner dimensions differ: op(A) is [{m},{k}], op(B) is [{k2},{n}] "
            f"(A {format_shape(a)}, B {format_shape(b)}, transA={attrs['transA']}, transB={attrs['transB']})"
        )
    if len(ts) == 3:
        c = ts[2][0]
        try:
            out = broadcast_shapes(c, (m, n))
        except ShapeError:
            out = None
        if out != (m, n):
            raise ShapeError(f"gemm: C {format_shape(c)} does not broadcast to the result [{m},{n}]")
    return (m, n), dtype


_FUSABLE_UNARY = ("neg", "exp", "log", "sqrt", "abs", "tanh", "relu", "sigmoid", "pow")
_FUSABLE_BINARY = ("add", "sub", "mul", "div")
FUSABLE = (*_FUSABLE_UNARY, *_FUSABLE_BINARY)


def parse_program(program: str, n_inputs: int) -> list[tuple[str, float | None, tuple[int, ...]]]:
    """Decode a ``fused_elementwise`` program: ``op[param]:arg,arg;...``.

    An argument ``$k`` is fused input k, ``@`` the running value (the previous
    step's result, kept in the output buffer). Returns ``(op, param, args)``
    per step with ``-1`` standing for ``@``.
    """
    steps: list[tuple[str, float | None, tuple[int, ...]]] = []
    if not program:
        raise AttrError("fused_elementwise: empty program")
    for k, text in enumerate(program.split(";")):
        head, _, argtext = text.partition(":")
        name, _, param_text = head.partition("[")
        param = float(param_text.rstrip("]")) if param_text else None
        if name not in FUSABLE or (param is None) != (name != "pow"):
            raise AttrError(f"fused_elementwise: bad step {text!r}")
        args: list[int] = []
        for a in argtext.split(","):
            if a == "@" and k > 0:
                args.append(-1)
            elif a.startswith("$") and a[1:].isdigit() and int(a[1:]) < n_inputs:
                args.append(int(a[1:]))
            else:
                raise AttrError(f"fused_elementwise: bad argument {a!r} in step {text!r}")
        if len(args) != (2 if name in _FUSABLE_BINARY else 1):
            raise AttrError(f"fused_elementwise: wrong argument count in step {text!r}")
        steps.append((name, param, tuple(args)))
    return steps


def _fused_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    dtype = _same_dtype("fused_elementwise", ts)
    parse_program(attrs["program"], len(ts))
    try:
        return broadcast_shapes(*(s for s, _ in ts)), dtype
    except ShapeError as e:
        raise ShapeError(f"fused_elementwise: {e}") from None


def _g_concat(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    axis = n.attr("axis") % len(n.shape)
    out: list[int | None] = []
    start = 0
    for i in range(len(n.inputs)):
        size = _shape(c, c.x(i))[axis]
        out.append(c.op("slice", g, starts=(start,), ends=(start + size,), axes=(axis,)))
        start += size
    return out


def _slice_attrs(n: GradNode) -> dict[str, object]:
    return {k: n.attr(k) for k in ("starts", "ends", "axes", "steps")}


def _g_slice(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    return (c.op("slice_scatter", g, shape=_shape(c, c.x(0)), **_slice_attrs(n)),)


def _g_slice_scatter(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    return (c.op("slice", g, **_slice_attrs(n)),)


def _g_gather(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    return c.op("scatter_add", g, c.x(1), axis=n.attr("axis"), shape=_shape(c, c.x(0))), None


def _g_scatter_add(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    return c.op("gather", g, c.x(1), axis=n.attr("axis")), None


def _g_embedding(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    return c.op("scatter_add", g, c.x(1), axis=0, shape=_shape(c, c.x(0))), None


def _g_reshape_like(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    return (c.op("reshape", g, shape=_shape(c, c.x(0))),)


def _g_layernorm(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    x, scale, dt = c.x(0), c.x(1), n.dtype
    last = (len(n.shape) - 1,)
    d = n.shape[-1]
    xc = c.op("sub", x, c.op("reduce_mean", x, axes=last, keepdims=True))
    var = c.op("reduce_mean", c.op("mul", xc, xc), axes=last, keepdims=True)
    inv = c.op("div", c.const(1.0, dt), c.op("sqrt", c.op("add", var, c.const(n.attr("eps"), dt))))
    xhat = c.op("mul", xc, inv)
    gxhat = c.op("mul", g, scale)
    m1 = c.op("reduce_mean", gxhat, axes=last, keepdims=True)
    m2 = c.op("reduce_mean", c.op("mul", gxhat, xhat), axes=last, keepdims=True)
    gx = c.op("mul", inv, c.op("sub", c.op("sub", gxhat, m1), c.op("mul", xhat, m2)))
    return gx, c.unbroadcast(c.op("mul", g, xhat), (d,)), c.unbroadcast(g, (d,))


def _g_dropout(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    # dropout is linear in x with a mask fixed by (shape, p, seed, seed input): dx = dropout(g).
    seed = tuple(c.x(1) for _ in n.inputs[1:])
    return (c.op("dropout", g, *seed, **n.attr_dict), *(None for _ in seed))


def _g_gemm(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    a, b, dt = c.x(0), c.x(1), n.dtype
    alpha, beta, ta, tb = n.attr("alpha"), n.attr("beta"), n.attr("transA"), n.attr("transB")

    def t(v: int) -> int:
        return c.op("transpose", v, perm=(1, 0))

    def scaled(v: int, k: float) -> int:
        return v if k == 1.0 else c.op("mul", v, c.const(k, dt))

    ap = t(a) if ta else a
    bp = t(b) if tb else b
    ga = c.op("matmul", bp, t(g)) if ta else c.op("matmul", g, t(bp))
    gb = c.op("matmul", t(g), ap) if tb else c.op("matmul", t(ap), g)
    out: list[int | None] = [scaled(ga, alpha), scaled(gb, alpha)]
    if len(n.inputs) == 3:
        out.append(c.unbroadcast(scaled(g, beta), _shape(c, c.x(2))))
    return out


def _g_fused(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    raise IRError("fused_elementwise has no gradient rule: run fusion after autograd")


# ---------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------
_SOURCE_ATTRS = (Attr("shape", "ints"), Attr("dtype", "dtype"))
_REDUCE_ATTRS = (Attr("axes", "ints"), Attr("keepdims", "bool", False))
_SLICE_ATTRS = (Attr("starts", "ints"), Attr("ends", "ints"), Attr("axes", "ints", ()), Attr("steps", "ints", ()))

for _op in (
    OpDef("input", 0, (Attr("name", "str"), *_SOURCE_ATTRS), _source_rule, source=True,
          doc="graph input, fed per run"),
    OpDef("parameter", 0, (Attr("name", "str"), *_SOURCE_ATTRS), _source_rule, source=True,
          doc="trainable tensor, fed per run"),
    OpDef("constant", 0, (Attr("value", "scalars"), *_SOURCE_ATTRS), _constant_rule, source=True,
          doc="literal tensor held in the graph"),
    OpDef("add", 2, (), _elementwise_binary("add", False), _g_add, doc="a + b (broadcasting)"),
    OpDef("sub", 2, (), _elementwise_binary("sub", False), _g_sub, doc="a - b (broadcasting)"),
    OpDef("mul", 2, (), _elementwise_binary("mul", False), _g_mul, doc="a * b (broadcasting)"),
    OpDef("div", 2, (), _elementwise_binary("div", True), _g_div, doc="a / b (broadcasting, floats)"),
    OpDef("neg", 1, (), _unary("neg", floats_only=False), _g_neg, doc="-x"),
    OpDef("pow", 1, (Attr("exponent", "float"),), _unary("pow"), _g_pow, doc="x ** exponent"),
    OpDef("sqrt", 1, (), _unary("sqrt"), _g_sqrt, doc="square root"),
    OpDef("exp", 1, (), _unary("exp"), _g_exp, doc="e ** x"),
    OpDef("log", 1, (), _unary("log"), _g_log, doc="natural logarithm"),
    OpDef("abs", 1, (), _unary("abs", floats_only=False), _g_abs, doc="|x|"),
    OpDef("sign", 1, (), _unary("sign", floats_only=False), doc="-1, 0 or 1 (no gradient)"),
    OpDef("erf", 1, (), _unary("erf"), _g_erf, doc="error function"),
    OpDef("matmul", 2, (), _matmul_rule, _g_matmul, doc="batched [..,M,K] @ [..,K,N], batch axes broadcast"),
    OpDef("transpose", 1, (Attr("perm", "ints"),), _transpose_rule, _g_transpose, doc="permute axes by perm"),
    OpDef("reshape", 1, (Attr("shape", "ints"),), _reshape_rule, _g_reshape,
          doc="same elements, new shape (one -1 inferred)"),
    OpDef("broadcast_to", 1, (Attr("shape", "ints"),), _broadcast_to_rule, _g_broadcast_to,
          doc="expand size-1/missing axes to shape"),
    OpDef("reduce_sum", 1, _REDUCE_ATTRS, _reduce_rule("reduce_sum"), _g_reduce_sum, doc="sum over axes"),
    OpDef("reduce_mean", 1, _REDUCE_ATTRS, _reduce_rule("reduce_mean"), _g_reduce_mean, doc="mean over axes"),
    OpDef("reduce_max", 1, _REDUCE_ATTRS, _reduce_rule("reduce_max"), _g_reduce_max,
          doc="max over axes (ties share the gradient)"),
    OpDef("relu", 1, (), _unary("relu"), _g_relu, doc="max(x, 0)"),
    OpDef("leaky_relu", 1, (Attr("alpha", "float", 0.01),), _unary("leaky_relu"), _g_leaky_relu,
          doc="x if x > 0 else alpha * x"),
    OpDef("sigmoid", 1, (), _unary("sigmoid"), _g_sigmoid, doc="1 / (1 + e ** -x)"),
    OpDef("tanh", 1, (), _unary("tanh"), _g_tanh, doc="hyperbolic tangent"),
    OpDef("gelu", 1, (Attr("approximate", "str", "none", ("none", "tanh")),), _unary("gelu"), _g_gelu,
          doc="x * Phi(x) (exact or tanh approximation)"),
    OpDef("silu", 1, (), _unary("silu"), _g_silu, doc="x * sigmoid(x)"),
    OpDef("softmax", 1, (Attr("axis", "int", -1),), _axis_rule("softmax"), _g_softmax,
          doc="softmax along axis"),
    OpDef("log_softmax", 1, (Attr("axis", "int", -1),), _axis_rule("log_softmax"), _g_log_softmax,
          doc="log of softmax along axis"),
    OpDef("where", 3, (), _where_rule, _g_where, doc="cond ? a : b (broadcasting)"),
    OpDef("compare", 2, (Attr("cmp", "str", choices=("lt", "gt", "eq")),), _compare_rule,
          doc="a lt/gt/eq b -> bool"),
    OpDef("cast", 1, (Attr("dtype", "dtype"),), _cast_rule, _g_cast, doc="convert dtype"),
    OpDef("one_hot", 1, (Attr("depth", "int"), Attr("dtype", "dtype", "f32")), _one_hot_rule,
          doc="integer ids -> one-hot [..,depth]"),
    OpDef("softmax_cross_entropy", 2, (), _sce_rule, _g_sce,
          doc="mean cross-entropy of logits [N,C] and int targets [N]"),
    OpDef("mse", 2, (), _mse_rule, _g_mse, doc="mean squared error of equal shapes"),
    OpDef("concat", 1, (Attr("axis", "int"),), _concat_rule, _g_concat, max_arity=VARIADIC,
          doc="join inputs along axis"),
    OpDef("slice", 1, _SLICE_ATTRS, _slice_rule, _g_slice,
          doc="x[start:end:step] on axes (negatives count from the end; clamped like Python)"),
    OpDef("slice_scatter", 1, (Attr("shape", "ints"), *_SLICE_ATTRS), _slice_scatter_rule, _g_slice_scatter,
          doc="zeros(shape) with the input written into the slice (gradient of slice)"),
    OpDef("gather", 2, (Attr("axis", "int", 0),), _gather_rule, _g_gather,
          doc="take indices along axis: out = x[.., idx, ..]"),
    OpDef("scatter_add", 2, (Attr("axis", "int", 0), Attr("shape", "ints")), _scatter_add_rule, _g_scatter_add,
          doc="zeros(shape), updates added at indices along axis (np.add.at; gradient of gather)"),
    OpDef("embedding", 2, (), _embedding_rule, _g_embedding,
          doc="rows of table [V,D] at int ids -> [..,D]; gradient scatters with np.add.at"),
    OpDef("squeeze", 1, (Attr("axes", "ints", ()),), _squeeze_rule, _g_reshape_like,
          doc="drop size-1 axes (all when axes is empty)"),
    OpDef("unsqueeze", 1, (Attr("axes", "ints"),), _unsqueeze_rule, _g_reshape_like,
          doc="insert size-1 axes at output positions axes"),
    OpDef("layernorm", 3, (Attr("eps", "float", 1e-5),), _layernorm_rule, _g_layernorm,
          doc="(x - mean) / sqrt(var + eps) * scale + shift over the last axis"),
    OpDef("dropout", 1, (Attr("p", "float"), Attr("seed", "int", 0), Attr("training", "bool", True)),
          _dropout_rule, _g_dropout, max_arity=2,
          doc="x * mask / (1 - p); mask from (seed, optional int seed input); identity if p=0 or not training"),
    OpDef("gemm", 2, (Attr("alpha", "float", 1.0), Attr("beta", "float", 1.0), Attr("transA", "bool", False),
                      Attr("transB", "bool", False)), _gemm_rule, _g_gemm, max_arity=3,
          doc="alpha * op(A) @ op(B) + beta * C, op = optional transpose"),
    OpDef("fused_elementwise", 1, (Attr("program", "str"),), _fused_rule, _g_fused, max_arity=VARIADIC,
          doc="a chain of elementwise ops run in one kernel (made by fusion; no gradient)"),
):
    _define(_op)
