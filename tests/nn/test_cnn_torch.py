"""A CNN trained by Volta matches a PyTorch replica (issue 18, acceptance 1).

A `.vt` program declares a CNN with conv (padding, stride, groups, dilation),
batchnorm, maxpool, avgpool, a residual block without and one with
`project`, a `repeat`, global_avg_pool and dense; saves its initial weights;
trains 20 optimizer steps on an npz image dataset without shuffling; saves
the result. PyTorch (a test-only oracle) loads the *initial* checkpoint,
runs the same layers with ``torch.nn.functional`` (``batch_norm`` in training
mode updates its running statistics in place) on the same batches with
``torch.optim``, and every weight and running statistic must agree within
1e-4 relative. Evaluation (running statistics) must agree too.

Convolutions followed by a batchnorm have no bias (as is usual): such a bias
gets a gradient that is zero but for rounding noise, which Adam would turn
into steps of about `lr` in a direction neither framework controls.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from volta_core.lang import Session

torch = pytest.importorskip("torch")
st_torch = pytest.importorskip("safetensors.torch")
F = torch.nn.functional

RTOL, ATOL = 1e-4, 1e-5
STEPS, BATCH, ROWS = 20, 8, 28  # the last batch of an epoch is partial

MODEL = """model cnn
    input image 3 10 10
    layer conv 8 3 pad 1 bias false
    layer batchnorm
    layer relu
    layer conv 8 3 pad 2 dilation 2 groups 2
    layer maxpool 2
    residual
        layer conv 8 3 pad same bias false
        layer batchnorm momentum 0.3
        layer relu
    residual project
        layer conv 12 3 stride 2 pad 1 bias false
        layer batchnorm eps 0.001
    repeat 2
        layer conv 12 1
        layer tanh
    layer avgpool 2 stride 1 pad 1
    layer global_avg_pool
    layer dense 4
    loss cross_entropy
    seed 5
"""


def _replica(w: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor]) -> Callable[[torch.Tensor, bool], torch.Tensor]:
    def bn(h: torch.Tensor, p: str, training: bool, momentum: float = 0.1, eps: float = 1e-5) -> torch.Tensor:
        return F.batch_norm(h, buffers[f"{p}.running_mean"], buffers[f"{p}.running_var"], w[f"{p}.scale"],
                            w[f"{p}.shift"], training, momentum, eps)  # fmt: skip

    def forward(x: torch.Tensor, training: bool) -> torch.Tensor:
        h = F.conv2d(x, w["0.conv.weight"], None, padding=1)
        h = F.relu(bn(h, "1.batchnorm", training))
        h = F.conv2d(h, w["3.conv.weight"], w["3.conv.bias"], padding=2, dilation=2, groups=2)
        h = F.max_pool2d(h, 2)
        inner = F.conv2d(h, w["5.0.conv.weight"], None, padding="same")
        h = h + F.relu(bn(inner, "5.1.batchnorm", training, momentum=0.3))
        inner = bn(F.conv2d(h, w["6.0.conv.weight"], None, stride=2, padding=1), "6.1.batchnorm",
                   training, eps=1e-3)  # fmt: skip
        shortcut = bn(F.conv2d(h, w["6.project.conv.weight"], None, stride=2), "6.project.batchnorm", training)
        h = inner + shortcut
        for r in range(2):
            h = torch.tanh(F.conv2d(h, w[f"7.{r}.0.conv.weight"], w[f"7.{r}.0.conv.bias"]))
        h = F.avg_pool2d(h, 2, stride=1, padding=1)
        h = h.mean(dim=(2, 3))
        return h @ w["10.dense.weight"] + w["10.dense.bias"]

    return forward


OPTIMIZERS = [
    ("sgd", 0.05, lambda ps: torch.optim.SGD(ps, lr=0.05)),
    ("adam", 0.01, lambda ps: torch.optim.Adam(ps, lr=0.01)),
]


@pytest.mark.parametrize(("optimizer", "lr", "make"), OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_cnn_training_matches_pytorch(tmp_path: Path, optimizer: str, lr: float, make) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.Generator(np.random.PCG64(4))
    x = rng.normal(0.0, 1.0, (ROWS, 3, 10, 10)).astype(np.float32)
    y = rng.integers(0, 4, ROWS)
    np.savez(tmp_path / "data.npz", x=x, y=y)
    program = (
        MODEL
        + f'dataset data\n    type npz\n    source "data.npz"\n    shuffle false\n    batch {BATCH}\n'
        + 'save cnn as "initial.safetensors"\n'
        + f"train cnn on data\n    steps {STEPS}\n    optimizer {optimizer}\n    lr {lr}\n    log_every 1000\n"
        + 'save cnn as "final.safetensors"\nevaluate cnn on data\n'
    )
    out: list[str] = []
    result = Session(stdout=out.append, base_dir=tmp_path).run(program, "cnn.vt")
    assert result.ok, [d.message for d in result.diagnostics]

    initial = st_torch.load_file(str(tmp_path / "initial.safetensors"))
    buffers = {k: v.clone() for k, v in initial.items() if ".running_" in k}
    weights = {k: v.clone().requires_grad_(True) for k, v in initial.items() if ".running_" not in k}
    assert set(buffers) == {
        f"{p}.{s}" for p in ("1.batchnorm", "5.1.batchnorm", "6.1.batchnorm", "6.project.batchnorm")
        for s in ("running_mean", "running_var")
    }  # fmt: skip
    forward = _replica(weights, buffers)
    opt = make([weights[k] for k in sorted(weights)])
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    step = 0
    while step < STEPS:
        for start in range(0, ROWS, BATCH):
            if step == STEPS:
                break
            loss = F.cross_entropy(forward(tx[start : start + BATCH], True), ty[start : start + BATCH])
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1

    final = st_torch.load_file(str(tmp_path / "final.safetensors"))
    assert set(final) == set(initial)
    for name, ours in sorted(final.items()):
        theirs = (buffers[name] if name in buffers else weights[name]).detach()
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=RTOL, atol=ATOL, err_msg=name)
    # evaluation uses the running statistics, like model.eval()
    with torch.no_grad():
        eval_loss = float(F.cross_entropy(forward(tx, False), ty))
    line = next(t for t in out if t.startswith("evaluate cnn"))
    assert abs(float(line.split("loss ")[1].split()[0]) - eval_loss) < 1e-4
