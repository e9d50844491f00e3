"""Determinism across processes, run records and `volta verify` (SPEC §4).

The same script, run twice in separate processes with different
``PYTHONHASHSEED``, must give bit-identical checkpoints, weights and per-epoch
losses; ``volta run --record`` then ``volta verify`` must pass, and an edited
record must be reported at the first divergence (statement, epoch, field and
both values) with exit status 1. The program shuffles every epoch, uses a
validation split, two optimizers and an active ``dropout`` layer.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

PROGRAM = """\
model net
    input 2
    layer dense 32 relu
    layer dropout 0.2
    layer dense 16 tanh
    layer dense 3
    layer softmax
    seed 4
dataset points
    type spiral
    samples 240
    classes 3
    split 0.8
    shuffle true
    batch 16
    seed 2
train net on points
    epochs 4
    optimizer adam
    lr 0.01
    log_every 1
train net on points
    epochs 2
    optimizer momentum
    lr 0.01
    clip_grad 1.0
    log_every 1
save net as "net.safetensors" with optimizer
"""


def _volta(*args: str, cwd: Path, hashseed: str = "0") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONHASHSEED=hashseed)
    return subprocess.run([sys.executable, "-m", "volta_core", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120, check=False)


def _run(tmp_path: Path, name: str, hashseed: str) -> tuple[bytes, dict[str, object], str]:
    work = tmp_path / name
    work.mkdir()
    (work / "prog.vt").write_text(PROGRAM, encoding="utf-8")
    proc = _volta("run", "prog.vt", "--quiet", "--record", "run.json", cwd=work, hashseed=hashseed)
    assert proc.returncode == 0, proc.stderr
    return (work / "net.safetensors").read_bytes(), json.loads((work / "run.json").read_text()), proc.stdout


def test_separate_processes_are_bit_identical(tmp_path: Path) -> None:
    ckpt_a, rec_a, out_a = _run(tmp_path, "a", "1")
    ckpt_b, rec_b, out_b = _run(tmp_path, "b", "2")
    assert hashlib.sha256(ckpt_a).hexdigest() == hashlib.sha256(ckpt_b).hexdigest()
    assert out_a == out_b
    trains_a, trains_b = rec_a["trains"], rec_b["trains"]
    assert isinstance(trains_a, list) and isinstance(trains_b, list) and len(trains_a) == 2
    for ta, tb in zip(trains_a, trains_b, strict=True):
        assert ta["weights_sha256"] == tb["weights_sha256"]
        # losses are stored in shortest round-trip form: equal text means equal bits
        assert [e["loss"] for e in ta["epochs"]] == [e["loss"] for e in tb["epochs"]]
        assert [e["val_loss"] for e in ta["epochs"]] == [e["val_loss"] for e in tb["epochs"]]
    assert len(trains_a[0]["epochs"]) == 4 and len(trains_a[1]["epochs"]) == 2


def test_verify_passes_then_names_an_edited_epoch_loss(tmp_path: Path) -> None:
    _run(tmp_path, "a", "1")
    work = tmp_path / "a"
    proc = _volta("verify", "run.json", cwd=work, hashseed="3")
    assert (proc.returncode, proc.stdout) == (0, "bit-identical: 2 train statements, 6 epochs\n"), proc.stderr
    data = json.loads((work / "run.json").read_text())
    recorded = data["trains"][1]["epochs"][0]["loss"]
    edited = recorded + 0.25
    data["trains"][1]["epochs"][0]["loss"] = edited
    (work / "run.json").write_text(json.dumps(data))
    proc = _volta("verify", "run.json", cwd=work, hashseed="4")
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[0] == (
        f"diverged: train statement 2 (`train net on points`), epoch 5: loss differs: "
        f"recorded {edited!r}, now {recorded!r}"
    )


CNN_PROGRAM = """\
dataset pictures
    type npz
    source "pictures.npz"
    augment flip
    augment crop 1
    split 0.75
    batch 8
    seed 6
model cnn
    input image 2 8 8
    layer conv 6 3 pad same
    layer batchnorm
    layer relu
    residual project
        layer conv 8 3 stride 2 pad 1
        layer batchnorm
        layer dropout 0.1
    layer maxpool 2
    layer flatten
    layer dense 3
    loss cross_entropy
    seed 3
train cnn on pictures
    epochs 3
    optimizer adam
    lr 0.01
    log_every 1
save cnn as "cnn.safetensors"
"""


def test_a_cnn_with_augmentation_is_bit_identical_across_processes_and_verifies(tmp_path: Path) -> None:
    """Issue 18, acceptance 3: augmentation, batchnorm statistics and dropout inside a block replay."""
    import numpy as np

    rng = np.random.Generator(np.random.PCG64(9))
    outs = []
    for name, hashseed in (("a", "1"), ("b", "2")):
        work = tmp_path / name
        work.mkdir()
        np.savez(work / "pictures.npz", x=rng.random((40, 2, 8, 8)).astype(np.float32) if name == "a"
                 else np.load(tmp_path / "a" / "pictures.npz")["x"], y=np.arange(40) % 3)  # fmt: skip
        (work / "prog.vt").write_text(CNN_PROGRAM, encoding="utf-8")
        proc = _volta("run", "prog.vt", "--quiet", "--record", "run.json", cwd=work, hashseed=hashseed)
        assert proc.returncode == 0, proc.stderr
        outs.append(((work / "cnn.safetensors").read_bytes(), json.loads((work / "run.json").read_text())))
    (ckpt_a, rec_a), (ckpt_b, rec_b) = outs
    assert ckpt_a == ckpt_b
    assert rec_a["trains"][0]["weights_sha256"] == rec_b["trains"][0]["weights_sha256"]
    assert "running_var" in ckpt_a.decode("latin-1")  # the running statistics are in the checkpoint
    proc = _volta("verify", "run.json", cwd=tmp_path / "a", hashseed="5")
    assert (proc.returncode, proc.stdout) == (0, "bit-identical: 1 train statement, 3 epochs\n"), proc.stderr
