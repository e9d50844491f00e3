"""Quality against PyTorch (issue 18): `examples/shapes-cnn/shapes.vt` trained by Volta
reaches the validation accuracy of the same model trained by PyTorch from the same
initial weights on the very same batches (shuffled and augmented by Volta's dataset).

Measured when written: Volta 0.9833 (loss 0.0782), PyTorch 0.9833 (loss 0.0818).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from volta_core.lang import Session

torch = pytest.importorskip("torch")
st_torch = pytest.importorskip("safetensors.torch")

from benchmarks.cnn_train import _torch_net  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shapes-cnn"


def test_shapes_cnn_is_as_accurate_as_the_same_model_in_pytorch(tmp_path: Path) -> None:
    F = torch.nn.functional
    init = tmp_path / "init.safetensors"
    program = (EXAMPLE / "shapes.vt").read_text(encoding="utf-8")
    assert "train shapes_cnn on shapes\n    epochs 10\n    optimizer adam\n    lr 0.005\n" in program
    program = program.replace("train shapes_cnn on shapes", f'save shapes_cnn as "{init}"\ntrain shapes_cnn on shapes')
    out: list[str] = []
    session = Session(stdout=out.append, base_dir=EXAMPLE)
    result = session.run(program, "shapes.vt")
    assert result.ok, [d.message for d in result.diagnostics]
    line = next(t for t in out if t.startswith("evaluate shapes_cnn"))
    volta_accuracy = float(line.split("accuracy ")[1].split()[0])

    model, data = session.globals["shapes_cnn"], session.globals["shapes"].loaded  # type: ignore[attr-defined]
    weights = {k: v.numpy() for k, v in st_torch.load_file(str(init)).items()}
    forward = _torch_net(torch, model.net.info, weights)
    opt = torch.optim.Adam(forward.parameters, lr=0.005)
    for epoch in range(10):
        for x, y in data.batches(epoch, 32, None):
            loss = F.cross_entropy(forward(torch.from_numpy(np.ascontiguousarray(x))),
                                   torch.from_numpy(np.asarray(y, np.int64)))  # fmt: skip
            opt.zero_grad()
            loss.backward()
            opt.step()
    train_bn = F.batch_norm
    try:  # evaluate as model.eval() does: running statistics
        F.batch_norm = lambda h, mean, var, w, b, training=True, momentum=0.1, eps=1e-5: train_bn(
            h, mean, var, w, b, False, momentum, eps)
        with torch.no_grad():
            logits = forward(torch.from_numpy(data.val.x))
    finally:
        F.batch_norm = train_bn
    torch_accuracy = float((logits.argmax(1).numpy() == np.asarray(data.val.y)).mean())
    assert torch_accuracy > 0.9  # the replica really trained
    assert volta_accuracy >= round(torch_accuracy, 4), (volta_accuracy, torch_accuracy)  # Volta prints 4 decimals
