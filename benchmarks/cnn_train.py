"""Whole training steps of issue 18's two speed nets, written in `.vt`, next to PyTorch eager.

- Net (a), SGD: 1×28×28, batch 64: conv 32 3 pad 1 → relu → maxpool 2 →
  conv 64 3 pad 1 → relu → maxpool 2 → flatten → dense 128 → relu → dense 10.
- Net (b), Adam: 3×32×32, batch 32, ResNet-style: a 16-channel stem (conv,
  batchnorm, relu), three residual stages of 16, 32 and 64 channels (the
  last two at stride 2 with `residual project`), global average pool, dense 10.

A Volta step is what the training loop does: forward and backward
(``Network.train_step``), the optimizer update and the batchnorm running
statistics. PyTorch runs the same network (``torch.nn`` modules in training
mode) from the same initial weights with ``torch.optim``; :func:`build`
checks that the first step's losses agree before anything is timed.
PyTorch is imported here only, never by ``volta_core``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

LR = 1e-3

NET_A = """model a
    input image 1 28 28
    layer conv 32 3 pad 1
    layer relu
    layer maxpool 2
    layer conv 64 3 pad 1
    layer relu
    layer maxpool 2
    layer flatten
    layer dense 128
    layer relu
    layer dense 10
    loss cross_entropy
"""

_STAGE = """    residual{project}
        layer conv {c} 3{stride} pad 1 bias false
        layer batchnorm
        layer relu
        layer conv {c} 3 pad 1 bias false
        layer batchnorm
    layer relu
"""
NET_B = (
    "model b\n    input image 3 32 32\n    layer conv 16 3 pad 1 bias false\n    layer batchnorm\n    layer relu\n"
    + _STAGE.format(project="", c=16, stride="")
    + _STAGE.format(project=" project", c=32, stride=" stride 2")
    + _STAGE.format(project=" project", c=64, stride=" stride 2")
    + "    layer global_avg_pool\n    layer dense 10\n    loss cross_entropy\n"
)

#: name → (program, batch, optimizer)
BENCHMARKS: dict[str, tuple[str, int, str]] = {
    "train_cnn_a_b64_sgd": (NET_A, 64, "sgd"),
    "train_cnn_b_b32_adam": (NET_B, 32, "adam"),
}


@dataclass
class Built:
    volta: Callable[[], None]
    peer: Callable[[], None]
    first_loss: tuple[float, float]
    flops: float


def _torch_net(torch: Any, info: Any, weights: dict[str, np.ndarray]) -> Callable[[Any], Any]:
    """A PyTorch module tree for ``info``'s layers, holding copies of ``weights`` (same names)."""
    F = torch.nn.functional
    t = {k: torch.nn.Parameter(torch.tensor(v.copy())) for k, v in weights.items() if ".running_" not in k}
    buffers = {k: torch.tensor(v.copy()) for k, v in weights.items() if ".running_" in k}
    t_params = list(t.values())

    def bn(h: Any, p: str) -> Any:
        return F.batch_norm(h, buffers[f"{p}.running_mean"], buffers[f"{p}.running_var"], t[f"{p}.scale"],
                            t[f"{p}.shift"], training=True)  # fmt: skip

    def layer(layer_info: Any, h: Any, path: str) -> Any:
        kind, args, opts = layer_info.kind, layer_info.args, dict(layer_info.options)
        if kind == "conv":
            pad = opts.get("pad", 0)
            return F.conv2d(h, t[f"{path}.conv.weight"], t.get(f"{path}.conv.bias"), stride=opts.get("stride", 1),
                            padding=pad)  # fmt: skip
        if kind == "batchnorm":
            return bn(h, f"{path}.batchnorm")
        if kind == "relu":
            return F.relu(h)
        if kind == "maxpool":
            return F.max_pool2d(h, args[0])
        if kind == "flatten":
            return h.flatten(1)
        if kind == "dense":
            return h @ t[f"{path}.dense.weight"] + t[f"{path}.dense.bias"]
        if kind == "global_avg_pool":
            return h.mean(dim=(2, 3))
        if kind == "residual":
            out = h
            for child in layer_info.children:
                out = layer(child, out, f"{path}.{child.index}")
            if layer_info.param_shapes:
                stride = h.shape[2] // out.shape[2]
                h = bn(F.conv2d(h, t[f"{path}.project.conv.weight"], stride=stride), f"{path}.project.batchnorm")
            return out + h
        raise ValueError(kind)

    def forward(x: Any) -> Any:
        h = x
        for item in info.layers:
            h = layer(item, h, str(item.index))
        return h

    forward.parameters = t_params  # type: ignore[attr-defined]
    return forward


def _conv_flops(info: Any, batch: int) -> float:
    """GEMM-equivalent FLOPs of a training step's convolutions and dense layers:
    forward, weight gradient and input gradient (none for the first layer's input).
    A projection's output is its residual block's output."""
    total = 0.0
    first = True
    for layer in info.all_layers():
        for name, shape in layer.param_shapes:
            if name.endswith("conv.weight"):
                macs = batch * int(np.prod(layer.output_shape[1:])) * int(np.prod(shape))
            elif name.endswith("dense.weight"):
                macs = batch * shape[0] * shape[1]
            else:
                continue
            total += 2.0 * macs * (2 if first else 3)
            first = False
    return total


def build(name: str) -> Built:
    import torch

    from volta_core.analysis import analyze
    from volta_core.nn.network import Network, init_params
    from volta_core.train.optim import Optimizer

    source, batch, optimizer = BENCHMARKS[name]
    analysis = analyze(source, "bench.vt")
    assert not analysis.errors, [d.message for d in analysis.errors]
    info = next(iter(analysis.symbols.models.values()))
    net = Network(info, "cross_entropy", init_params(info, 0))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, *info.input_shape)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    forward = _torch_net(torch, info, net.weights())
    params = forward.parameters  # type: ignore[attr-defined]
    topt = torch.optim.SGD(params, lr=LR) if optimizer == "sgd" else torch.optim.Adam(params, lr=LR)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    first_peer = float(torch.nn.functional.cross_entropy(forward(tx), ty).detach())
    first_volta, _, _ = net.train_step(x, y)
    if abs(first_volta - first_peer) > 1e-4 * max(1.0, abs(first_peer)):
        raise AssertionError(f"{name}: first losses differ: Volta {first_volta}, PyTorch {first_peer}")
    opt = Optimizer(optimizer)

    def volta() -> None:  # what the training loop does per step
        _, _, grads = net.train_step(x, y, copy_grads=False)
        opt.step(net.params, grads, LR)
        if net.batch_stats:
            net.apply_batch_stats(net.batch_stats, batch)

    def peer() -> None:
        loss = torch.nn.functional.cross_entropy(forward(tx), ty)
        topt.zero_grad()
        loss.backward()
        topt.step()

    return Built(volta, peer, (first_volta, first_peer), _conv_flops(info, batch))
