"""End-to-end optimizer parity with PyTorch, driven through the Volta language.

A `.vt` program builds an MLP, saves its initial weights, trains it for 20
optimizer steps on a CSV dataset without shuffling and saves the result.
PyTorch (a test-only oracle) loads the *initial* checkpoint with
``safetensors.torch``, trains the same architecture on the same batches in the
same order with ``torch.optim`` and the matching loss, and the final weights
must agree within 1e-5 relative (plus 1e-6 absolute for entries near zero).

Volta's dense weight is ``[in, out]`` computing ``x @ W + b``; ``nn.Linear``
stores ``[out, in]``, so weights are transposed on the way in and out.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from volta_core.lang import Session

torch = pytest.importorskip("torch")
st_torch = pytest.importorskip("safetensors.torch")

RTOL, ATOL = 1e-5, 1e-6
STEPS, BATCH, ROWS = 20, 8, 36  # 36 rows: 5 batches per epoch, the last one partial

Make = Callable[[list[object]], object]

# (volta optimizer, extra `train` lines, lr, torch optimizer factory)
OPTIMIZERS: list[tuple[str, dict[str, float], float, Make]] = [
    ("sgd", {}, 0.1, lambda ps: torch.optim.SGD(ps, lr=0.1)),
    ("sgd", {"weight_decay": 0.05}, 0.1, lambda ps: torch.optim.SGD(ps, lr=0.1, weight_decay=0.05)),
    ("sgd", {"clip_grad": 0.5}, 0.1, lambda ps: torch.optim.SGD(ps, lr=0.1)),
    ("momentum", {}, 0.05, lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9)),
    ("momentum", {"momentum": 0.8, "weight_decay": 0.01, "clip_grad": 1.0}, 0.05,
     lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, weight_decay=0.01)),
    ("adam", {}, 0.01, lambda ps: torch.optim.Adam(ps, lr=0.01)),
    ("adam", {"weight_decay": 0.1, "clip_grad": 0.5}, 0.01,
     lambda ps: torch.optim.Adam(ps, lr=0.01, weight_decay=0.1)),
    ("adamw", {"weight_decay": 0.1}, 0.01, lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1)),
    ("adamw", {"clip_grad": 0.25}, 0.01, lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.0)),
    ("rmsprop", {}, 0.005, lambda ps: torch.optim.RMSprop(ps, lr=0.005)),
    ("rmsprop", {"momentum": 0.9, "weight_decay": 0.01, "clip_grad": 1.0}, 0.002,
     lambda ps: torch.optim.RMSprop(ps, lr=0.002, momentum=0.9, weight_decay=0.01)),
    ("adagrad", {}, 0.05, lambda ps: torch.optim.Adagrad(ps, lr=0.05)),
    ("adagrad", {"weight_decay": 0.01, "clip_grad": 1.0}, 0.05,
     lambda ps: torch.optim.Adagrad(ps, lr=0.05, weight_decay=0.01)),
]

TASKS = {
    # name: (layers, activation, loss lines, torch activation, torch loss)
    "classifier": ("4 16 16 3", "relu", "    output softmax\n", torch.nn.ReLU, torch.nn.functional.cross_entropy),
    "regression": ("4 16 16 1", "tanh", "    loss mse\n", torch.nn.Tanh, torch.nn.functional.mse_loss),
}


def _write_csv(path: Path, task: str) -> None:
    rng = np.random.Generator(np.random.PCG64(11))
    x = rng.normal(0.0, 1.0, (ROWS, 4))
    if task == "classifier":
        y = [str(int(v)) for v in np.digitize(x[:, 0] + 0.5 * x[:, 1] - x[:, 3], [-0.5, 0.5])]
    else:
        y = [f"{v:.6f}" for v in np.sin(x[:, 0]) + 0.3 * x[:, 2] * x[:, 1]]
    lines = ["a,b,c,d,target", *(",".join([*(f"{v:.6f}" for v in row), t]) for row, t in zip(x, y, strict=True))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _program(task: str, optimizer: str, lr: float, extra: dict[str, float]) -> str:
    layers, activation, loss, _, _ = TASKS[task]
    lines = "".join(f"    {k} {v}\n" for k, v in extra.items())
    return (
        f"model net\n    layers {layers}\n    activation {activation}\n{loss}    seed 3\n"
        f'dataset data\n    type csv\n    source "data.csv"\n    target "target"\n    shuffle false\n'
        f"    batch {BATCH}\n"
        'save net as "initial.safetensors"\n'
        f"train net on data\n    steps {STEPS}\n    optimizer {optimizer}\n    lr {lr}\n{lines}"
        "    log_every 1000\n"
        'save net as "final.safetensors"\n'
    )


def _torch_train(task: str, init: dict[str, object], x: np.ndarray, y: np.ndarray, make: Make,
                 clip: float | None) -> dict[str, np.ndarray]:
    _, _, _, act, loss_fn = TASKS[task]
    names = sorted({n.rsplit(".", 1)[0] for n in init}, key=lambda n: int(n.split(".")[0]))
    linears = []
    for name in names:
        w = init[f"{name}.weight"]
        lin = torch.nn.Linear(w.shape[0], w.shape[1])  # type: ignore[attr-defined]
        with torch.no_grad():
            lin.weight.copy_(w.T)  # type: ignore[attr-defined]
            lin.bias.copy_(init[f"{name}.bias"])
        linears.append(lin)
    layers: list[object] = []
    for i, lin in enumerate(linears):
        layers.append(lin)
        if i < len(linears) - 1:
            layers.append(act())
    model = torch.nn.Sequential(*layers)
    opt = make(list(model.parameters()))
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(y.astype(np.int64) if task == "classifier" else y.astype(np.float32).reshape(-1, 1))
    starts = list(range(0, len(x), BATCH))
    for step in range(STEPS):
        s = starts[step % len(starts)]
        opt.zero_grad()  # type: ignore[attr-defined]
        loss = loss_fn(model(xt[s : s + BATCH]), yt[s : s + BATCH])
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()  # type: ignore[attr-defined]
    out = {}
    for name, lin in zip(names, linears, strict=True):
        out[f"{name}.weight"] = lin.weight.detach().numpy().T.copy()
        out[f"{name}.bias"] = lin.bias.detach().numpy().copy()
    return out


CASES = [(task, *opt) for task in TASKS for opt in OPTIMIZERS]


@pytest.mark.parametrize(
    ("task", "optimizer", "extra", "lr", "make"), CASES,
    ids=[f"{c[0]}-{c[1]}-{'-'.join(c[2]) or 'plain'}" for c in CASES],
)
def test_weights_after_20_steps_match_torch(
    tmp_path: Path, task: str, optimizer: str, extra: dict[str, float], lr: float, make: Make
) -> None:
    _write_csv(tmp_path / "data.csv", task)
    out: list[str] = []
    session = Session(stdout=out.append, base_dir=tmp_path)
    result = session.run(_program(task, optimizer, lr, extra), "oracle.vt")
    assert result.ok, [d.message for d in result.diagnostics]
    assert session.train_reports[-1].steps == STEPS
    data = session.globals["data"].loaded  # type: ignore[union-attr]
    assert data.val is None and len(data.train) == ROWS
    init = st_torch.load_file(str(tmp_path / "initial.safetensors"))
    final = st_torch.load_file(str(tmp_path / "final.safetensors"))
    expected = _torch_train(task, init, data.train.x, data.train.y, make, extra.get("clip_grad"))
    assert sorted(expected) == sorted(final)
    for name, want in expected.items():
        got = final[name].numpy()
        assert not np.array_equal(got, init[name].numpy()) or name.endswith("bias")
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=name)
