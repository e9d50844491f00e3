"""Random well-typed graphs built from the op registry, for the pass property tests.

``build_random_graph(pick)`` draws every choice through ``pick(n) -> int in
[0, n)``, so hypothesis (``data.draw``) and a plain ``random.Random`` can
both drive it. ``GENERATORS`` has one entry per registry op that a graph can
contain before passes run; ``NOT_GENERATED`` lists the rest with the reason.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from volta_core.ir import Graph, IRError

Pick = Callable[[int], int]
Gen = Callable[[Pick, Graph, list[int]], int | None]

NOT_GENERATED = {
    "input": "source: every graph starts from inputs",
    "parameter": "source: drawn with the inputs",
    "constant": "source: made by the generators that need literals",
    "fused_elementwise": "made only by the fusion pass",
    "rank_moments": "data-parallel batchnorm: its exchange needs a job of ranks (tests/train/test_sync_batchnorm.py)",
    "rank_moments_grad": "made only by rank_moments' gradient rule",
}

SHAPES = [(2, 3), (3,), (2, 1, 3), (1, 3), (3, 2)]


def _floats(g: Graph, pool: list[int], rank: int | None = None) -> list[int]:
    return [v for v in pool if g.node(v).dtype == "f32" and (rank is None or len(g.node(v).shape) == rank)]


def _choice(pick: Pick, items: list[int]) -> int | None:
    return items[pick(len(items))] if items else None


def _rng(pick: Pick) -> np.random.Generator:
    return np.random.default_rng(pick(1000))


def _const_like(pick: Pick, g: Graph, shape: tuple[int, ...], full: bool = False) -> int:
    kind = pick(4)
    if kind == 0:
        return g.constant(np.ones(shape) if full else 1.0)
    if kind == 1:
        return g.constant(np.zeros(shape))
    return g.constant(_rng(pick).standard_normal(shape))


def _unary(op: str, **attrs: object) -> Gen:
    def gen(pick: Pick, g: Graph, pool: list[int]) -> int | None:
        x = _choice(pick, _floats(g, pool))
        return None if x is None else g.op(op, x, **attrs)

    return gen


def _binary(op: str) -> Gen:
    def gen(pick: Pick, g: Graph, pool: list[int]) -> int | None:
        a = _choice(pick, _floats(g, pool))
        if a is None:
            return None
        shape = g.node(a).shape
        partners = [v for v in _floats(g, pool) if _broadcasts(g.node(v).shape, shape)]
        b = partners[pick(len(partners))] if partners and pick(2) else _const_like(pick, g, shape)
        return g.op(op, *((a, b) if pick(2) else (b, a)))

    return gen


def _broadcasts(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


def _matmul(pick: Pick, g: Graph, pool: list[int]) -> int | None:
    a = _choice(pick, _floats(g, pool, 2))
    return None if a is None else g.op("matmul", a, g.op("transpose", a, perm=(1, 0)))


def _gemm(pick: Pick, g: Graph, pool: list[int]) -> int | None:
    a = _choice(pick, _floats(g, pool, 2))
    if a is None:
        return None
    m = g.node(a).shape[0]
    c = (g.constant(_rng(pick).standard_normal((m,))),) if pick(2) else ()
    return g.op("gemm", a, a, *c, transB=True, alpha=0.5 * (1 + pick(3)), beta=float(pick(3)))


def _transpose(pick: Pick, g: Graph, pool: list[int]) -> int | None:
    a = _choice(pick, _floats(g, pool))
    if a is None:
        return None
    perms = list(itertools.permutations(range(len(g.node(a).shape))))
    return g.op("transpose", a, perm=perms[pick(len(perms))])


def _reshape(pick: Pick, g: Graph, pool: list[int]) -> int | None:
    a = _choice(pick, _floats(g, pool))
    if a is None:
        return None
    shape = g.node(a).shape
    return g.op("reshape", a, shape=(-1,) if pick(2) else tuple(reversed(shape)))


def _broadcast_to(pick: Pick, g: Graph, pool: list[int]) -> int | None:
    a = _choice(pick, _floats(g, pool))
    return None if a is None else g.op("broadcast_to", a, shape=(2, *g.node(a).shape))


def _reduce(op: str) -> Gen:
    def gen(pick: Pick, g: Graph, pool: list[int]) -> int | None:
        a = _choice(pick, [v for v in _floats(g, pool) if g.node(v).shape])
        if a is None:
            return None
        rank = len(g.node(a).shape)
        axes = tuple(i for i in range(rank) if pick(2)) or (rank - 1,)
        return g.op(op, a, axes=axes, keepdims=bool(pick(2)))

    return gen


def _axis_op(op: str) -> Gen:
    def gen(pick: Pick, g: Graph, pool: list[int]) -> int | None:
        a = _choice(pick, [v for v in _floats(g, pool) if g.node(v).shape])
        return None if a is None else g.op(op, a, axis=-1 - pick(len(g.node(a).shape)))

    return gen


def _compare_pair(pick: Pick, g: Graph, pool: list[int]) -> int | None:
    a = _choice(pick, _floats(g, pool))
    if a is None:
        return None
    return g.op("compare", a, _const_like(pick, g, g.node(a).shape), cmp=("lt", "gt", "eq")[pick(3)])


def _where(pick: Pick, g: Graph, pool: list[int]) -> int | None:
    c = _compare_pair(pick, g, pool)
    if c is None:
        return None
    a = g.node(c).inputs[0]
    return g.op("where", c, a, g.op("neg", a))


def _cast(pick: Pick, g: Graph, pool: list[int]) -> int | None:
    c = _compare_pair(pick, g, pool)
    return None if c is None else g.op("cast", c, dtype="f32")


def _sign(pick: Pick, g: Graph, pool: list[int]) -> int | None:
    return _unary("sign")(pick, g, pool)


def _one_hot(pick: Pick, g: Graph, pool: list[int]) -> int | None:
    c = _compare_pair(pick, g, pool)
    return None if c is None else g.op("one_hot", g.op("cast", c, dtype="i64"), depth=2)


def _sce(pick: Pick, g: Graph, pool: list[int]) -> int | None:
    a = _choice(pick, _floats(g, pool, 2))
    if a is None:
        return None
    n, c = g.node(a).shape
    return g.op("softmax_cross_entropy", a, g.constant(_rng(pick).integers(0, c, n), "i64"))


def _mse(pick: Pick, g: Graph, pool: list[int]) -> int | None:
    a = _choice(pick, _floats(g, pool))
    return None if a is None else g.op("mse", a, _const_like(pick, g, g.node(a).shape, full=True))


def _concat(pick: Pick, g: Graph, pool: list[int]) -> int | None:
    a = _choice(pick, [v for v in _floats(g, pool) if g.node(v).shape])
    if a is None:
        return None
    return g.op("concat", a, *([a] * pick(3)), axis=pick(len(g.node(a).shape)))


def _slice_attrs(pick: Pick, shape: tuple[int, ...]) -> dict[str, object]:
    axis = pick(len(shape))
    step = (1, 2, -1, -2)[pick(4)]
    start = pick(2 * shape[axis] + 1) - shape[axis]
    end = (-(2**62) if step < 0 else 2**62) if pick(3) == 0 else pick(2 * shape[axis] + 1) - shape[axis]
    return {"starts": (start,), "ends": (end,), "axes": (axis,), "steps": (step,)}


def _slice(pick: Pick, g: Graph, pool: list[int]) -> int | None:
    a = _choice(pick, [v for v in _floats(g, pool) if g.node(v).shape])
    return None if a is None else g.op("slice", a, **_slice_attrs(pick, g.node(a).shape))


def _slice_scatter(pick: Pick, g: Graph, pool: list[int]) -> int | None:
    a = _choice(pick, [v for v in _floats(g, pool) if g.node(v).shape])
    if a is None:
        return None
    shape = g.node(a).shape
    attrs = _slice_attrs(pick, shape)
    return g.op("slice_scatter", g.op("slice", a, **attrs), shape=shape, **attrs)


def _gather(pick: Pick, g: Graph, pool: list[int]) -> int | None:
    a = _choice(pick, [v for v in _floats(g, pool) if g.node(v).shape])
    if a is None:
        return None
    axis = pick(len(g.node(a).shape))
    idx = g.constant(_rng(pick).integers(0, g.node(a).shape[axis], (1 + pick(3),)), "i64")
    return g.op("gather", a, idx, axis=axis)


def _scatter_add(pick: Pick, g: Graph, pool: list[int]) -> int | None:
    a = _choice(pick, [v for v in _floats(g, pool) if g.node(v).shape])
    if a is None:
        return None
    shape = g.node(a).shape
    axis = pick(len(shape))
    size = 1 + pick(3)
    idx = g.constant(_rng(pick).integers(0, size, (shape[axis],)), "i64")
    target = tuple(size if i == axis else d for i, d in enumerate(shape))
    return g.op("scatter_add", a, idx, axis=axis, shape=target)


def _embedding(pick: Pick, g: Graph, pool: list[int]) -> int | None:
    a = _choice(pick, _floats(g, pool, 2))
    if a is None:
        return None
    ids = g.constant(_rng(pick).integers(0, g.node(a).shape[0], (2, 2)), "i64")
    return g.op("embedding", a, ids)


def _squeeze(pick: Pick, g: Graph, pool: list[int]) -> int | None:
    a = _choice(pick, _floats(g, pool))
    if a is None:
        return None
    u = g.op("unsqueeze", a, axes=(-1 - pick(len(g.node(a).shape) + 1),))
    return g.op("squeeze", u, axes=()) if pick(2) else u


def _layernorm(pick: Pick, g: Graph, pool: list[int]) -> int | None:
    a = _choice(pick, [v for v in _floats(g, pool) if g.node(v).shape])
    if a is None:
        return None
    d = g.node(a).shape[-1]
    rng = _rng(pick)
    return g.op("layernorm", a, g.constant(rng.standard_normal(d)), g.constant(rng.standard_normal(d)),
                eps=(1e-5, 0.1)[pick(2)])


def _dropout(pick: Pick, g: Graph, pool: list[int]) -> int | None:
    a = _choice(pick, _floats(g, pool))
    if a is None:
        return None
    return g.op("dropout", a, p=(0.0, 0.25, 0.5)[pick(3)], seed=pick(5), training=bool(pick(4)))


def _image(pick: Pick, g: Graph, pool: list[int]) -> int | None:
    """A float value of rank 2-4 seen as an image [N, C, H, W] (leading axes of size 1 added)."""
    a = _choice(pick, [v for v in _floats(g, pool) if 2 <= len(g.node(v).shape) <= 4])
    if a is None:
        return None
    shape = g.node(a).shape
    return a if len(shape) == 4 else g.op("reshape", a, shape=(1,) * (4 - len(shape)) + shape)


def _window_attrs(pick: Pick, shape: tuple[int, ...]) -> dict[str, object]:
    kernel = (1 + pick(min(shape[2], 2)), 1 + pick(min(shape[3], 2)))
    return {"kernel": kernel, "strides": (1 + pick(2), 1 + pick(2)),
            "pads": tuple(pick(2) if kernel[a % 2] > 1 else 0 for a in range(4))}


def _tried(make: Callable[[], int]) -> int | None:
    """Some random attribute draws do not fit the drawn shapes; those draws make nothing."""
    try:
        return make()
    except IRError:
        return None


def _conv(op: str) -> Gen:
    def gen(pick: Pick, g: Graph, pool: list[int]) -> int | None:
        x = _image(pick, g, pool)
        if x is None:
            return None
        c = g.node(x).shape[1]
        shape = g.node(x).shape
        attrs = _window_attrs(pick, shape)
        kernel = attrs.pop("kernel")
        groups = c if pick(2) else 1
        out = groups * (1 + pick(2))
        rng = _rng(pick)
        if op == "conv_transpose2d":
            w = g.constant(rng.standard_normal((c, out // groups, *kernel)))
            extra = tuple(pick(s) for s in attrs["strides"])  # type: ignore[attr-defined]
            return _tried(lambda: g.op(op, x, w, groups=groups, output_padding=extra, **attrs))
        w = g.constant(rng.standard_normal((out, c // groups, *kernel)))
        bias = (g.constant(rng.standard_normal(out)),) if pick(2) else ()
        y = _tried(lambda: g.op("conv2d", x, w, *bias, groups=groups, **attrs))
        if y is None or op == "conv2d":
            return y
        return g.op("conv2d_weight_grad", x, y, kernel=kernel, groups=groups, **attrs)

    return gen


def _pool(op: str) -> Gen:
    def gen(pick: Pick, g: Graph, pool: list[int]) -> int | None:
        x = _image(pick, g, pool)
        if x is None:
            return None
        attrs = _window_attrs(pick, g.node(x).shape)
        attrs["ceil_mode"] = bool(pick(2))
        base = "max_pool2d" if op.startswith("max") else "avg_pool2d"
        if base == "avg_pool2d":
            attrs["count_include_pad"] = bool(pick(2))
        y = _tried(lambda: g.op(base, x, **attrs))
        if y is None or op == base:
            return y
        if op == "avg_pool2d_grad":
            return g.op(op, y, shape=g.node(x).shape, **attrs)
        return g.op(op, x, y, y if op == "max_pool2d_grad" else g.op("neg", x), **attrs)

    return gen


def _moments(pick: Pick, g: Graph, pool: list[int]) -> int | None:
    a = _choice(pick, [v for v in _floats(g, pool) if len(g.node(v).shape) >= 2])
    return None if a is None else g.op("moments", a)


def _batchnorm(pick: Pick, g: Graph, pool: list[int]) -> int | None:
    x = _choice(pick, [v for v in _floats(g, pool) if len(g.node(v).shape) >= 2])
    if x is None:
        return None
    rng = _rng(pick)
    c = g.node(x).shape[1]
    scale, shift, mean = (g.constant(rng.standard_normal(c)) for _ in range(3))
    var = g.constant(np.abs(rng.standard_normal(c)) + 0.5)
    return g.op("batchnorm", x, scale, shift, mean, var, eps=(1e-5, 0.1)[pick(2)])


def _pad(op: str) -> Gen:
    def gen(pick: Pick, g: Graph, pool: list[int]) -> int | None:
        x = _choice(pick, [v for v in _floats(g, pool) if g.node(v).shape])
        if x is None:
            return None
        rank = len(g.node(x).shape)
        mode = ("constant", "reflect", "edge")[pick(3)]
        pads = tuple(pick(3) for _ in range(2 * rank))
        value = float(pick(3)) if mode == "constant" else 0.0
        y = _tried(lambda: g.op("pad", x, pads=pads, mode=mode, value=value))
        if y is None or op == "pad":
            return y
        return g.op("pad_grad", y, pads=pads, mode=mode)

    return gen


def _resize(op: str) -> Gen:
    def gen(pick: Pick, g: Graph, pool: list[int]) -> int | None:
        x = _image(pick, g, pool)
        if x is None:
            return None
        shape = g.node(x).shape
        attrs = {"size": (1 + pick(2 * shape[2]), 1 + pick(2 * shape[3])), "mode": ("nearest", "linear")[pick(2)],
                 "coordinates": ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric")[pick(4)],
                 "nearest_mode": ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")[pick(4)]}
        y = g.op("resize2d", x, **attrs)
        return y if op == "resize2d" else g.op(op, y, shape=shape, **attrs)

    return gen


GENERATORS: dict[str, Gen] = {
    **{op: _unary(op) for op in ("neg", "sqrt", "exp", "log", "abs", "erf", "relu", "sigmoid", "tanh", "silu")},
    "sign": _sign,
    "pow": _unary("pow", exponent=2.0),
    "leaky_relu": _unary("leaky_relu", alpha=0.2),
    "gelu": _unary("gelu", approximate="tanh"),
    **{op: _binary(op) for op in ("add", "sub", "mul", "div")},
    "matmul": _matmul,
    "gemm": _gemm,
    "transpose": _transpose,
    "reshape": _reshape,
    "broadcast_to": _broadcast_to,
    **{op: _reduce(op) for op in ("reduce_sum", "reduce_mean", "reduce_max")},
    "softmax": _axis_op("softmax"),
    "log_softmax": _axis_op("log_softmax"),
    "compare": _cast,
    "cast": _cast,
    "where": _where,
    "one_hot": _one_hot,
    "softmax_cross_entropy": _sce,
    "mse": _mse,
    "concat": _concat,
    "slice": _slice,
    "slice_scatter": _slice_scatter,
    "gather": _gather,
    "scatter_add": _scatter_add,
    "embedding": _embedding,
    "squeeze": _squeeze,
    "unsqueeze": _squeeze,
    "layernorm": _layernorm,
    "dropout": _dropout,
    **{op: _conv(op) for op in ("conv2d", "conv_transpose2d", "conv2d_weight_grad")},
    **{op: _pool(op) for op in ("max_pool2d", "max_pool2d_grad", "max_pool2d_select", "avg_pool2d",
                                "avg_pool2d_grad")},
    "moments": _moments,
    "batchnorm": _batchnorm,
    "pad": _pad("pad"),
    "pad_grad": _pad("pad_grad"),
    "resize2d": _resize("resize2d"),
    "resize2d_grad": _resize("resize2d_grad"),
}
_NAMES = sorted(GENERATORS)


def build_random_graph(pick: Pick, max_ops: int = 10) -> Graph:
    """Inputs of random shapes, then up to ``max_ops`` random ops; 1-3 float outputs."""
    g = Graph()
    pool = [g.input(f"x{i}", SHAPES[pick(len(SHAPES))]) for i in range(1 + pick(3))]
    for _ in range(1 + pick(max_ops)):
        made = GENERATORS[_NAMES[pick(len(_NAMES))]](pick, g, pool)
        node = None if made is None else g.node(made)
        if node is not None and node.dtype == "f32" and len(node.shape) <= 4 and 0 not in node.shape:
            pool.append(made)
    floats = _floats(g, pool)
    outs = [floats[-1]] + [floats[pick(len(floats))] for _ in range(pick(3))]
    g.set_outputs(dict.fromkeys(outs))
    return g


def feeds_for(g: Graph, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {g.name_of(i): rng.standard_normal(g.node(i).shape).astype(np.float32) for i in g.inputs}
