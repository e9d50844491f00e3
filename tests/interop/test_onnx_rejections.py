"""Loud, precise rejections; the contract's own validation; `volta info model.onnx`."""

from __future__ import annotations

import numpy as np
import pytest

from volta_core.cli import main
from volta_core.interop import (
    Contract,
    ContractError,
    ContractNode,
    OnnxImportError,
    TensorSpec,
    describe_onnx,
    import_model,
    load_onnx,
    supported_ops,
)

from .helpers import TensorProto, helper, make_model, numpy_helper, onnx, run_ort, run_volta

X = np.zeros((2, 3), np.float32)


def _save(model, tmp_path, name: str = "m.onnx"):
    path = tmp_path / name
    path.write_bytes(model.SerializeToString())
    return path


def test_unsupported_op_names_node_op_opset_and_lists_every_unsupported_op(tmp_path) -> None:
    model = make_model([helper.make_node("Relu", ["x"], ["h"], name="r"),
                        helper.make_node("Hardmax", ["h"], ["h2"], name="hm"),
                        helper.make_node("Sin", ["h2"], ["h3"], name="s1"),
                        helper.make_node("Hardmax", ["h3"], ["h4"], name="hm2"),
                        helper.make_node("Sin", ["h4"], ["h5"], name="s2"),
                        helper.make_node("Sin", ["h5"], ["y"], name="s3")], {"x": X}, opset=13)  # fmt: skip
    with pytest.raises(OnnxImportError) as err:
        import_model(_save(model, tmp_path))
    e = err.value
    assert (e.node, e.op_type, e.opset) == ("hm", "Hardmax", 13)
    assert "unsupported ops Hardmax ×2, Sin ×3; `volta info FILE.onnx` lists the file's ops, docs/onnx.md" in str(e)
    assert "Abs" not in str(e) and len(str(e)) < 200  # short: no list of supported ops
    assert supported_ops()


def test_custom_domain_op_is_unsupported(tmp_path) -> None:
    node = helper.make_node("Foo", ["x"], ["y"], name="f", domain="com.example")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)])
    with pytest.raises(OnnxImportError, match=r"node .f., op com.example::Foo, opset 1: unsupported op com.example::Foo;"):
        load_onnx(_save(model, tmp_path))


@pytest.mark.parametrize("data", [b"", b"\x00\x01garbage\xff" * 10, b"not an onnx file at all"])
def test_malformed_protobuf(tmp_path, data: bytes) -> None:
    path = tmp_path / "bad.onnx"
    path.write_bytes(data)
    with pytest.raises(OnnxImportError, match="malformed protobuf"):
        import_model(path)


def test_truncated_model_is_rejected(tmp_path) -> None:
    model = make_model([helper.make_node("Relu", ["x"], ["y"])], {"x": X}, initializers={"w": np.ones(64, np.float32)})
    path = tmp_path / "t.onnx"
    path.write_bytes(model.SerializeToString()[:-40])
    with pytest.raises(OnnxImportError):
        import_model(path)


def test_missing_file_and_size_limit(tmp_path) -> None:
    with pytest.raises(OnnxImportError, match="cannot read"):
        import_model(tmp_path / "absent.onnx")
    model = make_model([helper.make_node("Relu", ["x"], ["y"])], {"x": X})
    with pytest.raises(OnnxImportError, match="over the 10-byte limit"):
        import_model(_save(model, tmp_path), max_bytes=10)


def _external_model(tmp_path, location: str):
    w = numpy_helper.from_array(np.ones((3, 4), np.float32), "w")
    w.data_location = TensorProto.EXTERNAL
    w.ClearField("raw_data")
    for k, v in (("location", location), ("offset", "0"), ("length", "48")):
        entry = w.external_data.add()
        entry.key, entry.value = k, v
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])], [w])  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return _save(model, tmp_path)


def test_external_data_missing_escaping_or_short(tmp_path) -> None:
    path = _external_model(tmp_path, "weights.bin")
    with pytest.raises(OnnxImportError, match=r"external data file .*weights.bin' does not exist"):
        import_model(path)
    (tmp_path / "weights.bin").write_bytes(b"\x00" * 8)
    with pytest.raises(OnnxImportError, match="is shorter than the 48 bytes"):
        import_model(path)
    (tmp_path / "weights.bin").write_bytes(np.full((3, 4), 2.0, np.float32).tobytes())
    model = import_model(path)
    np.testing.assert_array_equal(model.params["w"], np.full((3, 4), 2.0, np.float32))
    with pytest.raises(OnnxImportError, match="must be a relative path inside the model's folder"):
        import_model(_external_model(tmp_path, "../outside.bin"))


def test_dynamic_batch_needs_a_batch_size(tmp_path) -> None:
    model = make_model([helper.make_node("Relu", ["x"], ["y"])], {"x": X}, input_shapes={"x": ["N", 3]})
    path = _save(model, tmp_path)
    with pytest.raises(OnnxImportError, match=r"dynamic batch dimension 'N' at axis 0; give a batch size"):
        import_model(path)
    m = import_model(path, batch=7)
    assert m.graph.node(m.graph.inputs[0]).shape == (7, 3)
    with pytest.raises(OnnxImportError, match="batch must be a positive integer"):
        import_model(path, batch=0)


def test_dynamic_inner_dimension_cannot_be_resolved(tmp_path) -> None:
    model = make_model([helper.make_node("Relu", ["x"], ["y"])], {"x": X}, input_shapes={"x": [2, "T"]})
    with pytest.raises(OnnxImportError, match=r"dynamic dimension 'T' at axis 1 that cannot be resolved"):
        import_model(_save(model, tmp_path), batch=2)


def test_runtime_dependent_shape_is_rejected_with_node(tmp_path) -> None:
    nodes = [helper.make_node("Cast", ["s"], ["si"], name="c", to=TensorProto.INT64),
             helper.make_node("Reshape", ["x", "si"], ["y"], name="rs")]  # fmt: skip
    model = make_model(nodes, {"x": X, "s": np.array([3.0, 2.0], np.float32)})
    with pytest.raises(OnnxImportError) as err:
        import_model(_save(model, tmp_path))
    assert err.value.node == "rs" and err.value.op_type == "Reshape"
    assert "input shape ('si') must be known at import time" in str(err.value)


@pytest.mark.parametrize(("op", "slot"), [("Pad", "pads"), ("Resize", "scales")])
def test_runtime_pads_and_scales_are_rejected_naming_the_input(op: str, slot: str, tmp_path) -> None:
    img = np.ones((1, 1, 4, 4), np.float32)
    inputs = ["x", "p"] if op == "Pad" else ["x", "", "p"]
    value = np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64) if op == "Pad" else np.array([1, 1, 2, 2], np.float32)
    model = make_model([helper.make_node(op, inputs, ["y"], name="n")], {"x": img, "p": value})
    with pytest.raises(OnnxImportError, match=rf"node 'n', op {op}, opset 17: input {slot} \('p'\) must be known"):
        import_model(_save(model, tmp_path))


def test_pads_computed_from_static_shapes_fold_at_import(tmp_path) -> None:
    # pads = [0, 0, H mod 3, 1, 0, 0, Size(x) mod 2, 1] computed in the graph, as exporters write them
    img = np.arange(20, dtype=np.float32).reshape(1, 1, 4, 5)
    nodes = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Gather", ["s", "two"], ["h"], axis=0),
             helper.make_node("Mod", ["h", "three"], ["hm"]), helper.make_node("Size", ["x"], ["n"]),
             helper.make_node("Mod", ["n", "twoi"], ["nm"]), helper.make_node("Unsqueeze", ["hm", "ax"], ["hu"]),
             helper.make_node("Unsqueeze", ["nm", "ax"], ["nu"]),
             helper.make_node("Concat", ["zz", "hu", "one", "zz", "nu", "one"], ["pads"], axis=0),
             helper.make_node("Pad", ["x", "pads"], ["y"], mode="edge")]  # fmt: skip
    inits = {"two": np.array(2, np.int64), "three": np.array(3, np.int64), "twoi": np.array(2, np.int64),
             "ax": np.array([0], np.int64), "zz": np.array([0, 0], np.int64), "one": np.array([1], np.int64)}
    model = make_model(nodes, {"x": img}, initializers=inits)
    got, imported = run_volta(model, {"x": img}, tmp_path)
    np.testing.assert_array_equal(got[0], run_ort(model, {"x": img})[0])
    assert [n.op for n in imported.graph.nodes if n.op not in ("input", "parameter")] == ["pad"]


def test_unsupported_dtype(tmp_path) -> None:
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="r")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT16, [2, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT16, [2, 3])])  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(OnnxImportError, match="unsupported dtype float16"):
        import_model(_save(model, tmp_path))


def test_invalid_model_fails_the_checker(tmp_path) -> None:
    # The node reads a value nobody defines.
    graph = helper.make_graph([helper.make_node("Relu", ["ghost"], ["y"], name="r")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(OnnxImportError, match="invalid ONNX model"):
        import_model(_save(model, tmp_path))


# ---------------------------------------------------------------------------
# The contract
# ---------------------------------------------------------------------------
def _contract(**over) -> Contract:
    fields = dict(
        inputs=[TensorSpec("x", (2, 3), "f32")],
        outputs=[TensorSpec("y", (2, 4), "f32")],
        initializers={"w": np.ones((3, 4), np.float32)},
        constants={"k": np.float32(2.0) * np.ones(4, np.float32)},
        nodes=[ContractNode("mm", "MatMul", ("x", "w"), ("h",)), ContractNode("mul", "Mul", ("h", "k"), ("y",))],
        opset=17,
    )
    fields.update(over)
    return Contract(**fields)


def test_contract_lowers_initializers_to_parameters_and_constants_to_constants() -> None:
    graph, mapping = _contract().to_graph()
    assert [graph.name_of(p) for p in graph.params] == ["w"]
    assert any(n.op == "constant" for n in graph)
    assert graph.node(mapping["y"]).shape == (2, 4)
    assert set(mapping) == {"x", "w", "y"}


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"version": "volta-interop/99"}, "unknown contract version 'volta-interop/99'"),
        ({"constants": {"x": np.ones(1, np.float32)}}, "name 'x' is defined twice"),
        ({"nodes": [ContractNode("mm", "MatMul", ("x", "nope"), ("y",))]}, "input 'nope' is not defined"),
        ({"nodes": [ContractNode("z", "Frobnicate", ("x",), ("y",))]}, "unsupported op \\(docs/onnx.md lists the supported ones\\)"),
        ({"inputs": [TensorSpec("x", (2, 3), "f16")]}, "unsupported dtype f16"),
        ({"inputs": [TensorSpec("x", (None, 3), "f32")]}, "unresolved shape"),
        ({"initializers": {"w": np.ones((3, 4), np.int64)}}, "trainable values must be floats"),
        ({"outputs": [TensorSpec("zz", None, "f32")]}, "graph output 'zz' is never defined"),
        ({"outputs": [TensorSpec("y", (2, 5), "f32")]}, r"declared shape \[2, 5\], computed \[2, 4\]"),
    ],
)
def test_contract_validation_rejects(over, message) -> None:
    with pytest.raises(ContractError, match=message):
        _contract(**over).to_graph()


def test_contract_lowering_error_names_the_node() -> None:
    bad = [ContractNode("mm", "MatMul", ("x", "x"), ("y",))]
    with pytest.raises(ContractError, match=r"node 'mm' \(MatMul\): cannot lower to the IR: matmul: inner"):
        _contract(nodes=bad, outputs=[TensorSpec("y", None, "f32")]).to_graph()


# ---------------------------------------------------------------------------
# volta info model.onnx
# ---------------------------------------------------------------------------
def test_describe_onnx_summary(tmp_path) -> None:
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"), helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Hardmax", ["r"], ["y"])]  # fmt: skip
    model = make_model(nodes, {"x": X}, initializers={"w": np.ones((3, 5), np.float32)}, input_shapes={"x": ["N", 3]})
    text = describe_onnx(_save(model, tmp_path))
    assert "opset 17" in text
    assert "x: f32[N, 3]" in text
    assert "y: f32[N, 5]" in text
    assert "nodes: 3 (Hardmax 1, MatMul 1, Relu 1)" in text
    assert "parameters: 15 in 1 initializer(s)" in text
    assert "supported: no (unsupported op Hardmax; `volta info m.onnx`" in text


def test_cli_info_onnx(tmp_path, capsys) -> None:
    model = make_model([helper.make_node("Relu", ["x"], ["y"])], {"x": X})
    path = _save(model, tmp_path)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "supported: yes" in out and "x: f32[2, 3]" in out
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"garbage")
    assert main(["info", str(bad)]) == 1
    assert "malformed protobuf" in capsys.readouterr().err
    assert isinstance(onnx.load(str(path)), onnx.ModelProto)


def test_check_run_and_info_give_the_same_unsupported_op_hint(tmp_path, capsys) -> None:
    nodes = [helper.make_node("Hardmax", ["x"], ["h"], name="hm"), helper.make_node("Sin", ["h"], ["s"]),
             helper.make_node("Sin", ["s"], ["y"])]  # fmt: skip
    _save(make_model(nodes, {"x": X}), tmp_path, "bad.onnx")
    program = tmp_path / "p.vt"
    program.write_text('import "bad.onnx" as m\n')
    hint = "unsupported ops Hardmax, Sin ×2; `volta info bad.onnx` lists the file's ops, docs/onnx.md the supported ones"
    for argv in (["check", str(program)], ["run", str(program)], ["info", str(tmp_path / "bad.onnx")]):
        assert main(argv) == 1
        captured = capsys.readouterr()
        assert hint in captured.out + captured.err, argv


def test_a_model_of_only_ml_domain_ops_names_op_and_domain(tmp_path) -> None:
    node = helper.make_node("Scaler", ["x"], ["y"], name="sc", domain="ai.onnx.ml", scale=[2.0, 2.0, 2.0])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("ai.onnx.ml", 3)])
    with pytest.raises(OnnxImportError, match=r"node 'sc', op ai.onnx.ml::Scaler, opset 3: unsupported op ai.onnx.ml::Scaler;"):
        load_onnx(_save(model, tmp_path))
