"""NumPy kernels of the image ops: convolution, pooling, batch normalisation, padding.

Conventions as in :mod:`volta_core.backends.cpu.kernels` (views, slices and
scratch are made once in the factory; the kernel writes into ``out``). Ops
that declare a workspace (``OpDef.workspace``) get it as a third factory
argument: a byte array from the memory plan that other steps reuse, so a
kernel rewrites every part of it it reads (padding slots included) on every
call. Outside a plan (constant folding) the factory allocates its own.

Convolutions are im2col + one BLAS GEMM per group, in a channels-first
column layout ``[C·kH·kW, N·Ho·Wo]``: the GEMM's N dimension is the whole
batch (one large call rather than a call per sample), and moving to and
from NCHW is a single strided copy (the bias add rides on it). Pooling runs
over the kH·kW strided tap views of the input, one vectorised pass per tap.
Every result depends only on the inputs: no threads, fixed orders.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from volta_core.backends.cpu import native
from volta_core.backends.cpu.blas import configured_threads
from volta_core.ir.graph import Node
from volta_core.ir.ops import (
    Window,
    conv_chunk,
    conv_geometry,
    conv_workspace,
    numpy_dtype,
    pad_widths,
    padded_frame,
    pool_geometry,
    resize_matrix,
    resize_scales,
    resize_taps,
    windows,
)

Kernel = Callable[[tuple[np.ndarray, ...], np.ndarray], None]
Index = tuple[slice | int, ...]


def _carve(workspace: np.ndarray | None, parts: Sequence[tuple[tuple[int, ...], np.dtype]]) -> list[np.ndarray]:
    """Typed arrays laid end to end in ``workspace`` (float parts first keeps them aligned)."""
    sizes = [math.prod(shape) * np.dtype(dt).itemsize for shape, dt in parts]
    buf = workspace if workspace is not None else np.empty(sum(sizes), np.uint8)
    out: list[np.ndarray] = []
    at = 0
    for (shape, dt), size in zip(parts, sizes, strict=True):
        out.append(buf[at : at + size].view(dt).reshape(shape))
        at += size
    return out


def _run(first: int, stop: int, start: int, step: int) -> slice:
    """The input indices read by windows ``[first, stop)`` of one tap (``start`` is window ``first``'s)."""
    return slice(start, start + (stop - first - 1) * step + 1, step)


def _borders(first: int, stop: int, size: int) -> list[slice]:
    return [s for s in (slice(0, first), slice(stop, size)) if s.stop > s.start]


# ------------------------------------------------------------------ convolution
class _Columns:
    """The im2col geometry of one convolution: columns [C, kH, kW, N, Ho, Wo] against an
    image [N, C, H, W] read channels first.

    Per tap: the columns index, the image index, and the column slabs that are
    padding. With stride 1 and Wo == W, a tap is a shift of the flattened
    [H·W] planes, so it moves as one run per (channel, sample) instead of one
    per output row (NumPy's per-row overhead dominates small images); the run
    also carries values across row ends, which land exactly in the padding
    slabs and are zeroed (im2col) or zeroed first (col2im) there.
    """

    def __init__(self, image: tuple[int, ...], hw: tuple[Window, Window], out_hw: tuple[int, int]) -> None:
        wh, ww = hw
        n, c, h, w = image
        ho, wo = out_hw
        self.shapes = ((c, wh.kernel, ww.kernel, n, ho * wo), (c, wh.kernel, ww.kernel, n, ho, wo))
        self.flat = wh.stride == ww.stride == 1 and wo == w
        self.taps: list[tuple[Index, Index, list[Index]]] = []
        for a in range(wh.kernel):
            h0, h1, ih = wh.taps(h, ho, a)
            for b in range(ww.kernel):
                w0, w1, iw = ww.taps(w, wo, b)
                tap: Index = (slice(None), a, b, slice(None))
                if h1 == h0 or w1 == w0:
                    self.taps.append((tap, (), [tap]))
                    continue
                zero: list[Index] = [(*tap, s, slice(None)) for s in _borders(h0, h1, ho)]
                zero += [(*tap, slice(h0, h1), s) for s in _borders(w0, w1, wo)]
                if self.flat:
                    start, stop = h0 * wo + w0, (h1 - 1) * wo + w1
                    shift = ih * w + iw - start
                    self.taps.append(((*tap, slice(start, stop)),
                                      (slice(None), slice(None), slice(start + shift, stop + shift)), zero))
                else:
                    self.taps.append(((*tap, slice(h0, h1), slice(w0, w1)),
                                      (slice(None), slice(None), _run(h0, h1, ih, wh.stride),
                                       _run(w0, w1, iw, ww.stride)), zero))

    def views(self, cols: np.ndarray, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(columns as the taps index them, columns 6-D for the slabs, the image channels first)."""
        n, c = image.shape[:2]
        cols6 = cols.reshape(self.shapes[1])
        if self.flat:
            return cols.reshape(self.shapes[0]), cols6, image.reshape(n, c, -1).transpose(1, 0, 2)
        return cols6, cols6, image.transpose(1, 0, 2, 3)

    def gather(self, cols: np.ndarray, image: np.ndarray) -> None:
        """im2col: every column of every tap, padding as 0."""
        dst, cols6, src = self.views(cols, image)
        for d, s, zero in self.taps:
            if s:
                np.copyto(dst[d], src[s])
            for z in zero:
                cols6[z] = 0

    def scatter_add(self, cols: np.ndarray, image: np.ndarray) -> None:
        """col2im: add every tap's columns into ``image`` (zeroed by the caller), taps in row-major order."""
        src, cols6, dst = self.views(cols, image)
        for d, s, zero in self.taps:
            if not s:
                continue
            if self.flat:  # the run crosses row ends through padding slabs: make them add +0.0
                for z in zero:
                    cols6[z] = 0
            view = dst[s]
            np.add(view, src[d], out=view)


def _prefix(buf: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The first prod(shape) elements of ``buf``, contiguous, as ``shape``."""
    return buf.reshape(-1)[: math.prod(shape)].reshape(shape)


def _chunks(node: Node, x: tuple[int, ...], w: tuple[int, ...], out: tuple[int, ...], transpose: bool,
            workspace: np.ndarray | None) -> tuple[list[slice], np.ndarray, np.ndarray]:
    """The batch cut into chunks whose columns fit ``CPU_COLUMN_BYTES``, and the workspace's
    columns and channels-first buffers for one chunk."""
    dt = np.dtype(numpy_dtype(node.dtype))
    size = conv_chunk(x, w, out, transpose, node.dtype, "cpu")
    cols, flat = _carve(workspace, [(shape, dt) for shape in conv_workspace(x, w, out, transpose, size)])
    return [slice(a, min(x[0], a + size)) for a in range(0, x[0], size)], cols, flat


def _native_conv_workspace(op: str) -> Callable[..., int | None]:
    """The scratch of ``op``'s native kernel, for the memory plan (None: the NumPy path's)."""
    def rule(ts: Sequence[tuple[tuple[int, ...], str]], attrs: dict[str, object], out: tuple[tuple[int, ...], str],
             backend: str) -> int | None:
        if not native.runs_native(out[1]) or ts[0][0][0] == 0:
            return None
        return native.workspace_bytes(op, conv_geometry(op, [t[0] for t in ts], out[0], attrs))

    return rule


def _native_moments_workspace(ts: Sequence[tuple[tuple[int, ...], str]], attrs: dict[str, object],
                              out: tuple[tuple[int, ...], str], backend: str) -> int | None:
    """The native moments need no scratch (NumPy's keep a centred copy of x)."""
    x = ts[0][0]
    return 0 if native.channel_sums(x, tuple(a for a in range(len(x)) if a != 1), out[1]) is not None else None


WORKSPACES: dict[str, Callable[..., int | None]] = {op: _native_conv_workspace(op) for op in native.OPS}
WORKSPACES["moments"] = _native_moments_workspace


def _native_conv(node: Node, ins: Sequence[Node], workspace: np.ndarray | None) -> Kernel | None:
    """The native kernel of a float32 conv op (``native.py``), or None for the NumPy path."""
    if not native.runs_native(node.dtype) or ins[0].shape[0] == 0:
        return None
    op = node.op
    geometry = conv_geometry(op, [n.shape for n in ins], node.shape, node.attr_dict)
    (scratch,) = _carve(workspace, [((native.workspace_bytes(op, geometry) // 4,), np.dtype(np.float32))])
    conv, code, threads, bias = native.module().conv, native.OPS[op], configured_threads(), len(ins) == 3

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        a, b = np.ascontiguousarray(i[0]), np.ascontiguousarray(i[1])  # views pass through unchanged
        conv(code, a, b, np.ascontiguousarray(i[2]) if bias else None, out, scratch, geometry, threads)

    return k


def _conv2d(node: Node, ins: Sequence[Node], workspace: np.ndarray | None = None) -> Kernel:
    if (fast := _native_conv(node, ins, workspace)) is not None:
        return fast
    # Per chunk of samples: im2col, one GEMM per group into [O, chunk·Ho·Wo], and the copy back
    # to NCHW that also adds the bias.
    x, w = ins[0].shape, ins[1].shape
    o, cg, kh, kw = w
    groups = node.attr("groups")
    ho, wo = node.shape[2:]
    hw = windows("conv2d", node.attr_dict, (kh, kw))
    chunks, cols, outt = _chunks(node, x, w, node.shape, False, workspace)
    parts = []
    for sl in chunks:
        m = sl.stop - sl.start
        c_m = _prefix(cols, (cols.shape[0], m * ho * wo))
        o_m = _prefix(outt, (o, m * ho * wo))
        parts.append((sl, _Columns((m, *x[1:]), hw, (ho, wo)), c_m, c_m.reshape(groups, cg * kh * kw, -1),
                      o_m.reshape(groups, o // groups, -1), o_m.reshape(o, m, ho * wo).transpose(1, 0, 2)))
    bias = len(ins) == 3

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        w3 = i[1].reshape(groups, o // groups, -1)
        for sl, columns, cols_m, cols3, outt3, from_t in parts:
            columns.gather(cols_m, i[0][sl])
            for g in range(groups):  # 2-D GEMMs: NumPy sends stacked (3-D) operands to BLAS only sometimes
                np.matmul(w3[g], cols3[g], out=outt3[g])
            o3 = out[sl].reshape(from_t.shape)
            if bias:
                np.add(from_t, i[2].reshape(1, o, 1), out=o3)
            else:
                np.copyto(o3, from_t)

    return k


def _conv2d_weight_grad(node: Node, ins: Sequence[Node], workspace: np.ndarray | None = None) -> Kernel:
    if (fast := _native_conv(node, ins, workspace)) is not None:
        return fast
    # Per chunk: im2col of x and a channels-first copy of dy, then dW += dy · columnsᵀ per group
    # (chunks in order: a fixed summation order).
    x, dy = ins[0].shape, ins[1].shape
    o, cg, kh, kw = node.shape
    groups = node.attr("groups")
    ho, wo = dy[2:]
    hw = windows("conv2d_weight_grad", node.attr_dict, (kh, kw))
    chunks, cols, dyt = _chunks(node, x, node.shape, dy, False, workspace)
    parts = []
    for sl in chunks:
        m = sl.stop - sl.start
        c_m = _prefix(cols, (cols.shape[0], m * ho * wo))
        d_m = _prefix(dyt, (o, m * ho * wo))
        parts.append((sl, _Columns((m, *x[1:]), hw, (ho, wo)), c_m,
                      c_m.reshape(groups, cg * kh * kw, -1).transpose(0, 2, 1), d_m.reshape(groups, o // groups, -1),
                      d_m.reshape(o, m, ho * wo).transpose(1, 0, 2)))
    partial = np.empty((groups, o // groups, cg * kh * kw), numpy_dtype(node.dtype))

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        dw3 = out.reshape(groups, o // groups, -1)
        for first, (sl, columns, cols_m, cols_t, dyt3, to_t) in zip([True] + [False] * len(parts), parts,
                                                                   strict=False):
            columns.gather(cols_m, i[0][sl])
            np.copyto(to_t, i[1][sl].reshape(to_t.shape))
            for g in range(groups):
                if first:
                    np.matmul(dyt3[g], cols_t[g], out=dw3[g])
                else:
                    np.matmul(dyt3[g], cols_t[g], out=partial[g])
                    np.add(dw3[g], partial[g], out=dw3[g])

    return k


def _conv_transpose2d(node: Node, ins: Sequence[Node], workspace: np.ndarray | None = None) -> Kernel:
    if (fast := _native_conv(node, ins, workspace)) is not None:
        return fast
    # Per chunk: x channels first, columns = weightᵀ · x per group, then col2im into the output
    # (conv2d's im2col geometry seen from the output's side).
    x, w = ins[0].shape, ins[1].shape
    c, h, wd = x[1:]
    _, og, kh, kw = w
    groups = node.attr("groups")
    o = node.shape[1]
    hw = windows("conv_transpose2d", node.attr_dict, (kh, kw))
    chunks, cols, xt = _chunks(node, x, w, node.shape, True, workspace)
    parts = []
    for sl in chunks:
        m = sl.stop - sl.start
        c_m = _prefix(cols, (cols.shape[0], m * h * wd))
        x_m = _prefix(xt, (c, m * h * wd))
        parts.append((sl, _Columns((m, *node.shape[1:]), hw, (h, wd)), c_m, c_m.reshape(groups, og * kh * kw, -1),
                      x_m.reshape(groups, c // groups, -1), x_m.reshape(c, m, h * wd).transpose(1, 0, 2)))
    bias = len(ins) == 3

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        w3 = i[1].reshape(groups, c // groups, -1)
        for sl, columns, cols_m, cols3, xt3, to_t in parts:
            np.copyto(to_t, i[0][sl].reshape(to_t.shape))
            for g in range(groups):
                np.matmul(w3[g].T, xt3[g], out=cols3[g])
            y = out[sl]
            y.fill(0)
            columns.scatter_add(cols_m, y)
        if bias:
            np.add(out, i[2].reshape(1, o, 1, 1), out=out)

    return k


# ------------------------------------------------------------------ pooling
class _Frame:
    """Where a pooling op reads its taps: x itself, or a padded copy of it in the workspace.

    The copy spans exactly the positions the windows reach (``Window.reach``),
    with ``fill`` (-inf for max, 0 for average) outside x; rows or columns of x
    that no window reaches are left out.
    """

    def __init__(self, x: tuple[int, ...], hw: tuple[Window, Window], out_hw: tuple[int, int]) -> None:
        wh, ww = hw
        frame = padded_frame(x, hw, out_hw)
        self.padded = frame is not None
        self.shape = frame or (x[0], x[1], wh.reach(out_hw[0]), ww.reach(out_hw[1]))
        rows, cols = min(x[2], self.shape[2] - wh.before), min(x[3], self.shape[3] - ww.before)
        self.inner = (slice(None), slice(None), slice(wh.before, wh.before + rows), slice(ww.before, ww.before + cols))
        self.source = (slice(None), slice(None), slice(0, rows), slice(0, cols))
        height, width = self.shape[2:]
        self.border = [(slice(None), slice(None), s, slice(None))
                       for s in _borders(wh.before, wh.before + rows, height)]
        self.border += [(slice(None), slice(None), slice(wh.before, wh.before + rows), s)
                        for s in _borders(ww.before, ww.before + cols, width)]
        self.taps = [(slice(None), slice(None), slice(a * wh.dilation, a * wh.dilation + (out_hw[0] - 1) * wh.stride + 1,
                                                      wh.stride),
                      slice(b * ww.dilation, b * ww.dilation + (out_hw[1] - 1) * ww.stride + 1, ww.stride))
                     for a in range(wh.kernel) for b in range(ww.kernel)]
        # windows never share an element: each tap's gradient can be stored instead of added
        self.disjoint = wh.stride >= wh.extent and ww.stride >= ww.extent
        # ... and together they cover every element: nothing to zero first
        self.tiles = self.disjoint and not self.padded and self.shape == tuple(x) and \
            (wh.stride, ww.stride) == (wh.extent, ww.extent)

    def load(self, x: np.ndarray, buf: np.ndarray, fill: float) -> np.ndarray:
        if not self.padded:
            return x
        for b in self.border:
            buf[b] = fill
        np.copyto(buf[self.inner], x[self.source])
        return buf

    def store(self, acc: np.ndarray, dx: np.ndarray) -> None:
        """The gradient accumulated in the frame, cropped back to x (zero where no window reaches)."""
        if acc is dx:
            return
        if self.source[2].stop < dx.shape[2] or self.source[3].stop < dx.shape[3]:
            dx.fill(0)
        np.copyto(dx[self.source], acc[self.inner])


def _pool_setup(node: Node, x: tuple[int, ...]) -> tuple[_Frame, np.dtype, tuple[int, ...]]:
    hw, out_hw = pool_geometry(node.op, x, node.attr_dict)
    return _Frame(x, hw, out_hw), np.dtype(numpy_dtype(node.dtype)), (x[0], x[1], *out_hw)


def _frame_shape(frame: _Frame) -> tuple[int, ...]:
    return frame.shape if frame.padded else (0,)


def _masked(src: np.ndarray, hit: np.ndarray, mask: np.ndarray, dst: np.ndarray) -> None:
    """dst = where(hit, src, +0.0), bit for bit (src's NaNs and -0.0 kept): ``hit`` becomes
    0 / all-ones bytes, which AND with src's bits (sign-extended to its width)."""
    ints = np.dtype(f"i{src.dtype.itemsize}")
    np.negative(hit.view(np.int8), out=mask)
    np.bitwise_and(src.view(ints), mask, out=dst.view(ints))


def _max_into(frame: _Frame, xf: np.ndarray, out: np.ndarray) -> None:
    taps = frame.taps
    if len(taps) == 1:
        np.copyto(out, xf[taps[0]])
        return
    np.maximum(xf[taps[0]], xf[taps[1]], out=out)
    for t in taps[2:]:
        np.maximum(out, xf[t], out=out)


def _native_pool(node: Node, ins: Sequence[Node], workspace: np.ndarray | None) -> Kernel | None:
    """The native kernel of a float32 max-pooling op (``native.py``), or None for NumPy's."""
    x = ins[0].shape
    if not native.runs_native(node.dtype) or 0 in x:
        return None
    (wh, ww), (ho, wo) = pool_geometry(node.op, x, node.attr_dict)
    if wh.kernel * ww.kernel > native.MAX_TAPS:
        return None
    geometry = (*x, x[1], ho, wo, wh.kernel, ww.kernel, wh.stride, ww.stride, wh.dilation, ww.dilation,
                wh.before, ww.before, 1)
    code = native.POOLS[node.op]
    # each window's picked tap (the gradient and select ops)
    (scratch,) = _carve(workspace, [((x[0] * x[1] * ho * wo if code else 0,), np.dtype(np.int32))])
    pool, threads = native.module().pool, configured_threads()

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        y, v = (np.ascontiguousarray(i[1]), np.ascontiguousarray(i[2])) if code else (None, None)
        pool(code, np.ascontiguousarray(i[0]), y, v, out, scratch, geometry, threads)

    return k


def _max_pool2d(node: Node, ins: Sequence[Node], workspace: np.ndarray | None = None) -> Kernel:
    if (fast := _native_pool(node, ins, workspace)) is not None:
        return fast
    frame, dt, _ = _pool_setup(node, ins[0].shape)
    (buf,) = _carve(workspace, [(_frame_shape(frame), dt)])

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        _max_into(frame, frame.load(i[0], buf, -np.inf), out)

    return k


class _FirstMax:
    """The taps of x's windows in row-major order, each with the windows it is the first element
    of not below ``y`` (with y the windows' maxima: the first maximum; a window holding NaN has
    max NaN, no element is below it, and its first element is picked).

    Scratch (from the workspace): x's padded frame, a second frame (the gradient accumulator or
    the padded ``v``), one pooled float array and three pooled byte masks.
    """

    def __init__(self, node: Node, x: tuple[int, ...], workspace: np.ndarray | None) -> None:
        self.frame, dt, pooled = _pool_setup(node, x)
        big = _frame_shape(self.frame)
        flag = np.dtype(np.bool_)
        (self.xbuf, self.other, self.picked, self.lt, self.hit, self.open) = _carve(
            workspace, [(big, dt), (big, dt), (pooled, dt), (pooled, flag), (pooled, flag), (pooled, flag)])
        self.mask = self.lt.view(np.int8)  # ``lt`` is spent once a tap's ``hit`` is known

    def walk(self, x: np.ndarray, y: np.ndarray, each: Callable[[Index, np.ndarray], None]) -> None:
        frame = self.frame
        xf = frame.load(x, self.xbuf, -np.inf)
        self.open.fill(True)
        last = len(frame.taps) - 1
        for p, t in enumerate(frame.taps):
            np.less(xf[t], y, out=self.lt)
            np.greater(self.open, self.lt, out=self.hit)  # still open and not below y
            if p < last:
                np.logical_and(self.open, self.lt, out=self.open)
            each(t, self.hit)


def _max_pool2d_grad(node: Node, ins: Sequence[Node], workspace: np.ndarray | None = None) -> Kernel:
    if (fast := _native_pool(node, ins, workspace)) is not None:
        return fast
    fm = _FirstMax(node, ins[0].shape, workspace)
    frame = fm.frame

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        g = i[2]
        acc = fm.other if frame.padded else out
        if not frame.tiles:
            acc.fill(0)

        def each(t: Index, hit: np.ndarray) -> None:
            view = acc[t]
            if frame.disjoint:
                _masked(g, hit, fm.mask, view)
            else:  # windows overlap: taps add up in row-major order
                _masked(g, hit, fm.mask, fm.picked)
                np.add(view, fm.picked, out=view)

        fm.walk(i[0], i[1], each)
        frame.store(acc, out)

    return k


def _max_pool2d_select(node: Node, ins: Sequence[Node], workspace: np.ndarray | None = None) -> Kernel:
    if (fast := _native_pool(node, ins, workspace)) is not None:
        return fast
    fm = _FirstMax(node, ins[0].shape, workspace)
    frame = fm.frame

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        vf = frame.load(i[2], fm.other, 0.0)
        out.fill(0)

        def each(t: Index, hit: np.ndarray) -> None:
            _masked(vf[t], hit, fm.mask, fm.picked)
            np.add(out, fm.picked, out=out)  # at most one tap per window is picked; the others add +0.0

        fm.walk(i[0], i[1], each)

    return k


def _divisor(node: Node, x: tuple[int, ...], dt: np.dtype) -> np.ndarray:
    """avg_pool2d's divisor per output position [Ho, Wo], as PyTorch: the window clipped to the
    padded input (count_include_pad) or to x itself."""
    (wh, ww), out_hw = pool_geometry("avg_pool2d", x, node.attr_dict)
    counts = []
    for win, size, n_out in ((wh, x[2], out_hw[0]), (ww, x[3], out_hw[1])):
        start = np.arange(n_out) * win.stride - win.before
        end = np.minimum(start + win.kernel, size + win.after)
        if node.attr("count_include_pad"):
            counts.append(end - start)
        else:
            counts.append(np.minimum(end, size) - np.maximum(start, 0))
    return np.multiply.outer(counts[0], counts[1]).astype(dt)


def _avg_pool2d(node: Node, ins: Sequence[Node], workspace: np.ndarray | None = None) -> Kernel:
    x = ins[0].shape
    frame, dt, _ = _pool_setup(node, x)
    (buf,) = _carve(workspace, [(_frame_shape(frame), dt)])
    divisor = _divisor(node, x, dt)
    taps = frame.taps

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        xf = frame.load(i[0], buf, 0.0)
        if len(taps) == 1:
            np.copyto(out, xf[taps[0]])
        else:  # row-major order, as PyTorch sums a window
            np.add(xf[taps[0]], xf[taps[1]], out=out)
            for t in taps[2:]:
                np.add(out, xf[t], out=out)
        np.divide(out, divisor, out=out)

    return k


def _avg_pool2d_grad(node: Node, ins: Sequence[Node], workspace: np.ndarray | None = None) -> Kernel:
    x = tuple(node.attr("shape"))
    frame, dt, pooled = _pool_setup(node, x)
    acc_buf, share = _carve(workspace, [(_frame_shape(frame), dt), (pooled, dt)])
    divisor = _divisor(node, x, dt)

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        np.divide(i[0], divisor, out=share)
        acc = acc_buf if frame.padded else out
        if not frame.tiles:
            acc.fill(0)
        for t in frame.taps:
            view = acc[t]
            if frame.disjoint:
                np.copyto(view, share)
            else:
                np.add(view, share, out=view)
        frame.store(acc, out)

    return k


# ------------------------------------------------------------ batch normalisation
def _channel_view(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(d if a == 1 else 1 for a, d in enumerate(shape))


def _moments(node: Node, ins: Sequence[Node], workspace: np.ndarray | None = None) -> Kernel:
    x = ins[0].shape
    dt = np.dtype(numpy_dtype(node.dtype))
    axes = tuple(a for a in range(len(x)) if a != 1)
    count = np.intp(math.prod(x) // x[1]) if x[1] else np.intp(0)
    call = native.channel_sums(x, axes, node.dtype)
    if call is not None:  # the native two-pass moments, summed in double
        sums, layout, threads = call

        def fast(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
            sums(1, np.ascontiguousarray(i[0]), out, layout, threads)

        return fast
    (centred,) = _carve(workspace, [(x, dt)])
    view = _channel_view(x)

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        mean, var = out[0], out[1]
        # np.mean's arithmetic (sum, then divide by the count), for both rows: two passes, no cancellation
        np.add.reduce(i[0], axis=axes, out=mean)
        np.true_divide(mean, count, out=mean, casting="unsafe")
        np.subtract(i[0], mean.reshape(view), out=centred)
        np.multiply(centred, centred, out=centred)
        np.add.reduce(centred, axis=axes, out=var)
        np.true_divide(var, count, out=var, casting="unsafe")

    return k


def _batchnorm(node: Node, ins: Sequence[Node]) -> Kernel:
    x = ins[0].shape
    dt = np.dtype(numpy_dtype(node.dtype))
    eps = node.attr("eps")
    alpha = np.empty(x[1], dt)
    beta = np.empty(x[1], dt)
    view = _channel_view(x)
    # x * alpha + beta over channels: natively in one pass (the same two roundings), else two NumPy passes
    call = native.elementwise("affine", node.shape, (ins[0].dtype,), (x,), small=True)

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        _, scale, shift, mean, var = i
        # PyTorch's CPU batch norm: y = x * alpha + beta, alpha = scale / sqrt(var + eps), beta = shift - mean * alpha
        np.add(var, eps, out=alpha)
        np.sqrt(alpha, out=alpha)
        np.divide(1.0, alpha, out=alpha)
        np.multiply(alpha, scale, out=alpha)
        np.multiply(mean, alpha, out=beta)
        np.subtract(shift, beta, out=beta)
        if call is not None:
            fn, code, a_layout, _, threads = call
            fn(code, np.ascontiguousarray(i[0]), a_layout, alpha, native.operand_layout(view, x), beta, None, out,
               threads)  # fmt: skip
            return
        np.multiply(i[0], alpha.reshape(view), out=out)
        np.add(out, beta.reshape(view), out=out)

    return k


# ------------------------------------------------------------------ padding
def _along(rank: int, axis: int, index: slice, before: Sequence[slice]) -> Index:
    """An index that takes ``index`` on ``axis``, ``before[a]`` on every other axis."""
    return tuple(index if a == axis else before[a] for a in range(rank))


def _pad(node: Node, ins: Sequence[Node]) -> Kernel:
    x = ins[0].shape
    widths = pad_widths("pad", x, node.attr_dict)
    mode, value = node.attr("mode"), node.attr("value")
    rank = len(x)
    center = tuple(slice(lo, lo + d) for (lo, _), d in zip(widths, x, strict=True))
    steps: list[tuple[Index, Index]] = []  # (destination, source) copies within the output, in order
    for axis, ((lo, hi), d) in enumerate(zip(widths, x, strict=True)):
        # axes before this one are already padded in full; later ones only hold x so far
        region = [slice(None)] * axis + list(center[axis:])
        end = lo + d
        if mode == "reflect":
            if lo:
                steps.append((_along(rank, axis, slice(0, lo), region),
                              _along(rank, axis, slice(2 * lo, lo, -1), region)))
            if hi:
                stop = end - 2 - hi
                steps.append((_along(rank, axis, slice(end, end + hi), region),
                              _along(rank, axis, slice(end - 2, stop if stop >= 0 else None, -1), region)))
        elif mode == "edge":
            if lo:
                steps.append((_along(rank, axis, slice(0, lo), region), _along(rank, axis, slice(lo, lo + 1), region)))
            if hi:
                steps.append((_along(rank, axis, slice(end, end + hi), region),
                              _along(rank, axis, slice(end - 1, end), region)))

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        if mode == "constant":
            out.fill(value)
        out[center] = i[0]
        for dst, src in steps:
            out[dst] = out[src]

    return k


def _pad_grad(node: Node, ins: Sequence[Node], workspace: np.ndarray | None = None) -> Kernel:
    x = node.shape
    widths = pad_widths("pad_grad", x, node.attr_dict)
    mode = node.attr("mode")
    rank = len(x)
    center = tuple(slice(lo, lo + d) for (lo, _), d in zip(widths, x, strict=True))
    if mode == "constant":
        def crop(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
            np.copyto(out, i[0][center])

        return crop
    (buf,) = _carve(workspace, [(ins[0].shape, np.dtype(numpy_dtype(node.dtype)))])
    # The adjoint of pad's axis-by-axis copies: fold axes in reverse order, each over the extent
    # the forward step had (earlier axes still padded, later ones already folded to x's size).
    folds: list[tuple[Index, Index, int | None]] = []  # (destination, source, axis to sum the source over)
    for axis in reversed(range(rank)):
        (lo, hi), d = widths[axis], x[axis]
        region = [slice(None)] * axis + list(center[axis:])
        end = lo + d
        if mode == "reflect":
            if lo:
                folds.append((_along(rank, axis, slice(lo + 1, 2 * lo + 1), region),
                              _along(rank, axis, slice(lo - 1, None, -1), region), None))
            if hi:
                folds.append((_along(rank, axis, slice(end - 1 - hi, end - 1), region),
                              _along(rank, axis, slice(end + hi - 1, end - 1, -1), region), None))
        else:  # edge: every copy of the edge element adds into it
            if lo:
                folds.append((_along(rank, axis, slice(lo, lo + 1), region), _along(rank, axis, slice(0, lo), region), axis))
            if hi:
                folds.append((_along(rank, axis, slice(end - 1, end), region),
                              _along(rank, axis, slice(end, end + hi), region), axis))

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        np.copyto(buf, i[0])
        for dst, src, axis in folds:
            view = buf[dst]
            part = buf[src] if axis is None else np.add.reduce(buf[src], axis=axis, keepdims=True)
            np.add(view, part, out=view)
        np.copyto(out, buf[center])

    return k


# ------------------------------------------------------------------ resizing
def _resize2d(node: Node, ins: Sequence[Node], workspace: np.ndarray | None = None) -> Kernel:
    # Gathers, so every output is exactly w0·a + w1·b of its own sources (an inf elsewhere never leaks in):
    # along W first, then along H, PyTorch's bilinear order.
    x = ins[0].shape
    n, c, h = x[:3]
    ho, wo = node.shape[2:]
    dt = np.dtype(numpy_dtype(node.dtype))
    scale_h, scale_w = resize_scales(x, node.attr_dict)
    hi0, hi1, hw = resize_taps(h, ho, scale_h, node.attr_dict)
    wi0, wi1, ww = resize_taps(x[3], wo, scale_w, node.attr_dict)
    if node.attr("mode") == "nearest":
        (rows,) = _carve(workspace, [((n, c, h, wo), dt)])

        def nearest(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
            np.take(i[0], wi0, axis=3, out=rows)
            np.take(rows, hi0, axis=2, out=out)

        return nearest
    rows, other, tail = _carve(workspace, [((n, c, h, wo), dt), ((n, c, h, wo), dt), (node.shape, dt)])
    w0, w1 = (1.0 - ww).astype(dt), ww.astype(dt)
    h0, h1 = (1.0 - hw).astype(dt)[:, None], hw.astype(dt)[:, None]

    def linear(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        np.take(i[0], wi0, axis=3, out=rows)
        np.multiply(rows, w0, out=rows)
        np.take(i[0], wi1, axis=3, out=other)
        np.multiply(other, w1, out=other)
        np.add(rows, other, out=rows)
        np.take(rows, hi0, axis=2, out=out)
        np.multiply(out, h0, out=out)
        np.take(rows, hi1, axis=2, out=tail)
        np.multiply(tail, h1, out=tail)
        np.add(out, tail, out=out)

    return linear


def _resize2d_grad(node: Node, ins: Sequence[Node], workspace: np.ndarray | None = None) -> Kernel:
    # The adjoint as products with the interpolation matrices: dx = Rhᵀ · g · Rw per image plane.
    x = node.shape
    n, c, h, w = x
    ho, wo = ins[0].shape[2:]
    dt = np.dtype(numpy_dtype(node.dtype))
    scale_h, scale_w = resize_scales(x, node.attr_dict)
    rw = resize_matrix(w, wo, scale_w, node.attr_dict).astype(dt)
    rh_t = np.ascontiguousarray(resize_matrix(h, ho, scale_h, node.attr_dict).T.astype(dt))
    (rows,) = _carve(workspace, [((n * c, ho, w), dt)])

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        np.matmul(i[0].reshape(-1, wo), rw, out=rows.reshape(-1, w))
        np.matmul(rh_t, rows, out=out.reshape(n * c, h, w))  # contiguous planes: one BLAS call each, looped in C

    return k


KERNELS: dict[str, Callable[..., Kernel]] = {
    "conv2d": _conv2d,
    "conv2d_weight_grad": _conv2d_weight_grad,
    "conv_transpose2d": _conv_transpose2d,
    "max_pool2d": _max_pool2d,
    "max_pool2d_grad": _max_pool2d_grad,
    "max_pool2d_select": _max_pool2d_select,
    "avg_pool2d": _avg_pool2d,
    "avg_pool2d_grad": _avg_pool2d_grad,
    "moments": _moments,
    "batchnorm": _batchnorm,
    "pad": _pad,
    "pad_grad": _pad_grad,
    "resize2d": _resize2d,
    "resize2d_grad": _resize2d_grad,
}
