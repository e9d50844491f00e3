"""Helpers: build small ONNX models with onnx.helper and run them in Volta and onnxruntime."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from volta_core.interop import import_model  # noqa: E402

ELEM = {
    np.dtype(np.float32): TensorProto.FLOAT,
    np.dtype(np.float64): TensorProto.DOUBLE,
    np.dtype(np.int64): TensorProto.INT64,
    np.dtype(np.int32): TensorProto.INT32,
    np.dtype(np.bool_): TensorProto.BOOL,
}


def make_model(
    nodes: Sequence[onnx.NodeProto],
    inputs: Mapping[str, np.ndarray],
    outputs: Sequence[str] = ("y",),
    initializers: Mapping[str, np.ndarray] | None = None,
    opset: int = 17,
    input_shapes: Mapping[str, Sequence[int | str]] | None = None,
) -> onnx.ModelProto:
    shapes = dict(input_shapes or {})
    graph = helper.make_graph(
        list(nodes),
        "t",
        [helper.make_tensor_value_info(k, ELEM[v.dtype], shapes.get(k, list(v.shape))) for k, v in inputs.items()],
        [helper.make_empty_tensor_value_info(o) for o in outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in (initializers or {}).items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8 if opset <= 17 else 10
    # Output types come from ONNX's own shape inference (onnxruntime needs them declared).
    return onnx.shape_inference.infer_shapes(model, strict_mode=True)


def run_ort(model: onnx.ModelProto, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return [np.asarray(o) for o in sess.run(None, dict(feeds))]


def run_volta(model: onnx.ModelProto, feeds: Mapping[str, np.ndarray], tmp: Path, batch: int | None = None):
    path = tmp / "m.onnx"
    path.write_bytes(model.SerializeToString())
    imported = import_model(path, batch=batch)
    outs = imported.run(feeds)
    return [outs[n] for n in imported.output_names], imported
