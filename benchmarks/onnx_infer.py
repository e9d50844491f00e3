"""``infer`` of an imported ONNX model, Volta next to onnxruntime (issue 20).

The ResNet-18-shaped model of :mod:`benchmarks.torch_cnns` (random weights and
batch-norm statistics, 3×64×64 inputs) is exported by ``torch.onnx.export``
(legacy exporter, constant folding off: BatchNormalization stays a node) at a
fixed batch, imported with ``load_imported`` and run with ``predict`` (what
``infer`` runs); onnxruntime runs the same file on the CPU execution provider
with ``intra_op_num_threads`` set to the benchmark's thread count (2 by
default) and one inter-op thread. :func:`build` checks that both give the same
outputs before anything is timed.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BENCHMARKS = {"infer_onnx_resnet18_b8": 8}


@dataclass(frozen=True)
class Built:
    volta: Callable[[], object]
    peer: Callable[[], object]
    max_diff: float
    threads: int


def threads() -> int:
    """The thread count the suite gave this process (BLAS environment), 2 when unset."""
    return int(os.environ.get("OPENBLAS_NUM_THREADS", "") or 2)


def build(name: str, batch: int | None = None) -> Built:
    import onnxruntime as ort
    import torch

    from benchmarks.torch_cnns import resnet18
    from volta_core.nn.imported import load_imported

    batch = batch or BENCHMARKS[name]
    module = resnet18().eval()
    x = torch.randn(batch, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "resnet18.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (x,), str(path), input_names=["x"], output_names=["y"], opset_version=17,
                              dynamo=False, do_constant_folding=False)  # fmt: skip
        net = load_imported(path, "resnet18", None, loss="mse")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads()
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        session = ort.InferenceSession(path.read_bytes(), opts, providers=["CPUExecutionProvider"])
    xs = x.numpy()
    ours = net.predict(xs)
    theirs = session.run(None, {"x": xs})[0]
    return Built(
        volta=lambda: net.predict(xs),
        peer=lambda: session.run(None, {"x": xs}),
        max_diff=float(np.max(np.abs(ours - theirs))),
        threads=threads(),
    )
