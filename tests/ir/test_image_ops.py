"""The image ops beyond the op table: shape errors, workspaces in the memory plan,
determinism, a small CNN's gradients against PyTorch, and the batch-statistics contract
the nn builder relies on (running statistics as PyTorch updates them)."""

from __future__ import annotations

import numpy as np
import pytest

from volta_core.backends.cpu import CpuExecutor
from volta_core.ir import AttrError, Graph, IRError, ShapeError, compile_plan, training_graph

from .helpers import run_graph

torch = pytest.importorskip("torch")
F = torch.nn.functional

ERRORS = [
    ("conv2d", [(2, 4, 5, 5), (6, 3, 3, 3)], {}, ShapeError,
     "conv2d: x [2, 4, 5, 5] has 4 channels, but weight [6, 3, 3, 3] with groups=1 takes 3 per group (3 in all)"),
    ("conv2d", [(2, 4, 5, 5), (6, 2, 3, 3)], {"groups": 4}, ShapeError,
     "conv2d: x [2, 4, 5, 5] has 4 channels, but weight [6, 2, 3, 3] with groups=4 takes 2 per group (8 in all)"),
    ("conv2d", [(2, 4, 5, 5), (6, 1, 3, 3)], {"groups": 4}, ShapeError,
     "conv2d: weight [6, 1, 3, 3] has 6 output channels, not divisible by groups=4"),
    ("conv2d", [(1, 1, 2, 4), (1, 1, 3, 3)], {"dilations": (1, 2)}, ShapeError,
     "conv2d: the 3x3 window (dilated extent 3x5) does not fit the padded input 2x4 of x [1, 1, 2, 4]"),
    ("conv2d", [(1, 1, 4, 4), (2, 1, 3, 3), (3,)], {}, ShapeError,
     "conv2d: bias must be [2] for weight [2, 1, 3, 3], got [3]"),
    ("conv2d", [(4, 4), (2, 1, 3, 3)], {}, ShapeError, "conv2d needs x [N, C, H, W], got [4, 4]"),
    ("conv2d", [(1, 1, 4, 4), (2, 9)], {}, ShapeError, "conv2d needs a weight [out, in/groups, kH, kW], got [2, 9]"),
    ("conv2d", [(1, 1, 4, 4), (2, 1, 3, 3)], {"strides": (0, 1)}, AttrError,
     "conv2d: every value of strides must be >= 1, got [0, 1]"),
    ("conv2d", [(1, 1, 4, 4), (2, 1, 3, 3)], {"pads": (1, 1)}, AttrError, "conv2d: pads needs 4 values, got [1, 1]"),
    ("conv2d", [(1, 1, 4, 4), (2, 1, 3, 3)], {"groups": 0}, AttrError, "conv2d: groups must be >= 1, got 0"),
    ("conv_transpose2d", [(1, 2, 3, 3), (2, 1, 3, 3)], {"strides": (2, 2), "output_padding": (2, 0)}, AttrError,
     "conv_transpose2d: output_padding [2, 0] must be smaller than the strides [2, 2]"),
    ("conv_transpose2d", [(1, 3, 3, 3), (2, 1, 3, 3)], {}, ShapeError,
     "conv_transpose2d: x [1, 3, 3, 3] has 3 channels, but weight [2, 1, 3, 3] takes 2"),
    ("conv_transpose2d", [(1, 2, 1, 1), (2, 1, 1, 1)], {"pads": (1, 0, 0, 0)}, ShapeError,
     "conv_transpose2d: x [1, 2, 1, 1] with pads [1, 0, 0, 0] gives an empty output [0, 1]"),
    ("conv2d_weight_grad", [(1, 2, 5, 5), (1, 3, 4, 4)], {"kernel": (3, 3)}, ShapeError,
     "conv2d_weight_grad: dy [1, 3, 4, 4] is not the conv2d output [1, 3, 3, 3] of x [1, 2, 5, 5] with a 3x3 kernel"),
    ("max_pool2d", [(1, 1, 4, 4)], {"kernel": (2, 2), "pads": (2, 0, 0, 0)}, AttrError,
     "max_pool2d: top/bottom padding 2/0 must be smaller than the window extent 2 (a window would see only padding)"),
    ("max_pool2d", [(1, 1, 4, 4)], {"kernel": (5, 1)}, ShapeError,
     "max_pool2d: the 5x1 window (dilated extent 5x1) does not fit the padded input 4x4 of x [1, 1, 4, 4]"),
    ("max_pool2d_grad", [(1, 1, 4, 4), (1, 1, 3, 3)], {"kernel": (2, 2), "strides": (2, 2)}, ShapeError,
     "max_pool2d_grad: second input must be [1, 1, 2, 2] for x [1, 1, 4, 4], got [1, 1, 3, 3]"),
    ("avg_pool2d_grad", [(1, 1, 3, 3)], {"kernel": (2, 2), "strides": (2, 2), "shape": (1, 1, 4, 4)}, ShapeError,
     "avg_pool2d_grad: g [1, 1, 3, 3] is not the avg_pool2d output [1, 1, 2, 2] of [1, 1, 4, 4]"),
    ("moments", [(5,)], {}, ShapeError,
     "moments normalises axis 1 (channels): needs x of rank >= 2 [N, C, ...], got [5]"),
    ("batchnorm", [(2, 3, 4, 4), (3,), (3,), (4,), (3,)], {}, ShapeError,
     "batchnorm: scale, shift, mean and var must be [3] for x [2, 3, 4, 4], got [3], [3], [4], [3]"),
    ("batchnorm", [(2, 3), (3,), (3,), (3,), (3,)], {"eps": 0.0}, AttrError, "batchnorm: eps must be > 0, got 0.0"),
    ("pad", [(2, 3)], {"pads": (0, 3, 0, 0), "mode": "reflect"}, ShapeError,
     "pad: reflect padding 3/0 of axis 1 needs pads < its size 3 (input [2, 3])"),
    ("pad", [(2, 3)], {"pads": (0, 1)}, AttrError, "pad: pads needs 4 values, got [0, 1]"),
    ("pad", [(2, 3)], {"pads": (0, 1, 0, 0), "mode": "edge", "value": 2.0}, AttrError,
     "pad: value is used by mode constant only, got value=2.0 with mode edge"),
    ("pad_grad", [(2, 3)], {"pads": (0, 2, 0, 2)}, ShapeError,
     "pad_grad: pads [0, 2, 0, 2] remove more than g [2, 3] holds"),
]


@pytest.mark.parametrize(("op", "shapes", "attrs", "error", "message"), ERRORS,
                         ids=[f"{e[0]}-{k}" for k, e in enumerate(ERRORS)])
def test_shape_and_attribute_errors_name_every_shape(op, shapes, attrs, error, message):
    g = Graph()
    ids = [g.input(f"in{k}", s) for k, s in enumerate(shapes)]
    with pytest.raises(error) as caught:
        g.op(op, *ids, **attrs)
    assert str(caught.value) == message


def _cnn(batch: int = 4, dtype: str = "f32"):
    """conv -> batchnorm (batch statistics) -> relu -> maxpool -> grouped strided conv -> avgpool (ceil) ->
    pad -> global mean -> dense -> cross-entropy. Returns (graph, loss, params, stats)."""
    g = Graph()
    x = g.input("x", (batch, 3, 13, 13), dtype)
    t = g.input("t", (batch,), "i64")
    w1 = g.parameter("w1", (8, 3, 3, 3), dtype)
    b1 = g.parameter("b1", (8,), dtype)
    scale = g.parameter("scale", (8,), dtype)
    shift = g.parameter("shift", (8,), dtype)
    w2 = g.parameter("w2", (8, 4, 3, 3), dtype)
    dense = g.parameter("dense", (8, 5), dtype)
    h = g.op("conv2d", x, w1, b1, pads=(1, 1, 1, 1))
    stats = g.op("moments", h)
    mean, var = (g.op("reshape", g.op("slice", stats, starts=(k,), ends=(k + 1,), axes=(0,)), shape=(8,))
                 for k in (0, 1))
    h = g.op("relu", g.op("batchnorm", h, scale, shift, mean, var))
    h = g.op("max_pool2d", h, kernel=(2, 2), strides=(2, 2))
    h = g.op("conv2d", h, w2, strides=(2, 2), pads=(1, 1, 1, 1), groups=2)
    h = g.op("avg_pool2d", h, kernel=(2, 2), strides=(2, 2), ceil_mode=True)
    h = g.op("pad", h, pads=(0, 0, 1, 0, 0, 0, 0, 1), mode="reflect")
    h = g.op("reduce_mean", h, axes=(2, 3))
    loss = g.op("softmax_cross_entropy", g.op("matmul", h, dense), t)
    g.set_outputs([loss, stats])
    return g, loss, [w1, b1, scale, shift, w2, dense], stats


def _cnn_feeds(g: Graph, seed: int = 0, dtype=np.float32) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    feeds = {g.name_of(i): (rng.standard_normal(g.node(i).shape) * 0.5).astype(dtype)
             for i in (*g.inputs, *g.params) if g.node(i).dtype != "i64"}
    feeds["t"] = rng.integers(0, 5, g.node(g.by_name("t")).shape)
    return feeds


def _torch_cnn(feeds: dict[str, np.ndarray]):
    p = {k: torch.tensor(v, requires_grad=k not in ("x", "t")) for k, v in feeds.items()}
    h = F.conv2d(p["x"], p["w1"], p["b1"], padding=1)
    stats = torch.stack([h.mean((0, 2, 3)), h.var((0, 2, 3), unbiased=False)])
    h = F.relu(F.batch_norm(h, None, None, p["scale"], p["shift"], training=True))
    h = F.max_pool2d(h, 2)
    h = F.conv2d(h, p["w2"], stride=2, padding=1, groups=2)
    h = F.avg_pool2d(h, 2, ceil_mode=True)
    h = F.pad(h, (0, 1, 1, 0), mode="reflect")
    loss = F.cross_entropy(h.mean((2, 3)) @ p["dense"], p["t"])
    loss.backward()
    return loss, stats, p


def test_small_cnn_training_step_matches_pytorch():
    g, loss, params, _ = _cnn()
    feeds = _cnn_feeds(g)
    outs = run_graph(training_graph(g, loss, params)[0], feeds)
    t_loss, t_stats, p = _torch_cnn(feeds)
    np.testing.assert_allclose(outs[0], t_loss.item(), rtol=1e-5)
    np.testing.assert_allclose(outs[1], t_stats.detach().numpy(), rtol=1e-5, atol=1e-6)
    for k, name in enumerate(["w1", "b1", "scale", "shift", "w2", "dense"]):
        np.testing.assert_allclose(outs[2 + k], p[name].grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)


def test_workspaces_are_planned_per_step_and_shared():
    g, loss, params, _ = _cnn()
    plan = compile_plan(training_graph(g, loss, params)[0])
    memory = plan.memory
    ops = {plan.graph.node(n).op for n in memory.workspace}
    assert {"conv2d", "conv2d_weight_grad", "conv_transpose2d", "moments", "avg_pool2d_grad",
            "max_pool2d_grad"} <= ops
    assert "relu" not in ops and "batchnorm" not in ops  # no scratch, no workspace
    for nid, (buf, size) in memory.workspace.items():
        node = plan.graph.node(nid)
        assert 0 < size <= memory.buffer_sizes[buf]
        # never the step's own output nor any value it reads
        assert buf != memory.assignment[nid]
        assert buf not in {memory.assignment.get(i) for i in node.inputs}
    assert len({buf for buf, _ in memory.workspace.values()}) < len(memory.workspace)  # reused between steps
    assert memory.peak_bytes >= max(size for _, size in memory.workspace.values())
    assert memory.fingerprint() == compile_plan(plan.graph).memory.fingerprint()


def test_results_never_depend_on_what_a_workspace_held_before():
    g, loss, params, _ = _cnn()
    plan = compile_plan(training_graph(g, loss, params)[0])
    feeds = _cnn_feeds(g)
    ex = CpuExecutor(plan)
    first = ex.run(feeds)
    for poison in (0xFF, 0x7F, 0x00):  # NaN bytes, huge values, zeros (padding slots included)
        for buf in ex.buffers:
            buf.fill(poison)
        again = ex.run(feeds)
        for a, b in zip(first, again, strict=True):
            assert a.tobytes() == b.tobytes()


def test_two_executors_give_the_same_bits():
    g, loss, params, _ = _cnn(batch=8, dtype="f64")
    plan = compile_plan(training_graph(g, loss, params)[0])
    feeds = _cnn_feeds(g, 3, np.float64)
    one = CpuExecutor(plan).run(feeds)
    two = CpuExecutor(compile_plan(plan.graph)).run(feeds)
    assert [a.tobytes() for a in one] == [b.tobytes() for b in two]


def test_batch_statistics_give_pytorchs_running_statistics():
    """The nn builder's contract: moments gives the batch mean and the biased variance; the running
    statistics are updated outside the graph with PyTorch's rule (momentum 0.1, unbiased variance)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 4, 5, 3)).astype(np.float32) * 3 + 1
    running_mean, running_var = rng.standard_normal(4).astype(np.float32), rng.random(4).astype(np.float32) + 0.5
    g = Graph()
    stats = g.op("moments", g.input("x", x.shape))
    g.set_outputs([stats])
    mean, var = run_graph(g, {"x": x})[0]
    count = x.size // x.shape[1]
    momentum = np.float32(0.1)
    new_mean = (1 - momentum) * running_mean + momentum * mean
    new_var = (1 - momentum) * running_var + momentum * var * np.float32(count / (count - 1))
    t_mean, t_var = torch.tensor(running_mean), torch.tensor(running_var)
    F.batch_norm(torch.tensor(x), t_mean, t_var, training=True, momentum=0.1, eps=1e-5)
    np.testing.assert_allclose(new_mean, t_mean.numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(new_var, t_var.numpy(), rtol=1e-6)
    # ... and in evaluation the same op normalises with the running statistics, as F.batch_norm does
    scale, shift = rng.standard_normal(4).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    e = Graph()
    ins = [e.input(n, v.shape) for n, v in (("x", x), ("s", scale), ("b", shift), ("m", new_mean), ("v", new_var))]
    e.set_outputs([e.op("batchnorm", *ins)])
    y = run_graph(e, {"x": x, "s": scale, "b": shift, "m": new_mean, "v": new_var})[0]
    want = F.batch_norm(torch.tensor(x), torch.tensor(new_mean), torch.tensor(new_var), torch.tensor(scale),
                        torch.tensor(shift), training=False, eps=1e-5)
    np.testing.assert_allclose(y, want.numpy(), rtol=1e-5, atol=1e-5)


def test_max_pool_gradient_goes_to_the_first_maximum_and_nan_windows_to_their_first_element():
    x = np.array([[[[1.0, 3.0, 3.0, 0.0],
                    [3.0, 2.0, 0.0, 0.0],
                    [np.nan, 1.0, 5.0, np.nan],
                    [2.0, np.nan, 5.0, 5.0]]]], np.float32)
    g = Graph()
    xi = g.input("x", x.shape)
    gi = g.input("g", (1, 1, 2, 2))
    g.set_outputs([g.op("max_pool2d_grad", xi, gi, kernel=(2, 2), strides=(2, 2)),
                   g.op("max_pool2d", xi, kernel=(2, 2), strides=(2, 2))])
    dx, y = run_graph(g, {"x": x, "g": np.array([[[[10.0, 20.0], [30.0, 40.0]]]], np.float32)})
    assert np.array_equal(y, [[[[3, 3], [np.nan, np.nan]]]], equal_nan=True)
    assert dx.tolist() == [[[[0, 10, 20, 0], [0, 0, 0, 0], [30, 0, 40, 0], [0, 0, 0, 0]]]]


def test_conv_ops_reject_integer_inputs():
    g = Graph()
    with pytest.raises(IRError, match="conv2d needs a floating-point input, got i64"):
        g.op("conv2d", g.input("x", (1, 1, 3, 3), "i64"), g.input("w", (1, 1, 1, 1), "i64"))
