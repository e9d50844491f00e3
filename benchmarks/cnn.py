"""Convolution, pooling and batch-norm layers of issue 18's two speed nets, Volta next to PyTorch eager.

Each benchmark is one layer (or one net's whole conv stack) run forward and
backward: Volta runs the planned training graph of ``y`` with the gradient
seed 1 (``training_graph`` of a non-scalar output), PyTorch runs the same
forward and ``y.backward(ones)``. Both start from the same weights and inputs,
and :func:`build` checks that they agree before anything is timed.

- Net (a): 1×28×28, batch 64: conv 32 3 pad 1 → relu → maxpool 2 → conv 64 3
  pad 1 → relu → maxpool 2 (its dense head is not here).
- Net (b): 3×32×32, batch 32, ResNet-style: a 16-channel stem (conv 3, batch
  norm, relu), then three residual stages of 16, 32 and 64 channels (the last
  two at stride 2 with a 1×1 projection), each block conv-bn-relu-conv-bn plus
  the shortcut, relu; global average pool. Convs have no bias (batch norm follows).

PyTorch is imported here only, never by ``volta_core``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from volta_core.ir import Graph

Conv = tuple[int, int, int, int, int]  # out, in, kernel, stride, pad


@dataclass(frozen=True)
class Layers:
    """A benchmark: its input shape, and how both sides build it from named weights."""

    name: str
    batch: int
    image: tuple[int, int, int]
    volta: Callable[[Graph, int, dict[str, int]], int]
    torch: Callable[[Any, dict[str, Any]], Any]
    weights: dict[str, tuple[int, ...]]
    input_grad: bool  # the first layer's input needs no gradient; a layer inside a net does
    flops: Callable[[int], float]  # GEMM-equivalent FLOPs per forward+backward at a batch size


def _conv_flops(batch: int, conv: Conv, hw: tuple[int, int], input_grad: bool) -> float:
    out, cin, k, _, _ = conv
    macs = batch * out * hw[0] * hw[1] * cin * k * k
    return 2.0 * macs * (3 if input_grad else 2)  # forward, weight gradient, input gradient


def _vconv(g: Graph, h: int, w: dict[str, int], name: str, conv: Conv) -> int:
    _, _, _, s, p = conv
    bias = (w[f"{name}.b"],) if f"{name}.b" in w else ()
    return g.op("conv2d", h, w[name], *bias, strides=(s, s), pads=(p, p, p, p))


def _tconv(F: Any, h: Any, w: dict[str, Any], name: str, conv: Conv) -> Any:
    return F.conv2d(h, w[name], w.get(f"{name}.b"), stride=conv[3], padding=conv[4])


def _vbn(g: Graph, h: int, w: dict[str, int], name: str) -> int:
    c = g.node(h).shape[1]
    stats = g.op("moments", h)
    mean, var = (g.op("reshape", g.op("slice", stats, starts=(k,), ends=(k + 1,), axes=(0,)), shape=(c,))
                 for k in (0, 1))
    return g.op("batchnorm", h, w[f"{name}.scale"], w[f"{name}.shift"], mean, var)


def _tbn(F: Any, h: Any, w: dict[str, Any], name: str) -> Any:
    return F.batch_norm(h, None, None, w[f"{name}.scale"], w[f"{name}.shift"], training=True)


def _bn_weights(name: str, c: int) -> dict[str, tuple[int, ...]]:
    return {f"{name}.scale": (c,), f"{name}.shift": (c,)}


def _conv_weights(name: str, conv: Conv, bias: bool) -> dict[str, tuple[int, ...]]:
    out, cin, k, _, _ = conv
    return {name: (out, cin, k, k), **({f"{name}.b": (out,)} if bias else {})}


def _single_conv(name: str, batch: int, image: tuple[int, int, int], conv: Conv, bias: bool,
                 input_grad: bool) -> Layers:
    out_hw = tuple((d + 2 * conv[4] - conv[2]) // conv[3] + 1 for d in image[1:])
    return Layers(
        name, batch, image,
        lambda g, x, w: _vconv(g, x, w, "conv", conv),
        lambda F, x_w: _tconv(F, x_w["x"], x_w, "conv", conv),
        _conv_weights("conv", conv, bias), input_grad,
        lambda b: _conv_flops(b, conv, out_hw, input_grad),  # type: ignore[arg-type]
    )


A1: Conv = (32, 1, 3, 1, 1)
A2: Conv = (64, 32, 3, 1, 1)


def _a_volta(g: Graph, x: int, w: dict[str, int]) -> int:
    h = g.op("max_pool2d", g.op("relu", _vconv(g, x, w, "c1", A1)), kernel=(2, 2), strides=(2, 2))
    return g.op("max_pool2d", g.op("relu", _vconv(g, h, w, "c2", A2)), kernel=(2, 2), strides=(2, 2))


def _a_torch(F: Any, w: dict[str, Any]) -> Any:
    h = F.max_pool2d(F.relu(_tconv(F, w["x"], w, "c1", A1)), 2)
    return F.max_pool2d(F.relu(_tconv(F, h, w, "c2", A2)), 2)


def _pool_volta(g: Graph, x: int, w: dict[str, int]) -> int:
    return g.op("max_pool2d", g.op("relu", x), kernel=(2, 2), strides=(2, 2))


# ResNet-style net (b): (name, conv) in order; "project" convs take the block's input
STEM: Conv = (16, 3, 3, 1, 1)
STAGES = [(16, 16, 1), (32, 16, 2), (64, 32, 2)]  # out, in, stride


def _b_layers() -> dict[str, tuple[int, ...]]:
    weights = {**_conv_weights("stem", STEM, False), **_bn_weights("stem.bn", 16)}
    for k, (out, cin, s) in enumerate(STAGES):
        weights.update(_conv_weights(f"s{k}.c1", (out, cin, 3, s, 1), False))
        weights.update(_conv_weights(f"s{k}.c2", (out, out, 3, 1, 1), False))
        weights.update({**_bn_weights(f"s{k}.bn1", out), **_bn_weights(f"s{k}.bn2", out)})
        if s != 1:
            weights.update({**_conv_weights(f"s{k}.proj", (out, cin, 1, s, 0), False),
                            **_bn_weights(f"s{k}.bnp", out)})
    return weights


def _b_net(conv: Callable[..., Any], bn: Callable[..., Any], relu: Callable[[Any], Any], add: Callable[[Any, Any], Any],
           pool: Callable[[Any], Any], x: Any) -> Any:
    """Net (b), written once for both sides (``conv``/``bn`` take a layer name, ``x`` is the input)."""
    h = relu(bn(conv(x, "stem", STEM), "stem.bn"))
    for k, (out, cin, s) in enumerate(STAGES):
        y = relu(bn(conv(h, f"s{k}.c1", (out, cin, 3, s, 1)), f"s{k}.bn1"))
        y = bn(conv(y, f"s{k}.c2", (out, out, 3, 1, 1)), f"s{k}.bn2")
        short = bn(conv(h, f"s{k}.proj", (out, cin, 1, s, 0)), f"s{k}.bnp") if s != 1 else h
        h = relu(add(y, short))
    return pool(h)


def _b_volta(g: Graph, x: int, w: dict[str, int]) -> int:
    return _b_net(lambda h, n, c: _vconv(g, h, w, n, c), lambda h, n: _vbn(g, h, w, n), lambda h: g.op("relu", h),
                  lambda a, b: g.op("add", a, b), lambda h: g.op("reduce_mean", h, axes=(2, 3)), x)


def _b_torch(F: Any, w: dict[str, Any]) -> Any:
    return _b_net(lambda h, n, c: _tconv(F, h, w, n, c), lambda h, n: _tbn(F, h, w, n), F.relu,
                  lambda a, b: a + b, lambda h: h.mean((2, 3)), w["x"])


def _b_flops(batch: int) -> float:
    total = _conv_flops(batch, STEM, (32, 32), False)
    size = 32
    for out, cin, s in STAGES:
        size //= s
        total += _conv_flops(batch, (out, cin, 3, s, 1), (size, size), True)
        total += _conv_flops(batch, (out, out, 3, 1, 1), (size, size), True)
        if s != 1:
            total += _conv_flops(batch, (out, cin, 1, s, 0), (size, size), True)
    return total


def _bn_volta(g: Graph, x: int, w: dict[str, int]) -> int:
    return _vbn(g, x, w, "bn")


BENCHMARKS: dict[str, Layers] = {
    "cnn_a_conv1": _single_conv("cnn_a_conv1", 64, (1, 28, 28), A1, bias=True, input_grad=False),
    "cnn_a_conv2": _single_conv("cnn_a_conv2", 64, (32, 14, 14), A2, bias=True, input_grad=True),
    "cnn_a_relu_maxpool1": Layers("cnn_a_relu_maxpool1", 64, (32, 28, 28), _pool_volta,
                                  lambda F, w: F.max_pool2d(F.relu(w["x"]), 2), {}, True, lambda b: 0.0),
    "cnn_a_conv_stack": Layers("cnn_a_conv_stack", 64, (1, 28, 28), _a_volta, _a_torch,
                               {**_conv_weights("c1", A1, True), **_conv_weights("c2", A2, True)}, False,
                               lambda b: _conv_flops(b, A1, (28, 28), False) + _conv_flops(b, A2, (14, 14), True)),
    "cnn_b_conv16": _single_conv("cnn_b_conv16", 32, (16, 32, 32), (16, 16, 3, 1, 1), bias=False, input_grad=True),
    "cnn_b_conv32_stride2": _single_conv("cnn_b_conv32_stride2", 32, (16, 32, 32), (32, 16, 3, 2, 1), bias=False,
                                         input_grad=True),
    "cnn_b_conv32": _single_conv("cnn_b_conv32", 32, (32, 16, 16), (32, 32, 3, 1, 1), bias=False, input_grad=True),
    "cnn_b_conv64": _single_conv("cnn_b_conv64", 32, (64, 8, 8), (64, 64, 3, 1, 1), bias=False, input_grad=True),
    "cnn_b_batchnorm16": Layers("cnn_b_batchnorm16", 32, (16, 32, 32), _bn_volta,
                                lambda F, w: _tbn(F, w["x"], w, "bn"), _bn_weights("bn", 16), True, lambda b: 0.0),
    "cnn_b_conv_stack": Layers("cnn_b_conv_stack", 32, (3, 32, 32), _b_volta, _b_torch, _b_layers(), False, _b_flops),
}


@dataclass
class Built:
    """Both sides ready to run one forward+backward each, from the same values."""

    volta: Callable[[], None]
    peer: Callable[[], None]
    flops: float
    # largest |Volta - PyTorch| over the output and every gradient, over (1 + that value's largest magnitude):
    # relative for large values, absolute near zero (batch norm's input gradient under a seed of ones is 0)
    max_diff: float


def build(name: str, batch: int | None = None, seed: int = 0) -> Built:
    import torch
    import torch.nn.functional as F

    from volta_core.backends.cpu import CpuExecutor
    from volta_core.ir import compile_plan, training_graph

    spec = BENCHMARKS[name]
    batch = batch or spec.batch
    rng = np.random.default_rng(seed)
    values = {"x": rng.standard_normal((batch, *spec.image)).astype(np.float32)}
    for wname, shape in spec.weights.items():
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        scale = 1.0 if wname.endswith(".scale") else 1.0 / np.sqrt(fan_in)
        base = np.ones(shape) if wname.endswith(".scale") else np.zeros(shape)
        values[wname] = (base + rng.uniform(-scale, scale, shape) * 0.5).astype(np.float32)

    g = Graph()
    x = g.input("x", values["x"].shape)
    ids = {wname: g.parameter(wname, shape) for wname, shape in spec.weights.items()}
    y = spec.volta(g, x, ids)
    g.set_outputs([y])
    wrt = [x, *ids.values()] if spec.input_grad else list(ids.values())
    tg, _ = training_graph(g, y, wrt)
    ex = CpuExecutor(compile_plan(tg))
    ex.feed(values)

    t = {k: torch.tensor(v, requires_grad=(k != "x" or spec.input_grad)) for k, v in values.items()}
    trainable = [v for v in t.values() if v.requires_grad]

    def peer() -> None:
        for v in trainable:
            v.grad = None
        out = spec.torch(F, t)
        out.backward(torch.ones_like(out))

    ex.execute()
    peer()
    got = ex.run(values)
    want = [spec.torch(F, t).detach().numpy(), *(v.grad.numpy() for v in trainable)]
    diff = max(float(np.max(np.abs(a - b))) / (1.0 + float(np.max(np.abs(b)))) for a, b in zip(got, want, strict=True))
    return Built(ex.execute, peer, spec.flops(batch), diff)
