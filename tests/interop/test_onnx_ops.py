"""Every supported ONNX op: a generated model runs in Volta and in onnxruntime with equal outputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from .helpers import helper, make_model, run_ort, run_volta

ATOL = 1e-5
RTOL = 1e-5

rng = np.random.default_rng(0)


def f32(*shape: int, positive: bool = False) -> np.ndarray:
    x = rng.standard_normal(shape).astype(np.float32)
    return np.abs(x) + 0.1 if positive else x


def i64(*values: int) -> np.ndarray:
    return np.asarray(values, np.int64)


@dataclass
class Case:
    id: str
    nodes: list[Any]
    inputs: dict[str, np.ndarray]
    inits: dict[str, np.ndarray] = field(default_factory=dict)
    opset: int = 17
    outputs: tuple[str, ...] = ("y",)


def n(op: str, inputs: list[str], outputs: list[str] | None = None, **attrs: Any) -> Any:
    return helper.make_node(op, inputs, outputs or ["y"], name=f"{op.lower()}_node", **attrs)


X = f32(3, 4)
A, B = f32(2, 3, 4), f32(4)
POS = f32(3, 4, positive=True)
IMG = f32(2, 3, 7, 6)
NAN_ROW = np.asarray([[0.5, np.nan, 3.0, -1.0], [0.0, 0.0, 1.0, 2.5]], np.float32)

CASES = [
    *(Case(op, [n(op, ["a", "b"])], {"a": A, "b": B}) for op in ("Add", "Sub", "Mul")),
    Case("Div", [n("Div", ["a", "b"])], {"a": A, "b": f32(4, positive=True)}),
    *(Case(op, [n(op, ["x"])], {"x": X}) for op in ("Neg", "Relu", "Sigmoid", "Tanh", "Exp", "Abs", "Erf")),
    *(Case(op, [n(op, ["x"])], {"x": POS}) for op in ("Log", "Sqrt")),
    Case("Identity", [n("Identity", ["x"])], {"x": X}),
    Case("MatMul", [n("MatMul", ["a", "w"])], {"a": A}, {"w": f32(4, 5)}),
    Case("MatMul-1d", [n("MatMul", ["a", "v"])], {"a": A}, {"v": f32(4)}),
    Case("MatMul-batched", [n("MatMul", ["a", "b"])], {"a": f32(2, 3, 4), "b": f32(2, 4, 5)}),
    Case("Gemm", [n("Gemm", ["x", "w", "c"])], {"x": X}, {"w": f32(4, 5), "c": f32(5)}),
    Case(
        "Gemm-trans-alpha-beta",
        [n("Gemm", ["w", "x", "c"], transA=1, transB=1, alpha=0.5, beta=2.0)],
        {"x": f32(5, 3)},
        {"w": f32(3, 4), "c": f32(4, 5)},
    ),
    # square operands: a dropped transpose keeps the shapes and changes the values
    Case("Gemm-transB-square", [n("Gemm", ["x", "w", "c"], transB=1)], {"x": X}, {"w": f32(4, 4), "c": f32(4)}),
    Case("Gemm-transA-square", [n("Gemm", ["w", "x"], transA=1)], {"x": f32(4, 3)}, {"w": f32(4, 4)}),
    Case("Transpose-perm", [n("Transpose", ["a"], perm=[2, 0, 1])], {"a": A}),
    Case("Transpose-default", [n("Transpose", ["a"])], {"a": A}),
    Case("LeakyRelu", [n("LeakyRelu", ["x"], alpha=0.2)], {"x": X}),
    Case("Gelu", [n("Gelu", ["x"])], {"x": X}, opset=20),
    Case("Gelu-tanh", [n("Gelu", ["x"], approximate="tanh")], {"x": X}, opset=20),
    Case("Softmax", [n("Softmax", ["a"], axis=1)], {"a": A}),
    Case("Softmax-default", [n("Softmax", ["a"])], {"a": A}),
    Case("Softmax-opset11-axis1", [n("Softmax", ["a"], axis=1)], {"a": A}, opset=11),
    Case("Softmax-opset11-default", [n("Softmax", ["a"])], {"a": A}, opset=11),
    Case("LogSoftmax", [n("LogSoftmax", ["a"], axis=-1)], {"a": A}),
    Case("Pow", [n("Pow", ["x", "p"])], {"x": POS}, {"p": np.asarray(3.0, np.float32)}),
    Case("Pow-constant", [n("Constant", [], ["p"], value_float=2.0), n("Pow", ["x", "p"])], {"x": X}),
    Case("ReduceSum", [n("ReduceSum", ["a", "ax"], keepdims=0)], {"a": A}, {"ax": i64(1)}),
    Case("ReduceSum-all", [n("ReduceSum", ["a"])], {"a": A}),
    Case("ReduceSum-opset11-attr", [n("ReduceSum", ["a"], axes=[0, 2])], {"a": A}, opset=11),
    Case("ReduceMean", [n("ReduceMean", ["a"], axes=[-1])], {"a": A}),
    Case("ReduceMean-opset18-input", [n("ReduceMean", ["a", "ax"], keepdims=0)], {"a": A}, {"ax": i64(1)}, opset=18),
    Case("ReduceMax", [n("ReduceMax", ["a"], axes=[1], keepdims=0)], {"a": A}),
    Case("Reshape-minus1-zero", [n("Reshape", ["a", "s"])], {"a": A}, {"s": i64(0, -1)}),
    Case("Flatten", [n("Flatten", ["a"], axis=2)], {"a": A}),
    Case("Flatten-axis0", [n("Flatten", ["a"], axis=0)], {"a": A}),
    Case("Concat", [n("Concat", ["a", "b"], axis=1)], {"a": f32(2, 3), "b": f32(2, 5)}),
    Case("Concat-static", [n("Concat", ["s", "t"], ["u"], axis=0), n("Reshape", ["a", "u"])], {"a": A},
         {"s": i64(6), "t": i64(4)}),
    Case("Gather-embedding", [n("Gather", ["w", "i"])], {"i": np.asarray([[0, 2], [4, -1]], np.int64)},
         {"w": f32(5, 3)}),
    Case("Gather-axis1-scalar", [n("Gather", ["a", "k"], axis=1)], {"a": A}, {"k": np.asarray(-1, np.int64)}),
    Case("Slice-steps-negatives", [n("Slice", ["a", "st", "en", "ax", "sp"])], {"a": f32(4, 6, 5)},
         {"st": i64(-1, 1), "en": i64(-2**62, 6), "ax": i64(0, 2), "sp": i64(-1, 2)}),
    Case("Slice-default-axes", [n("Slice", ["a", "st", "en"])], {"a": A}, {"st": i64(0, 1), "en": i64(1, -1)}),
    Case("Slice-opset9-attrs", [n("Slice", ["a"], starts=[1], ends=[3], axes=[2])], {"a": A}, opset=9),
    Case("Dropout", [n("Dropout", ["x"], ["y", "mask"])], {"x": X}),
    Case("LayerNormalization", [n("LayerNormalization", ["a", "s", "b"], epsilon=1e-3)], {"a": A},
         {"s": f32(4), "b": f32(4)}),
    Case("LayerNormalization-axis1-nobias", [n("LayerNormalization", ["a", "s"], axis=1)], {"a": A},
         {"s": f32(3, 4)}),
    Case("Unsqueeze", [n("Unsqueeze", ["a", "ax"])], {"a": A}, {"ax": i64(0, -1)}),
    Case("Unsqueeze-opset11-attr", [n("Unsqueeze", ["a"], axes=[1])], {"a": A}, opset=11),
    Case("Squeeze", [n("Squeeze", ["a", "ax"])], {"a": f32(2, 1, 3, 1)}, {"ax": i64(-1)}),
    Case("Squeeze-all", [n("Squeeze", ["a"])], {"a": f32(2, 1, 3, 1)}),
    Case("Squeeze-opset11-attr", [n("Squeeze", ["a"], axes=[1])], {"a": f32(2, 1, 3, 1)}, opset=11),
    Case("Cast", [n("Cast", ["x"], to=7)], {"x": X * 3}),
    Case("Cast-f64", [n("Cast", ["x"], to=11)], {"x": X}),
    Case("Min", [n("Min", ["a", "b", "c"])], {"a": A, "b": B, "c": f32(3, 1)}),
    Case("Max", [n("Max", ["a", "b"])], {"a": A, "b": B}),
    Case("Clip", [n("Clip", ["x", "lo", "hi"])], {"x": X}, {"lo": np.float32(-0.5), "hi": np.float32(0.5)}),
    Case("Clip-max-only", [n("Clip", ["x", "", "hi"])], {"x": X}, {"hi": np.float32(0.3)}),
    Case("Clip-opset6-attrs", [n("Clip", ["x"], min=-0.2, max=0.4)], {"x": X}, opset=6),
    Case("Where-Equal", [n("Equal", ["i", "j"], ["c"]), n("Where", ["c", "a", "b"])],
         {"i": i64(0, 1, 2, 3), "j": i64(0, 5, 2, 7), "a": f32(3, 4), "b": f32(4)}),
    Case("Expand", [n("Expand", ["x", "s"])], {"x": f32(3, 1)}, {"s": i64(2, 1, 4)}),
    Case("Shape-Gather-Unsqueeze-Concat-Reshape", [
        n("Shape", ["a"], ["s"]),
        n("Constant", [], ["zero"], value=helper.make_tensor("z", 7, [], [0])),
        n("Gather", ["s", "zero"], ["b0"], axis=0),
        n("Unsqueeze", ["b0", "ax"], ["b1"]),
        n("Concat", ["b1", "m1"], ["shape"], axis=0),
        n("Reshape", ["a", "shape"]),
    ], {"a": A}, {"ax": i64(0), "m1": i64(-1)}),
    Case("ConstantOfShape", [n("Shape", ["x"], ["s"]), n("ConstantOfShape", ["s"], ["z"],
         value=helper.make_tensor("v", 1, [1], [0.5])), n("Add", ["x", "z"])], {"x": X}),
    Case("Greater-Less", [n("Greater", ["x", "z"], ["g"]), n("Less", ["x", "z"], ["l"]), n("Equal", ["g", "l"], ["y"])],
         {"x": X}, {"z": np.zeros((), np.float32)}),
    # -- images (issue 20) --
    Case("Conv-pads-strides-bias", [n("Conv", ["x", "w", "b"], pads=[1, 0, 2, 1], strides=[2, 1])],
         {"x": IMG}, {"w": f32(4, 3, 3, 2), "b": f32(4)}),
    Case("Conv-dilations-group", [n("Conv", ["x", "w"], dilations=[2, 1], group=3, kernel_shape=[2, 2])],
         {"x": f32(1, 6, 7, 6)}, {"w": f32(3, 2, 2, 2)}),
    Case("Conv-auto-pad-same-upper", [n("Conv", ["x", "w"], auto_pad="SAME_UPPER", strides=[2, 2])],
         {"x": IMG}, {"w": f32(2, 3, 4, 3)}),
    Case("Conv-auto-pad-same-lower", [n("Conv", ["x", "w"], auto_pad="SAME_LOWER")], {"x": IMG}, {"w": f32(2, 3, 2, 2)}),
    Case("Conv-1d", [n("Conv", ["x", "w", "b"], pads=[1, 2], strides=[2], dilations=[2])], {"x": f32(2, 3, 11)},
         {"w": f32(4, 3, 3), "b": f32(4)}),
    Case("ConvTranspose", [n("ConvTranspose", ["x", "w", "b"], strides=[2, 2], pads=[1, 0, 0, 1],
                             output_padding=[1, 1])], {"x": IMG}, {"w": f32(3, 2, 3, 3), "b": f32(2)}),
    Case("ConvTranspose-group-output-shape", [n("ConvTranspose", ["x", "w"], strides=[2, 2], group=3,
                                                output_shape=[10, 9])], {"x": IMG}, {"w": f32(3, 1, 2, 2)}),
    Case("BatchNormalization", [n("BatchNormalization", ["x", "s", "b", "m", "v"], epsilon=1e-3)], {"x": IMG},
         {"s": f32(3), "b": f32(3), "m": f32(3), "v": f32(3, positive=True)}),
    Case("BatchNormalization-2d", [n("BatchNormalization", ["x", "s", "b", "m", "v"])], {"x": X},
         {"s": f32(4), "b": f32(4), "m": f32(4), "v": f32(4, positive=True)}),
    Case("MaxPool-ceil-dilations-pads", [n("MaxPool", ["x"], kernel_shape=[3, 2], strides=[2, 2], pads=[1, 1, 1, 0],
                                           dilations=[1, 2], ceil_mode=1)], {"x": IMG}),
    Case("MaxPool-1d-same", [n("MaxPool", ["x"], kernel_shape=[3], strides=[2], auto_pad="SAME_UPPER")],
         {"x": f32(2, 3, 9)}),
    Case("AveragePool-count-include-pad", [n("AveragePool", ["x"], kernel_shape=[3, 3], strides=[2, 2],
                                             pads=[1, 1, 1, 1], count_include_pad=1)], {"x": IMG}),
    Case("AveragePool-exclude-pad-ceil", [n("AveragePool", ["x"], kernel_shape=[3, 2], strides=[2, 2],
                                            pads=[1, 0, 1, 0], ceil_mode=1)], {"x": IMG}),
    Case("GlobalAveragePool", [n("GlobalAveragePool", ["x"])], {"x": IMG}),
    Case("GlobalMaxPool", [n("GlobalMaxPool", ["x"])], {"x": IMG}),
    *(Case(f"Pad-{mode}", [n("Pad", ["x", "p"], mode=mode)], {"x": IMG}, {"p": i64(0, 0, 1, 2, 0, 0, 2, 1)})
      for mode in ("reflect", "edge")),
    Case("Pad-constant-value-axes", [n("Pad", ["x", "p", "v", "ax"])], {"x": IMG},
         {"p": i64(1, -1, 2, 3), "v": np.asarray(1.5, np.float32), "ax": i64(2, -1)}, opset=18),
    Case("Pad-opset2-attrs", [n("Pad", ["x"], pads=[0, 0, 1, 1, 0, 0, 1, 0], value=2.0)], {"x": IMG}, opset=2),
    *(Case(f"Resize-{mode}-{how}", [n("Resize", ["x", "", "s"], mode=mode, coordinate_transformation_mode=how)],
           {"x": IMG}, {"s": np.asarray([1, 1, 2, 1.5], np.float32)}, opset=13)
      for mode in ("nearest", "linear") for how in ("half_pixel", "pytorch_half_pixel", "asymmetric", "align_corners")),
    Case("Resize-sizes-nearest-floor", [n("Resize", ["x", "", "", "z"], nearest_mode="floor")], {"x": IMG},
         {"z": i64(2, 3, 3, 11)}, opset=13),
    Case("Resize-opset10", [n("Resize", ["x", "s"], mode="nearest")], {"x": IMG},
         {"s": np.asarray([1, 1, 2, 2], np.float32)}, opset=10),
    Case("Pow-tensor-exponent", [n("Pow", ["x", "p"])], {"x": X}, {"p": np.asarray([2, 3, 0, 1], np.float32)}),
    Case("Mod-Size-CastLike", [n("Size", ["x"], ["s"]), n("Mod", ["s", "k"], ["m"]), n("CastLike", ["m", "x"], ["c"]),
                               n("Add", ["x", "c"])], {"x": X}, {"k": i64(5)}),
    Case("Reciprocal", [n("Reciprocal", ["x"])], {"x": POS}),
    Case("LessOrEqual-GreaterOrEqual-Not-And-Or-Xor", [
        n("LessOrEqual", ["a", "b"], ["le"]), n("GreaterOrEqual", ["a", "b"], ["ge"]), n("Not", ["le"], ["nle"]),
        n("And", ["nle", "ge"], ["both"]), n("Or", ["le", "ge"], ["either"]), n("Xor", ["both", "either"], ["y"]),
    ], {"a": NAN_ROW, "b": np.asarray([0.5, 0.0, 1.0, 2.0], np.float32)}, outputs=("y", "le", "ge", "nle")),
    Case("LayerNormalization-mean-invstd", [n("LayerNormalization", ["a", "s", "b"], ["y", "mu", "inv"], axis=-1)],
         {"a": A}, {"s": f32(4), "b": f32(4)}, outputs=("y", "mu", "inv")),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_op_matches_onnxruntime(case: Case, tmp_path) -> None:
    model = make_model(case.nodes, case.inputs, case.outputs, case.inits, case.opset)
    expected = run_ort(model, case.inputs)
    got, _ = run_volta(model, case.inputs, tmp_path)
    for e, g in zip(expected, got, strict=True):
        assert g.shape == e.shape
        assert g.dtype == e.dtype
        np.testing.assert_allclose(g, e, rtol=RTOL, atol=ATOL)


def test_every_supported_op_has_a_case() -> None:
    from volta_core.interop import supported_ops

    covered = {node.op_type for case in CASES for node in case.nodes}
    assert set(supported_ops()) | {"Constant"} <= covered
