"""Optimizer, clipping and schedule parity with torch.optim (torch is a test-only oracle)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from volta_core.train.optim import Optimizer, clip_grad_norm
from volta_core.train.schedule import lr_at

torch = pytest.importorskip("torch")

# float32 throughout; trajectories agree to this absolute tolerance (rtol 1e-5).
ATOL, RTOL = 1e-6, 1e-5

CASES = [
    ("sgd", {}, lambda ps: torch.optim.SGD(ps, lr=0.05)),
    ("sgd", {"weight_decay": 0.1}, lambda ps: torch.optim.SGD(ps, lr=0.05, weight_decay=0.1)),
    ("momentum", {"momentum": 0.9}, lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9)),
    ("momentum", {"momentum": 0.8, "weight_decay": 0.01},
     lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, weight_decay=0.01)),
    ("adam", {}, lambda ps: torch.optim.Adam(ps, lr=0.05)),
    ("adam", {"weight_decay": 0.1}, lambda ps: torch.optim.Adam(ps, lr=0.05, weight_decay=0.1)),
    ("adamw", {"weight_decay": 0.1}, lambda ps: torch.optim.AdamW(ps, lr=0.05, weight_decay=0.1)),
    ("adamw", {}, lambda ps: torch.optim.AdamW(ps, lr=0.05, weight_decay=0.0)),
    ("rmsprop", {}, lambda ps: torch.optim.RMSprop(ps, lr=0.01)),
    ("rmsprop", {"momentum": 0.9, "weight_decay": 0.01},
     lambda ps: torch.optim.RMSprop(ps, lr=0.01, momentum=0.9, weight_decay=0.01)),
    ("adagrad", {}, lambda ps: torch.optim.Adagrad(ps, lr=0.05)),
    ("adagrad", {"weight_decay": 0.1}, lambda ps: torch.optim.Adagrad(ps, lr=0.05, weight_decay=0.1)),
]


def _grads(rng: np.random.Generator, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    # A loss-like gradient that depends on the parameters, plus noise.
    return {n: (0.5 * p + rng.normal(0, 1, p.shape)).astype(np.float32) for n, p in params.items()}


@pytest.mark.parametrize(("name", "kw", "make"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_trajectory_matches_torch(name: str, kw: dict[str, float], make: object) -> None:
    rng = np.random.default_rng(0)
    params = {"a": rng.normal(0, 1, (3, 4)).astype(np.float32), "b": rng.normal(0, 1, (4,)).astype(np.float32)}
    tparams = {n: torch.tensor(p.copy(), requires_grad=True) for n, p in params.items()}
    topt = make([tparams[n] for n in sorted(tparams)])  # type: ignore[operator]
    opt = Optimizer(name, **kw)
    lr = topt.param_groups[0]["lr"]
    grad_rng = np.random.default_rng(1)
    for _ in range(25):
        grads = _grads(grad_rng, params)
        for n in sorted(params):
            tparams[n].grad = torch.tensor(grads[n].copy())
        topt.step()
        opt.step(params, grads, lr)
        for n in params:
            np.testing.assert_allclose(params[n], tparams[n].detach().numpy(), rtol=RTOL, atol=ATOL)


def test_clip_grad_norm_matches_torch() -> None:
    rng = np.random.default_rng(2)
    grads = {"a": rng.normal(0, 3, (5, 5)).astype(np.float32), "b": rng.normal(0, 3, (5,)).astype(np.float32)}
    ts = [torch.zeros(g.shape, requires_grad=True) for g in (grads["a"], grads["b"])]
    for t, n in zip(ts, ("a", "b"), strict=True):
        t.grad = torch.tensor(grads[n].copy())
    total = torch.nn.utils.clip_grad_norm_(ts, 1.0)
    ours = clip_grad_norm(grads, 1.0)
    assert ours == pytest.approx(float(total), rel=1e-6)
    np.testing.assert_allclose(grads["a"], ts[0].grad.numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(grads["b"], ts[1].grad.numpy(), rtol=1e-6, atol=1e-7)
    small = {"a": np.full((2,), 0.1, np.float32)}
    clip_grad_norm(small, 10.0)
    assert small["a"].tolist() == pytest.approx([0.1, 0.1])


def test_state_round_trip() -> None:
    params = {"w": np.ones((2,), np.float32)}
    opt = Optimizer("adam")
    opt.step(params, {"w": np.ones((2,), np.float32)}, 0.1)
    other = Optimizer("adam")
    other.load_state_arrays(opt.state_arrays())
    assert other.steps == 1
    np.testing.assert_array_equal(other.state["w"]["exp_avg"], opt.state["w"]["exp_avg"])


def test_schedules() -> None:
    assert lr_at(0.1, "constant", 5, 10) == 0.1
    assert lr_at(0.1, "constant", 0, 10, warmup=4) == pytest.approx(0.025)
    assert lr_at(0.1, "constant", 3, 10, warmup=4) == pytest.approx(0.1)
    assert lr_at(0.1, "cosine", 0, 10) == pytest.approx(0.1)
    assert lr_at(0.1, "cosine", 5, 10) == pytest.approx(0.05)
    assert lr_at(0.1, "cosine", 2, 10, warmup=2) == pytest.approx(0.1)
    assert lr_at(0.1, "step", 0, 9) == pytest.approx(0.1)
    assert lr_at(0.1, "step", 3, 9) == pytest.approx(0.01)
    assert lr_at(0.1, "step", 8, 9) == pytest.approx(0.001)
    # cosine matches torch's CosineAnnealingLR closed form
    assert lr_at(1.0, "cosine", 7, 10) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.7)))


@pytest.mark.parametrize(("name", "kw", "make"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_reused_arrays_give_the_same_bits(name: str, kw: dict[str, float], make: object) -> None:
    # The training loop passes the same weight and gradient arrays every step (the
    # optimizer then reuses its block list); fresh arrays every step rebuild it. Both
    # must give bitwise the same weights and state, including across a state reload.
    rng = np.random.default_rng(3)
    shapes = {"a": (300, 300), "b": (300,), "c": (300, 7), "d": (7,)}  # "a" spans several blocks
    init = {n: rng.normal(0, 0.5, s).astype(np.float32) for n, s in shapes.items()}
    live, fresh = {n: v.copy() for n, v in init.items()}, {n: v.copy() for n, v in init.items()}
    grads = {n: np.empty_like(v) for n, v in init.items()}  # refilled in place, like executor buffers
    opt_live, opt_fresh = Optimizer(name, **kw), Optimizer(name, **kw)  # type: ignore[arg-type]
    for step in range(20):
        for n, g in _grads(rng, live).items():
            np.copyto(grads[n], g)
        clip_grad_norm(grads, 5.0)
        opt_live.step(live, grads, 0.01 * (1 + step % 3))
        opt_fresh.step(fresh, {n: g.copy() for n, g in grads.items()}, 0.01 * (1 + step % 3))
        if step == 9:
            opt_live.load_state_arrays(opt_live.state_arrays())
    for n in shapes:
        assert live[n].tobytes() == fresh[n].tobytes(), n
    a, b = opt_live.state_arrays(), opt_fresh.state_arrays()
    assert sorted(a) == sorted(b)
    for key in a:
        assert np.asarray(a[key]).tobytes() == np.asarray(b[key]).tobytes(), key
