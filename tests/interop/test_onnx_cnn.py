"""Real CNNs through ONNX (issue 20, acceptance 1): torch exports (legacy with constant folding
off, and dynamo) of a small CNN, a ResNet-18-shaped model and a U-Net-like model import, infer
as onnxruntime does within 1e-4, and fine-tune (the loss falls, batchnorm running statistics
update as PyTorch's); a Volta CNN exports, runs in onnxruntime and re-imports with the same
parameters."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from volta_core.nn.imported import load_imported, param_fingerprint

from .helpers import onnx, run_ort

torch = pytest.importorskip("torch")

from benchmarks.torch_cnns import SmallCnn, UNetish, randomise_batchnorm, resnet18  # noqa: E402 - needs torch

TOL = 1e-4


def export(module, example, path: Path, dynamo: bool) -> Path:
    if dynamo:
        pytest.importorskip("onnxscript", reason="torch.onnx.export(dynamo=True) needs the onnxscript package")
    kwargs = {"input_names": ["x"], "output_names": ["y"], "dynamo": dynamo}
    if not dynamo:
        kwargs.update(opset_version=17, do_constant_folding=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (example,), str(path), **kwargs)
    return path


MODELS = {
    "small-cnn": (lambda: randomise_batchnorm(SmallCnn()), (2, 3, 16, 16), "cross_entropy"),
    "unet": (lambda: randomise_batchnorm(UNetish()), (2, 3, 16, 16), "mse"),
    "resnet18": (lambda: resnet18(), (1, 3, 64, 64), "cross_entropy"),
}


def _model(name: str):
    torch.manual_seed(0)
    build, shape, loss = MODELS[name]
    return build(), torch.randn(*shape), loss


@pytest.mark.parametrize("dynamo", [False, True], ids=["legacy", "dynamo"])
@pytest.mark.parametrize("name", list(MODELS))
def test_torch_cnn_imports_and_infers_as_onnxruntime(name: str, dynamo: bool, tmp_path) -> None:
    module, x, _ = _model(name)
    path = export(module, x, tmp_path / f"{name}.onnx", dynamo)
    net = load_imported(path, "m", None, loss="mse")  # mse: the raw outputs, no softmax
    ours = net.predict(x.numpy())
    theirs = run_ort(onnx.load(str(path)), {"x": x.numpy()})[0]
    np.testing.assert_allclose(ours, theirs, rtol=TOL, atol=TOL)
    with torch.no_grad():
        np.testing.assert_allclose(ours, module(x).numpy(), rtol=TOL, atol=TOL)


def _sgd(net, x: np.ndarray, y: np.ndarray, steps: int, lr: float) -> list[float]:
    losses = []
    for step in range(steps):
        loss, _, grads = net.train_step(x, y, step)
        losses.append(loss)
        for k, g in grads.items():
            net.params[k] -= lr * g
        net.apply_batch_stats(net.batch_stats, len(x))
    return losses


@pytest.mark.parametrize(("name", "dynamo"), [("small-cnn", False), ("small-cnn", True), ("unet", False),
                                             ("unet", True), ("resnet18", False)],
                         ids=["small-cnn-legacy", "small-cnn-dynamo", "unet-legacy", "unet-dynamo", "resnet18-legacy"])
def test_fine_tuning_an_imported_cnn_lowers_its_loss(name: str, dynamo: bool, tmp_path) -> None:
    module, x, loss = _model(name)
    path = export(module, x, tmp_path / f"{name}.onnx", dynamo=dynamo)
    net = load_imported(path, "m", None, loss=loss)
    # legacy exports keep BatchNormalization (running statistics: buffers, never trained);
    # dynamo folds it into the convolutions
    assert bool(net.buffers) != dynamo and not set(net.buffers) & set(net.params)
    rng = np.random.default_rng(1)
    xs = x.numpy()
    out_shape = (len(xs), *net.output_shape_)
    y = rng.integers(0, out_shape[1], len(xs)) if loss == "cross_entropy" else rng.standard_normal(out_shape)
    running = {k: v.copy() for k, v in net.buffers.items()}
    before = net.loss_on(xs, y)[0]
    _sgd(net, xs, y, 4 if name != "resnet18" else 2, 0.05 if name != "resnet18" else 0.01)
    after = net.loss_on(xs, y)[0]
    assert after < before, (before, after)
    assert all(not np.array_equal(running[k], v) for k, v in net.buffers.items())


def test_imported_batchnorm_trains_with_batch_statistics_as_pytorch(tmp_path) -> None:
    module, x, _ = _model("small-cnn")
    path = export(module, x, tmp_path / "cnn.onnx", dynamo=False)
    net = load_imported(path, "m", None, loss="cross_entropy")
    y = np.array([1, 3])
    loss, logits, _ = net.train_step(x.numpy(), y)
    net.apply_batch_stats(net.batch_stats, len(x))
    module.train()
    out = module(x)
    np.testing.assert_allclose(logits, out.detach().numpy(), rtol=TOL, atol=TOL)
    np.testing.assert_allclose(loss, torch.nn.functional.cross_entropy(out, torch.tensor(y)).item(), rtol=1e-5)
    state = module.state_dict()
    assert any(k.endswith("running_var") for k in net.buffers)
    for name, value in net.buffers.items():
        np.testing.assert_allclose(value, state[name].numpy(), rtol=1e-5, atol=1e-6, err_msg=name)


def test_fixed_batch_batchnorm_rejects_a_partial_chunk(tmp_path) -> None:
    from volta_core.nn.imported import ImportFitError

    module, x, _ = _model("small-cnn")
    net = load_imported(export(module, x, tmp_path / "cnn.onnx", dynamo=False), "m", None, loss="cross_entropy")
    with pytest.raises(ImportFitError, match="whole batches of 2 rows"):
        net.train_step(np.zeros((3, 3, 16, 16), np.float32), np.zeros(3))


VOLTA_CNN = """model v
    input image 3 12 12
    layer conv 8 3 pad same bias false
    layer batchnorm
    layer relu
    layer maxpool 2
    residual
        layer conv 8 3 pad same bias false
        layer batchnorm
        layer relu
    residual project
        layer conv 12 3 stride 2 pad 1 bias false
        layer batchnorm eps 0.001
    layer avgpool 2 stride 1 pad 1
    layer global_avg_pool
    layer dense 3
    loss cross_entropy
    seed 3
dataset d
    type blobs
"""


def test_volta_cnn_exports_runs_in_onnxruntime_and_reimports(tmp_path) -> None:
    from volta_core.lang.session import Session

    session = Session(stdout=lambda _: None, base_dir=tmp_path, device="cpu")
    result = session.run(VOLTA_CNN)
    assert result.ok, [d.message for d in result.diagnostics]
    net = session.globals["v"].net
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3, 12, 12)).astype(np.float32)
    for step in range(3):  # batch statistics move the running statistics off their initial values
        net.train_step(x, np.array([0, 1, 2, 1]), step)
        net.apply_batch_stats(net.batch_stats, len(x))
    result = session.run('export v as "v.onnx"\nimport "v.onnx" as back\n')
    assert result.ok, [d.message for d in result.diagnostics]
    model = onnx.load(str(tmp_path / "v.onnx"))
    assert {"Conv", "BatchNormalization", "MaxPool", "AveragePool"} <= {n.op_type for n in model.graph.node}
    ours = net.predict(x)
    np.testing.assert_allclose(run_ort(model, {"x": x})[0], ours, rtol=TOL, atol=TOL)
    back = session.globals["back"].net
    np.testing.assert_allclose(back.predict(x), ours, rtol=1e-5, atol=1e-6)
    assert param_fingerprint(back.params) == param_fingerprint(net.params)
    assert param_fingerprint(back.buffers) == param_fingerprint(net.buffers)


def test_train_statement_fine_tunes_an_imported_cnn_and_rejects_partial_chunks(tmp_path) -> None:
    from volta_core.lang.session import Session

    module, x, _ = _model("small-cnn")
    export(module, x, tmp_path / "cnn.onnx", dynamo=False)  # fixed batch 2
    rng = np.random.default_rng(3)
    np.savez(tmp_path / "data.npz", x=rng.standard_normal((8, 3, 16, 16)).astype(np.float32), y=rng.integers(0, 4, 8))
    session = Session(stdout=lambda _: None, base_dir=tmp_path, device="cpu")
    data = 'dataset d\n    type npz\n    source "data.npz"\n    shuffle false\n    batch {}\n'
    result = session.run('import "cnn.onnx" as m with loss cross_entropy\n' + data.format(4) + "evaluate m on d\n")
    assert result.ok, [d.message for d in result.diagnostics]
    before = session.globals["m"].metrics["loss"]
    result = session.run("train m on d\n    epochs 3\n    lr 0.05\n    optimizer sgd\nevaluate m on d\n"
                         'save m as "m.safetensors"\n')
    assert result.ok, [d.message for d in result.diagnostics]
    after = session.globals["m"].metrics["loss"]
    assert after < before
    net = session.globals["m"].net
    saved = {k: v.copy() for k, v in net.weights().items()}
    for value in net.weights().values():
        value[...] = 0
    result = session.run('load m from "m.safetensors"\nevaluate m on d\n')  # buffers come back too
    assert result.ok, [d.message for d in result.diagnostics]
    assert all(np.array_equal(v, saved[k]) for k, v in net.weights().items())
    assert session.globals["m"].metrics["loss"] == pytest.approx(after)
    result = session.run(data.format(3) + "train m on d\n    epochs 1\n")
    assert not result.ok
    assert [d.code for d in result.diagnostics] == ["E0812"]
    assert "whole batches of 2 rows" in result.diagnostics[0].message


def test_imported_inference_reads_the_weights_in_place(tmp_path) -> None:
    """`infer` of an imported model binds its weights: no copy of them per run (ResNet-18
    infer b8 copied 45 MB each time), an in-place update is seen, a replaced array rebound."""
    module, x, _ = _model("small-cnn")
    net = load_imported(export(module, x, tmp_path / "cnn.onnx", dynamo=False), "m", None, loss="mse")
    xs = x.numpy()
    first = net.predict(xs)
    ex, _ = net.executor(len(xs), training=False)
    name = max(net.params, key=lambda k: net.params[k].size)
    assert any(arr is net.params[name] for _, arr in ex._bound)
    net.params[name] *= 2  # in place: the same executor sees it
    doubled = net.predict(xs)
    assert net.executor(len(xs), training=False)[0] is ex
    assert not np.allclose(doubled, first)
    net.params[name] = net.params[name] / 2  # a new array: bound afresh
    np.testing.assert_allclose(net.predict(xs), first, rtol=1e-6, atol=1e-6)
    assert net.executor(len(xs), training=False)[0] is not ex
