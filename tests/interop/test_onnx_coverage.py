"""No attribute or input of a supported op is silently ignored (issue 20).

The importer's tables (``HANDLED_ATTRS``, ``REJECTED_ATTRS``, ``INPUTS``) are walked against
every version of every supported op's schema in ``onnx.defs``: each attribute must be handled
or rejected by name, and the importer must read every input the schema can have."""

from __future__ import annotations

import numpy as np
import pytest

from volta_core.interop import OnnxImportError
from volta_core.interop.contract import LOWERINGS
from volta_core.interop.onnx_import import HANDLED_ATTRS, INPUTS, REJECTED_ATTRS

from .helpers import helper, make_model, onnx, run_ort, run_volta

OPS = sorted({*LOWERINGS, "Constant"})


def _schemas(op: str) -> list:
    return [s for s in onnx.defs.get_all_schemas_with_history() if s.name == op and s.domain == ""]


@pytest.mark.parametrize("op", OPS)
def test_every_schema_attribute_and_input_is_handled_or_rejected(op: str) -> None:
    schemas = _schemas(op)
    assert schemas, f"{op} is not an ONNX op"
    assert op in INPUTS, f"{op}: INPUTS does not say how many inputs the importer reads"
    for schema in schemas:
        for attr in schema.attributes:
            assert attr in HANDLED_ATTRS.get(op, ()) or attr in REJECTED_ATTRS.get(op, {}), (
                f"{op} (opset {schema.since_version}): attribute {attr!r} is neither handled nor rejected"
            )
        variadic = schema.inputs and schema.inputs[-1].option == onnx.defs.OpSchema.FormalParameterOption.Variadic
        if variadic:
            assert INPUTS[op] is None, f"{op}: variadic inputs"
        else:
            assert INPUTS[op] is not None and len(schema.inputs) <= INPUTS[op], (
                f"{op} (opset {schema.since_version}) has {len(schema.inputs)} inputs; the importer reads {INPUTS[op]}"
            )


def test_the_tables_name_only_real_attributes() -> None:
    for op, names in {**HANDLED_ATTRS, **REJECTED_ATTRS}.items():
        known = {a for s in _schemas(op) for a in s.attributes}
        assert set(names) <= known, (op, set(names) - known)


def test_a_legacy_axis_broadcast_is_rejected_by_name(tmp_path) -> None:
    x = np.ones((2, 3), np.float32)
    node = helper.make_node("Add", ["x", "b"], ["y"], name="add", broadcast=1, axis=0)
    model = make_model([node], {"x": x}, initializers={"b": np.ones(2, np.float32)}, opset=6)
    with pytest.raises(OnnxImportError, match=r"node 'add', op Add, opset 6: attribute 'axis' is not supported"):
        run_volta(model, {"x": x}, tmp_path)


# ------------------------------------------------------------------- Dropout(training_mode)
X = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)


def _dropout(inits: dict, inputs: list[str], feeds: dict | None = None):
    node = helper.make_node("Dropout", inputs, ["y", "mask"], name="drop")
    return make_model([node], {"x": X, **(feeds or {})}, ("y", "mask"), inits, opset=13)


def test_dropout_in_training_mode_is_rejected_never_the_identity(tmp_path) -> None:
    model = _dropout({"r": np.asarray(0.5, np.float32), "t": np.asarray(True)}, ["x", "r", "t"])
    with pytest.raises(OnnxImportError, match=r"node 'drop'.*training_mode = true with ratio 0.5: random dropout"):
        run_volta(model, {"x": X}, tmp_path)


def test_dropout_with_a_runtime_training_mode_names_the_input(tmp_path) -> None:
    model = _dropout({"r": np.asarray(0.5, np.float32)}, ["x", "r", "t"], {"t": np.asarray(True)})
    with pytest.raises(OnnxImportError, match=r"node 'drop'.*input training_mode \('t'\) must be known at import"):
        run_volta(model, {"x": X, "t": np.asarray(True)}, tmp_path)


@pytest.mark.parametrize("inits", [{"r": np.asarray(0.5, np.float32), "t": np.asarray(False)},
                                   {"r": np.asarray(0.0, np.float32), "t": np.asarray(True)}],
                         ids=["inference", "training-ratio-0"])  # fmt: skip
def test_dropout_that_keeps_everything_is_the_identity(inits, tmp_path) -> None:
    model = _dropout(inits, ["x", "r", "t"])
    got, _ = run_volta(model, {"x": X}, tmp_path)
    want = run_ort(model, {"x": X})
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_dropout_opset6_is_test_0_is_rejected(tmp_path) -> None:
    node = helper.make_node("Dropout", ["x"], ["y"], name="old", is_test=0)
    model = make_model([node], {"x": X}, opset=6)
    with pytest.raises(OnnxImportError, match="is_test = 0"):
        run_volta(model, {"x": X}, tmp_path)


def test_fine_tuning_applies_dropout_seeded_and_inference_does_not(tmp_path) -> None:
    from volta_core.ir.ops import dropout_mask
    from volta_core.nn.imported import load_imported
    from volta_core.nn.network import dropout_key

    rng = np.random.default_rng(0)
    w1, w2 = rng.standard_normal((6, 8)).astype(np.float32), rng.standard_normal((8, 3)).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"]), helper.make_node("Dropout", ["h", "r"], ["d"], name="drop"),
             helper.make_node("MatMul", ["d", "w2"], ["y"])]  # fmt: skip
    x = rng.standard_normal((4, 6)).astype(np.float32)
    model = make_model(nodes, {"x": x}, initializers={"w1": w1, "w2": w2, "r": np.asarray(0.5, np.float32)})
    path = tmp_path / "drop.onnx"
    path.write_bytes(model.SerializeToString())
    net = load_imported(path, "m", None, loss="mse")
    np.testing.assert_allclose(net.predict(x), run_ort(model, {"x": x})[0], rtol=1e-5, atol=1e-5)  # identity
    y = np.zeros((4, 3), np.float32)
    _, first, _ = net.train_step(x, y, step=1, seed=7)
    _, again, _ = net.train_step(x, y, step=1, seed=7)
    _, other, _ = net.train_step(x, y, step=2, seed=7)
    np.testing.assert_array_equal(first, again)  # seeded: the same step gives the same masks
    assert not np.allclose(first, other)
    keep = dropout_mask((4, 8), 0.5, 1, dropout_key(7, 1 * 1_000_003))  # node 1 of the graph, chunk 0
    np.testing.assert_allclose(first, (x @ w1 * keep / 0.5) @ w2, rtol=1e-5, atol=1e-5)
    assert net.loss_on(x, y)[0] == pytest.approx(float(np.mean((x @ w1 @ w2) ** 2)), rel=1e-5)
