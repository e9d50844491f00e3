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

from volta_core.ir.graph import Node
from volta_core.ir.ops import (
    Window,
    conv_workspace,
    numpy_dtype,
    pad_widths,
    padded_frame,
    pool_geometry,
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
def _im2col(shape: tuple[int, ...], hw: tuple[Window, Window], out_hw: tuple[int, int]) -> list[tuple[Index, Index, list[Index]]]:
    """Per tap: (columns index, x index, column slabs that are padding) for columns [C, kH, kW, N, Ho, Wo]
    and x read channels-first ([C, N, H, W])."""
    wh, ww = hw
    ho, wo = out_hw
    plan: list[tuple[Index, Index, list[Index]]] = []
    for a in range(wh.kernel):
        h0, h1, ih = wh.taps(shape[2], ho, a)
        for b in range(ww.kernel):
            w0, w1, iw = ww.taps(shape[3], wo, b)
            tap: Index = (slice(None), a, b, slice(None))
            if h1 == h0 or w1 == w0:
                plan.append((tap, (), [(*tap, slice(None), slice(None))]))
                continue
            zero: list[Index] = [(*tap, s, slice(None)) for s in _borders(h0, h1, ho)]
            zero += [(*tap, slice(h0, h1), s) for s in _borders(w0, w1, wo)]
            plan.append(((*tap, slice(h0, h1), slice(w0, w1)),
                         (slice(None), slice(None), _run(h0, h1, ih, wh.stride), _run(w0, w1, iw, ww.stride)), zero))
    return plan


def _fill_columns(plan: list[tuple[Index, Index, list[Index]]], cols6: np.ndarray, x: np.ndarray) -> None:
    xt = x.transpose(1, 0, 2, 3)
    for dst, src, zero in plan:
        if src:
            np.copyto(cols6[dst], xt[src])
        for z in zero:
            cols6[z] = 0


def _conv2d(node: Node, ins: Sequence[Node], workspace: np.ndarray | None = None) -> Kernel:
    x, w = ins[0].shape, ins[1].shape
    n, c = x[0], x[1]
    o, cg, kh, kw = w
    groups = node.attr("groups")
    ho, wo = node.shape[2:]
    dt = np.dtype(numpy_dtype(node.dtype))
    cols_shape, outt_shape = conv_workspace(x, w, node.shape, groups, transpose=False)
    cols, outt = _carve(workspace, [(cols_shape, dt), (outt_shape, dt)])
    plan = _im2col(x, windows("conv2d", node.attr_dict, (kh, kw)), (ho, wo))
    cols6 = cols.reshape(c, kh, kw, n, ho, wo)
    cols3 = cols.reshape(groups, cg * kh * kw, -1)
    outt3 = outt.reshape(groups, o // groups, -1)
    from_t = outt.reshape(o, n, ho * wo).transpose(1, 0, 2)
    bias = len(ins) == 3

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        _fill_columns(plan, cols6, i[0])
        np.matmul(i[1].reshape(groups, o // groups, -1), cols3, out=outt3)
        o3 = out.reshape(n, o, ho * wo)
        if bias:  # the copy back to NCHW adds the bias on the way
            np.add(from_t, i[2].reshape(1, o, 1), out=o3)
        else:
            np.copyto(o3, from_t)

    return k


def _conv2d_weight_grad(node: Node, ins: Sequence[Node], workspace: np.ndarray | None = None) -> Kernel:
    x, dy = ins[0].shape, ins[1].shape
    n, c = x[0], x[1]
    o, cg, kh, kw = node.shape
    groups = node.attr("groups")
    ho, wo = dy[2:]
    dt = np.dtype(numpy_dtype(node.dtype))
    cols_shape, dyt_shape = conv_workspace(x, node.shape, dy, groups, transpose=False)
    cols, dyt = _carve(workspace, [(cols_shape, dt), (dyt_shape, dt)])
    plan = _im2col(x, windows("conv2d_weight_grad", node.attr_dict, (kh, kw)), (ho, wo))
    cols6 = cols.reshape(c, kh, kw, n, ho, wo)
    cols_t = cols.reshape(groups, cg * kh * kw, -1).transpose(0, 2, 1)
    dyt3 = dyt.reshape(groups, o // groups, -1)
    to_t = dyt.reshape(o, n, ho * wo).transpose(1, 0, 2)

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        _fill_columns(plan, cols6, i[0])
        np.copyto(to_t, i[1].reshape(n, o, ho * wo))
        np.matmul(dyt3, cols_t, out=out.reshape(groups, o // groups, -1))

    return k


def _conv_transpose2d(node: Node, ins: Sequence[Node], workspace: np.ndarray | None = None) -> Kernel:
    x, w = ins[0].shape, ins[1].shape
    n, c, h, wd = x
    _, og, kh, kw = w
    groups = node.attr("groups")
    o, ho, wo = node.shape[1:]
    dt = np.dtype(numpy_dtype(node.dtype))
    cols_shape, xt_shape = conv_workspace(x, w, node.shape, groups, transpose=True)
    cols, xt = _carve(workspace, [(cols_shape, dt), (xt_shape, dt)])
    wh, ww = windows("conv_transpose2d", node.attr_dict, (kh, kw))
    # column (tap a, b) of input pixel (y, x) lands on output (y*sh - top + a*dh, x*sw - left + b*dw)
    scatter: list[tuple[Index, Index]] = []
    for a in range(kh):
        h0, h1, oh = wh.taps(ho, h, a)
        for b in range(kw):
            w0, w1, ow = ww.taps(wo, wd, b)
            if h1 > h0 and w1 > w0:
                scatter.append(((slice(None), slice(None), _run(h0, h1, oh, wh.stride), _run(w0, w1, ow, ww.stride)),
                                (slice(None), a, b, slice(None), slice(h0, h1), slice(w0, w1))))
    cols3 = cols.reshape(groups, og * kh * kw, -1)
    cols6 = cols.reshape(o, kh, kw, n, h, wd)
    xt3 = xt.reshape(groups, c // groups, -1)
    to_t = xt.reshape(c, n, h * wd).transpose(1, 0, 2)
    bias = len(ins) == 3

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        np.copyto(to_t, i[0].reshape(n, c, h * wd))
        np.matmul(i[1].reshape(groups, c // groups, -1).transpose(0, 2, 1), xt3, out=cols3)
        out.fill(0)
        yt = out.transpose(1, 0, 2, 3)
        for dst, src in scatter:  # taps in row-major order: a fixed summation order
            view = yt[dst]
            np.add(view, cols6[src], out=view)
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


def _max_pool2d(node: Node, ins: Sequence[Node], workspace: np.ndarray | None = None) -> Kernel:
    frame, dt, _ = _pool_setup(node, ins[0].shape)
    (buf,) = _carve(workspace, [(_frame_shape(frame), dt)])

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        _max_into(frame, frame.load(i[0], buf, -np.inf), out)

    return k


class _FirstMax:
    """The taps of x's windows in row-major order, each with the windows it is the first maximum of.

    The first maximum is the first element not below the window's max; a
    window holding NaN has max NaN, and then its first element is picked.
    Scratch (from the workspace): x's padded frame, a second frame (the
    gradient accumulator or the padded ``v``), the maxima, one pooled float
    array and three pooled byte masks.
    """

    def __init__(self, node: Node, x: tuple[int, ...], workspace: np.ndarray | None) -> None:
        self.frame, dt, pooled = _pool_setup(node, x)
        big = _frame_shape(self.frame)
        flag = np.dtype(np.bool_)
        (self.xbuf, self.other, self.peak, self.picked, self.lt, self.hit, self.open) = _carve(
            workspace, [(big, dt), (big, dt), (pooled, dt), (pooled, dt), (pooled, flag), (pooled, flag), (pooled, flag)])
        self.mask = self.lt.view(np.int8)  # ``lt`` is spent once a tap's ``hit`` is known

    def walk(self, x: np.ndarray, each: Callable[[Index, np.ndarray], None]) -> None:
        frame = self.frame
        xf = frame.load(x, self.xbuf, -np.inf)
        _max_into(frame, xf, self.peak)
        self.open.fill(True)
        last = len(frame.taps) - 1
        for p, t in enumerate(frame.taps):
            np.less(xf[t], self.peak, out=self.lt)
            np.greater(self.open, self.lt, out=self.hit)  # still open and not below the max
            if p < last:
                np.logical_and(self.open, self.lt, out=self.open)
            each(t, self.hit)


def _max_pool2d_grad(node: Node, ins: Sequence[Node], workspace: np.ndarray | None = None) -> Kernel:
    fm = _FirstMax(node, ins[0].shape, workspace)
    frame = fm.frame

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        g = i[1]
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

        fm.walk(i[0], each)
        frame.store(acc, out)

    return k


def _max_pool2d_select(node: Node, ins: Sequence[Node], workspace: np.ndarray | None = None) -> Kernel:
    fm = _FirstMax(node, ins[0].shape, workspace)
    frame = fm.frame

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        vf = frame.load(i[1], fm.other, 0.0)
        out.fill(0)

        def each(t: Index, hit: np.ndarray) -> None:
            _masked(vf[t], hit, fm.mask, fm.picked)
            np.add(out, fm.picked, out=out)  # one tap per window is picked; the others add +0.0

        fm.walk(i[0], each)

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

    def k(i: tuple[np.ndarray, ...], out: np.ndarray) -> None:
        _, scale, shift, mean, var = i
        # PyTorch's CPU batch norm: y = x * alpha + beta, alpha = scale / sqrt(var + eps), beta = shift - mean * alpha
        np.add(var, eps, out=alpha)
        np.sqrt(alpha, out=alpha)
        np.divide(1.0, alpha, out=alpha)
        np.multiply(alpha, scale, out=alpha)
        np.multiply(mean, alpha, out=beta)
        np.subtract(shift, beta, out=beta)
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
}
