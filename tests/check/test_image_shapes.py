"""Static shapes of image models (SPEC §2.1a), checked against PyTorch's own
shape arithmetic, and the parameter names of blocks."""

from __future__ import annotations

import itertools

import pytest
import torch

from volta_core.analysis import analyze
from volta_core.check.symbols import ModelInfo


def _model(lines: str, image: str = "3 11 13") -> ModelInfo:
    analysis = analyze(f"model m\n    input image {image}\n{lines}    layer flatten\n    layer dense 2\n")
    assert not analysis.errors, [d.message for d in analysis.errors]
    return analysis.symbols.models["m"]


CONV_CASES = [
    (k, s, p, d, g)
    for k, s, p, d, g in itertools.product((1, 3, 4), (1, 2), (0, 1, "same"), (1, 2), (1, 3))
    if not (p == "same" and s != 1)
]


@pytest.mark.parametrize(("k", "s", "p", "d", "g"), CONV_CASES)
def test_conv_output_shape_and_weights_match_torch(k: int, s: int, p: int | str, d: int, g: int) -> None:
    info = _model(f"    layer conv 6 {k} stride {s} pad {p} dilation {d} groups {g}\n")
    conv = torch.nn.Conv2d(3, 6, k, stride=s, padding=p, dilation=d, groups=g)
    out = conv(torch.zeros(1, 3, 11, 13))
    layer = info.layers[0]
    assert layer.output_shape == tuple(out.shape[1:])
    assert dict(layer.param_shapes) == {"0.conv.weight": tuple(conv.weight.shape), "0.conv.bias": (6,)}
    assert layer.params == sum(t.numel() for t in conv.parameters())


@pytest.mark.parametrize(("kind", "k", "s", "p"), list(itertools.product(("maxpool", "avgpool"), (2, 3), (None, 1, 2), (0, 1))))
def test_pool_output_shape_matches_torch(kind: str, k: int, s: int | None, p: int) -> None:
    stride = "" if s is None else f" stride {s}"
    info = _model(f"    layer {kind} {k}{stride} pad {p}\n")
    pool = (torch.nn.MaxPool2d if kind == "maxpool" else torch.nn.AvgPool2d)(k, stride=s, padding=p)
    assert info.layers[0].output_shape == tuple(pool(torch.zeros(1, 3, 11, 13)).shape[1:])


def test_bias_false_activation_and_batchnorm_buffers() -> None:
    info = _model("    layer conv 4 3 bias false relu\n    layer batchnorm momentum 0.2\n")
    conv, relu, norm = info.layers[:3]
    assert (conv.kind, relu.kind, norm.kind) == ("conv", "relu", "batchnorm")
    assert dict(conv.param_shapes) == {"0.conv.weight": (4, 3, 3, 3)}
    assert conv.options == (("bias", False),)
    assert dict(norm.param_shapes) == {"2.batchnorm.scale": (4,), "2.batchnorm.shift": (4,)}
    assert dict(norm.buffer_shapes) == {"2.batchnorm.running_mean": (4,), "2.batchnorm.running_var": (4,)}
    assert norm.params == 8  # buffers are not parameters
    assert info.buffer_shapes() == {"2.batchnorm.running_mean": (4,), "2.batchnorm.running_var": (4,)}


def test_block_parameter_names_follow_the_spec() -> None:
    info = _model(
        "    layer conv 8 3 pad same\n"
        "    residual\n        layer conv 8 3 pad same\n        layer relu\n"
        "    residual project\n        layer conv 16 3 stride 2 pad 1\n        layer batchnorm\n"
        "    repeat 2\n        layer conv 16 3 pad same\n        residual\n            layer relu\n",
        image="3 8 8",
    )
    names = set(info.param_shapes())
    assert {"1.0.conv.weight", "1.0.conv.bias"} <= names
    assert {"2.0.conv.weight", "2.1.batchnorm.scale", "2.project.conv.weight", "2.project.batchnorm.shift"} <= names
    assert {"3.0.0.conv.weight", "3.1.0.conv.weight"} <= names
    assert info.param_shapes()["2.project.conv.weight"] == (16, 8, 1, 1)  # 1×1, no bias
    assert "2.project.conv.bias" not in names
    assert set(info.buffer_shapes()) == {
        "2.1.batchnorm.running_mean", "2.1.batchnorm.running_var",
        "2.project.batchnorm.running_mean", "2.project.batchnorm.running_var",
    }  # fmt: skip
    repeat = info.layers[3]
    assert [c.kind for c in repeat.children] == ["copy", "copy"]
    assert repeat.params == 2 * (16 * 16 * 9 + 16)
    assert info.total_params == sum(_numel(s) for s in info.param_shapes().values())


def _numel(shape: tuple[int, ...]) -> int:
    out = 1
    for d in shape:
        out *= d
    return out


def test_global_avg_pool_and_flatten_shapes() -> None:
    analysis = analyze("model m\n    input image 4 5 6\n    layer global_avg_pool\n    layer dense 2\n")
    assert analysis.symbols.models["m"].layers[0].output_shape == (4,)
    flat = analyze("model m\n    input image 4 5 6\n    layer flatten\n    layer dense 2\n")
    assert flat.symbols.models["m"].layers[0].output_shape == (120,)
