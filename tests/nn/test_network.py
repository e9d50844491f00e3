"""The model → IR builder: parameter names, initialisation, and one full
training step (forward + backward + adam) against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

from volta_core.analysis import analyze
from volta_core.nn import Network, init_params, width_values
from volta_core.train.optim import Optimizer

torch = pytest.importorskip("torch")

MLP = "model m\n    layers 3 5 4\n    activation tanh\n    output softmax\n    seed 3\n"


def info(text: str):  # type: ignore[no-untyped-def]
    analysis = analyze(text, "t.vt")
    assert not analysis.errors
    return analysis.symbols.models["m"]


def test_names_shapes_and_init() -> None:
    mi = info(MLP)
    params = init_params(mi, 3)
    assert sorted(params) == ["0.dense.bias", "0.dense.weight", "2.dense.bias", "2.dense.weight"]
    assert params["0.dense.weight"].shape == (3, 5) and params["0.dense.weight"].dtype == np.float32
    assert not params["0.dense.bias"].any()
    limit = np.sqrt(6 / (3 + 5))
    assert np.abs(params["0.dense.weight"]).max() <= limit
    again = init_params(mi, 3)
    assert all(np.array_equal(params[k], again[k]) for k in params)
    assert not np.array_equal(init_params(mi, 4)["0.dense.weight"], params["0.dense.weight"])
    assert width_values(mi) == 3


@pytest.mark.parametrize("loss", ["cross_entropy", "bce", "mse"])
def test_training_step_matches_torch(loss: str) -> None:
    out = {"cross_entropy": "output softmax", "bce": "output sigmoid", "mse": "loss mse"}[loss]
    width = 1 if loss == "bce" else 4
    mi = info(f"model m\n    layers 3 5 {width}\n    activation tanh\n    {out}\n    seed 3\n")
    net = Network(mi, loss, init_params(mi, 3))
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (6, 3)).astype(np.float32)
    y: np.ndarray = rng.integers(0, width if loss == "cross_entropy" else 2, 6)
    if loss == "mse":
        y = rng.normal(0, 1, (6, width)).astype(np.float32)
    tp = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in net.params.items()}
    topt = torch.optim.Adam([tp[k] for k in sorted(tp)], lr=0.01)
    opt = Optimizer("adam")
    for _ in range(3):
        h = torch.tanh(torch.tensor(x) @ tp["0.dense.weight"] + tp["0.dense.bias"])
        z = h @ tp["2.dense.weight"] + tp["2.dense.bias"]
        if loss == "cross_entropy":
            tl = torch.nn.functional.cross_entropy(z, torch.tensor(y))
        elif loss == "bce":
            tl = torch.nn.functional.binary_cross_entropy_with_logits(z, torch.tensor(y, dtype=torch.float32)[:, None])
        else:
            tl = torch.nn.functional.mse_loss(z, torch.tensor(y))
        topt.zero_grad()
        tl.backward()
        ours, _, grads = net.train_step(x, y)
        assert ours == pytest.approx(float(tl.detach()), rel=1e-5, abs=1e-6)
        for k in grads:
            np.testing.assert_allclose(grads[k], tp[k].grad.numpy(), rtol=1e-5, atol=1e-6)
        topt.step()
        opt.step(net.params, grads, 0.01)
        for k in net.params:
            np.testing.assert_allclose(net.params[k], tp[k].detach().numpy(), rtol=1e-5, atol=1e-5)


def test_bce_gradient_at_zero_logit_is_sigmoid_minus_target() -> None:
    mi = info("model m\n    layers 1 1\n    output sigmoid\n")
    net = Network(mi, "bce", {"0.dense.weight": np.zeros((1, 1), np.float32), "0.dense.bias": np.zeros(1, np.float32)})
    _, _, grads = net.train_step(np.ones((1, 1), np.float32), np.array([1]))
    assert grads["0.dense.bias"][0] == pytest.approx(-0.5)


def test_plans_are_cached_per_batch_size() -> None:
    mi = info(MLP)
    net = Network(mi, "cross_entropy", init_params(mi, 0))
    a = net.executor(4, True)
    assert net.executor(4, True) is a
    assert net.executor(3, True) is not a
    assert net.predict(np.zeros((2, 3), np.float32)).sum(axis=1) == pytest.approx([1.0, 1.0])
