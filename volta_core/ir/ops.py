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
        elif self.kind == "floats":
            if not isinstance(value, tuple | list) or any(
                isinstance(v, bool) or not isinstance(v, int | float | np.number) or not math.isfinite(v) for v in value
            ):
                raise AttrError(f"{where} must be a sequence of finite numbers, got {value!r}")
            value = tuple(float(v) for v in value)
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
# Bytes of transient scratch a kernel may use during its own step, from (input types, attrs, output type,
# backend): backends may organise the same work differently (the CPU convolves a batch in chunks).
WorkspaceRule = Callable[[Sequence[TensorType], AttrMap, TensorType, str], int]
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
    # Scratch bytes the kernels use within the step (im2col columns, padded copies): the memory
    # planner gives them a buffer live only during that step, so large scratch is shared between ops.
    workspace: WorkspaceRule | None = None

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

    def workspace_bytes(self, inputs: Sequence[TensorType], attrs: tuple[tuple[str, object], ...],
                        out: TensorType, backend: str = "cpu") -> int:
        """Scratch bytes the op's kernels on ``backend`` need during their step (0 for most ops):
        what the backend registered for the op (``register_workspaces``), where it answers,
        else the op's own rule."""
        own = _WORKSPACES.get(backend, {}).get(self.name)
        if own is not None and (size := own(inputs, dict(attrs), out, backend)) is not None:
            return int(size)
        return 0 if self.workspace is None else int(self.workspace(inputs, dict(attrs), out, backend))


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


#: backend → op → a workspace rule of the backend's own kernels (None: the op's rule applies)
_WORKSPACES: dict[str, dict[str, Callable[[Sequence[TensorType], AttrMap, TensorType, str], int | None]]] = {}


def register_workspaces(backend: str,
                        table: Mapping[str, Callable[[Sequence[TensorType], AttrMap, TensorType, str], int | None]]) -> None:
    """Attach a backend's own workspace rules, for kernels whose scratch differs from what the
    op declares (the CPU's native convolutions); called by the backend package on import."""
    for name in table:
        get_op(name)
    _WORKSPACES.setdefault(backend, {}).update(table)


#: backend → what names its current choice of kernels (part of every plan's cache key)
_VARIANTS: dict[str, Callable[[], str]] = {}


def register_variant(backend: str, variant: Callable[[], str]) -> None:
    """A backend whose kernels (and so their workspaces) depend on a run-time choice names it
    here; plans compiled under one choice are never reused under another."""
    _VARIANTS[backend] = variant


def backend_variant(backend: str) -> str:
    """The backend's current kernel choice ("" where it has none)."""
    fn = _VARIANTS.get(backend)
    return fn() if fn is not None else ""


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
# Images: convolution, pooling, batch normalisation, padding (NCHW)
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    """A sliding window along one spatial axis: kernel taps, stride, dilation, padding before and after.

    Window ``o`` reads input index ``o * stride - before + t * dilation`` for tap
    ``t``; indices outside ``[0, size)`` are padding. Every conv and pool op and
    both backends take their geometry from here.
    """

    kernel: int
    stride: int
    dilation: int
    before: int
    after: int

    @property
    def extent(self) -> int:
        """Input positions one window spans: ``dilation * (kernel - 1) + 1``."""
        return self.dilation * (self.kernel - 1) + 1

    def out_size(self, size: int, ceil_mode: bool = False) -> int:
        """How many windows fit ``size`` padded (0 when none does). In ceil mode a partial
        last window counts if it starts inside the input or the leading padding
        (PyTorch's rule, which ONNX follows)."""
        span = size + self.before + self.after - self.extent
        if span < 0:
            return 0
        if not ceil_mode:
            return span // self.stride + 1
        out = -(-span // self.stride) + 1
        if (out - 1) * self.stride >= size + self.before:
            out -= 1
        return out

    def taps(self, size_in: int, size_out: int, tap: int) -> tuple[int, int, int]:
        """For kernel tap ``tap``: the windows ``[first, stop)`` whose input index lies
        inside ``[0, size_in)``, and the input index that window ``first`` reads."""
        offset = tap * self.dilation - self.before
        first = max(0, -(offset // self.stride))  # ceil(-offset / stride)
        stop = max(first, min(size_out, (size_in - 1 - offset) // self.stride + 1))
        return first, stop, first * self.stride + offset

    def reach(self, size_out: int) -> int:
        """Input positions (padding included, from ``-before``) that ``size_out`` windows read."""
        return (size_out - 1) * self.stride + self.extent if size_out else 0


def _attr_ints(op: str, attrs: AttrMap, name: str, count: int, minimum: int) -> tuple[int, ...]:
    values = tuple(attrs[name])
    if len(values) != count:
        raise AttrError(f"{op}: {name} needs {count} values, got {list(values)}")
    if any(v < minimum for v in values):
        raise AttrError(f"{op}: every value of {name} must be >= {minimum}, got {list(values)}")
    return values


def windows(op: str, attrs: AttrMap, kernel: Sequence[int]) -> tuple[Window, Window]:
    """The (height, width) windows of a conv/pool op: ``kernel`` taps, ``strides``,
    ``dilations`` (1 when the op has none) and ``pads`` = (top, left, bottom, right)."""
    (kh, kw) = _attr_ints(op, {"kernel": tuple(kernel)}, "kernel", 2, 1)
    sh, sw = _attr_ints(op, attrs, "strides", 2, 1)
    dh, dw = _attr_ints(op, attrs, "dilations", 2, 1) if "dilations" in attrs else (1, 1)
    top, left, bottom, right = _attr_ints(op, attrs, "pads", 4, 0)
    return Window(kh, sh, dh, top, bottom), Window(kw, sw, dw, left, right)


def _image(op: str, what: str, shape: Shape) -> Shape:
    if len(shape) != 4:
        raise ShapeError(f"{op} needs {what} [N, C, H, W], got {format_shape(shape)}")
    return shape


def _spatial_out(op: str, x: Shape, hw: tuple[Window, Window], ceil_mode: bool = False) -> tuple[int, int]:
    wh, ww = hw
    ho, wo = wh.out_size(x[2], ceil_mode), ww.out_size(x[3], ceil_mode)
    if ho < 1 or wo < 1:
        raise ShapeError(
            f"{op}: the {wh.kernel}x{ww.kernel} window (dilated extent {wh.extent}x{ww.extent}) does not fit "
            f"the padded input {x[2] + wh.before + wh.after}x{x[3] + ww.before + ww.after} of x {format_shape(x)}"
        )
    return ho, wo


def _float_images(op: str, ts: Sequence[TensorType]) -> str:
    dtype = _same_dtype(op, ts)
    _need_float(op, dtype)
    return dtype


def _groups(op: str, attrs: AttrMap) -> int:
    if attrs["groups"] < 1:
        raise AttrError(f"{op}: groups must be >= 1, got {attrs['groups']}")
    return int(attrs["groups"])


def _bias(op: str, ts: Sequence[TensorType], out_channels: int, w: Shape) -> None:
    if len(ts) == 3 and ts[2][0] != (out_channels,):
        raise ShapeError(f"{op}: bias must be [{out_channels}] for weight {format_shape(w)}, got {format_shape(ts[2][0])}")


def _conv2d_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    dtype = _float_images("conv2d", ts)
    x = _image("conv2d", "x", ts[0][0])
    w = ts[1][0]
    if len(w) != 4:
        raise ShapeError(f"conv2d needs a weight [out, in/groups, kH, kW], got {format_shape(w)}")
    g = _groups("conv2d", attrs)
    if x[1] != w[1] * g:
        raise ShapeError(
            f"conv2d: x {format_shape(x)} has {x[1]} channels, but weight {format_shape(w)} with groups={g} "
            f"takes {w[1]} per group ({w[1] * g} in all)"
        )
    if w[0] % g:
        raise ShapeError(f"conv2d: weight {format_shape(w)} has {w[0]} output channels, not divisible by groups={g}")
    _bias("conv2d", ts, w[0], w)
    ho, wo = _spatial_out("conv2d", x, windows("conv2d", attrs, w[2:]))
    return (x[0], w[0], ho, wo), dtype


def _conv_transpose2d_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    op = "conv_transpose2d"
    dtype = _float_images(op, ts)
    x = _image(op, "x", ts[0][0])
    w = ts[1][0]
    if len(w) != 4:
        raise ShapeError(f"{op} needs a weight [in, out/groups, kH, kW], got {format_shape(w)}")
    g = _groups(op, attrs)
    if x[1] != w[0]:
        raise ShapeError(f"{op}: x {format_shape(x)} has {x[1]} channels, but weight {format_shape(w)} takes {w[0]}")
    if w[0] % g:
        raise ShapeError(f"{op}: weight {format_shape(w)} has {w[0]} input channels, not divisible by groups={g}")
    _bias(op, ts, w[1] * g, w)
    hw = windows(op, attrs, w[2:])
    extra = _attr_ints(op, attrs, "output_padding", 2, 0)
    if any(e >= win.stride for e, win in zip(extra, hw, strict=True)):
        raise AttrError(f"{op}: output_padding {list(extra)} must be smaller than the strides {list(attrs['strides'])}")
    size = [(d - 1) * win.stride - win.before - win.after + win.extent + e
            for d, win, e in zip(x[2:], hw, extra, strict=True)]
    if min(x[2:]) < 1 or min(size) < 1:
        raise ShapeError(f"{op}: x {format_shape(x)} with pads {list(attrs['pads'])} gives an empty output {size}")
    return (x[0], w[1] * g, size[0], size[1]), dtype


def _conv2d_weight_grad_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    op = "conv2d_weight_grad"
    dtype = _float_images(op, ts)
    x = _image(op, "x", ts[0][0])
    dy = _image(op, "dy", ts[1][0])
    g = _groups(op, attrs)
    if x[1] % g or dy[1] % g:
        raise ShapeError(f"{op}: channels of x {format_shape(x)} and dy {format_shape(dy)} must divide by groups={g}")
    kernel = _attr_ints(op, attrs, "kernel", 2, 1)
    expect = (x[0], dy[1], *_spatial_out(op, x, windows(op, attrs, kernel)))
    if dy != expect:
        raise ShapeError(
            f"{op}: dy {format_shape(dy)} is not the conv2d output {format_shape(expect)} of x {format_shape(x)} "
            f"with a {kernel[0]}x{kernel[1]} kernel"
        )
    return (dy[1], x[1] // g, *kernel), dtype


def _pool_windows(op: str, x: Shape, attrs: AttrMap) -> tuple[tuple[Window, Window], tuple[int, int]]:
    hw = windows(op, attrs, _attr_ints(op, attrs, "kernel", 2, 1))
    for win, side in ((hw[0], "top/bottom"), (hw[1], "left/right")):
        if max(win.before, win.after) >= win.extent:
            raise AttrError(
                f"{op}: {side} padding {win.before}/{win.after} must be smaller than the window extent {win.extent} "
                "(a window would see only padding)"
            )
    return hw, _spatial_out(op, x, hw, attrs["ceil_mode"])


def pool_geometry(op: str, x: Shape, attrs: AttrMap) -> tuple[tuple[Window, Window], tuple[int, int]]:
    """The windows and (Ho, Wo) of a pooling op on x [N, C, H, W] (kernels and shape rules share it)."""
    return _pool_windows(op, x, attrs)


def padded_frame(x: Shape, hw: tuple[Window, Window], out_hw: tuple[int, int]) -> Shape | None:
    """The shape of the padded copy of x a pooling kernel reads its taps from, or None when
    every window lies inside x (the taps are then views of x itself)."""
    wh, ww = hw
    frame = (x[0], x[1], wh.reach(out_hw[0]), ww.reach(out_hw[1]))
    if wh.before or ww.before or frame[2] > x[2] or frame[3] > x[3]:
        return frame
    return None


def _pool_rule(op: str) -> ShapeRule:
    def rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
        dtype = _float_images(op, ts)
        x = _image(op, "x", ts[0][0])
        _, (ho, wo) = _pool_windows(op, x, attrs)
        return (x[0], x[1], ho, wo), dtype

    return rule


def _max_pool2d_pair_rule(op: str) -> ShapeRule:
    """max_pool2d_grad (x, y [pooled], g [pooled]) -> like x; max_pool2d_select (x, y [pooled], v [like x]) -> pooled."""
    def rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
        dtype = _float_images(op, ts)
        x = _image(op, "x", ts[0][0])
        _, (ho, wo) = _pool_windows(op, x, attrs)
        pooled = (x[0], x[1], ho, wo)
        last, result = (pooled, x) if op == "max_pool2d_grad" else (x, pooled)
        for k, (what, want) in enumerate((("y", pooled), ("g" if op == "max_pool2d_grad" else "v", last)), 1):
            if ts[k][0] != want:
                raise ShapeError(f"{op}: {what} must be {format_shape(want)} for x {format_shape(x)}, "
                                 f"got {format_shape(ts[k][0])}")
        return result, dtype

    return rule


def _avg_pool2d_grad_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    op = "avg_pool2d_grad"
    dtype = _float_images(op, ts)
    x = _image(op, "shape", tuple(attrs["shape"]))
    if min(x) < 0:
        raise ShapeError(f"{op}: invalid shape {format_shape(x)}")
    _, (ho, wo) = _pool_windows(op, x, attrs)
    if ts[0][0] != (x[0], x[1], ho, wo):
        raise ShapeError(f"{op}: g {format_shape(ts[0][0])} is not the avg_pool2d output "
                         f"{format_shape((x[0], x[1], ho, wo))} of {format_shape(x)}")
    return x, dtype


def _channels(op: str, x: Shape) -> int:
    if len(x) < 2:
        raise ShapeError(f"{op} normalises axis 1 (channels): needs x of rank >= 2 [N, C, ...], got {format_shape(x)}")
    return x[1]


def _moments_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    shape, dtype = ts[0]
    _need_float("moments", dtype)
    return (2, _channels("moments", shape)), dtype


def _rank_moments_rule(op: str, arity: int) -> ShapeRule:
    """[2, C] batch moments in, the same type out; further inputs (an ordering token, or the
    global moments and their gradient) of any float type or [2, C] as well."""
    def rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
        shape, dtype = ts[0]
        _need_float(op, dtype)
        if len(shape) != 2 or shape[0] != 2:
            raise ShapeError(f"{op} takes [2, C] batch moments, got {format_shape(shape)}")
        for other in ts[1:arity]:
            if other != ts[0]:
                raise ShapeError(f"{op}: every input is [2, C] like the first, got {format_shape(other[0])}")
        return shape, dtype

    return rule


def _batchnorm_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    dtype = _float_images("batchnorm", ts)
    x = ts[0][0]
    c = _channels("batchnorm", x)
    per_channel = [s for s, _ in ts[1:]]
    if any(s != (c,) for s in per_channel):
        raise ShapeError(
            f"batchnorm: scale, shift, mean and var must be [{c}] for x {format_shape(x)}, got "
            + ", ".join(format_shape(s) for s in per_channel)
        )
    if attrs["eps"] <= 0:
        raise AttrError(f"batchnorm: eps must be > 0, got {attrs['eps']}")
    return x, dtype


def pad_widths(op: str, shape: Shape, attrs: AttrMap) -> list[tuple[int, int]]:
    """(before, after) per axis of a ``pad``/``pad_grad`` of an input of ``shape``;
    ``pads`` lists every axis's before, then every axis's after (ONNX's order)."""
    pads = _attr_ints(op, attrs, "pads", 2 * len(shape), 0)
    widths = list(zip(pads[: len(shape)], pads[len(shape):], strict=True))
    mode = attrs["mode"]
    for axis, (size, (lo, hi)) in enumerate(zip(shape, widths, strict=True)):
        if mode == "reflect" and max(lo, hi) > size - 1:
            raise ShapeError(f"{op}: reflect padding {lo}/{hi} of axis {axis} needs pads < its size {size} "
                             f"(input {format_shape(shape)})")
        if mode == "edge" and (lo or hi) and size == 0:
            raise ShapeError(f"{op}: edge padding of empty axis {axis} (input {format_shape(shape)})")
    return widths


def _pad_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    shape, dtype = ts[0]
    _need_float("pad", dtype)
    if attrs["mode"] != "constant" and attrs["value"] != 0.0:
        raise AttrError(f"pad: value is used by mode constant only, got value={attrs['value']} with mode {attrs['mode']}")
    widths = pad_widths("pad", shape, attrs)
    return tuple(d + lo + hi for d, (lo, hi) in zip(shape, widths, strict=True)), dtype


def _pad_grad_rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
    gshape, dtype = ts[0]
    _need_float("pad_grad", dtype)
    pads = _attr_ints("pad_grad", attrs, "pads", 2 * len(gshape), 0)
    shape = tuple(d - lo - hi for d, lo, hi in zip(gshape, pads[: len(gshape)], pads[len(gshape):], strict=True))
    if min(shape, default=0) < 0:
        raise ShapeError(f"pad_grad: pads {list(pads)} remove more than g {format_shape(gshape)} holds")
    pad_widths("pad_grad", shape, attrs)
    return shape, dtype


_RESIZE_COORDINATES = ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric")
_NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")


def resize_scales(x: Shape, attrs: AttrMap) -> tuple[float, float]:
    """Output/input size per spatial axis: ``scales`` when given (ONNX maps coordinates with the scale
    it was asked for, which a rounded size may not equal), else size / input size."""
    if attrs["scales"]:
        return attrs["scales"][0], attrs["scales"][1]
    return attrs["size"][0] / x[2], attrs["size"][1] / x[3]


def resize_taps(size_in: int, size_out: int, scale: float, attrs: AttrMap) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per output index along one axis: the source indices i0 and i1 and the weight of i1 (i0 gets 1 - w).

    The source coordinate is ONNX Resize's ``coordinate_transformation_mode``;
    ``nearest`` rounds it by ``nearest_mode`` and clamps the index (i1 = i0,
    w = 0); ``linear`` clamps the coordinate to [0, size_in - 1], PyTorch's and
    onnxruntime's edge rule, and interpolates between its floor and the next index.
    """
    o = np.arange(size_out, dtype=np.float64)
    how = attrs["coordinates"]
    if how in ("half_pixel", "pytorch_half_pixel"):
        src = (o + 0.5) / scale - 0.5
        if how == "pytorch_half_pixel" and size_out == 1:
            src = np.zeros(1)
    elif how == "align_corners":
        src = o * (size_in - 1) / (size_out - 1) if size_out > 1 else np.zeros(size_out)
    else:
        src = o / scale
    if attrs["mode"] == "nearest":
        rounding = {"floor": np.floor(src), "ceil": np.ceil(src), "round_prefer_floor": np.ceil(src - 0.5),
                    "round_prefer_ceil": np.floor(src + 0.5)}[attrs["nearest_mode"]]
        i0 = np.clip(rounding, 0, size_in - 1).astype(np.int64)
        return i0, i0, np.zeros(size_out)
    src = np.clip(src, 0, size_in - 1)
    i0 = np.floor(src).astype(np.int64)
    return i0, np.minimum(i0 + 1, size_in - 1), src - i0


def resize_matrix(size_in: int, size_out: int, scale: float, attrs: AttrMap) -> np.ndarray:
    """The [size_out, size_in] interpolation matrix of one axis (at most two nonzeros a row)."""
    i0, i1, w = resize_taps(size_in, size_out, scale, attrs)
    m = np.zeros((size_out, size_in))
    rows = np.arange(size_out)
    np.add.at(m, (rows, i0), 1.0 - w)
    np.add.at(m, (rows, i1), w)
    return m


def _resize_rule(op: str) -> ShapeRule:
    def rule(ts: Sequence[TensorType], attrs: AttrMap) -> TensorType:
        shape, dtype = ts[0]
        _need_float(op, dtype)
        size = _attr_ints(op, attrs, "size", 2, 1)
        if len(attrs["scales"]) not in (0, 2) or any(v <= 0 for v in attrs["scales"]):
            raise AttrError(f"{op}: scales must be empty or two positive numbers, got {list(attrs['scales'])}")
        if op == "resize2d":
            x = _image(op, "x", shape)
            return (x[0], x[1], *size), dtype
        x = _image(op, "shape", tuple(attrs["shape"]))
        if shape != (x[0], x[1], *size):
            raise ShapeError(f"{op}: g {format_shape(shape)} is not the resize2d output "
                             f"{format_shape((x[0], x[1], *size))} of {format_shape(x)}")
        return x, dtype

    return rule


def _resize_ws(ts: Sequence[TensorType], attrs: AttrMap, out: TensorType, backend: str) -> int:
    """resize2d: rows resized along W ([N, C, H, Wo], two for linear) and one output-sized
    product; resize2d_grad: g times the width matrix [N, C, Ho, W]."""
    if "shape" in attrs:
        x = tuple(attrs["shape"])
        return x[0] * x[1] * attrs["size"][0] * x[3] * _itemsize(out[1])
    n, c, h, _ = ts[0][0]
    rows = n * c * h * attrs["size"][1]
    linear = attrs["mode"] == "linear"
    return ((2 if linear else 1) * rows + (numel(out[0]) if linear else 0)) * _itemsize(out[1])


def conv_workspace(x: Shape, w: Shape, out: Shape, transpose: bool, chunk: int | None = None) -> tuple[Shape, Shape]:
    """The two scratch arrays of the im2col formulation for ``chunk`` samples (default: the batch):
    columns [C·kH·kW, chunk·Ho·Wo] and a channels-first copy [O, chunk·Ho·Wo] of the output
    (conv2d; for conv2d_weight_grad ``out`` is dy), or for conv_transpose2d columns
    [O·kH·kW, chunk·H·W] and a channels-first copy [C, chunk·H·W] of x."""
    n = x[0] if chunk is None else chunk
    if transpose:
        return (out[1] * w[2] * w[3], n * x[2] * x[3]), (x[1], n * x[2] * x[3])
    return (x[1] * w[2] * w[3], n * out[2] * out[3]), (out[1], n * out[2] * out[3])


#: Bytes of im2col columns the CPU builds at a time: chunks of samples large enough that each
#: GEMM is wide (at 1 MiB a 64-channel layer ran one sample per GEMM), and bounded so that the
#: workspace stays small. Measured on whole training steps of issue 18's nets (``benchmarks/
#: cnn_train.py``, 2 cores): 1 → 16 MiB took net (a) from 51 to 40 ms and net (b) from 138 to
#: 105 ms; whole-batch columns were no faster. CUDA builds the whole batch's at once.
CPU_COLUMN_BYTES = 16 << 20


def conv_chunk(x: Shape, w: Shape, out: Shape, transpose: bool, dtype: str, backend: str) -> int:
    """Samples per im2col/col2im chunk on ``backend`` (at least 1; the batch outside the CPU)."""
    if backend != "cpu" or x[0] == 0:
        return x[0]
    (rows, cols), _ = conv_workspace(x, w, out, transpose, chunk=1)
    return max(1, min(x[0], CPU_COLUMN_BYTES // max(rows * cols * _itemsize(dtype), 1)))


def _itemsize(dtype: str) -> int:
    return int(np.dtype(numpy_dtype(dtype)).itemsize)


def conv_operands(op: str, ins: Sequence[Shape], out: Shape) -> tuple[Shape, Shape, Shape]:
    """(x, weight, y) of a conv op from its input shapes and output shape: conv2d_weight_grad's
    weight is its output, and its y is dy (its second input)."""
    return (ins[0], out, ins[1]) if op == "conv2d_weight_grad" else (ins[0], ins[1], out)


def conv_geometry(op: str, ins: Sequence[Shape], out: Shape, attrs: AttrMap) -> tuple[int, ...]:
    """The 16 numbers the CPU's native kernels take (``backends/cpu/_native.c``): the op's
    input x, output channels and size (dy's for conv2d_weight_grad), the kernel, strides,
    dilations, leading pads and groups."""
    x, w, y = conv_operands(op, ins, out)
    kh, kw = w[2:]
    wh, ww = windows(op, attrs, (kh, kw))
    o = w[0] if op == "conv2d" or op == "conv2d_weight_grad" else y[1]
    return (*x, o, y[2], y[3], kh, kw, wh.stride, ww.stride, wh.dilation, ww.dilation, wh.before, ww.before,
            int(attrs.get("groups", 1)))


def _conv_ws(op: str) -> WorkspaceRule:
    transpose = op == "conv_transpose2d"

    def rule(ts: Sequence[TensorType], attrs: AttrMap, out: TensorType, backend: str) -> int:
        x, w, y = conv_operands(op, [t[0] for t in ts], out[0])
        a, b = conv_workspace(x, w, y, transpose, conv_chunk(x, w, y, transpose, out[1], backend))
        return (numel(a) + numel(b)) * _itemsize(out[1])

    return rule


def _pool_ws(op: str) -> WorkspaceRule:
    """The padded frame of x when windows reach outside it; avg_pool2d_grad adds the pooled
    gradient over the divisor; max_pool2d_grad/select a second frame (accumulator or padded v),
    one pooled array and three pooled byte masks."""
    def rule(ts: Sequence[TensorType], attrs: AttrMap, out: TensorType, backend: str) -> int:
        x = tuple(attrs["shape"]) if op == "avg_pool2d_grad" else ts[0][0]
        hw, out_hw = _pool_windows(op, x, attrs)
        frame = padded_frame(x, hw, out_hw)
        big = numel(frame) if frame else 0
        pooled = x[0] * x[1] * out_hw[0] * out_hw[1]
        size = _itemsize(out[1])
        if op in ("max_pool2d", "avg_pool2d"):
            return big * size
        if op == "avg_pool2d_grad":
            return (big + pooled) * size
        return (2 * big + pooled) * size + 3 * pooled

    return rule


def _moments_ws(ts: Sequence[TensorType], attrs: AttrMap, out: TensorType, backend: str) -> int:
    return numel(ts[0][0]) * _itemsize(out[1])


def _pad_grad_ws(ts: Sequence[TensorType], attrs: AttrMap, out: TensorType, backend: str) -> int:
    return 0 if attrs["mode"] == "constant" else numel(ts[0][0]) * _itemsize(out[1])


_CONV_ATTRS = (Attr("strides", "ints", (1, 1)), Attr("pads", "ints", (0, 0, 0, 0)),
               Attr("dilations", "ints", (1, 1)), Attr("groups", "int", 1))
_MAXPOOL_ATTRS = (Attr("kernel", "ints"), Attr("strides", "ints", (1, 1)), Attr("pads", "ints", (0, 0, 0, 0)),
                  Attr("dilations", "ints", (1, 1)), Attr("ceil_mode", "bool", False))
_AVGPOOL_ATTRS = (Attr("kernel", "ints"), Attr("strides", "ints", (1, 1)), Attr("pads", "ints", (0, 0, 0, 0)),
                  Attr("ceil_mode", "bool", False), Attr("count_include_pad", "bool", True))
_PAD_MODES = ("constant", "reflect", "edge")
_RESIZE_ATTRS = (Attr("size", "ints"), Attr("mode", "str", "nearest", ("nearest", "linear")),
                 Attr("coordinates", "str", "half_pixel", _RESIZE_COORDINATES),
                 Attr("nearest_mode", "str", "round_prefer_floor", _NEAREST_MODES), Attr("scales", "floats", ()))


def _conv_attrs(n: GradNode) -> dict[str, object]:
    return {k: n.attr(k) for k in ("strides", "pads", "dilations", "groups")}


def _output_padding(n: GradNode, x: Shape, kernel: Sequence[int]) -> tuple[int, int]:
    """The conv_transpose2d output_padding that maps conv2d's output back to x's exact size."""
    hw = windows("conv2d", n.attr_dict, kernel)
    return tuple((d + w.before + w.after - w.extent) % w.stride for d, w in zip(x[2:], hw, strict=True))  # type: ignore[return-value]


def _bias_grad(c: GradContext, g: int, n: GradNode) -> list[int | None]:
    return [c.op("reduce_sum", g, axes=(0, 2, 3))] if len(n.inputs) == 3 else []


def _g_conv2d(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    x, w = c.x(0), c.x(1)
    kernel = _shape(c, w)[2:]
    conv = _conv_attrs(n)
    gx = c.op("conv_transpose2d", g, w, output_padding=_output_padding(n, _shape(c, x), kernel), **conv)
    gw = c.op("conv2d_weight_grad", x, g, kernel=kernel, **conv)
    return [gx, gw, *_bias_grad(c, g, n)]


def _g_conv_transpose2d(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    x, w = c.x(0), c.x(1)
    conv = _conv_attrs(n)
    gx = c.op("conv2d", g, w, **conv)
    gw = c.op("conv2d_weight_grad", g, x, kernel=_shape(c, w)[2:], **conv)
    return [gx, gw, *_bias_grad(c, g, n)]


def _g_conv2d_weight_grad(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    x, dy = c.x(0), c.x(1)
    conv = _conv_attrs(n)
    gx = c.op("conv_transpose2d", dy, g, output_padding=_output_padding(n, _shape(c, x), n.attr("kernel")), **conv)
    return gx, c.op("conv2d", x, g, **conv)


def _g_max_pool2d(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    return (c.op("max_pool2d_grad", c.x(0), c.y(), g, **n.attr_dict),)


def _g_max_pool2d_grad(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    # Which element of a window is picked is piecewise constant in x and y: no gradient to them.
    return None, None, c.op("max_pool2d_select", c.x(0), c.x(1), g, **n.attr_dict)


def _g_max_pool2d_select(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    return None, None, c.op("max_pool2d_grad", c.x(0), c.x(1), g, **n.attr_dict)


def _g_avg_pool2d(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    return (c.op("avg_pool2d_grad", g, shape=_shape(c, c.x(0)), **n.attr_dict),)


def _g_avg_pool2d_grad(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    attrs = {k: v for k, v in n.attr_dict.items() if k != "shape"}
    return (c.op("avg_pool2d", g, **attrs),)


def _channel_shape(x: Shape) -> Shape:
    """[1, C, 1, ...]: a per-channel vector broadcast over x."""
    return tuple(d if a == 1 else 1 for a, d in enumerate(x))


def _row(c: GradContext, stats: int, k: int, like: Shape) -> int:
    """Row ``k`` of a [2, C] value, shaped to broadcast over ``like``."""
    row = c.op("slice", stats, starts=(k,), ends=(k + 1,), axes=(0,))
    return c.op("reshape", row, shape=_channel_shape(like))


def _g_moments(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    # d mean / dx = 1/M; d var / dx = 2 (x - mean) / M (the term through the mean sums to zero).
    x, dt = c.x(0), n.dtype
    xs = _shape(c, x)
    m = numel(xs) // xs[1] if xs[1] else 0
    k = 1.0 / max(m, 1)
    coef = c.op("mul", _row(c, g, 1, xs), c.const(2.0 * k, dt))
    base = c.op("mul", _row(c, g, 0, xs), c.const(k, dt))
    return (c.op("add", c.op("mul", c.op("sub", x, _row(c, c.y(), 0, xs)), coef), base),)


def _g_rank_moments(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    # To this rank's moments through the combination (rank_moments_grad). The ordering token gets
    # zeros computed from that result: the previous rank op's gradient then waits for this one, so
    # every rank runs the backward collectives in the same (reverse) order.
    local = c.op("rank_moments_grad", c.x(0), c.y(), g, count=n.attr("count"))
    if len(n.inputs) == 1:
        return (local,)
    token_shape, dt = c.type_of(c.x(1))
    zero = c.op("mul", c.op("reduce_sum", local, axes=(0, 1)), c.const(0.0, dt))
    return local, c.op("broadcast_to", zero, shape=token_shape)


def _g_batchnorm(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    x, scale, mean, var, dt = c.x(0), c.x(1), c.x(3), c.x(4), n.dtype
    xs = _shape(c, x)
    axes = tuple(a for a in range(len(xs)) if a != 1)
    inv = c.op("div", c.const(1.0, dt), c.op("sqrt", c.op("add", var, c.const(n.attr("eps"), dt))))
    alpha = c.op("mul", scale, inv)
    gx = c.op("mul", g, c.op("reshape", alpha, shape=_channel_shape(xs)))
    r0 = c.op("reduce_sum", g, axes=axes)
    centred = c.op("sub", x, c.op("reshape", mean, shape=_channel_shape(xs)))
    r1 = c.op("reduce_sum", c.op("mul", g, centred), axes=axes)
    gvar = c.op("mul", c.op("mul", r1, scale), c.op("mul", c.const(-0.5, dt), c.op("mul", inv, c.op("mul", inv, inv))))
    return gx, c.op("mul", r1, inv), r0, c.op("neg", c.op("mul", r0, alpha)), gvar


def _resize_attrs(n: GradNode) -> dict[str, object]:
    return {k: v for k, v in n.attr_dict.items() if k != "shape"}


def _g_resize2d(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    return (c.op("resize2d_grad", g, shape=_shape(c, c.x(0)), **_resize_attrs(n)),)


def _g_resize2d_grad(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    return (c.op("resize2d", g, **_resize_attrs(n)),)


def _g_pad(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    return (c.op("pad_grad", g, pads=n.attr("pads"), mode=n.attr("mode")),)


def _g_pad_grad(c: GradContext, n: GradNode, g: int) -> Sequence[int | None]:
    return (c.op("pad", g, pads=n.attr("pads"), mode=n.attr("mode")),)


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
    OpDef("conv2d", 2, _CONV_ATTRS, _conv2d_rule, _g_conv2d, max_arity=3, workspace=_conv_ws("conv2d"),
          doc="2-D cross-correlation of x [N,C,H,W] with weight [O,C/groups,kH,kW], + bias [O]; "
              "pads = (top, left, bottom, right)"),
    OpDef("conv_transpose2d", 2, (*_CONV_ATTRS, Attr("output_padding", "ints", (0, 0))), _conv_transpose2d_rule,
          _g_conv_transpose2d, max_arity=3, workspace=_conv_ws("conv_transpose2d"),
          doc="transposed convolution (the input gradient of conv2d): x [N,C,H,W], weight [C,O/groups,kH,kW], "
              "+ bias [O]; output_padding (< strides) extends the bottom/right"),
    OpDef("conv2d_weight_grad", 2, (*_CONV_ATTRS, Attr("kernel", "ints")), _conv2d_weight_grad_rule,
          _g_conv2d_weight_grad, workspace=_conv_ws("conv2d_weight_grad"),
          doc="the weight gradient of conv2d from x and dy [N,O,Ho,Wo] -> [O,C/groups,kH,kW]"),
    OpDef("max_pool2d", 1, _MAXPOOL_ATTRS, _pool_rule("max_pool2d"), _g_max_pool2d,
          workspace=_pool_ws("max_pool2d"),
          doc="max over kH x kW windows of x [N,C,H,W] (padding never wins; ceil_mode as PyTorch); "
              "gradient to each window's first maximum in row-major order"),
    OpDef("max_pool2d_grad", 3, _MAXPOOL_ATTRS, _max_pool2d_pair_rule("max_pool2d_grad"), _g_max_pool2d_grad,
          workspace=_pool_ws("max_pool2d_grad"),
          doc="x, y, g [N,C,Ho,Wo]: g added at the first element of each window of x not below y -> like x "
              "(with y = max_pool2d(x): its gradient, to the first maximum; a window with NaN: to its first element)"),
    OpDef("max_pool2d_select", 3, _MAXPOOL_ATTRS, _max_pool2d_pair_rule("max_pool2d_select"),
          _g_max_pool2d_select, workspace=_pool_ws("max_pool2d_select"),
          doc="x, y, v (like x): v at the first element of each window of x not below y -> [N,C,Ho,Wo] "
              "(gradient of max_pool2d_grad)"),
    OpDef("avg_pool2d", 1, _AVGPOOL_ATTRS, _pool_rule("avg_pool2d"), _g_avg_pool2d, workspace=_pool_ws("avg_pool2d"),
          doc="mean over kH x kW windows of x [N,C,H,W]; count_include_pad counts zero padding "
              "but not a ceil_mode overhang (PyTorch's divisor)"),
    OpDef("avg_pool2d_grad", 1, (Attr("shape", "ints"), *_AVGPOOL_ATTRS), _avg_pool2d_grad_rule, _g_avg_pool2d_grad,
          workspace=_pool_ws("avg_pool2d_grad"),
          doc="g [N,C,Ho,Wo] spread over each window as avg_pool2d divides -> shape (gradient of avg_pool2d)"),
    OpDef("moments", 1, (), _moments_rule, _g_moments, workspace=_moments_ws,
          doc="[mean, biased variance] of x over every axis but 1 -> [2, C] (batch statistics)"),
    OpDef("rank_moments", 1, (Attr("count", "int"),), _rank_moments_rule("rank_moments", 1), _g_rank_moments,
          max_arity=2,
          doc="this rank's [2, C] moments over count values -> the whole batch's, combined over the ranks of a "
              "data-parallel job in rank order (one process: unchanged); a second input orders the collectives"),
    OpDef("rank_moments_grad", 3, (Attr("count", "int"),), _rank_moments_rule("rank_moments_grad", 3), None,
          doc="local moments, global moments, g -> g of the local moments: the ranks' g summed by their share "
              "of the batch, through the combination (gradient of rank_moments)"),
    OpDef("batchnorm", 5, (Attr("eps", "float", 1e-5),), _batchnorm_rule, _g_batchnorm,
          doc="(x - mean) / sqrt(var + eps) * scale + shift along axis 1; inputs x, scale, shift, mean, var "
              "(ONNX's order)"),
    OpDef("pad", 1, (Attr("pads", "ints"), Attr("mode", "str", "constant", _PAD_MODES), Attr("value", "float", 0.0)),
          _pad_rule, _g_pad,
          doc="pad every axis (pads: all befores, then all afters, as ONNX) with value, a reflection "
              "(edge not repeated) or the edge"),
    OpDef("resize2d", 1, _RESIZE_ATTRS, _resize_rule("resize2d"), _g_resize2d, workspace=_resize_ws,
          doc="resize x [N,C,H,W] to size (Ho, Wo), nearest or (bi)linear; coordinates and nearest_mode as "
              "ONNX Resize's; scales (optional) map coordinates as ONNX does"),
    OpDef("resize2d_grad", 1, (Attr("shape", "ints"), *_RESIZE_ATTRS), _resize_rule("resize2d_grad"),
          _g_resize2d_grad, workspace=_resize_ws,
          doc="g [N,C,Ho,Wo] of a resize2d spread back onto shape by its interpolation weights (gradient of resize2d)"),
    OpDef("pad_grad", 1, (Attr("pads", "ints"), Attr("mode", "str", "constant", _PAD_MODES)), _pad_grad_rule,
          _g_pad_grad, workspace=_pad_grad_ws,
          doc="g of a pad folded back onto its input: cropped, reflected/edge copies added (gradient of pad)"),
):
    _define(_op)
