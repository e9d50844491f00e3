"""The CUDA backend on a real GPU: every op against the CPU backend, training runs
against CPU training, and bitwise determinism (skipped without a GPU).

Tolerances: 1e-5 relative (1e-6 absolute) for values and gradients; ops whose
math is the same IEEE operations on both backends (add, mul, relu, copies,
gathers, ...) must match exactly. Training: 50 steps, weights within 1e-4.
"""

from __future__ import annotations

import numpy as np
import pytest
from ir.test_ops import GPU_CASES as CASES
from ir.test_ops import _build, _feeds, _forward_ops, _values

from volta_core.ir import compile_plan, training_graph

pytestmark = pytest.mark.gpu

# ops computed by the same correctly rounded IEEE operations in the same order on both backends
EXACT = {"add", "sub", "mul", "div", "neg", "abs", "sign", "relu", "leaky_relu", "sqrt", "transpose", "reshape",
         "broadcast_to", "where", "compare", "cast", "one_hot", "concat", "slice", "slice_scatter", "gather",
         "embedding", "scatter_add", "squeeze", "unsqueeze", "dropout", "reduce_max",
         # image ops: the same IEEE operations in the same order (taps in row-major order, one division)
         "max_pool2d", "max_pool2d_select", "max_pool2d_grad", "avg_pool2d", "avg_pool2d_grad", "batchnorm", "pad",
         "resize2d", "input"}


def _both(graph, feeds, determinism="strict"):
    from volta_core.backends.cpu import CpuExecutor
    from volta_core.backends.cuda.executor import CudaExecutor

    cpu = CpuExecutor(compile_plan(graph)).run(feeds)
    gpu = CudaExecutor(compile_plan(graph, "cuda", determinism)).run(feeds)
    return cpu, gpu


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_op_forward_and_backward_match_the_cpu_backend(case):
    values = _values(case, np.float32)
    g, y, loss, floats = _build(case, values, "f32")
    if case.differentiable:
        cot = np.random.default_rng(1).standard_normal(g.node(y).shape).astype(np.float32)
        graph, _ = training_graph(g, loss, floats)
        feeds = _feeds(values, cot)
    else:
        graph, feeds = g, _feeds(values, None)
    cpu, gpu = _both(graph, feeds)
    assert len(cpu) == len(gpu)
    for k, (c, d) in enumerate(zip(cpu, gpu, strict=True)):
        assert c.shape == d.shape and c.dtype == d.dtype, f"output {k}"
        if k == 0 and _forward_ops(g, y) <= EXACT:
            np.testing.assert_array_equal(d, c, err_msg=f"{case.id}: forward must be bit-identical")
        else:
            np.testing.assert_allclose(d, c, rtol=1e-5, atol=1e-6, err_msg=f"{case.id}: output {k}")


def test_f64_ops_match():
    for case in [c for c in CASES if c.op in ("matmul", "softmax", "reduce_sum", "layernorm", "gemm", "exp")]:
        values = _values(case, np.float64)
        g, _, _, _ = _build(case, values, "f64")
        cpu, gpu = _both(g, _feeds(values, None))
        np.testing.assert_allclose(gpu[0], cpu[0], rtol=1e-12, atol=1e-12, err_msg=case.id)


def test_larger_shapes_match():
    """Sizes past one block: multi-block grids, long reductions, big GEMMs."""
    from volta_core.ir import Graph

    rng = np.random.default_rng(0)
    g = Graph()
    x = g.input("x", (300, 700))
    w = g.input("w", (700, 513))
    h = g.op("matmul", x, w)
    s = g.op("softmax", h, axis=-1)
    r = g.op("reduce_sum", h, axes=(0,))
    m = g.op("reduce_mean", h, axes=(0, 1))
    t = g.op("transpose", h, perm=(1, 0))
    g.set_outputs([h, s, r, m, t])
    feeds = {"x": rng.standard_normal((300, 700)).astype(np.float32),
             "w": rng.standard_normal((700, 513)).astype(np.float32) / 20}
    cpu, gpu = _both(g, feeds)
    for c, d in zip(cpu, gpu, strict=True):
        np.testing.assert_allclose(d, c, rtol=1e-5, atol=1e-5)


def test_cnn_training_step_on_multi_block_shapes_matches_and_repeats_bit_for_bit():
    """A ResNet-style step (conv, batch statistics, relu, maxpool, strided grouped conv, avgpool, pad)
    at sizes past one block and one GEMM tile; two strict runs give the same bits."""
    from ir.test_image_ops import _cnn, _cnn_feeds

    from volta_core.backends.cuda.executor import CudaExecutor

    g, loss, params, _ = _cnn(batch=32)
    graph = training_graph(g, loss, params)[0]
    feeds = _cnn_feeds(g, 7)
    cpu, gpu = _both(graph, feeds)
    for c, d in zip(cpu, gpu, strict=True):
        np.testing.assert_allclose(d, c, rtol=1e-4, atol=1e-5)
    again = CudaExecutor(compile_plan(graph, "cuda", "strict")).run(feeds)
    assert [a.tobytes() for a in gpu] == [b.tobytes() for b in again]


def test_large_convolution_and_pooling_match():
    from volta_core.ir import Graph

    rng = np.random.default_rng(4)
    g = Graph()
    x = g.input("x", (16, 32, 28, 28))
    w = g.input("w", (64, 32, 3, 3))
    b = g.input("b", (64,))
    y = g.op("conv2d", x, w, b, pads=(1, 1, 1, 1))
    pooled = g.op("max_pool2d", y, kernel=(2, 2), strides=(2, 2))
    back = g.op("conv_transpose2d", y, w, pads=(1, 1, 1, 1))
    dw = g.op("conv2d_weight_grad", x, y, kernel=(3, 3), pads=(1, 1, 1, 1))
    g.set_outputs([y, pooled, back, dw, g.op("moments", y)])
    feeds = {"x": rng.standard_normal((16, 32, 28, 28)).astype(np.float32),
             "w": (rng.standard_normal((64, 32, 3, 3)) / 17).astype(np.float32),
             "b": rng.standard_normal(64).astype(np.float32)}
    cpu, gpu = _both(g, feeds)
    for c, d in zip(cpu, gpu, strict=True):
        np.testing.assert_allclose(d, c, rtol=1e-4, atol=1e-3)


def test_balanced_mode_runs_atomic_scatter_add_and_tf32_matmuls_close_to_strict():
    from volta_core.backends.cuda.executor import CudaExecutor
    from volta_core.ir import Graph

    rng = np.random.default_rng(3)
    g = Graph()
    src = g.input("s", (4096, 64))
    idx = g.input("i", (4096,), "i64")
    w = g.input("w", (64, 256))
    g.set_outputs([g.op("scatter_add", src, idx, axis=0, shape=(100, 64)), g.op("matmul", src, w)])
    feeds = {"s": rng.standard_normal((4096, 64)).astype(np.float32), "i": rng.integers(0, 100, 4096),
             "w": rng.standard_normal((64, 256)).astype(np.float32)}
    strict = CudaExecutor(compile_plan(g, "cuda", "strict")).run(feeds)
    balanced = CudaExecutor(compile_plan(g, "cuda", "balanced")).run(feeds)
    np.testing.assert_allclose(balanced[0], strict[0], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(balanced[1], strict[1], rtol=1e-2, atol=5e-2)  # TF32: 10-bit mantissa inputs
    assert not np.array_equal(balanced[1], strict[1])  # TF32 really is in use
    again = CudaExecutor(compile_plan(g, "cuda", "strict")).run(feeds)
    assert all(np.array_equal(a, b) for a, b in zip(strict, again, strict=True))


def test_out_of_range_index_is_an_error_not_garbage():
    from volta_core.backends.cuda.driver import KernelError
    from volta_core.backends.cuda.executor import CudaExecutor
    from volta_core.ir import Graph

    g = Graph()
    table = g.input("t", (4, 3))
    ids = g.input("i", (2,), "i64")
    g.set_outputs([g.op("embedding", table, ids)])
    ex = CudaExecutor(compile_plan(g, "cuda"))
    with pytest.raises(KernelError, match="out of range"):
        ex.run({"t": np.ones((4, 3), np.float32), "i": np.array([1, 9])})
    out = ex.run({"t": np.arange(12, dtype=np.float32).reshape(4, 3), "i": np.array([3, -1])})  # usable again
    np.testing.assert_array_equal(out[0], [[9, 10, 11], [9, 10, 11]])


MLP = """\
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
    samples 400
    classes 3
    split 0.8
    shuffle true
    batch 16
    seed 2
train net on points
    steps 50
    optimizer {opt}
    lr 0.01
    clip_grad 1.0
    device {device}
"""

TRANSFORMER = """\
dataset reviews
    type text
    source "{csv}"
    text "review"
    target "label"
    vocab 128
    seq_len 12
    split 0.8
    batch 32
    seed 1
model sentiment
    input tokens 12
    layer embedding 128 32
    layer positional 12
    layer transformer 4 64
    layer layernorm
    layer mean_pool
    layer dense 2
    layer softmax
    seed 7
train sentiment on reviews
    steps 50
    optimizer adam
    lr 0.003
    device {device}
"""


def _train(program: str, name: str, tmp_path, **fmt) -> tuple[dict[str, np.ndarray], list[str], object]:
    from volta_core.lang import Session

    out: list[str] = []
    s = Session(stdout=out.append, base_dir=tmp_path)
    result = s.run(program.format(**fmt), "t.vt")
    errors = [d.message for d in result.diagnostics if d.severity.value == "error"]
    assert not errors, errors
    handle = s.globals[name]
    return {k: v.copy() for k, v in handle.net.params.items()}, out, handle  # type: ignore[attr-defined]


def _close(a: dict[str, np.ndarray], b: dict[str, np.ndarray], tol: float = 1e-4, skip: tuple[str, ...] = ()) -> None:
    bad = []
    for k in a:
        if k.endswith(skip) and skip:
            continue
        if not np.allclose(b[k], a[k], rtol=tol, atol=tol):
            bad.append(f"{k}: max |diff| {np.max(np.abs(a[k] - b[k])):.3g}")
    assert not bad, "weights differ beyond 1e-4: " + "; ".join(bad)


@pytest.mark.parametrize("opt", ["sgd", "momentum", "adam", "adamw", "rmsprop", "adagrad"])
def test_mlp_training_50_steps_matches_cpu(opt, tmp_path):
    cpu, _, _ = _train(MLP, "net", tmp_path, opt=opt, device="cpu")
    gpu, out, handle = _train(MLP, "net", tmp_path, opt=opt, device="gpu")
    assert any("gpu" in line for line in out)
    _close(cpu, gpu)
    assert handle.steps == 50  # type: ignore[attr-defined]


def _reviews(tmp_path) -> str:
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "examples" / "text-classifier" / "reviews.csv"
    return str(src)


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_transformer_training_50_steps_matches_cpu(opt, tmp_path):
    """With Adam the attention key bias is left out: its true gradient is zero (a per-query
    constant added to every score leaves the softmax unchanged), so what it gets is rounding
    noise, which Adam's normalisation turns into full-size steps whose signs depend on the
    summation order. It has no effect on the model's output; SGD checks it too."""
    csv = _reviews(tmp_path)
    program = TRANSFORMER.replace("optimizer adam", f"optimizer {opt}")
    cpu, _, _ = _train(program, "sentiment", tmp_path, csv=csv, device="cpu")
    gpu, _, _ = _train(program, "sentiment", tmp_path, csv=csv, device="gpu")
    _close(cpu, gpu, skip=("key_bias",) if opt == "adam" else ())


def test_strict_gpu_training_is_bit_identical_run_to_run(tmp_path):
    csv = _reviews(tmp_path)
    a, _, ha = _train(TRANSFORMER, "sentiment", tmp_path, csv=csv, device="gpu")
    b, _, hb = _train(TRANSFORMER, "sentiment", tmp_path, csv=csv, device="gpu")
    for k in a:
        assert a[k].tobytes() == b[k].tobytes(), k
    assert ha.last_report.weights_sha256 == hb.last_report.weights_sha256  # type: ignore[attr-defined]
    c, _, _ = _train(MLP, "net", tmp_path, opt="adam", device="gpu")
    d, _, _ = _train(MLP, "net", tmp_path, opt="adam", device="gpu")
    assert all(c[k].tobytes() == d[k].tobytes() for k in c)


def test_auto_picks_the_gpu_and_balanced_says_it_is_not_reproducible(tmp_path):
    _, out, _ = _train(MLP.replace("    device {device}\n", "    determinism balanced\n"), "net", tmp_path, opt="adam")
    text = "".join(out)
    assert "auto: CUDA device found" in text
    assert "not bit-reproducible" in text
