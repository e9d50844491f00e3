"""`layer dropout P` in training: active, seeded per step, bit-deterministic,
and the identity at inference and in `evaluate`."""

from __future__ import annotations

import numpy as np

from volta_core.lang import Session
from volta_core.nn.network import dropout_key

MODEL = """\
model net
    input 2
    layer dense 32 relu
    layer dropout {p}
    layer dense 3
    layer softmax
    seed 4
dataset points
    type blobs
    samples 200
    classes 3
    split 0.75
    batch 16
    seed 1
"""
TRAIN = "train net on points\n    epochs 3\n    lr 0.01\n    log_every 100\n"


def _session(p: str, train: bool = True) -> tuple[Session, list[str]]:
    out: list[str] = []
    session = Session(stdout=out.append)
    assert session.run(MODEL.format(p=p) + (TRAIN if train else ""), "t.vt").ok
    return session, out


def test_training_with_dropout_is_bit_deterministic_and_active() -> None:
    a, out_a = _session("0.5")
    b, out_b = _session("0.5")
    none, _ = _session("0.0")
    sha = [s.train_reports[-1].weights_sha256 for s in (a, b, none)]
    assert sha[0] == sha[1] and sha[0] != sha[2]  # deterministic, and the masks do change training
    assert out_a == out_b


def test_mask_varies_per_step_and_with_the_seed() -> None:
    session, _ = _session("0.5", train=False)
    net = session.globals["net"].net  # type: ignore[union-attr]
    data = session.globals["points"].load()  # type: ignore[union-attr]
    x, y = data.train.x[:16], data.train.y[:16]
    loss = {(step, seed): net.train_step(x, y, step, seed)[0] for step in (1, 2) for seed in (0, 9)}
    assert net.train_step(x, y, 1, 0)[0] == loss[1, 0]  # a pure function of (seed, step)
    assert len(set(loss.values())) == 4
    assert dropout_key(0, 1) != dropout_key(1, 1) and 0 <= dropout_key(2**70, 2**70) < 2**63
    # evaluation mode ignores the key: no dropout
    plain = net.train_step(x, y, 1, 0, train_mode=False)[0]
    assert net.train_step(x, y, 2, 9, train_mode=False)[0] == plain == net.loss_on(x, y)[0]


def test_evaluate_and_infer_are_unaffected_by_dropout() -> None:
    trained, _ = _session("0.5")
    twin, _ = _session("0.0", train=False)  # the same stack and parameter names, p = 0
    src = trained.globals["net"].net.params  # type: ignore[union-attr]
    for name, value in twin.globals["net"].net.params.items():  # type: ignore[union-attr]
        np.copyto(value, src[name])
    tail = "evaluate net on points\nprint net.val_loss, net.val_accuracy\ninfer net\n    input 0.5 -1.0\n"
    outs = []
    for session in (trained, twin, trained):
        out: list[str] = []
        session.stdout = out.append
        assert session.run(tail, "e.vt").ok
        outs.append("".join(out))
    assert outs[0] == outs[1] == outs[2]
    assert "validation split" in outs[0]


def test_layers_shorthand_dropout_and_layernorm_train_as_the_explicit_stack() -> None:
    """`dropout P` and `layernorm yes` in the shorthand are the explicit stack they expand to:
    same parameter names, bit-identical training (SPEC §2.1a)."""
    data = MODEL.split("dataset", 1)[1]
    shorthand = "model net\n    layers 2 16 8 3\n    dropout 0.3\n    layernorm yes\n    output softmax\n    seed 4\n"
    explicit = ("model net\n    input 2\n    layer dense 16 relu\n    layer layernorm\n    layer dropout 0.3\n"
                "    layer dense 8 relu\n    layer layernorm\n    layer dropout 0.3\n    layer dense 3\n"
                "    layer softmax\n    seed 4\n")
    weights = []
    for model in (shorthand, explicit):
        session = Session(stdout=lambda s: None)
        result = session.run(model + "dataset" + data + TRAIN, "t.vt")
        assert result.ok, [d.message for d in result.diagnostics]
        weights.append(session.globals["net"].net.params)  # type: ignore[union-attr]
    assert sorted(weights[0]) == sorted(weights[1])
    assert "3.dense.weight" not in weights[0] and "2.layernorm.scale" in weights[0]
    assert all(weights[0][k].tobytes() == weights[1][k].tobytes() for k in weights[0])
