"""CUDA launch builders, one per op: the GPU counterpart of ``backends/cpu/kernels.py``.

A builder receives the node, its input nodes and a :class:`Builder`, and
records the launches that compute the node: kernel name, argument format,
grid, block and arguments. Addresses are :class:`Ref` objects (a node's
value, a scratch region, a metadata region) resolved once the plan's arena
exists, so the launches are packed once and the executor's loop only calls them.
"""

from __future__ import annotations

import ctypes
import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, overload

import numpy as np

from volta_core.backends.cuda import launch as L
from volta_core.backends.cuda.cublas import OP_N, OP_T, check
from volta_core.ir.graph import Node, constant_array
from volta_core.ir.ops import (
    IRError,
    conv_workspace,
    dropout_mask,
    numpy_dtype,
    pad_widths,
    parse_program,
    pool_geometry,
    resize_matrix,
    resize_scales,
    resize_taps,
    slice_key,
    windows,
)

# argument formats (Python struct, native alignment = the CUDA parameter layout) of volta.cu's kernels
SIGNATURES = {
    "unary": "idqPP", "binary": "idqPPPP", "compare": "iqPPPP", "where": "qPPPPP", "copy": "qPPP", "cast": "qPP",
    "reduce": "iqqPPP", "softmax": "iqqqPP", "layernorm": "qq{T}PPPP", "dropout": "qPP{T}P", "fused": "iPPiPqPP",
    "sce_rows": "qqPPPP", "scatter_add": "qqqqqPPPP", "scatter_add_atomic": "qqqqPPPP", "gather": "qqqqPPPP",
    "one_hot": "qqPP", "opt_sgd": "qPPfif", "opt_momentum": "qPPPfifif", "opt_adam": "qPPPPfififffff",
    "opt_rmsprop": "qPPPPfiffffif", "opt_adagrad": "qPPPfiff", "clip_sumsq": "qPP", "clip_coef": "iPf",
    "clip_scale": "qPP",
    "im2col": "qPPP", "col2im": "qPPPP", "maxpool": "qPPP", "maxpool_grad": "qPPPPP", "maxpool_select": "qPPPPP",
    "avgpool": "qiPPP", "avgpool_grad": "qiPPP", "moments": "qqqPP", "batchnorm": "qqq{T}PPPPPP", "pad": "qidPPP",
    "pad_fold": "qiPP", "resize": "qiPPPPP",
}
UNARY = {"copy": 0, "neg": 1, "sqrt": 2, "exp": 3, "log": 4, "abs": 5, "sign": 6, "erf": 7, "relu": 8,
         "leaky_relu": 9, "sigmoid": 10, "tanh": 11, "gelu": 12, "gelu_tanh": 13, "silu": 14, "pow": 15}
BINARY = {"add": 0, "sub": 1, "mul": 2, "div": 3, "axpy": 4, "sqdiff": 5}
COMPARE = {"lt": 0, "gt": 1, "eq": 2}
REDUCE = {"reduce_sum": 0, "reduce_mean": 1, "reduce_max": 2}
ERRORS = {
    1: "softmax_cross_entropy: a target is outside [0, classes)",
    2: "gather/embedding: an index is out of range",
    3: "scatter_add: an index is out of range",
}


def signature(kind: str, dtype: str = "f32") -> str:
    return SIGNATURES[kind].replace("{T}", "d" if dtype == "f64" else "f")


def itemsize(dtype: str) -> int:
    return int(np.dtype(numpy_dtype(dtype)).itemsize)


@dataclass(frozen=True)
class Ref:
    """An address inside the arena: region key plus a byte offset."""

    region: tuple[object, ...]
    offset: int = 0

    def at(self, nbytes: int) -> Ref:
        return Ref(self.region, self.offset + nbytes)


Resolve = Callable[[Ref], int]
Step = Callable[[], Any]


@dataclass
class Builder:
    """Collects the launches of a plan; ``value(nid)`` is the Ref of a node's value."""

    dev: Any
    value: Callable[[int], Ref]
    determinism: str = "strict"
    work: Callable[[int], Ref] | None = None  # a node's planned workspace (ops with ``OpDef.workspace``)
    scratch_sizes: list[int] = field(default_factory=list)
    metas: list[bytes] = field(default_factory=list)
    late_metas: list[tuple[Ref, Callable[[Resolve], bytes]]] = field(default_factory=list)
    recipes: list[Callable[[Resolve], Step]] = field(default_factory=list)
    feed_hooks: list[tuple[str, Callable[[Resolve, np.ndarray], None]]] = field(default_factory=list)

    # -------------------------------------------------------------- regions
    def scratch(self, nbytes: int) -> Ref:
        self.scratch_sizes.append(nbytes)
        return Ref(("scratch", len(self.scratch_sizes) - 1))

    @overload
    def meta(self, data: np.ndarray) -> Ref: ...
    @overload
    def meta(self, data: None) -> None: ...

    def meta(self, data: np.ndarray | None) -> Ref | None:
        if data is None:
            return None
        self.metas.append(np.ascontiguousarray(data).tobytes())
        return Ref(("meta", len(self.metas) - 1))

    def late_meta(self, nbytes: int, make: Callable[[Resolve], bytes]) -> Ref:
        """A metadata region whose bytes depend on addresses (a pointer table), written once they are known."""
        ref = self.scratch(nbytes)
        self.late_metas.append((ref, make))
        return ref

    def workspace(self, nid: int) -> Ref:
        if self.work is None:
            raise IRError("this plan gives the CUDA builders no workspace")
        return self.work(nid)

    @property
    def error_flag(self) -> Ref:
        return Ref(("error",))

    # --------------------------------------------------------------- steps
    def launch(self, name: str, fmt: str, n: int | None, args: Sequence[object], *,
               grid: tuple[int, int, int] | None = None, block: tuple[int, int, int] | None = None,
               shared: int = 0) -> None:
        """Record one kernel launch: a grid-stride launch over ``n`` elements unless grid/block are given."""
        if grid is None or block is None:
            grid, block = L.grid_1d(max(int(n or 0), 1))
        fn = self.dev.function(name)
        stream = self.dev.stream
        if n == 0:
            return

        def make(resolve: Resolve) -> Step:
            values = [resolve(a) if isinstance(a, Ref) else (0 if a is None else a) for a in args]
            buf = struct.pack("@" + fmt, *values)
            return partial(fn._launch_kernel, grid, block, buf, shared, stream)

        self.recipes.append(make)

    def memset(self, ref: Ref, nbytes: int) -> None:
        drv, stream = self.dev.drv, self.dev.stream
        self.recipes.append(lambda resolve: partial(drv.memset_d8_async, resolve(ref), 0, nbytes, stream))

    def memcpy(self, dst: Ref, src: Ref, nbytes: int) -> None:
        if nbytes == 0:
            return
        drv, stream = self.dev.drv, self.dev.stream
        self.recipes.append(lambda resolve: partial(drv.memcpy_dtod_async, resolve(dst), resolve(src), nbytes, stream))

    def step(self, make: Callable[[Resolve], Step]) -> None:
        self.recipes.append(make)


Factory = Callable[[Node, Sequence[Node], Builder], None]


# ------------------------------------------------------------------ helpers
def _sized(dtype: str) -> str:
    return str(itemsize(dtype))


def _unary(code: str) -> Factory:
    def build(node: Node, ins: Sequence[Node], b: Builder) -> None:
        op = code
        p = 0.0
        if code == "pow":
            p = float(node.attr("exponent"))
        elif code == "leaky_relu":
            p = float(node.attr("alpha"))
        elif code == "gelu" and node.attr("approximate") == "tanh":
            op = "gelu_tanh"
        n = math.prod(node.shape)
        b.launch(f"unary_{node.dtype}", signature("unary"), n, [UNARY[op], p, n, b.value(ins[0].id), b.value(node.id)])

    return build


def _binary(code: str) -> Factory:
    def build(node: Node, ins: Sequence[Node], b: Builder) -> None:
        n = math.prod(node.shape)
        meta = b.meta(L.broadcast_meta(node.shape, [ins[0].shape, ins[1].shape]))
        b.launch(f"binary_{node.dtype}", signature("binary"), n,
                 [BINARY[code], 0.0, n, b.value(ins[0].id), b.value(ins[1].id), b.value(node.id), meta])

    return build


def _compare(node: Node, ins: Sequence[Node], b: Builder) -> None:
    n = math.prod(node.shape)
    meta = b.meta(L.broadcast_meta(node.shape, [ins[0].shape, ins[1].shape]))
    b.launch(f"compare_{ins[0].dtype}", signature("compare"), n,
             [COMPARE[node.attr("cmp")], n, b.value(ins[0].id), b.value(ins[1].id), b.value(node.id), meta])


def _where(node: Node, ins: Sequence[Node], b: Builder) -> None:
    n = math.prod(node.shape)
    meta = b.meta(L.broadcast_meta(node.shape, [i.shape for i in ins]))
    b.launch(f"where_{_sized(node.dtype)}", signature("where"), n,
             [n, *(b.value(i.id) for i in ins), b.value(node.id), meta])


def _cast(node: Node, ins: Sequence[Node], b: Builder) -> None:
    n = math.prod(node.shape)
    b.launch(f"cast_{ins[0].dtype}_{node.dtype}", signature("cast"), n, [n, b.value(ins[0].id), b.value(node.id)])


def strided_copy(b: Builder, dtype: str, shape: Sequence[int], src: Ref, src_strides: Sequence[int],
                 dst: Ref, dst_strides: Sequence[int]) -> None:
    """Copy ``shape`` elements between two strided layouts (element strides; offsets folded into the Refs)."""
    n = math.prod(shape)
    meta = b.meta(L.copy_meta(shape, src_strides, dst_strides))
    b.launch(f"copy_{_sized(dtype)}", signature("copy"), n, [n, src, dst, meta])


def _copy_view(view: Callable[[Node, np.ndarray], np.ndarray]) -> Factory:
    """An op whose value is a NumPy view of its input (transpose, broadcast_to, slice): a strided copy."""
    def build(node: Node, ins: Sequence[Node], b: Builder) -> None:
        offset, strides, shape = L.view_geometry(ins[0].shape, lambda a: view(node, a))
        size = itemsize(node.dtype)
        strided_copy(b, node.dtype, shape, b.value(ins[0].id).at(offset * size), strides,
                     b.value(node.id), L.contiguous_strides(shape))

    return build


def _reshape(node: Node, ins: Sequence[Node], b: Builder) -> None:
    # GPU values are contiguous, so the plan makes reshapes views; this copy serves plans that do not
    b.memcpy(b.value(node.id), b.value(ins[0].id), math.prod(node.shape) * itemsize(node.dtype))


def _reduce(node: Node, ins: Sequence[Node], b: Builder) -> None:
    meta, n_out, count = L.reduce_meta(ins[0].shape, node.attr("axes"))
    block = L.tree_block(count)
    dt = node.dtype
    b.launch(f"reduce_{dt}", signature("reduce"), None,
             [REDUCE[node.op], n_out, count, b.value(ins[0].id), b.value(node.id), b.meta(meta)],
             grid=L.rows_grid(n_out), block=(block, 1, 1), shared=block * itemsize(dt))


def reduce_all(b: Builder, dtype: str, op: str, src: Ref, count: int, dst: Ref) -> None:
    meta, _, _ = L.reduce_meta((count,), None)
    block = L.tree_block(count)
    b.launch(f"reduce_{dtype}", signature("reduce"), None, [REDUCE[op], 1, count, src, dst, b.meta(meta)],
             grid=(1, 1, 1), block=(block, 1, 1), shared=block * itemsize(dtype))


def _softmax(node: Node, ins: Sequence[Node], b: Builder) -> None:
    rows, n, inner = L.axis_geometry(node.shape, node.attr("axis"))
    block = L.tree_block(n)
    b.launch(f"softmax_{node.dtype}", signature("softmax"), None,
             [int(node.op == "log_softmax"), rows, n, inner, b.value(ins[0].id), b.value(node.id)],
             grid=L.rows_grid(rows), block=(block, 1, 1), shared=block * itemsize(node.dtype))


def _sce(node: Node, ins: Sequence[Node], b: Builder) -> None:
    n, c = ins[0].shape
    dt = node.dtype
    if n == 0:
        b.memset(b.value(node.id), itemsize(dt))
        return
    rows = b.scratch(n * itemsize(dt))
    block = L.tree_block(c)
    b.launch(f"sce_rows_{dt}_{ins[1].dtype}", signature("sce_rows"), None,
             [n, c, b.value(ins[0].id), b.value(ins[1].id), rows, b.error_flag],
             grid=L.rows_grid(n), block=(block, 1, 1), shared=block * itemsize(dt))
    reduce_all(b, dt, "reduce_mean", rows, n, b.value(node.id))


def _mse(node: Node, ins: Sequence[Node], b: Builder) -> None:
    n = math.prod(ins[0].shape)
    dt = node.dtype
    diff = b.scratch(n * itemsize(dt))
    meta = b.meta(L.broadcast_meta(ins[0].shape, [ins[0].shape, ins[1].shape]))
    b.launch(f"binary_{dt}", signature("binary"), n,
             [BINARY["sqdiff"], 0.0, n, b.value(ins[0].id), b.value(ins[1].id), diff, meta])
    reduce_all(b, dt, "reduce_mean", diff, n, b.value(node.id))


def _layernorm(node: Node, ins: Sequence[Node], b: Builder) -> None:
    d = node.shape[-1]
    rows = math.prod(node.shape[:-1])
    block = L.tree_block(d)
    b.launch(f"layernorm_{node.dtype}", signature("layernorm", node.dtype), None,
             [rows, d, float(node.attr("eps")), *(b.value(i.id) for i in ins), b.value(node.id)],
             grid=L.rows_grid(rows), block=(block, 1, 1), shared=block * itemsize(node.dtype))


def _concat(node: Node, ins: Sequence[Node], b: Builder) -> None:
    axis = node.attr("axis") % len(node.shape)
    out_strides = L.contiguous_strides(node.shape)
    size = itemsize(node.dtype)
    start = 0
    for i in ins:
        strided_copy(b, node.dtype, i.shape, b.value(i.id), L.contiguous_strides(i.shape),
                     b.value(node.id).at(start * out_strides[axis] * size), out_strides)
        start += i.shape[axis]


def _slice_scatter(node: Node, ins: Sequence[Node], b: Builder) -> None:
    key = slice_key(node.shape, node.attr_dict)
    offset, strides, shape = L.view_geometry(node.shape, lambda a: a[key])
    size = itemsize(node.dtype)
    b.memset(b.value(node.id), math.prod(node.shape) * size)
    strided_copy(b, node.dtype, shape, b.value(ins[0].id), L.contiguous_strides(shape),
                 b.value(node.id).at(offset * size), strides)


def _gather(node: Node, ins: Sequence[Node], b: Builder) -> None:
    axis = node.attr("axis") if node.op == "gather" else 0
    _, size, trail, nidx = L.index_geometry(ins[0].shape, axis, ins[1].shape)
    n = math.prod(node.shape)
    b.launch(f"gather_{_sized(node.dtype)}_{ins[1].dtype}", signature("gather"), n,
             [n, nidx, size, trail, b.value(ins[0].id), b.value(ins[1].id), b.value(node.id), b.error_flag])


def _scatter_add(node: Node, ins: Sequence[Node], b: Builder) -> None:
    lead, size, trail, nidx = L.index_geometry(node.shape, node.attr("axis"), ins[1].shape)
    dt = node.dtype
    b.memset(b.value(node.id), math.prod(node.shape) * itemsize(dt))
    src, idx, out = b.value(ins[0].id), b.value(ins[1].id), b.value(node.id)
    if b.determinism == "balanced":
        n = lead * nidx * trail
        b.launch(f"scatter_add_atomic_{dt}_{ins[1].dtype}", signature("scatter_add_atomic"), n,
                 [n, nidx, size, trail, src, idx, out, b.error_flag])
        return
    jblocks = L.scatter_jblocks(lead, trail, size)
    b.launch(f"scatter_add_{dt}_{ins[1].dtype}", signature("scatter_add"), lead * jblocks * trail,
             [lead, nidx, size, trail, jblocks, src, idx, out, b.error_flag])


def _one_hot(node: Node, ins: Sequence[Node], b: Builder) -> None:
    n = math.prod(node.shape)
    b.launch(f"one_hot_{ins[0].dtype}_{node.dtype}", signature("one_hot"), n,
             [n, node.attr("depth"), b.value(ins[0].id), b.value(node.id)])


def _dropout(node: Node, ins: Sequence[Node], b: Builder) -> None:
    p, seed = node.attr("p"), node.attr("seed")
    n = math.prod(node.shape)
    dt = node.dtype
    if p == 0.0 or not node.attr("training"):
        b.memcpy(b.value(node.id), b.value(ins[0].id), n * itemsize(dt))
        return
    scale = float(numpy_dtype(dt)(1.0 / (1.0 - p)))
    if len(ins) == 1:
        fixed = dropout_mask(node.shape, p, seed).astype(numpy_dtype(dt)) * numpy_dtype(dt)(scale)
        b.launch(f"binary_{dt}", signature("binary"), n,
                 [BINARY["mul"], 0.0, n, b.value(ins[0].id), b.meta(fixed), b.value(node.id), None])
        return
    # The mask is a pure function of (shape, p, seed, step input): made on the host, exactly as the
    # CPU backend makes it, and copied in with the batch when the step input is fed.
    mask = b.scratch(n)
    drv, stream = b.dev.drv, b.dev.stream
    step_name = str(ins[1].attr("name")) if ins[1].op == "input" else None
    if step_name is None:
        raise IRError("dropout on the GPU needs its seed operand to be a graph input")

    def hook(resolve: Resolve, step: np.ndarray) -> None:
        m = np.ascontiguousarray(dropout_mask(node.shape, p, seed, int(step)), np.uint8)
        drv.memcpy_htod_async(resolve(mask), m, stream)

    b.feed_hooks.append((step_name, hook))
    b.launch(f"dropout_{dt}", signature("dropout", dt), n, [n, b.value(ins[0].id), mask, scale, b.value(node.id)])


_FUSED_CODES = {**UNARY, **{k: 100 + v for k, v in BINARY.items()}}


def _fused(node: Node, ins: Sequence[Node], b: Builder) -> None:
    steps = parse_program(node.attr("program"), len(ins))
    if len(ins) > 8:
        raise IRError("fused_elementwise on the GPU takes at most 8 inputs")
    prog = np.array([[_FUSED_CODES[name], args[0], args[1] if len(args) > 1 else -1] for name, _, args in steps],
                    np.int32)
    params = np.array([param or 0.0 for _, param, _ in steps], np.float64)
    refs = [b.value(i.id) for i in ins]
    table = b.late_meta(8 * len(refs), lambda resolve: np.array([resolve(r) for r in refs], np.uint64).tobytes())
    n = math.prod(node.shape)
    meta = b.meta(L.broadcast_meta(node.shape, [i.shape for i in ins]))
    b.launch(f"fused_{node.dtype}", signature("fused"), n,
             [len(steps), b.meta(prog), b.meta(params), len(ins), table, n, b.value(node.id), meta])


# ------------------------------------------------------------------ matmul
def gemm_call(b: Builder, dtype: str, m: int, n: int, k: int, a: Ref, ta: bool, bb: Ref, tb: bool, c: Ref,
              alpha: float = 1.0, batch: int = 1, stride_a: int = 0, stride_b: int = 0) -> None:
    """Row-major ``C[m,n] = alpha * op(A) @ op(B)`` (``batch`` of them, strided) with cuBLAS."""
    lib, handle = b.dev.cublas_lib, b.dev.blas.handle
    real = ctypes.c_double if dtype == "f64" else ctypes.c_float
    al, be = real(alpha), real(0.0)
    lda = m if ta else k  # row-major leading dimensions
    ldb = k if tb else n
    prefix = "D" if dtype == "f64" else "S"
    if m == 0 or n == 0:
        return
    if k == 0:
        b.memset(c, m * n * batch * itemsize(dtype))
        return

    def make(resolve: Resolve) -> Step:
        pa, pb, pc = ctypes.c_void_p(resolve(a)), ctypes.c_void_p(resolve(bb)), ctypes.c_void_p(resolve(c))
        opb, opa = (OP_T if tb else OP_N), (OP_T if ta else OP_N)
        if batch == 1:
            fn = getattr(lib, f"cublas{prefix}gemm_v2")
            args: tuple[object, ...] = (handle, opb, opa, n, m, k, ctypes.byref(al), pb, ldb, pa, lda,
                                        ctypes.byref(be), pc, n)
        else:
            fn = getattr(lib, f"cublas{prefix}gemmStridedBatched")
            args = (handle, opb, opa, n, m, k, ctypes.byref(al), pb, ldb, stride_b, pa, lda, stride_a,
                    ctypes.byref(be), pc, n, m * n, batch)
        keep = (al, be)  # the scalars ctypes points at live as long as the step
        return partial(_checked, fn, args, keep)

    b.step(make)


def _checked(fn: Any, args: tuple[object, ...], keep: object) -> None:
    status = fn(*args)
    if status:
        check(status, fn.__name__)


def _matmul(node: Node, ins: Sequence[Node], b: Builder) -> None:
    a, w = ins
    m, k = a.shape[-2], a.shape[-1]
    n = w.shape[-1]
    batch_shape = node.shape[:-2]
    dt = node.dtype
    size = itemsize(dt)
    if len(w.shape) == 2:  # [..., m, k] @ [k, n]: one GEMM over all leading rows (A is contiguous)
        rows = math.prod(a.shape[:-1])
        gemm_call(b, dt, rows, n, k, b.value(a.id), False, b.value(w.id), False, b.value(node.id))
        return
    batch = math.prod(batch_shape)
    a_b = tuple(a.shape[:-2])
    w_b = tuple(w.shape[:-2])
    full = tuple(batch_shape)
    padded_a = (1,) * (len(full) - len(a_b)) + a_b
    padded_w = (1,) * (len(full) - len(w_b)) + w_b
    if padded_a == full and padded_w == full:
        gemm_call(b, dt, m, n, k, b.value(a.id), False, b.value(w.id), False, b.value(node.id),
                  batch=batch, stride_a=m * k, stride_b=k * n)
        return
    if math.prod(a_b) == 1 and padded_w == full:
        gemm_call(b, dt, m, n, k, b.value(a.id), False, b.value(w.id), False, b.value(node.id),
                  batch=batch, stride_a=0, stride_b=k * n)
        return
    # general batch broadcasting: one GEMM per output matrix, in order
    a_str = L.broadcast_strides(padded_a, full) if full else ()
    w_str = L.broadcast_strides(padded_w, full) if full else ()
    for idx in np.ndindex(*full):
        ia = sum(i * s for i, s in zip(idx, a_str, strict=True))
        iw = sum(i * s for i, s in zip(idx, w_str, strict=True))
        io = int(np.ravel_multi_index(idx, full))
        gemm_call(b, dt, m, n, k, b.value(a.id).at(ia * m * k * size), False, b.value(w.id).at(iw * k * n * size),
                  False, b.value(node.id).at(io * m * n * size))


def _gemm(node: Node, ins: Sequence[Node], b: Builder) -> None:
    ta, tb = bool(node.attr("transA")), bool(node.attr("transB"))
    a, w = ins[0], ins[1]
    m = a.shape[1] if ta else a.shape[0]
    k = a.shape[0] if ta else a.shape[1]
    n = w.shape[0] if tb else w.shape[1]
    alpha, beta = float(node.attr("alpha")), float(node.attr("beta"))
    gemm_call(b, node.dtype, m, n, k, b.value(a.id), ta, b.value(w.id), tb, b.value(node.id), alpha=alpha)
    if len(ins) == 3:
        total = m * n
        meta = b.meta(L.broadcast_meta(node.shape, [node.shape, ins[2].shape]))
        code, p = (BINARY["add"], 0.0) if beta == 1.0 else (BINARY["axpy"], beta)
        b.launch(f"binary_{node.dtype}", signature("binary"), total,
                 [code, p, total, b.value(node.id), b.value(ins[2].id), b.value(node.id), meta])


# ------------------------------------------------------------------ images
def _conv_geometry(node: Node, x: Sequence[int], kernel: Sequence[int], out_hw: Sequence[int]) -> np.ndarray:
    return L.window_meta(x, windows(node.op, node.attr_dict, kernel), out_hw)


def _to_channels_first(b: Builder, dtype: str, src: Ref, dst: Ref, shape: Sequence[int]) -> None:
    """[N, C, H, W] -> [C, N·H·W] (a strided copy)."""
    n, c, plane = shape[0], shape[1], shape[2] * shape[3]
    strided_copy(b, dtype, (n, c, plane), src, (c * plane, plane, 1), dst, (plane, n * plane, 1))


def _from_channels_first(b: Builder, dtype: str, src: Ref, dst: Ref, shape: Sequence[int]) -> None:
    n, c, plane = shape[0], shape[1], shape[2] * shape[3]
    strided_copy(b, dtype, (n, c, plane), src, (plane, n * plane, 1), dst, (c * plane, plane, 1))


def _add_bias(b: Builder, node: Node, bias: Node) -> None:
    n = math.prod(node.shape)
    meta = b.meta(L.broadcast_meta(node.shape, [node.shape, (1, node.shape[1], 1, 1)]))
    b.launch(f"binary_{node.dtype}", signature("binary"), n,
             [BINARY["add"], 0.0, n, b.value(node.id), b.value(bias.id), b.value(node.id), meta])


def _im2col(b: Builder, node: Node, x: Node, kernel: Sequence[int], out_hw: Sequence[int], cols: Ref) -> None:
    n = x.shape[1] * kernel[0] * kernel[1] * x.shape[0] * out_hw[0] * out_hw[1]
    meta = b.meta(_conv_geometry(node, x.shape, kernel, out_hw))
    b.launch(f"im2col_{node.dtype}", signature("im2col"), n, [n, b.value(x.id), cols, meta])


def _conv2d(node: Node, ins: Sequence[Node], b: Builder) -> None:
    # im2col into columns [C·kH·kW, N·Ho·Wo]; one strided-batched GEMM over the groups gives the
    # output channels first [O, N·Ho·Wo]; a strided copy puts it back to NCHW; the bias is added after.
    x, w = ins[0], ins[1]
    groups, dt = node.attr("groups"), node.dtype
    o, cg, kh, kw = w.shape
    cols_shape, _ = conv_workspace(x.shape, w.shape, node.shape, transpose=False)
    cols = b.workspace(node.id)
    outt = cols.at(math.prod(cols_shape) * itemsize(dt))
    _im2col(b, node, x, (kh, kw), node.shape[2:], cols)
    og, kg, cols_n = o // groups, cg * kh * kw, cols_shape[1]
    gemm_call(b, dt, og, cols_n, kg, b.value(w.id), False, cols, False, outt, batch=groups,
              stride_a=og * kg, stride_b=kg * cols_n)
    _from_channels_first(b, dt, outt, b.value(node.id), node.shape)
    if len(ins) == 3:
        _add_bias(b, node, ins[2])


def _conv2d_weight_grad(node: Node, ins: Sequence[Node], b: Builder) -> None:
    x, dy = ins
    groups, dt = node.attr("groups"), node.dtype
    o, cg, kh, kw = node.shape
    cols_shape, _ = conv_workspace(x.shape, node.shape, dy.shape, transpose=False)
    cols = b.workspace(node.id)
    dyt = cols.at(math.prod(cols_shape) * itemsize(dt))
    _im2col(b, node, x, (kh, kw), dy.shape[2:], cols)
    _to_channels_first(b, dt, b.value(dy.id), dyt, dy.shape)
    og, kg, cols_n = o // groups, cg * kh * kw, cols_shape[1]
    gemm_call(b, dt, og, kg, cols_n, dyt, False, cols, True, b.value(node.id), batch=groups,
              stride_a=og * cols_n, stride_b=kg * cols_n)


def _conv_transpose2d(node: Node, ins: Sequence[Node], b: Builder) -> None:
    # x channels first [C, N·H·W]; columns [O·kH·kW, N·H·W] = weightᵀ @ x per group (batched GEMM);
    # col2im gathers every output element's taps in a fixed order and adds the bias (no atomics).
    x, w = ins[0], ins[1]
    groups, dt = node.attr("groups"), node.dtype
    c, og, kh, kw = w.shape
    cols_shape, _ = conv_workspace(x.shape, w.shape, node.shape, transpose=True)
    cols = b.workspace(node.id)
    xt = cols.at(math.prod(cols_shape) * itemsize(dt))
    _to_channels_first(b, dt, b.value(x.id), xt, x.shape)
    cg, rows, cols_n = c // groups, og * kh * kw, cols_shape[1]
    gemm_call(b, dt, rows, cols_n, cg, b.value(w.id), True, xt, False, cols, batch=groups,
              stride_a=cg * rows, stride_b=cg * cols_n)
    n = math.prod(node.shape)
    meta = b.meta(_conv_geometry(node, node.shape, (kh, kw), x.shape[2:]))
    bias = b.value(ins[2].id) if len(ins) == 3 else None
    b.launch(f"col2im_{dt}", signature("col2im"), n, [n, cols, bias, b.value(node.id), meta])


def _pool(kernel: str) -> Factory:
    """Direct kernels, one thread per element written: outputs for max/avg pooling and select,
    inputs for the gradients (which gather over their windows: no atomics, a fixed order)."""
    def build(node: Node, ins: Sequence[Node], b: Builder) -> None:
        x = tuple(node.attr("shape")) if node.op == "avg_pool2d_grad" else ins[0].shape
        hw, out_hw = pool_geometry(node.op, x, node.attr_dict)
        meta = b.meta(L.window_meta(x, hw, out_hw))
        n = math.prod(node.shape)
        args: list[object] = [n]
        if kernel.startswith("avgpool"):
            args.append(int(node.attr("count_include_pad")))
        args += [*(b.value(i.id) for i in ins), b.value(node.id), meta]
        b.launch(f"{kernel}_{node.dtype}", signature(kernel), n, args)

    return build


def _moments(node: Node, ins: Sequence[Node], b: Builder) -> None:
    x = ins[0].shape
    c, count = x[1], math.prod(x) // max(x[1], 1)
    block = L.tree_block(count)
    b.launch(f"moments_{node.dtype}", signature("moments"), None,
             [c, x[0], math.prod(x[2:]), b.value(ins[0].id), b.value(node.id)],
             grid=L.rows_grid(c), block=(block, 1, 1), shared=block * itemsize(node.dtype))


def _cpu_only(node: Node, ins: Sequence[Node], b: Builder) -> None:
    # Only data-parallel training (`distributed data_parallel`, CPU only) builds the rank ops.
    raise IRError(f"{node.op} exchanges batch moments between the ranks of a data-parallel job, "
                  "which trains on the CPU")


def _batchnorm(node: Node, ins: Sequence[Node], b: Builder) -> None:
    n = math.prod(node.shape)
    b.launch(f"batchnorm_{node.dtype}", signature("batchnorm", node.dtype), n,
             [n, node.shape[1], math.prod(node.shape[2:]), float(node.attr("eps")), *(b.value(i.id) for i in ins),
              b.value(node.id)])


PAD_MODES = {"constant": 0, "reflect": 1, "edge": 2}


def _pad(node: Node, ins: Sequence[Node], b: Builder) -> None:
    widths = pad_widths("pad", ins[0].shape, node.attr_dict)
    n = math.prod(node.shape)
    meta = b.meta(L.pad_meta(node.shape, ins[0].shape, [lo for lo, _ in widths]))
    b.launch(f"pad_{node.dtype}", signature("pad"), n,
             [n, PAD_MODES[node.attr("mode")], float(node.attr("value")), b.value(ins[0].id), b.value(node.id), meta])


def _pad_grad(node: Node, ins: Sequence[Node], b: Builder) -> None:
    g, dt = ins[0].shape, node.dtype
    widths = pad_widths("pad_grad", node.shape, node.attr_dict)
    size = itemsize(dt)
    crop = tuple(slice(lo, lo + d) for (lo, _), d in zip(widths, node.shape, strict=True))
    offset, strides, shape = L.view_geometry(g, lambda a: a[crop])
    src = b.value(ins[0].id)
    if node.attr("mode") != "constant":  # fold the borders into a copy of g, axis by axis, then crop
        src = b.workspace(node.id)
        b.memcpy(src, b.value(ins[0].id), math.prod(g) * size)
        for meta, n in L.pad_folds(g, widths):
            b.launch(f"pad_fold_{dt}", signature("pad_fold"), n, [n, PAD_MODES[node.attr("mode")], src, b.meta(meta)])
    strided_copy(b, dt, shape, src.at(offset * size), strides, b.value(node.id), L.contiguous_strides(shape))


def _resize2d(node: Node, ins: Sequence[Node], b: Builder) -> None:
    x, dt = ins[0].shape, node.dtype
    ho, wo = node.shape[2:]
    scale_h, scale_w = resize_scales(x, node.attr_dict)
    hi0, hi1, hw = resize_taps(x[2], ho, scale_h, node.attr_dict)
    wi0, wi1, ww = resize_taps(x[3], wo, scale_w, node.attr_dict)
    real = numpy_dtype(dt)
    idx = b.meta(np.concatenate([hi0, hi1, wi0, wi1]).astype(np.int64))
    # the CPU backend's weights, rounded to the dtype the same way
    wts = b.meta(np.concatenate([(1.0 - hw).astype(real), hw.astype(real), (1.0 - ww).astype(real), ww.astype(real)]))
    n = math.prod(node.shape)
    b.launch(f"resize_{dt}", signature("resize"), n,
             [n, int(node.attr("mode") == "linear"), b.value(ins[0].id), b.value(node.id), idx, wts,
              b.meta(np.array([*x, ho, wo], np.int64))])


def _resize2d_grad(node: Node, ins: Sequence[Node], b: Builder) -> None:
    # dx = Rhᵀ · g · Rw per image plane: one GEMM along W, one strided-batched GEMM along H
    n, c, h, w = node.shape
    ho, wo = ins[0].shape[2:]
    dt = node.dtype
    real = numpy_dtype(dt)
    scale_h, scale_w = resize_scales(node.shape, node.attr_dict)
    rw = b.meta(resize_matrix(w, wo, scale_w, node.attr_dict).astype(real))
    rh_t = b.meta(np.ascontiguousarray(resize_matrix(h, ho, scale_h, node.attr_dict).T.astype(real)))
    rows = b.workspace(node.id)
    gemm_call(b, dt, n * c * ho, w, wo, b.value(ins[0].id), False, rw, False, rows)
    gemm_call(b, dt, h, w, ho, rh_t, False, rows, False, b.value(node.id), batch=n * c, stride_a=0, stride_b=ho * w)


BUILDERS: dict[str, Factory] = {
    **{op: _unary(op) for op in ("neg", "pow", "sqrt", "exp", "log", "abs", "sign", "erf", "relu", "leaky_relu",
                                 "sigmoid", "tanh", "gelu", "silu")},
    **{op: _binary(op) for op in ("add", "sub", "mul", "div")},
    "compare": _compare,
    "where": _where,
    "cast": _cast,
    "transpose": _copy_view(lambda node, a: a.transpose(node.attr("perm"))),
    "broadcast_to": _copy_view(lambda node, a: np.broadcast_to(a, node.shape)),
    "slice": _copy_view(lambda node, a: a[slice_key(a.shape, node.attr_dict)]),
    "reshape": _reshape,
    "squeeze": _reshape,
    "unsqueeze": _reshape,
    "reduce_sum": _reduce,
    "reduce_mean": _reduce,
    "reduce_max": _reduce,
    "softmax": _softmax,
    "log_softmax": _softmax,
    "softmax_cross_entropy": _sce,
    "mse": _mse,
    "layernorm": _layernorm,
    "concat": _concat,
    "slice_scatter": _slice_scatter,
    "gather": _gather,
    "embedding": _gather,
    "scatter_add": _scatter_add,
    "one_hot": _one_hot,
    "dropout": _dropout,
    "fused_elementwise": _fused,
    "matmul": _matmul,
    "gemm": _gemm,
    "conv2d": _conv2d,
    "conv2d_weight_grad": _conv2d_weight_grad,
    "conv_transpose2d": _conv_transpose2d,
    "max_pool2d": _pool("maxpool"),
    "max_pool2d_grad": _pool("maxpool_grad"),
    "max_pool2d_select": _pool("maxpool_select"),
    "avg_pool2d": _pool("avgpool"),
    "avg_pool2d_grad": _pool("avgpool_grad"),
    "moments": _moments,
    "batchnorm": _batchnorm,
    "rank_moments": _cpu_only,
    "rank_moments_grad": _cpu_only,
    "pad": _pad,
    "pad_grad": _pad_grad,
    "resize2d": _resize2d,
    "resize2d_grad": _resize2d_grad,
}


def constant_bytes(node: Node) -> bytes:
    return np.ascontiguousarray(constant_array(node)).tobytes()
