"""The CPU speed work keeps results bit-identical: the blocked / threaded optimizer
update, zero-copy weights in the executor, gradient buffers without copies, and the
specialised kernels (ReLU-backward ``where``, k = 1 matmul). No timing here
(performance is measured by ``python -m benchmarks``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from volta_core.analysis import analyze
from volta_core.backends.cpu import CpuExecutor
from volta_core.ir import Graph, compile_plan
from volta_core.nn import Network, init_params
from volta_core.train import optim
from volta_core.train.optim import Optimizer


def _reference_step(name: str, p: np.ndarray, g: np.ndarray, st: dict[str, np.ndarray], lr: float, t: int,
                    momentum: float, wd: float) -> None:
    """The allocating single-tensor formulas (PyTorch's), one array at a time."""
    f32 = np.float32
    if name == "adamw":
        if wd:
            p *= f32(1.0 - lr * wd)
    elif wd:
        g = g + f32(wd) * p
    if name == "sgd":
        p += f32(-lr) * g
    elif name == "momentum":
        if "b" not in st:
            st["b"] = g.copy()
        else:
            st["b"] *= f32(momentum)
            st["b"] += g
        p += f32(-lr) * st["b"]
    elif name in ("adam", "adamw"):
        m = st.setdefault("m", np.zeros_like(p))
        v = st.setdefault("v", np.zeros_like(p))
        m += f32(0.1) * (g - m)
        v *= f32(0.999)
        v += (f32(1.0 - 0.999) * g) * g  # PyTorch's addcmul order
        # PyTorch's p -= step_size * m / (sqrt(v) / bc2_sqrt + eps), multiplied through by bc2_sqrt
        bc2_sqrt = math.sqrt(1.0 - 0.999**t)
        denom = np.sqrt(v) + f32(1e-8 * bc2_sqrt)
        p += f32(-(lr / (1.0 - 0.9**t)) * bc2_sqrt) * (m / denom)
    elif name == "adagrad":
        acc = st.setdefault("sum", np.zeros_like(p))
        acc += g * g
        p += f32(-lr) * (g / (np.sqrt(acc) + f32(1e-10)))
    else:
        sq = st.setdefault("sq", np.zeros_like(p))
        sq *= f32(0.99)
        sq += f32(1.0 - 0.99) * (g * g)
        avg = np.sqrt(sq) + f32(1e-8)
        if momentum > 0:
            b = st.setdefault("b", np.zeros_like(p))
            b *= f32(momentum)
            b += g / avg
            p += f32(-lr) * b
        else:
            p += f32(-lr) * (g / avg)


@pytest.mark.parametrize("threads", ["1", "2", "3"])
@pytest.mark.parametrize(("name", "kw"), [
    ("sgd", {}), ("sgd", {"weight_decay": 0.1}), ("momentum", {"momentum": 0.9, "weight_decay": 0.01}),
    ("adam", {}), ("adamw", {"weight_decay": 0.1}), ("rmsprop", {"momentum": 0.9}), ("rmsprop", {}),
    ("adagrad", {}), ("adagrad", {"weight_decay": 0.1}),
])
def test_blocked_threaded_update_is_bitwise_the_plain_formula(
    monkeypatch: pytest.MonkeyPatch, threads: str, name: str, kw: dict[str, float]
) -> None:
    monkeypatch.setenv("VOLTA_NUM_THREADS", threads)
    monkeypatch.setattr(optim, "_PARALLEL_MIN", 1 << 12)  # exercise the threads on small arrays
    monkeypatch.setattr(optim, "_BLOCK", 1 << 10)
    rng = np.random.default_rng(0)
    shapes = {"a.w": (40, 70), "a.b": (70,), "b.w": (3000,), "c": (5, 7)}
    params = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
    params["t"] = np.asfortranarray(rng.standard_normal((30, 50)).astype(np.float32))  # not C-contiguous
    ref = {k: v.copy() for k, v in params.items()}
    ref_state: dict[str, dict[str, np.ndarray]] = {k: {} for k in params}
    opt = Optimizer(name, **kw)
    for t in range(1, 5):
        grads = {k: rng.standard_normal(v.shape).astype(np.float32) for k, v in params.items()}
        before = {k: g.copy() for k, g in grads.items()}
        opt.step(params, grads, 0.01)
        for k in sorted(ref):
            _reference_step(name, ref[k], before[k], ref_state[k], 0.01, t, kw.get("momentum", 0.0),
                            kw.get("weight_decay", 0.0))
        assert all(np.array_equal(grads[k], before[k]) for k in grads)  # gradients are never written
        for k in params:
            assert params[k].tobytes() == ref[k].tobytes(), (k, t)


MLP = "model m\n    layers 6 16 16 1\n    activation relu\n    loss mse\n    seed 0\n"


def _net() -> Network:
    analysis = analyze(MLP, "t.vt")
    info = analysis.symbols.models["m"]
    return Network(info, "mse", init_params(info, 0))


def test_executor_reads_the_live_weights_and_rebinds_replaced_ones() -> None:
    net = _net()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 6)).astype(np.float32)
    y = rng.standard_normal((4, 1)).astype(np.float32)
    ex, _ = net.executor(4, True)
    w = net.params["0.dense.weight"]
    assert any(arr is w for _, arr in ex._bound)
    loss0, _, _ = net.train_step(x, y)
    w *= np.float32(0.5)  # in place: the next step sees it without a copy
    loss1, _, _ = net.train_step(x, y)
    assert loss1 != loss0
    fresh = _net()
    fresh.params["0.dense.weight"][...] = w
    assert fresh.train_step(x, y)[0] == loss1
    net.params["0.dense.weight"] = w * np.float32(2.0)  # replaced: the executor is rebuilt, the old array untouched
    old = w.copy()
    assert net.train_step(x, y)[0] == loss0
    assert np.array_equal(w, old)
    assert net.executor(4, True)[0] is not ex


def test_uncopied_gradients_equal_the_copies() -> None:
    net = _net()
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 6)).astype(np.float32)
    y = rng.standard_normal((4, 1)).astype(np.float32)
    loss_a, logits_a, copied = net.train_step(x, y)
    loss_b, logits_b, views = net.train_step(x, y, copy_grads=False)
    assert loss_a == loss_b and logits_a.tobytes() == logits_b.tobytes()
    assert all(copied[k].tobytes() == views[k].tobytes() for k in copied)
    snapshot = {k: v.copy() for k, v in views.items()}
    net.train_step(x * 2, y, copy_grads=False)  # the buffers are reused by the next step
    assert any(not np.array_equal(snapshot[k], views[k]) for k in views)
    assert all(copied[k].tobytes() == snapshot[k].tobytes() for k in copied)


def _run(g: Graph, feeds: dict[str, np.ndarray]) -> np.ndarray:
    return CpuExecutor(compile_plan(g)).run(feeds)[0]


@pytest.mark.parametrize("dtype", ["f32", "f64"])
def test_relu_backward_where_is_bitwise_numpy_where(dtype: str) -> None:
    npdt = np.float32 if dtype == "f32" else np.float64
    g = Graph()
    c = g.input("c", (9, 5), "f32")
    a = g.input("a", (9, 5), dtype)
    g.set_outputs([g.op("where", g.op("compare", c, g.constant(0.0), cmp="gt"), a, g.constant(0.0, dtype))])
    rng = np.random.default_rng(3)
    av = rng.standard_normal((9, 5)).astype(npdt)
    av[0, :4] = [np.nan, -0.0, -np.inf, np.inf]
    cv = rng.standard_normal((9, 5)).astype(np.float32)
    cv[0, :4] = 1.0
    with np.errstate(invalid="ignore"):
        assert _run(g, {"c": cv, "a": av}).tobytes() == np.where(cv > 0, av, npdt(0.0)).tobytes()


_SPECIALS = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-45, 3.0, -3.0]


@pytest.mark.parametrize("dtype", ["f32", "f64"])
@pytest.mark.parametrize("n", [1, 7, 8, 9, 15, 16, 17, 31, 33, 64, 65, 1000])
def test_relu_is_bitwise_numpy_maximum_with_zero(dtype: str, n: int) -> None:
    # The kernel takes max against an array of zeros (NumPy's SIMD loop) instead of the
    # scalar 0: the same bits at every SIMD tail length, NaN payloads and -0.0 included.
    npdt = np.float32 if dtype == "f32" else np.float64
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n).astype(npdt)
    x[rng.integers(0, n, min(n, 12))] = rng.choice(np.array(_SPECIALS, npdt), min(n, 12))
    x[: min(n, 2)] = np.array([0x7FC00001, 0xFFC00001], np.uint32).view(np.float32).astype(npdt)[: min(n, 2)]
    expected = np.maximum(x, 0)
    ints = f"u{np.dtype(npdt).itemsize}"
    g = Graph()
    g.set_outputs([g.op("relu", g.input("x", (n,), dtype))])
    assert _run(g, {"x": x}).view(ints).tolist() == expected.view(ints).tolist()
    for program in ("relu:$0", "neg:$0;neg:@;relu:@"):  # the fused step, on an input and on its running value
        fused = Graph()
        fused.set_outputs([fused.op("fused_elementwise", fused.input("x", (n,), dtype), program=program)])
        assert _run(fused, {"x": x}).view(ints).tolist() == expected.view(ints).tolist(), program


def test_outer_product_matmul_is_bitwise_gemm() -> None:
    g = Graph()
    a = g.input("a", (17, 1))
    b = g.input("b", (1, 23))
    g.set_outputs([g.op("matmul", a, b)])
    rng = np.random.default_rng(4)
    av = rng.standard_normal((17, 1)).astype(np.float32)
    bv = rng.standard_normal((1, 23)).astype(np.float32)
    av[0, 0], av[1, 0], bv[0, 0] = -0.0, 0.0, -0.0
    assert _run(g, {"a": av, "b": bv}).tobytes() == np.matmul(av, bv).tobytes()
