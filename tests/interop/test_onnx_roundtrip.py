"""Export (IR → ONNX → onnxruntime) and foreign models (torch.onnx.export → Volta)."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

from volta_core.backends.cpu.executor import CpuExecutor
from volta_core.interop import OnnxExportError, export_graph, graph_to_onnx, import_model
from volta_core.ir import Graph, compile_plan

from .helpers import onnx, run_ort

ATOL = 1e-5


def _run_ir(graph: Graph, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    return CpuExecutor(compile_plan(graph)).run(feeds)


def _mlp() -> tuple[Graph, dict[str, np.ndarray]]:
    rng = np.random.default_rng(1)
    g = Graph()
    x = g.input("x", (4, 8))
    w1, b1 = g.parameter("w1", (8, 16)), g.parameter("b1", (16,))
    w2, b2 = g.parameter("w2", (3, 16)), g.parameter("b2", (3,))
    h = g.op("relu", g.op("add", g.op("matmul", x, w1), b1))
    h = g.op("gelu", h)
    h = g.op("tanh", g.op("mul", h, g.constant(0.5)))
    logits = g.op("gemm", h, w2, b2, transB=True)
    g.set_outputs([g.op("softmax", logits, axis=-1)])
    params = {
        "w1": rng.standard_normal((8, 16)).astype(np.float32),
        "b1": rng.standard_normal(16).astype(np.float32),
        "w2": rng.standard_normal((3, 16)).astype(np.float32),
        "b2": rng.standard_normal(3).astype(np.float32),
    }
    return g, params


def _encoder_block() -> tuple[Graph, dict[str, np.ndarray]]:
    """Transformer-ish ops: embedding, layernorm, slice, concat, transposes, reductions, silu."""
    rng = np.random.default_rng(2)
    g = Graph()
    ids = g.input("ids", (2, 5), "i64")
    table, scale, shift = g.parameter("emb", (11, 6)), g.parameter("ln_s", (6,)), g.parameter("ln_b", (6,))
    wq = g.parameter("wq", (6, 6))
    e = g.op("embedding", table, ids)
    h = g.op("layernorm", e, scale, shift, eps=1e-5)
    q = g.op("matmul", h, wq)
    att = g.op("softmax", g.op("div", g.op("matmul", q, g.op("transpose", h, perm=(0, 2, 1))),
                               g.constant(np.sqrt(6.0))), axis=-1)  # fmt: skip
    ctx = g.op("matmul", att, h)
    head = g.op("slice", ctx, starts=(0,), ends=(3,), axes=(2,))
    tail = g.op("slice", ctx, starts=(-1,), ends=(-(2**62),), axes=(2,), steps=(-1,))
    mixed = g.op("concat", g.op("silu", head), g.op("leaky_relu", tail, alpha=0.1), axis=2)
    pooled = g.op("reduce_mean", mixed, axes=(1,), keepdims=True)
    out = g.op("squeeze", pooled, axes=(1,))
    picked = g.op("gather", out, g.constant([0, 5, 1], "i64"), axis=1)
    g.set_outputs([g.op("log_softmax", picked, axis=-1), g.op("unsqueeze", g.op("reduce_max", out, axes=(1,)), axes=(0,))])
    params = {
        "emb": rng.standard_normal((11, 6)).astype(np.float32),
        "ln_s": rng.standard_normal(6).astype(np.float32),
        "ln_b": rng.standard_normal(6).astype(np.float32),
        "wq": rng.standard_normal((6, 6)).astype(np.float32),
    }
    return g, params


@pytest.mark.parametrize("build", [_mlp, _encoder_block], ids=["mlp", "encoder-block"])
def test_export_runs_in_onnxruntime_with_volta_outputs(build, tmp_path) -> None:
    graph, params = build()
    feeds = (
        {"x": np.random.default_rng(3).standard_normal((4, 8)).astype(np.float32)}
        if "x" in [graph.name_of(i) for i in graph.inputs]
        else {"ids": np.array([[1, 2, 3, 10, 0], [4, 4, 5, 6, 7]], np.int64)}
    )
    path = tmp_path / "out.onnx"
    model = export_graph(graph, params, path)
    assert path.is_file() and not list(tmp_path.glob(".*tmp"))
    assert model.opset_import[0].version == 17
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    ours = _run_ir(graph, {**feeds, **params})
    theirs = run_ort(model, feeds)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=ATOL)
    # ...and the exported file imports back with the same parameters (trainable) and outputs.
    back = import_model(path)
    assert sorted(back.params) == sorted(params)
    for a, b in zip(ours, [back.run(feeds)[n] for n in back.output_names], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=ATOL)


def _image_ops() -> tuple[Graph, dict[str, np.ndarray]]:
    """Every image op the exporter writes: convs, pools (ceil mode, padding), batchnorm, pad, resize."""
    rng = np.random.default_rng(4)
    g = Graph()
    x = g.input("x", (2, 3, 9, 8))
    shapes = {"w": (4, 3, 3, 3), "b": (4,), "wt": (4, 2, 2, 2), "s": (2,), "t": (2,), "m": (2,), "v": (2,)}
    p = {k: g.parameter(k, v) for k, v in shapes.items()}
    h = g.op("conv2d", x, p["w"], p["b"], strides=(2, 1), pads=(1, 0, 1, 2), dilations=(1, 2))
    h = g.op("conv_transpose2d", h, p["wt"], strides=(2, 2), pads=(0, 1, 1, 0), output_padding=(1, 0))
    h = g.op("batchnorm", h, p["s"], p["t"], p["m"], p["v"], eps=1e-3)
    h = g.op("pad", g.op("relu", h), pads=(0, 0, 1, 2, 0, 0, 2, 1), mode="reflect")
    a = g.op("max_pool2d", h, kernel=(3, 2), strides=(2, 2), pads=(1, 0, 0, 1), ceil_mode=True)
    b = g.op("avg_pool2d", h, kernel=(3, 2), strides=(2, 2), pads=(1, 0, 0, 1), ceil_mode=True,
             count_include_pad=False)
    c = g.op("avg_pool2d", h, kernel=(3, 2), strides=(2, 2), pads=(1, 0, 0, 1), count_include_pad=True)
    up = g.op("resize2d", g.op("add", a, b), size=(12, 8), mode="linear", coordinates="half_pixel",
              scales=(1.75, 1.25))
    near = g.op("resize2d", up, size=(7, 5), mode="nearest", coordinates="asymmetric", nearest_mode="floor")
    g.set_outputs([g.op("reduce_mean", near, axes=(2, 3), keepdims=False), up, c])
    params = {k: rng.standard_normal(v).astype(np.float32) for k, v in shapes.items()}
    params["v"] = np.abs(params["v"]) + 0.5
    return g, params


def test_image_ops_export_to_onnxruntime_and_back(tmp_path) -> None:
    graph, params = _image_ops()
    feeds = {"x": np.random.default_rng(5).standard_normal((2, 3, 9, 8)).astype(np.float32)}
    model = export_graph(graph, params, tmp_path / "img.onnx")
    ours = _run_ir(graph, {**feeds, **params})
    for a, b in zip(ours, run_ort(model, feeds), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    back = import_model(tmp_path / "img.onnx")
    for a, b in zip(ours, [back.run(feeds)[n] for n in back.output_names], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_export_rejects_training_only_ops_by_name() -> None:
    g = Graph()
    a, b = g.input("a", (2, 3)), g.input("b", (2, 3))
    g.set_outputs([g.op("mse", a, b)])
    with pytest.raises(OnnxExportError, match=r"\(mse\) has no ONNX equivalent"):
        graph_to_onnx(g, {})


def test_export_rejects_missing_or_misshaped_parameter() -> None:
    graph, params = _mlp()
    with pytest.raises(OnnxExportError, match="no value for parameter 'w1'"):
        graph_to_onnx(graph, {k: v for k, v in params.items() if k != "w1"})
    with pytest.raises(OnnxExportError, match=r"parameter 'b1': graph says \[16\], value is \[3\]"):
        graph_to_onnx(graph, {**params, "b1": np.zeros(3, np.float32)})


def test_export_failure_leaves_previous_file_intact(tmp_path) -> None:
    graph, _params = _mlp()
    path = tmp_path / "m.onnx"
    path.write_bytes(b"previous")
    with pytest.raises(OnnxExportError):
        export_graph(graph, {}, path)
    assert path.read_bytes() == b"previous"


# ---------------------------------------------------------------------------
# torch.onnx.export'ed models (torch is a test-only oracle)
# ---------------------------------------------------------------------------
def _torch_export(module, example, dynamic: bool) -> bytes:
    torch = pytest.importorskip("torch")
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module, (example,), buf, input_names=["x"], output_names=["y"], opset_version=17, dynamo=False,
            dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}} if dynamic else None,
        )  # fmt: skip
    return buf.getvalue()


def test_torch_mlp_imports_and_matches_torch(tmp_path) -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(
        torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16), torch.nn.GELU(),
        torch.nn.LayerNorm(16), torch.nn.Dropout(0.1), torch.nn.Linear(16, 4), torch.nn.Softmax(dim=-1),
    ).eval()  # fmt: skip
    x = torch.randn(5, 8)
    path = tmp_path / "mlp.onnx"
    path.write_bytes(_torch_export(mlp, x, dynamic=True))
    model = import_model(path, batch=5)
    # Linear weights and biases are trainable parameters; LayerNorm's affine too.
    assert len(model.params) == 8
    got = model.run({"x": x.numpy()})["y"]
    with torch.no_grad():
        want = mlp(x).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=ATOL)


def test_torch_reshape_by_runtime_shape_is_folded(tmp_path) -> None:
    torch = pytest.importorskip("torch")

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = torch.nn.Linear(12, 3)

        def forward(self, x):
            b = x.shape[0]
            h = x.reshape(b, -1)  # Shape → Gather → Unsqueeze → Concat → Reshape
            return torch.clamp(self.fc(h), min=-0.2, max=0.3) + h[:, 1:4].pow(2).sum(dim=1, keepdim=True)

    torch.manual_seed(0)
    net = Net().eval()
    x = torch.randn(2, 3, 4)
    path = tmp_path / "net.onnx"
    path.write_bytes(_torch_export(net, x, dynamic=True))
    got = import_model(path, batch=2).run({"x": x.numpy()})["y"]
    with torch.no_grad():
        np.testing.assert_allclose(got, net(x).numpy(), rtol=1e-5, atol=ATOL)


def test_torch_transformer_encoder_block_imports_and_matches_torch(tmp_path) -> None:
    torch = pytest.importorskip("torch")

    from .torch_models import Encoder

    torch.manual_seed(0)
    net = Encoder().eval()
    ids = torch.randint(0, 20, (3, 5))
    path = tmp_path / "enc.onnx"
    path.write_bytes(_torch_export(net, ids, dynamic=True))
    model = import_model(path, batch=3)
    assert "emb.weight" in model.params and "pos" in model.params
    got = model.run({"x": ids.numpy()})["y"]
    with torch.no_grad():
        np.testing.assert_allclose(got, net(ids).numpy(), rtol=1e-5, atol=ATOL)


def test_imported_initializers_are_trainable_gradients_match_torch(tmp_path) -> None:
    torch = pytest.importorskip("torch")
    from volta_core.ir import training_graph

    torch.manual_seed(1)
    mlp = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.LayerNorm(8), torch.nn.Linear(8, 3))
    x = torch.randn(4, 6)
    path = tmp_path / "mlp.onnx"
    path.write_bytes(_torch_export(mlp.eval(), x, dynamic=False))
    model = import_model(path)
    g = model.graph
    weights = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    loss = g.op("reduce_sum", g.op("mul", g.outputs[0], g.constant(weights)), axes=(0, 1))
    joined, grads = training_graph(g, loss, list(g.params))
    values = CpuExecutor(compile_plan(joined)).run({"x": x.numpy(), **model.params})
    ours = dict(zip([g.name_of(p) for p in g.params], values[-len(grads):], strict=True))
    (mlp(x) * torch.from_numpy(weights)).sum().backward()
    for name, p in mlp.named_parameters():
        np.testing.assert_allclose(ours[name], p.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)
