"""The ONNX inference benchmark runs the same model on both sides (checked at batch 1; nothing is timed)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from benchmarks.onnx_infer import BENCHMARKS, build
from benchmarks.suite import markdown
from benchmarks.workloads import SPECS


def test_volta_and_onnxruntime_compute_the_same_resnet18() -> None:
    built = build("infer_onnx_resnet18_b8", batch=1)
    assert built.max_diff < 1e-4
    assert all(SPECS[name].kind == "onnx" for name in BENCHMARKS)


def test_the_report_names_the_onnxruntime_peer() -> None:
    stat = {"median": 2.0, "q1": 1.0, "q3": 3.0}
    doc = {"machine": {"cpu": "x", "cores": 2, "numpy": "2", "numpy_blas": "b", "torch": "t"},
           "threads": {"volta_blas": 2, "torch": 2}, "matmul_peak_gflops": 1.0, "created": "now", "quick": True,
           "seconds": 1, "benchmarks": {"infer_onnx_resnet18_b8": {
               "status": "ok", "ratio": 1.0, "volta": stat, "peer": stat, "kind": "onnx",
               "peer_name": "onnxruntime CPU (2 intra-op threads)"}}}  # fmt: skip
    assert "infer_onnx_resnet18_b8 (peer: onnxruntime CPU (2 intra-op threads))" in markdown(doc)
