"""One table of op cases drives finite-difference and PyTorch gradient checks.

Finite differences: float64, central differences with step 1e-6; analytic and
numeric gradients must agree to ``atol=1e-6, rtol=1e-5`` (truncation error is
O(step²) ≈ 1e-12 and rounding error ≈ 1e-10 for these magnitudes).

PyTorch: float32, forward values and gradients compared with the per-op
tolerance in the table (default ``rtol=atol=1e-5``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from volta_core.ir import Graph, training_graph
from volta_core.ir.graph import moment_rows
from volta_core.ir.ops import all_ops, dropout_mask, missing_kernels

from .helpers import run_graph

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover - torch is in the test extra
    torch = None


@dataclass(frozen=True)
class Case:
    id: str
    op: str
    inputs: tuple[tuple[tuple[int, ...], str], ...]  # (shape, domain); domain: any|pos|away|int<C>|bool
    torch_fn: Callable[..., Any]
    attrs: dict[str, object] = field(default_factory=dict)
    tol: float = 1e-5
    differentiable: bool = True
    finite_differences: bool = True  # False where inputs sit on a kink on purpose (ties of a max)
    graph: Callable[[Graph, list[int]], int] | None = None  # builds y from the inputs when it is not one op


def _t(name: str) -> Callable[..., Any]:
    return lambda *a, **k: getattr(torch, name)(*a, **k)


def _torch_slice_scatter(src: Any, shape: tuple[int, ...], key: tuple[slice, ...]) -> Any:
    out = torch.zeros(shape, dtype=src.dtype)
    out[key] = src
    return out


def _tpad(x: Any, pads: tuple[int, int, int, int], value: float = 0.0) -> Any:
    """Volta's (top, left, bottom, right) padding of NCHW as F.pad (which lists the last axis first)."""
    top, left, bottom, right = pads
    return F.pad(x, (left, right, top, bottom), value=value)


def _torch_conv(x: Any, w: Any, b: Any = None, *, strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1), groups=1):
    return F.conv2d(_tpad(x, pads), w, b, stride=strides, dilation=dilations, groups=groups)


def _torch_conv_t(x: Any, w: Any, b: Any = None, *, strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1), groups=1,
                  output_padding=(0, 0)):
    full = F.conv_transpose2d(x, w, b, stride=strides, dilation=dilations, groups=groups)
    top, left, bottom, right = pads
    h = full.shape[2] - top - bottom + output_padding[0]
    w_ = full.shape[3] - left - right + output_padding[1]
    out = full[:, :, top : top + h, left : left + w_]
    extra = (0, w_ - out.shape[3], 0, h - out.shape[2])  # output_padding past the last tap: only the bias
    if b is None:
        return F.pad(out, extra)
    return F.pad(out - b[:, None, None], extra) + b[:, None, None]


def _torch_conv_weight_grad(x: Any, dy: Any, *, kernel, **conv: Any) -> Any:
    w0 = torch.zeros((dy.shape[1], x.shape[1] // conv.get("groups", 1), *kernel), dtype=x.dtype, requires_grad=True)
    return torch.autograd.grad(_torch_conv(x, w0, **conv), w0, dy, create_graph=True)[0]


def _torch_max_pool(x: Any, kernel, strides, pads=(0, 0, 0, 0), dilations=(1, 1), ceil_mode=False,
                    return_indices=False) -> Any:
    top, left, bottom, right = pads
    if top == bottom and left == right:
        return F.max_pool2d(x, kernel, strides, (top, left), dilations, ceil_mode=ceil_mode,
                            return_indices=return_indices)
    return F.max_pool2d(_tpad(x, pads, -math.inf), kernel, strides, 0, dilations, ceil_mode=ceil_mode,
                        return_indices=return_indices)


def _torch_pool_grad(pool: Callable[[Any], Any], x_shape: tuple[int, ...], x: Any, g: Any) -> Any:
    """d pool(x)/dx applied to g, differentiable in g (x matters only through which elements win)."""
    x0 = (torch.zeros(x_shape, dtype=g.dtype) if x is None else x.detach()).requires_grad_(True)
    return torch.autograd.grad(pool(x0), x0, g, create_graph=True)[0]


def _torch_max_select(x: Any, v: Any, **pool: Any) -> Any:
    _, idx = _torch_max_pool(x.detach(), return_indices=True, **pool)
    return v.flatten(2).gather(2, idx.flatten(2)).view(idx.shape)


def _torch_avg_pool(x: Any, kernel, strides, pads=(0, 0, 0, 0), ceil_mode=False, count_include_pad=True) -> Any:
    top, left, bottom, right = pads
    if top == bottom and left == right:
        return F.avg_pool2d(x, kernel, strides, (top, left), ceil_mode, count_include_pad)
    total = F.avg_pool2d(_tpad(x, pads), kernel, strides, 0, ceil_mode, divisor_override=1)
    if count_include_pad:
        return total / (kernel[0] * kernel[1])
    ones = torch.ones_like(x[:1, :1])
    return total / F.avg_pool2d(_tpad(ones, pads), kernel, strides, 0, ceil_mode, divisor_override=1)


def _torch_batchnorm(x: Any, s: Any, b: Any, m: Any, v: Any, eps: float = 1e-5) -> Any:
    view = (1, -1) + (1,) * (x.dim() - 2)
    return (x - m.view(view)) / torch.sqrt(v.view(view) + eps) * s.view(view) + b.view(view)


def _batchnorm_training(g: Graph, ids: list[int]) -> int:
    """What the nn builder does in training: batch statistics from ``moments`` feed ``batchnorm``."""
    x, scale, shift = ids
    mean, var = moment_rows(g, g.op("moments", x), (g.node(x).shape[1],))
    return g.op("batchnorm", x, scale, shift, mean, var)


def _batchnorm_training_synced(g: Graph, ids: list[int]) -> int:
    """Data-parallel training's form in one process (a job of one rank): two batchnorms whose
    moments pass through rank_moments, the second ordered after the first by its token input."""
    x, scale, shift = ids
    c = g.node(x).shape[1]
    count = math.prod(g.node(x).shape) // c
    token: tuple[int, ...] = ()
    h = x
    for _ in range(2):
        stats = g.op("rank_moments", g.op("moments", h), *token, count=count)
        token = (stats,)
        mean, var = moment_rows(g, stats, (c,))
        h = g.op("batchnorm", h, scale, shift, mean, var)
    return h


def _torch_rank_moments_grad(local: Any, whole: Any, g: Any) -> Any:
    """One rank's share is the whole batch: g through the combination's adjoint."""
    return torch.stack([g[0] + 2 * g[1] * (local[0] - whole[0]), g[1]])


_POOL3 = {"kernel": (3, 3), "strides": (2, 2), "pads": (1, 1, 1, 1)}


def _with_maxima(op: str, attrs: dict[str, object]) -> Callable[[Graph, list[int]], int]:
    """max_pool2d_grad/select as the gradient rules call them: y is max_pool2d(x)."""
    def build(g: Graph, ids: list[int]) -> int:
        x, other = ids
        return g.op(op, x, g.op("max_pool2d", x, **attrs), other, **attrs)

    return build
_TORCH_PAD_MODE = {"constant": "constant", "reflect": "reflect", "edge": "replicate"}


def _torch_pad(x: Any, pads: tuple[int, ...], mode: str = "constant", value: float = 0.0) -> Any:
    rank = x.dim()
    flat: list[int] = []
    for axis in reversed(range(rank)):
        flat += [pads[axis], pads[rank + axis]]
    while len(flat) > 2 and flat[-2:] == [0, 0]:  # F.pad's reflect/replicate pad only the last axes
        flat = flat[:-2]
    if mode == "constant":
        return F.pad(x, tuple(flat), value=value)
    return F.pad(x, tuple(flat), mode=_TORCH_PAD_MODE[mode])


CASES = [
    Case("add_bcast", "add", (((3, 1, 4), "any"), ((2, 4), "any")), lambda a, b: a + b),
    Case("sub_bcast", "sub", (((2, 3), "any"), ((3,), "any")), lambda a, b: a - b),
    Case("mul_bcast", "mul", (((2, 1), "any"), ((1, 3), "any")), lambda a, b: a * b),
    Case("div", "div", (((2, 3), "any"), ((3,), "pos")), lambda a, b: a / b),
    Case("neg", "neg", (((2, 3), "any"),), lambda a: -a),
    Case("pow3", "pow", (((2, 3), "any"),), lambda a: a**3.0, {"exponent": 3.0}),
    Case("pow_half", "pow", (((2, 3), "pos"),), lambda a: a**0.5, {"exponent": 0.5}),
    Case("sqrt", "sqrt", (((2, 3), "pos"),), lambda a: torch.sqrt(a)),
    Case("exp", "exp", (((2, 3), "any"),), lambda a: torch.exp(a)),
    Case("log", "log", (((2, 3), "pos"),), lambda a: torch.log(a)),
    Case("abs", "abs", (((2, 3), "away"),), lambda a: torch.abs(a)),
    Case("erf", "erf", (((2, 3), "any"),), lambda a: torch.erf(a)),
    Case("matmul", "matmul", (((3, 4), "any"), ((4, 2), "any")), lambda a, b: a @ b),
    Case("matmul_batched", "matmul", (((2, 1, 3, 4), "any"), ((3, 4, 2), "any")), lambda a, b: a @ b),
    Case("transpose", "transpose", (((2, 3, 4), "any"),), lambda a: a.permute(1, 2, 0), {"perm": (1, 2, 0)}),
    Case("reshape", "reshape", (((2, 6), "any"),), lambda a: a.reshape(3, -1), {"shape": (3, -1)}),
    Case("broadcast_to", "broadcast_to", (((3, 1), "any"),), lambda a: a.expand(2, 3, 4), {"shape": (2, 3, 4)}),
    Case("reduce_sum", "reduce_sum", (((2, 3, 4), "any"),), lambda a: a.sum(dim=(0, 2)), {"axes": (0, 2)}),
    Case("reduce_mean_keep", "reduce_mean", (((2, 3, 4), "any"),),
         lambda a: a.mean(dim=1, keepdim=True), {"axes": (1,), "keepdims": True}),
    Case("reduce_max", "reduce_max", (((3, 5), "any"),), lambda a: torch.amax(a, dim=-1), {"axes": (-1,)}),
    Case("relu", "relu", (((3, 4), "away"),), lambda a: torch.relu(a)),
    Case("leaky_relu", "leaky_relu", (((3, 4), "away"),), lambda a: F.leaky_relu(a, 0.1), {"alpha": 0.1}),
    Case("sigmoid", "sigmoid", (((3, 4), "any"),), lambda a: torch.sigmoid(a)),
    Case("tanh", "tanh", (((3, 4), "any"),), lambda a: torch.tanh(a)),
    Case("gelu", "gelu", (((3, 4), "any"),), lambda a: F.gelu(a)),
    Case("gelu_tanh", "gelu", (((3, 4), "any"),), lambda a: F.gelu(a, approximate="tanh"), {"approximate": "tanh"}),
    Case("silu", "silu", (((3, 4), "any"),), lambda a: F.silu(a)),
    Case("softmax", "softmax", (((3, 5), "any"),), lambda a: torch.softmax(a, -1)),
    Case("softmax_axis0", "softmax", (((3, 5), "any"),), lambda a: torch.softmax(a, 0), {"axis": 0}),
    Case("log_softmax", "log_softmax", (((3, 5), "any"),), lambda a: torch.log_softmax(a, -1)),
    Case("where", "where", (((3, 1), "bool"), ((3, 4), "any"), ((4,), "any")), lambda c, a, b: torch.where(c, a, b)),
    Case("sce", "softmax_cross_entropy", (((4, 5), "any"), ((4,), "int5")), lambda a, t: F.cross_entropy(a, t)),
    Case("mse", "mse", (((3, 4), "any"), ((3, 4), "any")), lambda a, b: F.mse_loss(a, b)),
    Case("concat", "concat", (((2, 3), "any"), ((2, 1), "any"), ((2, 2), "any")),
         lambda a, b, c: torch.cat([a, b, c], 1), {"axis": -1}),
    Case("slice", "slice", (((4, 6), "any"),), lambda a: a[1:3, 0:5:2], {"starts": (1, 0), "ends": (3, 5),
                                                                          "steps": (1, 2)}),
    Case("slice_negative", "slice", (((5, 6), "any"),), lambda a: a[torch.tensor([3, 1])][:, torch.tensor([4, 3, 2, 1, 0])],
         {"starts": (-2, -2), "ends": (-(2**62), 0), "axes": (1, 0), "steps": (-1, -2)}),
    Case("slice_scatter", "slice_scatter", (((2, 2), "any"),),
         lambda a: _torch_slice_scatter(a, (3, 4), (slice(1, 3), slice(0, 4, 2))),
         {"shape": (3, 4), "starts": (1, 0), "ends": (3, 4), "steps": (1, 2)}),
    Case("gather", "gather", (((3, 4), "any"), ((2, 3), "int4")), lambda a, i: a[:, i], {"axis": 1}),
    Case("gather_repeats", "gather", (((3, 2), "any"), ((5,), "int3")), lambda a, i: a[i], {"axis": 0}),
    Case("scatter_add", "scatter_add", (((5, 2), "any"), ((5,), "int3")),
         lambda g, i: torch.zeros(3, 2, dtype=g.dtype).index_add(0, i, g), {"axis": 0, "shape": (3, 2)}),
    Case("embedding", "embedding", (((6, 3), "any"), ((2, 4), "int6")), lambda w, i: F.embedding(i, w)),
    Case("squeeze", "squeeze", (((2, 1, 3, 1), "any"),), lambda a: a.squeeze(1), {"axes": (1,)}),
    Case("squeeze_all", "squeeze", (((1, 3, 1), "any"),), lambda a: a.squeeze()),
    Case("unsqueeze", "unsqueeze", (((2, 3), "any"),), lambda a: a[None, :, :, None], {"axes": (0, -1)}),
    Case("layernorm", "layernorm", (((3, 5), "any"), ((5,), "any"), ((5,), "any")),
         lambda x, w, b: F.layer_norm(x, (5,), w, b, 1e-5), tol=1e-4),
    Case("layernorm_3d_eps", "layernorm", (((2, 3, 4), "any"), ((4,), "any"), ((4,), "any")),
         lambda x, w, b: F.layer_norm(x, (4,), w, b, 0.1), {"eps": 0.1}, tol=1e-4),
    Case("dropout", "dropout", (((4, 5), "any"),),
         lambda a: a * torch.tensor(dropout_mask((4, 5), 0.3, 7)) / 0.7, {"p": 0.3, "seed": 7}),
    Case("dropout_seed_input", "dropout", (((4, 5), "any"), ((), "int1000")),
         lambda a, s: a * torch.tensor(dropout_mask((4, 5), 0.5, 3, int(s))) / 0.5, {"p": 0.5, "seed": 3}),
    Case("dropout_inference", "dropout", (((4, 5), "any"),), lambda a: a, {"p": 0.5, "training": False}),
    Case("gemm", "gemm", (((3, 4), "any"), ((4, 2), "any")), lambda a, b: a @ b),
    Case("gemm_full", "gemm", (((4, 3), "any"), ((2, 4), "any"), ((2,), "any")),
         lambda a, b, c: 0.5 * a.T @ b.T + 2.0 * c, {"alpha": 0.5, "beta": 2.0, "transA": True, "transB": True},
         tol=1e-4),
    Case("gemm_transB_C", "gemm", (((3, 4), "any"), ((2, 4), "any"), ((3, 2), "any")),
         lambda a, b, c: a @ b.T + c, {"transB": True}),
    Case("compare_gt", "compare", (((3, 4), "any"), ((4,), "any")), lambda a, b: a > b, {"cmp": "gt"},
         differentiable=False),
    Case("compare_lt", "compare", (((3, 4), "any"), ((3, 4), "any")), lambda a, b: a < b, {"cmp": "lt"},
         differentiable=False),
    Case("compare_eq", "compare", (((2, 2), "int5"), ((2, 2), "int5")), lambda a, b: a == b, {"cmp": "eq"},
         differentiable=False),
    Case("cast", "cast", (((3, 4), "any"),), lambda a: a.to(torch.int64), {"dtype": "i64"}, differentiable=False),
    Case("sign", "sign", (((3, 4), "away"),), lambda a: torch.sign(a), differentiable=False),
    Case("one_hot", "one_hot", (((4,), "int5"),), lambda t: F.one_hot(t, 5).float(), {"depth": 5},
         differentiable=False),
    # ---- convolution: strides, asymmetric pads, dilation, groups (depthwise included), bias or none
    Case("conv2d", "conv2d", (((2, 3, 5, 5), "any"), ((4, 3, 3, 3), "any"), ((4,), "any")),
         lambda x, w, b: _torch_conv(x, w, b, pads=(1, 1, 1, 1)), {"pads": (1, 1, 1, 1)}, tol=1e-4),
    Case("conv2d_strided_asym_dilated_groups", "conv2d", (((2, 4, 7, 6), "any"), ((6, 2, 3, 2), "any"), ((6,), "any")),
         lambda x, w, b: _torch_conv(x, w, b, strides=(2, 1), pads=(1, 0, 2, 1), dilations=(1, 2), groups=2),
         {"strides": (2, 1), "pads": (1, 0, 2, 1), "dilations": (1, 2), "groups": 2}, tol=1e-4),
    Case("conv2d_same_dilated_asym", "conv2d", (((2, 3, 6, 5), "any"), ((4, 3, 3, 3), "any")),
         lambda x, w: _torch_conv(x, w, pads=(0, 1, 2, 3), dilations=(1, 2)),
         {"pads": (0, 1, 2, 3), "dilations": (1, 2)}, tol=1e-4),
    Case("conv2d_depthwise", "conv2d", (((2, 3, 6, 6), "any"), ((6, 1, 3, 3), "any")),
         lambda x, w: _torch_conv(x, w, strides=(2, 2), pads=(1, 1, 1, 1), groups=3),
         {"strides": (2, 2), "pads": (1, 1, 1, 1), "groups": 3}, tol=1e-4),
    Case("conv2d_valid", "conv2d", (((2, 2, 5, 6), "any"), ((3, 2, 2, 3), "any"), ((3,), "any")),
         lambda x, w, b: _torch_conv(x, w, b), tol=1e-4),
    Case("conv2d_1x1", "conv2d", (((2, 3, 4, 4), "any"), ((5, 3, 1, 1), "any")), lambda x, w: _torch_conv(x, w),
         tol=1e-4),
    Case("conv2d_stride_remainder", "conv2d", (((1, 2, 8, 7), "any"), ((3, 2, 3, 3), "any"), ((3,), "any")),
         lambda x, w, b: _torch_conv(x, w, b, strides=(3, 2), pads=(0, 1, 1, 0)),
         {"strides": (3, 2), "pads": (0, 1, 1, 0)}, tol=1e-4),
    Case("conv_transpose2d", "conv_transpose2d", (((2, 4, 3, 4), "any"), ((4, 3, 3, 3), "any"), ((3,), "any")),
         lambda x, w, b: _torch_conv_t(x, w, b, strides=(2, 2), pads=(1, 1, 1, 1), output_padding=(1, 0)),
         {"strides": (2, 2), "pads": (1, 1, 1, 1), "output_padding": (1, 0)}, tol=1e-4),
    Case("conv_transpose2d_same", "conv_transpose2d", (((2, 4, 5, 6), "any"), ((4, 3, 3, 3), "any"), ((3,), "any")),
         lambda x, w, b: _torch_conv_t(x, w, b, pads=(1, 1, 1, 1)), {"pads": (1, 1, 1, 1)}, tol=1e-4),
    Case("conv_transpose2d_groups_dilated_asym", "conv_transpose2d", (((1, 4, 4, 3), "any"), ((4, 2, 2, 3), "any")),
         lambda x, w: _torch_conv_t(x, w, strides=(1, 2), pads=(0, 1, 1, 0), dilations=(2, 1), groups=2,
                                    output_padding=(0, 1)),
         {"strides": (1, 2), "pads": (0, 1, 1, 0), "dilations": (2, 1), "groups": 2, "output_padding": (0, 1)},
         tol=1e-4),
    Case("conv2d_weight_grad", "conv2d_weight_grad", (((2, 4, 5, 5), "any"), ((2, 6, 3, 3), "any")),
         lambda x, dy: _torch_conv_weight_grad(x, dy, kernel=(3, 3), strides=(2, 2), pads=(1, 1, 1, 1), groups=2),
         {"kernel": (3, 3), "strides": (2, 2), "pads": (1, 1, 1, 1), "groups": 2}, tol=1e-4),
    Case("conv2d_weight_grad_asym_dilated", "conv2d_weight_grad", (((1, 2, 6, 5), "any"), ((1, 3, 5, 3), "any")),
         lambda x, dy: _torch_conv_weight_grad(x, dy, kernel=(2, 2), strides=(1, 2), pads=(1, 0, 0, 1),
                                               dilations=(2, 1)),
         {"kernel": (2, 2), "strides": (1, 2), "pads": (1, 0, 0, 1), "dilations": (2, 1)}, tol=1e-4),
    # ---- pooling: tiles, overlapping padded windows, ceil_mode, dilation, asymmetric pads, ties
    Case("max_pool2d", "max_pool2d", (((2, 3, 6, 6), "any"),), lambda x: _torch_max_pool(x, (2, 2), (2, 2)),
         {"kernel": (2, 2), "strides": (2, 2)}),
    Case("max_pool2d_3s2p1_ceil", "max_pool2d", (((2, 3, 7, 7), "any"),),
         lambda x: _torch_max_pool(x, (3, 3), (2, 2), (1, 1, 1, 1), ceil_mode=True), {**_POOL3, "ceil_mode": True}),
    Case("max_pool2d_dilated_asym", "max_pool2d", (((1, 2, 8, 7), "any"),),
         lambda x: _torch_max_pool(x, (2, 3), (1, 2), (1, 1, 0, 1), (2, 1)),
         {"kernel": (2, 3), "strides": (1, 2), "pads": (1, 1, 0, 1), "dilations": (2, 1)}),
    Case("max_pool2d_ties_first_max", "max_pool2d", (((2, 2, 6, 6), "ties"),),
         lambda x: _torch_max_pool(x, (3, 3), (1, 1), (1, 1, 1, 1)),
         {"kernel": (3, 3), "pads": (1, 1, 1, 1)}, finite_differences=False),
    Case("max_pool2d_ties_tiles", "max_pool2d", (((2, 2, 4, 6), "ties"),),
         lambda x: _torch_max_pool(x, (2, 2), (2, 2)), {"kernel": (2, 2), "strides": (2, 2)},
         finite_differences=False),
    Case("max_pool2d_grad", "max_pool2d_grad", (((2, 2, 5, 5), "any"), ((2, 2, 3, 3), "any")),
         lambda x, g: _torch_pool_grad(lambda z: _torch_max_pool(z, (3, 3), (2, 2), (1, 1, 1, 1)), x.shape, x, g),
         graph=_with_maxima("max_pool2d_grad", _POOL3)),
    Case("max_pool2d_grad_ties", "max_pool2d_grad", (((2, 2, 6, 6), "ties"), ((2, 2, 6, 6), "any")),
         lambda x, g: _torch_pool_grad(lambda z: _torch_max_pool(z, (3, 3), (1, 1), (1, 1, 1, 1)), x.shape, x, g),
         graph=_with_maxima("max_pool2d_grad", {"kernel": (3, 3), "pads": (1, 1, 1, 1)}), finite_differences=False),
    Case("max_pool2d_select", "max_pool2d_select", (((2, 2, 5, 5), "any"), ((2, 2, 5, 5), "any")),
         lambda x, v: _torch_max_select(x, v, kernel=(3, 3), strides=(2, 2), pads=(1, 1, 1, 1)),
         graph=_with_maxima("max_pool2d_select", _POOL3)),
    Case("avg_pool2d", "avg_pool2d", (((2, 3, 6, 6), "any"),), lambda x: _torch_avg_pool(x, (2, 2), (2, 2)),
         {"kernel": (2, 2), "strides": (2, 2)}),
    Case("avg_pool2d_ceil_counts_pad", "avg_pool2d", (((2, 3, 6, 6), "any"),),
         lambda x: _torch_avg_pool(x, (3, 3), (2, 2), (1, 1, 1, 1), ceil_mode=True), {**_POOL3, "ceil_mode": True}),
    Case("avg_pool2d_ceil_excludes_pad", "avg_pool2d", (((2, 3, 6, 6), "any"),),
         lambda x: _torch_avg_pool(x, (3, 3), (2, 2), (1, 1, 1, 1), ceil_mode=True, count_include_pad=False),
         {**_POOL3, "ceil_mode": True, "count_include_pad": False}),
    Case("avg_pool2d_asym_excludes_pad", "avg_pool2d", (((1, 2, 5, 7), "any"),),
         lambda x: _torch_avg_pool(x, (2, 3), (1, 2), (1, 0, 0, 1), count_include_pad=False),
         {"kernel": (2, 3), "strides": (1, 2), "pads": (1, 0, 0, 1), "count_include_pad": False}),
    Case("avg_pool2d_asym_counts_pad", "avg_pool2d", (((1, 2, 5, 7), "any"),),
         lambda x: _torch_avg_pool(x, (2, 3), (1, 2), (1, 0, 0, 1)),
         {"kernel": (2, 3), "strides": (1, 2), "pads": (1, 0, 0, 1)}),
    Case("avg_pool2d_grad", "avg_pool2d_grad", (((2, 2, 4, 4), "any"),),
         lambda g: _torch_pool_grad(lambda z: F.avg_pool2d(z, 3, 2, 1, True, False), (2, 2, 6, 6), None, g),
         {**_POOL3, "ceil_mode": True, "count_include_pad": False, "shape": (2, 2, 6, 6)}),
    # ---- batch normalisation: statistics, the inference form, the training form (statistics -> normalise)
    Case("moments", "moments", (((3, 4, 2, 3), "any"),),
         lambda x: torch.stack([x.mean((0, 2, 3)), x.var((0, 2, 3), unbiased=False)])),
    Case("moments_features", "moments", (((5, 3), "any"),),
         lambda x: torch.stack([x.mean(0), x.var(0, unbiased=False)])),
    Case("batchnorm", "batchnorm", (((2, 3, 4, 4), "any"), ((3,), "any"), ((3,), "any"), ((3,), "any"), ((3,), "pos")),
         _torch_batchnorm, tol=1e-4),
    Case("batchnorm_features_eps", "batchnorm",
         (((4, 5), "any"), ((5,), "any"), ((5,), "any"), ((5,), "any"), ((5,), "pos")),
         lambda x, s, b, m, v: _torch_batchnorm(x, s, b, m, v, 0.1), {"eps": 0.1}, tol=1e-4),
    Case("batchnorm_training", "batchnorm", (((4, 3, 3, 3), "any"), ((3,), "any"), ((3,), "any")),
         lambda x, s, b: F.batch_norm(x, None, None, s, b, training=True), tol=1e-4, graph=_batchnorm_training),
    Case("batchnorm_training_features", "batchnorm", (((6, 4), "any"), ((4,), "any"), ((4,), "any")),
         lambda x, s, b: F.batch_norm(x, None, None, s, b, training=True), tol=1e-4, graph=_batchnorm_training),
    Case("batchnorm_training_synced", "rank_moments", (((4, 3, 3, 3), "any"), ((3,), "any"), ((3,), "any")),
         lambda x, s, b: F.batch_norm(F.batch_norm(x, None, None, s, b, training=True), None, None, s, b,
                                      training=True),
         tol=1e-4, graph=_batchnorm_training_synced),
    Case("rank_moments_grad", "rank_moments_grad", (((2, 3), "any"), ((2, 3), "any"), ((2, 3), "any")),
         _torch_rank_moments_grad, {"count": 6}, differentiable=False),
    # ---- resizing: torch's interpolate modes (nearest, nearest-exact, bilinear with and without align_corners)
    Case("resize2d_nearest", "resize2d", (((2, 3, 4, 5), "any"),),
         lambda x: F.interpolate(x, size=(7, 10), mode="nearest"),
         {"size": (7, 10), "coordinates": "asymmetric", "nearest_mode": "floor"}),
    Case("resize2d_nearest_exact", "resize2d", (((2, 3, 4, 5), "any"),),
         lambda x: F.interpolate(x, size=(6, 3), mode="nearest-exact"),
         {"size": (6, 3), "nearest_mode": "round_prefer_ceil"}),
    Case("resize2d_bilinear", "resize2d", (((2, 3, 4, 5), "any"),),
         lambda x: F.interpolate(x, size=(8, 3), mode="bilinear", align_corners=False),
         {"size": (8, 3), "mode": "linear"}),
    Case("resize2d_bilinear_align_corners", "resize2d", (((2, 3, 4, 5), "any"),),
         lambda x: F.interpolate(x, size=(3, 9), mode="bilinear", align_corners=True),
         {"size": (3, 9), "mode": "linear", "coordinates": "align_corners"}),
    Case("resize2d_bilinear_scales", "resize2d", (((2, 3, 4, 5), "any"),),
         lambda x: F.interpolate(x, scale_factor=(2.0, 1.5), mode="bilinear", recompute_scale_factor=False),
         {"size": (8, 7), "mode": "linear", "scales": (2.0, 1.5)}),
    Case("resize2d_grad_bilinear", "resize2d_grad", (((2, 3, 8, 3), "any"),),
         lambda g: _torch_pool_grad(lambda z: F.interpolate(z, size=(8, 3), mode="bilinear"), (2, 3, 4, 5), None, g),
         {"size": (8, 3), "mode": "linear", "shape": (2, 3, 4, 5)}),
    Case("resize2d_grad_nearest", "resize2d_grad", (((2, 3, 7, 10), "any"),),
         lambda g: _torch_pool_grad(lambda z: F.interpolate(z, size=(7, 10)), (2, 3, 4, 5), None, g),
         {"size": (7, 10), "coordinates": "asymmetric", "nearest_mode": "floor", "shape": (2, 3, 4, 5)}),
    # ---- padding
    Case("pad_constant", "pad", (((2, 3, 4), "any"),), lambda x: _torch_pad(x, (1, 0, 2, 0, 2, 1), value=1.5),
         {"pads": (1, 0, 2, 0, 2, 1), "value": 1.5}),
    Case("pad_reflect", "pad", (((2, 2, 4, 5), "any"),), lambda x: _torch_pad(x, (0, 0, 2, 1, 0, 0, 3, 4), "reflect"),
         {"pads": (0, 0, 2, 1, 0, 0, 3, 4), "mode": "reflect"}),
    Case("pad_edge", "pad", (((2, 2, 3, 4), "any"),), lambda x: _torch_pad(x, (0, 0, 2, 0, 0, 0, 1, 3), "edge"),
         {"pads": (0, 0, 2, 0, 0, 0, 1, 3), "mode": "edge"}),
    Case("pad_reflect_last_axis", "pad", (((2, 3, 4), "any"),), lambda x: _torch_pad(x, (0, 0, 3, 0, 0, 2), "reflect"),
         {"pads": (0, 0, 3, 0, 0, 2), "mode": "reflect"}),
    Case("pad_grad_constant", "pad_grad", (((3, 7, 4), "any"),),
         lambda g: _torch_pool_grad(lambda z: _torch_pad(z, (1, 2, 0, 0, 3, 1)), (2, 2, 3), None, g),
         {"pads": (1, 2, 0, 0, 3, 1)}),
    Case("pad_grad_reflect", "pad_grad", (((2, 2, 7, 10), "any"),),
         lambda g: _torch_pool_grad(lambda z: _torch_pad(z, (0, 0, 2, 1, 0, 0, 1, 4), "reflect"), (2, 2, 4, 5), None,
                                    g), {"pads": (0, 0, 2, 1, 0, 0, 1, 4), "mode": "reflect"}),
    Case("pad_grad_edge", "pad_grad", (((2, 2, 8, 6), "any"),),
         lambda g: _torch_pool_grad(lambda z: _torch_pad(z, (0, 0, 2, 1, 0, 0, 3, 1), "edge"), (2, 2, 3, 4), None, g),
         {"pads": (0, 0, 2, 1, 0, 0, 3, 1), "mode": "edge"}),
]

#: Ops only the CPU backend runs (data-parallel training trains on the CPU): the CUDA builders
#: refuse them with a diagnostic (tests/gpu/test_cuda_offline.py), so the GPU tests take the rest.
CPU_ONLY_OPS = {"rank_moments", "rank_moments_grad"}
GPU_CASES = [c for c in CASES if c.op not in CPU_ONLY_OPS]


def _values(case: Case, dtype: type) -> list[np.ndarray]:
    rng = np.random.default_rng(sum(map(ord, case.id)))
    out = []
    for shape, domain in case.inputs:
        if domain.startswith("int"):
            out.append(rng.integers(0, int(domain[3:]), shape))
        elif domain == "bool":
            out.append(rng.random(shape) < 0.5)
        elif domain == "ties":  # few distinct values: windows hold several equal maxima
            out.append(rng.integers(0, 3, shape).astype(dtype))
        else:
            v = rng.standard_normal(shape)
            if domain == "pos":
                v = np.abs(v) + 0.5
            elif domain == "away":  # keep kinks (0) out of finite-difference reach
                v = np.sign(v) * (np.abs(v) + 0.1)
            out.append(v.astype(dtype))
    return out


def _dtype_of(value: np.ndarray, float_dtype: str) -> str:
    if value.dtype == np.bool_:
        return "bool"
    if np.issubdtype(value.dtype, np.integer):
        return "i64"
    return float_dtype


def _build(case: Case, values: list[np.ndarray], float_dtype: str):
    """Graph with y = op(inputs) and loss = sum(y * cotangent); returns (graph, y, loss, float inputs)."""
    g = Graph()
    ids = [g.input(f"in{i}", v.shape, _dtype_of(v, float_dtype)) for i, v in enumerate(values)]
    y = case.graph(g, ids) if case.graph is not None else g.op(case.op, *ids, **case.attrs)
    floats = [i for i, v in zip(ids, values, strict=True) if v.dtype.kind == "f"]
    loss = None
    if case.differentiable:
        cot = g.input("cot", g.node(y).shape, float_dtype)
        loss = g.op("reduce_sum", g.op("mul", y, cot), axes=tuple(range(len(g.node(y).shape))))
    g.set_outputs([y])
    return g, y, loss, floats


def _forward_ops(g: Graph, y: int) -> set[str]:
    """The ops the case's output y is computed with (not the loss built around it)."""
    need = {y}
    for n in reversed(g.nodes):
        if n.id in need:
            need.update(n.inputs)
    return {g.node(i).op for i in need}


def _feeds(values: list[np.ndarray], cot: np.ndarray | None) -> dict[str, np.ndarray]:
    feeds = {f"in{i}": v for i, v in enumerate(values)}
    if cot is not None:
        feeds["cot"] = cot
    return feeds


def test_every_op_has_a_cpu_kernel_and_a_case_or_helper_role():
    assert missing_kernels("cpu") == []
    covered = {c.op for c in CASES} | {"input", "parameter", "constant", "fused_elementwise"}
    assert sorted(op.name for op in all_ops() if op.name not in covered) == []


@pytest.mark.parametrize("case", [c for c in CASES if c.differentiable and c.finite_differences], ids=lambda c: c.id)
def test_gradient_matches_finite_differences(case: Case):
    values = _values(case, np.float64)
    g, y, loss, floats = _build(case, values, "f64")
    cot = np.random.default_rng(1).standard_normal(g.node(y).shape)
    tg, grad_ids = training_graph(g, loss, floats)
    outs = run_graph(tg, _feeds(values, cot))
    analytic = outs[-len(grad_ids):]

    from volta_core.backends.cpu import CpuExecutor
    from volta_core.ir import compile_plan

    lg = Graph()
    for n in g.nodes:
        lg.append(n)
    lg.set_outputs([loss])
    ex = CpuExecutor(compile_plan(lg))
    step = 1e-6
    for k, fid in enumerate(floats):
        idx = g.inputs.index(fid)
        numeric = np.zeros_like(values[idx])
        for pos in np.ndindex(values[idx].shape):
            vals = [v.copy() for v in values]
            vals[idx][pos] += step
            up = ex.run(_feeds(vals, cot))[0]
            vals[idx][pos] -= 2 * step
            down = ex.run(_feeds(vals, cot))[0]
            numeric[pos] = (up - down) / (2 * step)
        np.testing.assert_allclose(analytic[k], numeric, rtol=1e-5, atol=1e-6, err_msg=f"input {k}")


@pytest.mark.skipif(torch is None, reason="PyTorch (test extra: torch==2.13.0) is not installed; oracle unavailable")
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_matches_pytorch_float32(case: Case):
    values = _values(case, np.float32)
    g, y, loss, floats = _build(case, values, "f32")
    tensors = [torch.tensor(v, requires_grad=v.dtype.kind == "f" and case.differentiable) for v in values]
    expected = case.torch_fn(*tensors)
    if not case.differentiable:
        got = run_graph(g, _feeds(values, None))[0]
        np.testing.assert_allclose(got, expected.detach().numpy(), rtol=case.tol, atol=case.tol)
        return
    cot = np.random.default_rng(1).standard_normal(g.node(y).shape).astype(np.float32)
    tg, grad_ids = training_graph(g, loss, floats)
    outs = run_graph(tg, _feeds(values, cot))
    (expected * torch.tensor(cot)).sum().backward()
    np.testing.assert_allclose(outs[0], expected.detach().numpy(), rtol=case.tol, atol=case.tol)
    float_tensors = [t for t in tensors if t.requires_grad]
    for k, t in enumerate(float_tensors):
        assert outs[-len(grad_ids) + k].dtype == np.float32
        # PyTorch leaves .grad unset for an input the result does not depend on differentiably
        want = t.grad.numpy() if t.grad is not None else np.zeros(t.shape, np.float32)
        np.testing.assert_allclose(outs[-len(grad_ids) + k], want, rtol=case.tol, atol=case.tol,
                                   err_msg=f"grad of input {k}")
