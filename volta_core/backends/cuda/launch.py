"""Launch geometry and index metadata for the CUDA kernels (pure Python, no GPU needed).

Everything a kernel needs to know about shapes is computed here once per plan:
grid and block sizes, and the int64 ``meta`` arrays (shapes and element strides)
that the kernels in ``cu/volta.cu`` read. Block sizes of reductions are a
function of the shapes alone, which is what makes their summation trees, and
so their results, the same on every run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from volta_core.ir.ops import Window

BLOCK = 256
MAX_BLOCKS = 1 << 20  # grid-stride loops cover the rest
ALIGN = 256  # byte alignment of every region of an arena


def grid_1d(n: int, block: int = BLOCK) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """Grid and block for a grid-stride loop over ``n`` elements."""
    blocks = max(1, min(MAX_BLOCKS, -(-n // block)))
    return (blocks, 1, 1), (block, 1, 1)


def tree_block(count: int) -> int:
    """Threads of a block-per-row reduction: a power of two in [32, 256], enough for ``count``."""
    b = 32
    while b < min(count, 256):
        b *= 2
    return b


def rows_grid(rows: int) -> tuple[int, int, int]:
    return (max(1, min(rows, MAX_BLOCKS)), 1, 1)


def contiguous_strides(shape: Sequence[int]) -> tuple[int, ...]:
    strides: list[int] = []
    acc = 1
    for d in reversed(shape):
        strides.append(acc)
        acc *= max(int(d), 1)
    return tuple(reversed(strides))


def broadcast_strides(in_shape: Sequence[int], out_shape: Sequence[int]) -> tuple[int, ...]:
    """Element strides of a contiguous ``in_shape`` value read at ``out_shape`` (0 where broadcast)."""
    rank = len(out_shape)
    padded = (1,) * (rank - len(in_shape)) + tuple(in_shape)
    own = contiguous_strides(padded)
    return tuple(0 if d == 1 and o != 1 else s for d, o, s in zip(padded, out_shape, own, strict=True))


def broadcast_meta(out_shape: Sequence[int], in_shapes: Sequence[Sequence[int]]) -> np.ndarray | None:
    """``[rank, shape, strides per input]`` or None when every input has the output's shape."""
    if all(tuple(s) == tuple(out_shape) for s in in_shapes):
        return None
    rank = len(out_shape)
    parts = [rank, *out_shape]
    for s in in_shapes:
        parts.extend(broadcast_strides(s, out_shape))
    return np.array(parts, np.int64) if rank else np.array([1, 1, *([0] * len(in_shapes))], np.int64)


def copy_meta(shape: Sequence[int], src_strides: Sequence[int], dst_strides: Sequence[int]) -> np.ndarray:
    """``[rank, shape, src strides, dst strides]`` for the strided copy kernel."""
    if not shape:
        return np.array([1, 1, 0, 0], np.int64)
    return np.array([len(shape), *shape, *src_strides, *dst_strides], np.int64)


def view_geometry(shape: Sequence[int], view: Callable[[np.ndarray], np.ndarray]) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    """Element offset, strides and shape of ``view(x)`` for a contiguous ``x`` of ``shape``.

    NumPy does the work on a zero-memory stand-in (one byte per element, never
    read): slicing, transposing and broadcasting give exactly the offsets a copy
    kernel has to follow.
    """
    stand_in = np.lib.stride_tricks.as_strided(np.zeros(1, np.uint8), tuple(shape), contiguous_strides(shape))
    v = view(stand_in)
    offset = v.__array_interface__["data"][0] - stand_in.__array_interface__["data"][0]
    return offset, tuple(int(s) for s in v.strides), tuple(int(d) for d in v.shape)


def reduce_meta(shape: Sequence[int], axes: object) -> tuple[np.ndarray, int, int]:
    """(meta, outputs, elements per output) of a reduction of ``shape`` over ``axes`` (None: all)."""
    rank = len(shape)
    if axes is None:
        red = set(range(rank))
    else:
        red = {a % rank for a in (axes if isinstance(axes, tuple | list) else (axes,))}
    strides = contiguous_strides(shape)
    keep = [a for a in range(rank) if a not in red]
    reduced = [a for a in range(rank) if a in red]
    kshape = [shape[a] for a in keep]
    rshape = [shape[a] for a in reduced]
    meta = [len(keep), *kshape, *(strides[a] for a in keep), len(reduced), *rshape, *(strides[a] for a in reduced)]
    return np.array(meta, np.int64), math.prod(kshape), math.prod(rshape)


def axis_geometry(shape: Sequence[int], axis: int) -> tuple[int, int, int]:
    """(rows, length, inner stride) of the 1-D slices along ``axis``."""
    axis %= len(shape)
    n = shape[axis]
    inner = math.prod(shape[axis + 1 :])
    return math.prod(shape[:axis]) * inner, n, inner


def index_geometry(shape: Sequence[int], axis: int, idx_shape: Sequence[int]) -> tuple[int, int, int, int]:
    """(lead, size, trail, index count) of gather/scatter_add along ``axis`` of ``shape``."""
    axis %= len(shape)
    return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1 :]), math.prod(idx_shape)


def scatter_jblocks(lead: int, trail: int, size: int, target: int = 1 << 14) -> int:
    """Row groups of the deterministic scatter_add: about ``target`` threads in all."""
    return max(1, min(size, -(-target // max(1, lead * trail))))


def window_meta(x: Sequence[int], hw: Sequence[Window], out_hw: Sequence[int]) -> np.ndarray:
    """``[N, C, H, W, kH, kW, Ho, Wo, sH, sW, dH, dW, top, left, bottom, right]`` of a conv/pool window
    over x [N, C, H, W] with (Ho, Wo) windows (volta.cu's ``Win``)."""
    wh, ww = hw
    return np.array([*x, wh.kernel, ww.kernel, *out_hw, wh.stride, ww.stride, wh.dilation, ww.dilation,
                     wh.before, ww.before, wh.after, ww.after], np.int64)


def pad_meta(out_shape: Sequence[int], in_shape: Sequence[int], before: Sequence[int]) -> np.ndarray:
    """``[rank, out_shape, in_shape, before]`` of the pad kernel."""
    return np.array([len(in_shape), *out_shape, *in_shape, *before], np.int64)


def pad_folds(g_shape: Sequence[int], widths: Sequence[tuple[int, int]]) -> list[tuple[np.ndarray, int]]:
    """One ``(meta, elements)`` per padded axis, last axis first, for pad_grad's in-place folds of a
    contiguous copy of g: ``[rank, region_shape, strides, offset, axis, before, after, size]``. The
    region of axis a spans earlier axes in full and this and later axes at the input's size."""
    strides = contiguous_strides(g_shape)
    sizes = [d - lo - hi for d, (lo, hi) in zip(g_shape, widths, strict=True)]
    folds: list[tuple[np.ndarray, int]] = []
    for axis in reversed(range(len(g_shape))):
        lo, hi = widths[axis]
        if not (lo or hi):
            continue
        region = [*g_shape[:axis], *sizes[axis:]]
        offset = sum(widths[d][0] * strides[d] for d in range(axis, len(g_shape)))
        meta = np.array([len(g_shape), *region, *strides, offset, axis, lo, hi, sizes[axis]], np.int64)
        folds.append((meta, math.prod(region)))
    return folds


def arena_layout(sizes: Sequence[int], align: int = ALIGN) -> tuple[list[int], int]:
    """Offsets of regions of ``sizes`` bytes packed in order, each ``align``-aligned; and the total."""
    offsets: list[int] = []
    at = 0
    for size in sizes:
        offsets.append(at)
        at += -(-max(int(size), 1) // align) * align
    return offsets, at
