"""NumPy kernels, one factory per op.

A factory receives the node and its input nodes (all shapes static) and
returns ``kernel(inputs, out)``, which writes the result into the
preallocated ``out`` array. Shape logic and scratch allocation happen in the
factory, once per plan, so the executor's loop only calls kernels. Kernels
use ufunc ``out=`` wherever NumPy offers it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from volta_core.backends.cpu import native
from volta_core.backends.cpu.erf import erf as _erf
from volta_core.backends.cpu.ranks import KERNELS as _RANKS
from volta_core.backends.cpu.spatial import KERNELS as _SPATIAL
from volta_core.backends.cpu.spatial import WORKSPACES as _SPATIAL_WORKSPACES
from volta_core.ir.graph import Node, constant_array
from volta_core.ir.ops import (
    dropout_mask,
    numpy_dtype,
    parse_program,
    register_kernels,
    register_variant,
    register_workspaces,
    slice_key,
)

Kernel = Callable[[tuple[np.ndarray, ...], np.ndarray], None]
Factory = Callable[[Node, Sequence[Node]], Kernel]

_GELU_K = math.sqrt(2.0 / math.pi)


def _ufunc1(fn: np.ufunc) -> Factory:
    def factory(node: Node, ins: Sequence[Node]) -> Kernel:
        def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
            fn(i[0], out=out)

        return k

    return factory


def _native_elementwise(op: str, node: Node, ins: Sequence[Node], b: np.ndarray | None = None) -> Kernel | None:
    """``op`` on the native elementwise kernels (NumPy's bits, split over threads), or None
    where they do not apply (float64, small arrays, other broadcasts, NumPy chosen). ``b``
    replaces the second operand by a constant (ReLU's 0)."""
    shapes = tuple(n.shape for n in ins[:2]) if b is None else (ins[0].shape, b.shape)
    call = native.elementwise(op, node.shape, tuple(n.dtype for n in ins[:2]), shapes)
    if call is None:
        return None
    fn, code, a_layout, b_layout, threads = call

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        fn(code, np.ascontiguousarray(i[0]), a_layout, np.ascontiguousarray(i[1]) if b is None else b, b_layout,
           None, None, out, threads)  # fmt: skip

    return k


def _ufunc2(fn: np.ufunc, native_op: str | None = None) -> Factory:
    def factory(node: Node, ins: Sequence[Node]) -> Kernel:
        if native_op and (fast := _native_elementwise(native_op, node, ins)) is not None:
            return fast

        def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
            fn(i[0], i[1], out=out)

        return k

    return factory


def _pow(node: Node, ins: Sequence[Node]) -> Kernel:
    p = node.attr("exponent")

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        np.power(i[0], p, out=out)

    return k


def _erf_kernel(node: Node, ins: Sequence[Node]) -> Kernel:
    # NumPy has no erf ufunc: vectorised fdlibm erf in float64, then cast to the op's dtype.
    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        out[...] = _erf(i[0])

    return k


def _copy_from(view: Callable[[np.ndarray], np.ndarray]) -> Factory:
    def factory(node: Node, ins: Sequence[Node]) -> Kernel:
        def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
            np.copyto(out, view(i[0]))

        return k

    return factory


def _transpose(node: Node, ins: Sequence[Node]) -> Kernel:
    perm = node.attr("perm")
    return _copy_from(lambda a: a.transpose(perm))(node, ins)


def _reshape(node: Node, ins: Sequence[Node]) -> Kernel:
    shape = node.shape
    return _copy_from(lambda a: a.reshape(shape))(node, ins)


def _broadcast_to(node: Node, ins: Sequence[Node]) -> Kernel:
    return _copy_from(lambda a: a)(node, ins)  # copyto broadcasts


def _mean_into(x: np.ndarray, axes: int | tuple[int, ...], keep: bool, out: np.ndarray, count: np.intp) -> None:
    # np.mean of a float array, minus its Python-level bookkeeping: the same sum
    # (np.add.reduce) divided by the same np.intp count, so bit for bit np.mean's result.
    np.add.reduce(x, axis=axes, keepdims=keep, out=out)
    np.true_divide(out, count, out=out, casting="unsafe")


def _reduce(fn: Callable[..., np.ndarray]) -> Factory:
    def factory(node: Node, ins: Sequence[Node]) -> Kernel:
        axes = node.attr("axes")
        keep = node.attr("keepdims")
        if fn is np.mean and ins[0].dtype in ("f32", "f64") and node.dtype == ins[0].dtype:
            rank = len(ins[0].shape)
            reduced = range(rank) if axes is None else (axes if isinstance(axes, tuple) else (axes,))
            count = np.intp(math.prod(ins[0].shape[a % rank] for a in reduced)) if rank else np.intp(1)

            def mean(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
                _mean_into(i[0], axes, keep, out, count)

            return mean
        if fn is np.add.reduce and node.dtype == ins[0].dtype and axes is not None:
            call = native.channel_sums(ins[0].shape, axes if isinstance(axes, tuple) else (axes,), node.dtype)
            if call is not None:
                sums, layout, threads = call

                def channel_sum(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
                    sums(0, np.ascontiguousarray(i[0]), out, layout, threads)

                return channel_sum

        def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
            fn(i[0], axis=axes, keepdims=keep, out=out)

        return k

    return factory


def _zeros(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A read-only array of +0.0 (shared per shape and dtype; plans reuse it)."""
    key = (tuple(shape), np.dtype(dtype).str)
    z = _ZEROS.get(key)
    if z is None:
        z = _ZEROS[key] = np.zeros(shape, dtype)
        z.flags.writeable = False
    return z


_ZEROS: dict[tuple[tuple[int, ...], str], np.ndarray] = {}


def _relu(node: Node, ins: Sequence[Node]) -> Kernel:
    # max(x, 0) against an array of zeros, not the scalar 0: NumPy's SIMD maximum loop
    # needs two contiguous operands, so a scalar operand falls back to a scalar loop
    # ~5x slower. Same values bit for bit (NaNs kept, -0.0 -> +0.0), tested.
    if (fast := _native_elementwise("maximum", node, ins, b=np.zeros(1, np.float32))) is not None:
        return fast
    zeros = _zeros(node.shape, np.dtype(numpy_dtype(node.dtype)))

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        np.maximum(i[0], zeros, out=out)

    return k


def _leaky_relu(node: Node, ins: Sequence[Node]) -> Kernel:
    alpha = node.attr("alpha")
    pick = np.maximum if alpha <= 1.0 else np.minimum

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        np.multiply(i[0], alpha, out=out)
        pick(i[0], out, out=out)

    return k


def _sigmoid_into(x: np.ndarray, out: np.ndarray) -> None:
    # sigmoid(x) = (1 + tanh(x / 2)) / 2: overflow-free and computable in place.
    np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    np.multiply(out, 0.5, out=out)
    np.add(out, 0.5, out=out)


def _sigmoid(node: Node, ins: Sequence[Node]) -> Kernel:
    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        _sigmoid_into(i[0], out)

    return k


def _silu(node: Node, ins: Sequence[Node]) -> Kernel:
    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        _sigmoid_into(i[0], out)
        np.multiply(out, i[0], out=out)

    return k


def _gelu(node: Node, ins: Sequence[Node]) -> Kernel:
    dt = numpy_dtype(node.dtype)
    if node.attr("approximate") == "tanh":
        scratch = np.empty(node.shape, dt)

        def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
            x = i[0]
            np.multiply(x, x, out=scratch)
            np.multiply(scratch, x, out=scratch)
            np.multiply(scratch, 0.044715, out=scratch)
            np.add(scratch, x, out=scratch)
            np.multiply(scratch, _GELU_K, out=scratch)
            np.tanh(scratch, out=scratch)
            np.add(scratch, 1.0, out=scratch)
            np.multiply(scratch, x, out=out)
            np.multiply(out, 0.5, out=out)

        return k

    def exact(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        x = i[0]
        out[...] = _erf(x / math.sqrt(2.0))
        np.add(out, 1.0, out=out)
        np.multiply(out, x, out=out)
        np.multiply(out, 0.5, out=out)

    return exact


def _softmax(log: bool) -> Factory:
    def factory(node: Node, ins: Sequence[Node]) -> Kernel:
        axis = node.attr("axis") % len(node.shape)
        kept = tuple(1 if a == axis else d for a, d in enumerate(node.shape))
        dt = numpy_dtype(node.dtype)
        scratch = np.empty(kept, dt)
        n = node.shape[axis]
        others = tuple(d for a, d in enumerate(node.shape) if a != axis)
        if not log and 0 < n <= 64 and math.prod(others) >= 256:
            # NumPy reduces a short last axis one row at a time (slow); the row maxima
            # of the axis moved to the front are n - 1 vectorised np.maximum passes.
            # The maximum is exact; only a +0.0/-0.0 tie may pick the other zero, and
            # x - (+0.0) and x - (-0.0) have the same exp, so the softmax is unchanged.
            front = np.empty((n, *others), dt)
            row_max = scratch.reshape(others)
            perm = (axis, *(a for a in range(len(node.shape)) if a != axis))

            def fast(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
                np.copyto(front, i[0].transpose(perm))
                np.maximum.reduce(front, axis=0, out=row_max)
                np.subtract(i[0], scratch, out=out)
                np.exp(out, out=out)
                np.add.reduce(out, axis=axis, keepdims=True, out=scratch)
                np.divide(out, scratch, out=out)

            return fast

        def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
            np.max(i[0], axis=axis, keepdims=True, out=scratch)
            np.subtract(i[0], scratch, out=out)
            if log:
                np.sum(np.exp(out), axis=axis, keepdims=True, out=scratch)
                np.log(scratch, out=scratch)
                np.subtract(out, scratch, out=out)
            else:
                np.exp(out, out=out)
                np.sum(out, axis=axis, keepdims=True, out=scratch)
                np.divide(out, scratch, out=out)

        return k

    return factory


def _zero_const(n: Node) -> bool:
    """A constant whose every element is +0.0 (all bits clear)."""
    return n.op == "constant" and not constant_array(n).reshape(-1).view(np.uint8).any()


def _where(node: Node, ins: Sequence[Node]) -> Kernel:
    dt = np.dtype(numpy_dtype(node.dtype))
    if (
        dt.kind == "f"
        and ins[0].dtype == "bool"
        and ins[0].shape == node.shape
        and (ins[1].shape, ins[1].dtype) == (node.shape, node.dtype)
        and _zero_const(ins[2])
    ):
        # where(cond, a, +0.0) -- ReLU's backward. A masked copyto runs ~20x slower than
        # three vectorised passes: mask -> 0 / all-ones integers, then AND with a's bits.
        # Exactly where()'s result, bit for bit (NaNs and -0.0 in `a` included).
        call = native.elementwise("where0", node.shape, (ins[1].dtype,), (ins[1].shape,))
        if call is not None:
            fn, code, a_layout, b_layout, threads = call

            def native_masked(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
                fn(code, np.ascontiguousarray(i[1]), a_layout, None, b_layout, None, np.ascontiguousarray(i[0]), out,
                   threads)  # fmt: skip

            return native_masked
        ints = np.dtype(f"i{dt.itemsize}")
        mask = np.empty(node.shape, ints)

        def masked(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
            np.copyto(mask, i[0], casting="unsafe")
            np.negative(mask, out=mask)
            np.bitwise_and(i[1].view(ints), mask, out=out.view(ints))

        return masked

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        np.copyto(out, i[2])
        np.copyto(out, i[1], where=i[0])

    return k


def _compare(node: Node, ins: Sequence[Node]) -> Kernel:
    cmp = node.attr("cmp")
    fn = {"lt": np.less, "gt": np.greater, "eq": np.equal}[cmp]
    return _ufunc2(fn, cmp)(node, ins)


def _cast(node: Node, ins: Sequence[Node]) -> Kernel:
    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        np.copyto(out, i[0], casting="unsafe")

    return k


def _one_hot(node: Node, ins: Sequence[Node]) -> Kernel:
    classes = np.arange(node.attr("depth"))

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        np.equal(i[0][..., None], classes, out=out, casting="unsafe")

    return k


def _softmax_cross_entropy(node: Node, ins: Sequence[Node]) -> Kernel:
    n, c = ins[0].shape
    dt = numpy_dtype(node.dtype)
    shifted = np.empty((n, c), dt)
    lse = np.empty((n, 1), dt)
    rows = np.arange(n)

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        logits, targets = i
        np.max(logits, axis=1, keepdims=True, out=lse)
        np.subtract(logits, lse, out=shifted)
        np.sum(np.exp(shifted), axis=1, keepdims=True, out=lse)
        np.log(lse, out=lse)
        picked = shifted[rows, targets]
        out[...] = np.mean(lse[:, 0] - picked) if n else 0.0

    return k


def _mse(node: Node, ins: Sequence[Node]) -> Kernel:
    diff = np.empty(ins[0].shape, numpy_dtype(node.dtype))

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        np.subtract(i[0], i[1], out=diff)
        np.multiply(diff, diff, out=diff)
        np.mean(diff, out=out)

    return k


def _concat(node: Node, ins: Sequence[Node]) -> Kernel:
    axis = node.attr("axis") % len(node.shape)

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        np.concatenate(i, axis=axis, out=out)

    return k


def _slice(node: Node, ins: Sequence[Node]) -> Kernel:
    key = slice_key(ins[0].shape, node.attr_dict)

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        np.copyto(out, i[0][key])

    return k


def _slice_scatter(node: Node, ins: Sequence[Node]) -> Kernel:
    key = slice_key(node.shape, node.attr_dict)

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        out.fill(0)
        out[key] = i[0]

    return k


def _gather(node: Node, ins: Sequence[Node]) -> Kernel:
    axis = node.attr("axis") % len(ins[0].shape)

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        np.take(i[0], i[1], axis=axis, out=out)

    return k


def _scatter_add(node: Node, ins: Sequence[Node]) -> Kernel:
    axis = node.attr("axis") % len(node.shape)
    lead = (slice(None),) * axis
    size = node.shape[axis]
    n_lead = math.prod(node.shape[:axis])
    n_trail = math.prod(node.shape[axis + 1 :])
    n_idx = math.prod(ins[1].shape)
    # np.add.at on the flat output with flat element indices is NumPy's fast 1-D path.
    # It visits values in C order, so every output element receives its values in
    # increasing index position, exactly as the row-wise np.add.at below does.
    flat_idx = np.empty((n_lead, n_idx, n_trail), np.intp)
    lead_base = (np.arange(n_lead, dtype=np.intp) * (size * n_trail)).reshape(n_lead, 1, 1)
    trail = np.arange(n_trail, dtype=np.intp)

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        out.fill(0)
        idx = i[1]
        if idx.size and (idx.min() < 0 or idx.max() >= size):
            # np.add.at is unbuffered and sequential: repeated indices accumulate in a fixed order.
            np.add.at(out, (*lead, idx), i[0])
            return
        np.multiply(idx.reshape(1, n_idx, 1), n_trail, out=flat_idx)
        np.add(flat_idx, lead_base, out=flat_idx)
        np.add(flat_idx, trail, out=flat_idx)
        np.add.at(out.reshape(-1), flat_idx.reshape(-1), i[0].reshape(-1))

    return k


def _embedding(node: Node, ins: Sequence[Node]) -> Kernel:
    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        np.take(i[0], i[1], axis=0, out=out)

    return k


def _layernorm(node: Node, ins: Sequence[Node]) -> Kernel:
    dt = numpy_dtype(node.dtype)
    kept = (*node.shape[:-1], 1)
    mean = np.empty(kept, dt)
    var = np.empty(kept, dt)
    sq = np.empty(node.shape, dt)
    eps = node.attr("eps")
    count = np.intp(node.shape[-1])

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        x, scale, shift = i
        _mean_into(x, -1, True, mean, count)
        np.subtract(x, mean, out=out)
        np.square(out, out=sq)
        _mean_into(sq, -1, True, var, count)
        np.add(var, eps, out=var)
        np.sqrt(var, out=var)
        np.divide(out, var, out=out)
        np.multiply(out, scale, out=out)
        np.add(out, shift, out=out)

    return k


def _dropout(node: Node, ins: Sequence[Node]) -> Kernel:
    p, seed = node.attr("p"), node.attr("seed")
    if p == 0.0 or not node.attr("training"):
        return _copy_from(lambda a: a)(node, ins)
    dt = numpy_dtype(node.dtype)
    scale = dt(1.0 / (1.0 - p))
    if len(ins) == 1:
        fixed = dropout_mask(node.shape, p, seed).astype(dt) * scale

        def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
            np.multiply(i[0], fixed, out=out)

        return k

    def seeded(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        mask = dropout_mask(node.shape, p, seed, int(i[1]))
        np.multiply(i[0], mask, out=out)
        np.multiply(out, scale, out=out)

    return seeded


def _matmul(node: Node, ins: Sequence[Node]) -> Kernel:
    a, b = ins
    if len(a.shape) == 2 and len(b.shape) == 2 and a.shape[1] == 1 and node.dtype in ("f32", "f64"):
        # An outer product (inner dimension 1, e.g. the backward of a 1-wide output
        # layer): one product per element, so a broadcast multiply gives GEMM's
        # numbers (k = 1) at a fraction of its call overhead. GEMM accumulates from
        # +0.0, so adding +0.0 reproduces its zero signs (-0.0 products become +0.0).
        def outer(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
            np.multiply(i[0], i[1], out=out)
            np.add(out, 0.0, out=out)

        return outer
    return _ufunc2(np.matmul)(node, ins)


def _gemm(node: Node, ins: Sequence[Node]) -> Kernel:
    alpha, beta = node.attr("alpha"), node.attr("beta")
    ta, tb = node.attr("transA"), node.attr("transB")
    scratch = np.empty(node.shape, numpy_dtype(node.dtype)) if len(ins) == 3 and beta != 1.0 else None

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        a = i[0].T if ta else i[0]
        b = i[1].T if tb else i[1]
        np.matmul(a, b, out=out)
        if alpha != 1.0:
            np.multiply(out, alpha, out=out)
        if len(i) == 3:
            if scratch is None:
                np.add(out, i[2], out=out)
            else:
                np.multiply(i[2], beta, out=scratch)
                np.add(out, scratch, out=out)

    return k


def _fused_steps(node: Node, ins: Sequence[Node]) -> list[Callable[[tuple[np.ndarray, ...], np.ndarray], None]]:
    """One closure per program step; each calls exactly what the unfused kernel calls, into ``out``."""
    zeros = _zeros(node.shape, np.dtype(numpy_dtype(node.dtype)))
    steps = []
    for name, param, args in parse_program(node.attr("program"), len(ins)):
        steps.append(_fused_step(name, param, args, zeros))
    return steps


def _fused_step(
    name: str, param: float | None, args: tuple[int, ...], zeros: np.ndarray
) -> Callable[[tuple[np.ndarray, ...], np.ndarray], None]:
    # Closures are specialised on where each operand lives (the running value in
    # ``out``, or fused input k) so the hot path does no argument dispatch.
    if name == "sigmoid":
        (a,) = args
        if a < 0:
            return lambda i, out: _sigmoid_into(out, out)
        return lambda i, out: _sigmoid_into(i[a], out)
    if name in ("relu", "pow"):
        fn2: np.ufunc = np.maximum if name == "relu" else np.power
        k = zeros if name == "relu" else param  # zeros: as the relu kernel
        (a,) = args
        if a < 0:
            return lambda i, out: fn2(out, k, out=out)
        return lambda i, out: fn2(i[a], k, out=out)
    fn = _FUSED_UFUNCS[name]
    if len(args) == 1:
        (a,) = args
        if a < 0:
            return lambda i, out: fn(out, out=out)
        return lambda i, out: fn(i[a], out=out)
    a, b = args
    if a < 0 and b < 0:
        return lambda i, out: fn(out, out, out=out)
    if a < 0:
        return lambda i, out: fn(out, i[b], out=out)
    if b < 0:
        return lambda i, out: fn(i[a], out, out=out)
    return lambda i, out: fn(i[a], i[b], out=out)


_FUSED_UFUNCS: dict[str, np.ufunc] = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "neg": np.negative,
    "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs, "tanh": np.tanh,
}


def _fused_elementwise(node: Node, ins: Sequence[Node]) -> Kernel:
    steps = tuple(_fused_steps(node, ins))

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        for step in steps:
            step(i, out)

    return k


KERNELS: dict[str, Callable[..., Kernel]] = {
    "add": _ufunc2(np.add, "add"),
    "sub": _ufunc2(np.subtract, "sub"),
    "mul": _ufunc2(np.multiply, "mul"),
    "div": _ufunc2(np.divide, "div"),
    "neg": _ufunc1(np.negative),
    "pow": _pow,
    "sqrt": _ufunc1(np.sqrt),
    "exp": _ufunc1(np.exp),
    "log": _ufunc1(np.log),
    "abs": _ufunc1(np.abs),
    "sign": _ufunc1(np.sign),
    "erf": _erf_kernel,
    "matmul": _matmul,
    "transpose": _transpose,
    "reshape": _reshape,
    "broadcast_to": _broadcast_to,
    # np.sum / np.max on an ndarray are these ufunc reductions behind a Python wrapper.
    "reduce_sum": _reduce(np.add.reduce),
    "reduce_mean": _reduce(np.mean),
    "reduce_max": _reduce(np.maximum.reduce),
    "relu": _relu,
    "leaky_relu": _leaky_relu,
    "sigmoid": _sigmoid,
    "tanh": _ufunc1(np.tanh),
    "gelu": _gelu,
    "silu": _silu,
    "softmax": _softmax(log=False),
    "log_softmax": _softmax(log=True),
    "where": _where,
    "compare": _compare,
    "cast": _cast,
    "one_hot": _one_hot,
    "softmax_cross_entropy": _softmax_cross_entropy,
    "mse": _mse,
    "concat": _concat,
    "slice": _slice,
    "slice_scatter": _slice_scatter,
    "gather": _gather,
    "scatter_add": _scatter_add,
    "embedding": _embedding,
    "squeeze": _reshape,
    "unsqueeze": _reshape,
    "layernorm": _layernorm,
    "dropout": _dropout,
    "gemm": _gemm,
    "fused_elementwise": _fused_elementwise,
    **_SPATIAL,
    **_RANKS,
}


def register() -> None:
    register_kernels("cpu", KERNELS)
    register_workspaces("cpu", _SPATIAL_WORKSPACES)
    register_variant("cpu", native.choice)
