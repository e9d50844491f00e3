"""A corpus of malformed or unsupported ONNX files, each with its expected diagnostic.

``CASES`` maps a case name to (build, code, phrase): ``build(folder)`` returns
the file's bytes (and may write files beside it); importing it must fail with
``code`` and a message containing ``phrase``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F = TensorProto.FLOAT


def _vi(name: str, shape: list[int | str] | None, elem: int = F) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, shape)


def _model(
    nodes: list[onnx.NodeProto],
    inputs: list[onnx.ValueInfoProto] | None = None,
    outputs: list[onnx.ValueInfoProto] | None = None,
    inits: dict[str, np.ndarray] | None = None,
    opset: int = 17,
    ir: int = 8,
    domain: str = "",
) -> onnx.ModelProto:
    g = helper.make_graph(
        nodes, "g", inputs if inputs is not None else [_vi("x", [2, 3])],
        outputs if outputs is not None else [_vi("y", ["n", "m"])],
        [numpy_helper.from_array(v, k) for k, v in (inits or {}).items()],
    )  # fmt: skip
    m = helper.make_model(g, opset_imports=[helper.make_opsetid(domain, opset)])
    m.ir_version = ir
    return m


def _b(m: onnx.ModelProto) -> bytes:
    return m.SerializeToString()


def _relu() -> onnx.ModelProto:
    return _model([helper.make_node("Relu", ["x"], ["y"], name="r")])


def _n(op: str, ins: list[str], outs: list[str], name: str, **kw: object) -> onnx.NodeProto:
    return helper.make_node(op, ins, outs, name=name, **kw)


W = np.ones((3, 4), np.float32)


def _external(folder: Path) -> bytes:
    t = numpy_helper.from_array(W, "w")
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "weights.bin"), ("offset", "0"), ("length", "48")):
        e = t.external_data.add()
        e.key, e.value = k, v
    m = _model([_n("MatMul", ["x", "w"], ["y"], "mm")])
    m.graph.initializer.append(t)
    return _b(m)


def _huge_init(folder: Path) -> bytes:
    t = TensorProto(name="w", data_type=F, dims=[100000, 100000], raw_data=b"\0\0\0\0")
    m = _model([_n("MatMul", ["x", "w"], ["y"], "mm")], inputs=[_vi("x", [2, 100000])])
    m.graph.initializer.append(t)
    return _b(m)


def _duplicate_initializer(folder: Path) -> bytes:
    m = _model([_n("Add", ["x", "b"], ["y"], "add")], inits={"b": np.ones(3, np.float32)})
    m.graph.initializer.append(numpy_helper.from_array(np.zeros(3, np.float32), "b"))
    return _b(m)


def _custom_domain(folder: Path) -> bytes:
    m = _model([_n("Fancy", ["x"], ["y"], "f", domain="com.acme")])
    m.opset_import.append(helper.make_opsetid("com.acme", 1))
    return _b(m)


Build = Callable[[Path], bytes]

CASES: dict[str, tuple[Build, str, str]] = {
    # ------------------------------------------------ not an ONNX file / fails the checker: E0807
    "truncated": (lambda d: _b(_model([_n("MatMul", ["x", "w"], ["y"], "mm")], inits={"w": W}))[:40],
                  "E0807", "malformed protobuf"),
    "garbage_bytes": (lambda d: b"\x08\x07garbage\xff\xfe not protobuf", "E0807", "malformed protobuf"),
    "empty_file": (lambda d: b"", "E0807", "malformed protobuf"),
    "json_text": (lambda d: b'{"graph": {"node": []}}', "E0807", "malformed protobuf"),
    "zero_ir_version": (lambda d: _b(_model([_n("Relu", ["x"], ["y"], "r")], ir=0)), "E0807", "malformed protobuf"),
    "empty_graph": (lambda d: _b(_model([], inputs=[], outputs=[])), "E0807", "no IR version, graph or graph outputs"),
    "cycle": (lambda d: _b(_model([_n("Add", ["x", "b"], ["a"], "first"), _n("Relu", ["a"], ["b"], "second")],
                                  outputs=[_vi("a", ["n", "m"])])), "E0807", "topologically sorted"),
    "missing_initializer": (lambda d: _b(_model([_n("MatMul", ["x", "w"], ["y"], "mm")])), "E0807",
                            "topologically sorted"),
    "undefined_output": (lambda d: _b(_model([_n("Relu", ["x"], ["h"], "r")])), "E0807", "invalid ONNX model"),
    "bad_opset": (lambda d: _b(_model([_n("Relu", ["x"], ["y"], "r")], opset=999)), "E0807", "opset 999 is not supported"),
    "no_default_opset": (lambda d: _b(_model([_n("Relu", ["x"], ["y"], "r", domain="my.ops")], domain="my.ops")),
                         "E0808", "op my.ops::Relu, opset 17: unsupported op my.ops::Relu"),
    "duplicate_output_name": (lambda d: _b(_model([_n("Relu", ["x"], ["y"], "a"), _n("Neg", ["x"], ["y"], "b")])),
                              "E0807", "invalid ONNX model"),
    "duplicate_initializer": (_duplicate_initializer, "E0807", "invalid ONNX model"),
    "external_data_missing": (_external, "E0807", "does not exist"),
    "huge_initializer_short_data": (_huge_init, "E0807", "too small for the declared shape"),
    "wrong_attribute_type": (lambda d: _b(_model([_n("Softmax", ["x"], ["y"], "sm", axis=1.5)])),
                             "E0807", "invalid ONNX model"),
    # ------------------------------------------------------------------ unsupported ops: E0808
    "unsupported_hardmax": (lambda d: _b(_model([_n("Hardmax", ["x"], ["y"], "hm")])), "E0808",
                            "node 'hm', op Hardmax, opset 17: unsupported op Hardmax"),
    "unsupported_conv3d": (lambda d: _b(_model([_n("Conv", ["x", "k"], ["y"], "conv")],
                                               inputs=[_vi("x", [1, 1, 4, 4, 4])],
                                               inits={"k": np.ones((1, 1, 2, 2, 2), np.float32)})),
                           "E0810", "X has rank 5"),
    "unsupported_lstm": (lambda d: _b(_model([_n("Sin", ["x"], ["h"], "sin"), _n("Relu", ["h"], ["y"], "r")])),
                         "E0808", "unsupported op Sin"),
    "custom_domain": (_custom_domain, "E0808", "com.acme::Fancy"),
    "unsupported_topk_later": (lambda d: _b(_model([_n("Relu", ["x"], ["h"], "r"), _n("Erf", ["h"], ["e"], "erf"),
                                                    _n("Round", ["e"], ["y"], "round_me")])),
                               "E0808", "node 'round_me'"),
    # ---------------------------------------------------------- dtypes and shapes: E0809
    "float16_input": (lambda d: _b(_model([_n("Relu", ["x"], ["y"], "r")], inputs=[_vi("x", [2, 3], TensorProto.FLOAT16)])),
                      "E0809", "unsupported dtype float16"),
    "string_initializer": (lambda d: _b(_model([_n("Identity", ["x"], ["y"], "i")],
                                               inits={"s": np.array(["a"], dtype=object)})),
                           "E0809", "unsupported dtype string"),
    "uint8_cast": (lambda d: _b(_model([_n("Cast", ["x"], ["y"], "to_u8", to=TensorProto.UINT8)])), "E0809",
                   "cast to unsupported dtype uint8"),
    "dynamic_inner_dim": (lambda d: _b(_model([_n("Relu", ["x"], ["y"], "r")], inputs=[_vi("x", [2, "width"])])),
                          "E0809", "dynamic dimension 'width' at axis 1"),
    "input_without_shape": (lambda d: _b(_model([_n("Relu", ["x"], ["y"], "r")], inputs=[_vi("x", None)])),
                            "E0807", "Field 'shape' of 'type' is required"),
    "huge_input": (lambda d: _b(_model([_n("Relu", ["x"], ["y"], "r")], inputs=[_vi("x", [1, 10**12])])),
                   "E0809", "over the limit"),
    # --------------------------------------------------------- cannot be lowered: E0810
    "runtime_reshape_shape": (lambda d: _b(_model([_n("Cast", ["x"], ["s"], "c", to=TensorProto.INT64),
                                                   _n("Reshape", ["x", "s2"], ["y"], "reshape_me"),
                                                   ], inputs=[_vi("x", [2, 3]), _vi("s2", [2], TensorProto.INT64)])),
                              "E0810", "reshape_me"),
    "matmul_mismatch": (lambda d: _b(_model([_n("MatMul", ["x", "w"], ["y"], "mm_bad")],
                                            inits={"w": np.ones((4, 5), np.float32)})), "E0810", "mm_bad"),
    "broadcast_mismatch": (lambda d: _b(_model([_n("Add", ["x", "b"], ["y"], "add_bad")],
                                               inits={"b": np.ones((5,), np.float32)})), "E0810", "add_bad"),
    "softmax_axis_out_of_range": (lambda d: _b(_model([_n("Softmax", ["x"], ["y"], "sm", axis=7)])),
                                  "E0810", "node 'sm'"),
    "concat_axis_out_of_range": (lambda d: _b(_model([_n("Concat", ["x", "x"], ["y"], "cat", axis=5)])),
                                 "E0810", "node 'cat'"),
    "transpose_bad_perm": (lambda d: _b(_model([_n("Transpose", ["x"], ["y"], "tr", perm=[0, 0])])),
                           "E0810", "node 'tr'"),
    "runtime_pow_exponent": (lambda d: _b(_model([_n("Pow", ["x", "x"], ["y"], "pow_dyn")])), "E0810", "pow_dyn"),
    # ------------------------------------------------------ imports, but is not a model: E0812
    "two_outputs": (lambda d: _b(_model([_n("Relu", ["x"], ["y"], "r"), _n("Neg", ["x"], ["z"], "n")],
                                        outputs=[_vi("y", ["n", "m"]), _vi("z", ["n", "m"])])), "E0812", "2 outputs"),
    "two_inputs": (lambda d: _b(_model([_n("Add", ["x", "x2"], ["y"], "add")], inputs=[_vi("x", [2, 3]), _vi("x2", [2, 3])])),
                   "E0812", "2 inputs"),
    "integer_output": (lambda d: _b(_model([_n("Cast", ["x"], ["y"], "c", to=TensorProto.INT64)])), "E0812",
                       "must be floating point"),
    "no_batch_axis": (lambda d: _b(_model([_n("ReduceSum", ["x"], ["y"], "rs", keepdims=0)], outputs=[_vi("y", [])])),
                      "E0812",
                      "do not share a batch dimension"),
}
