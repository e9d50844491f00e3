"""One table of op cases drives finite-difference and PyTorch gradient checks.

Finite differences: float64, central differences with step 1e-6; analytic and
numeric gradients must agree to ``atol=1e-6, rtol=1e-5`` (truncation error is
O(step²) ≈ 1e-12 and rounding error ≈ 1e-10 for these magnitudes).

PyTorch: float32, forward values and gradients compared with the per-op
tolerance in the table (default ``rtol=atol=1e-5``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from volta_core.ir import Graph, training_graph
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


def _t(name: str) -> Callable[..., Any]:
    return lambda *a, **k: getattr(torch, name)(*a, **k)


def _torch_slice_scatter(src: Any, shape: tuple[int, ...], key: tuple[slice, ...]) -> Any:
    out = torch.zeros(shape, dtype=src.dtype)
    out[key] = src
    return out


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
]


def _values(case: Case, dtype: type) -> list[np.ndarray]:
    rng = np.random.default_rng(sum(map(ord, case.id)))
    out = []
    for shape, domain in case.inputs:
        if domain.startswith("int"):
            out.append(rng.integers(0, int(domain[3:]), shape))
        elif domain == "bool":
            out.append(rng.random(shape) < 0.5)
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
    y = g.op(case.op, *ids, **case.attrs)
    floats = [i for i, v in zip(ids, values, strict=True) if v.dtype.kind == "f"]
    loss = None
    if case.differentiable:
        cot = g.input("cot", g.node(y).shape, float_dtype)
        loss = g.op("reduce_sum", g.op("mul", y, cot), axes=tuple(range(len(g.node(y).shape))))
    g.set_outputs([y])
    return g, y, loss, floats


def _feeds(values: list[np.ndarray], cot: np.ndarray | None) -> dict[str, np.ndarray]:
    feeds = {f"in{i}": v for i, v in enumerate(values)}
    if cot is not None:
        feeds["cot"] = cot
    return feeds


def test_every_op_has_a_cpu_kernel_and_a_case_or_helper_role():
    assert missing_kernels("cpu") == []
    covered = {c.op for c in CASES} | {"input", "parameter", "constant", "fused_elementwise"}
    assert sorted(op.name for op in all_ops() if op.name not in covered) == []


@pytest.mark.parametrize("case", [c for c in CASES if c.differentiable], ids=lambda c: c.id)
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
        np.testing.assert_allclose(outs[-len(grad_ids) + k], t.grad.numpy(), rtol=case.tol, atol=case.tol,
                                   err_msg=f"grad of input {k}")
