"""``volta info model.onnx``: a summary of an ONNX file without lowering it."""

from __future__ import annotations

import math
import os
from collections import Counter

import onnx

from volta_core.interop.onnx_import import (
    ONNX_DTYPES,
    dtype_name,
    model_opset,
    op_key,
    read_model,
    unsupported_message,
    unsupported_ops,
)
from volta_core.present import format_count, format_shape, tally


def _type(v: onnx.ValueInfoProto) -> str:
    tt = v.type.tensor_type
    elem = ONNX_DTYPES.get(tt.elem_type, dtype_name(tt.elem_type))
    if not tt.HasField("shape"):
        return format_shape(["?"], elem)
    dims = [str(d.dim_value) if d.HasField("dim_value") else (d.dim_param or "?") for d in tt.shape.dim]
    return format_shape(dims, elem)


def describe_onnx(path: str | os.PathLike[str]) -> str:
    """Inputs and outputs with shapes, opset, node count by op type, parameter count, unsupported ops.

    Raises :class:`~volta_core.interop.onnx_import.OnnxImportError` for files
    that cannot be read or parsed.
    """
    model = read_model(path)
    g = model.graph
    init_names = {t.name for t in g.initializer}
    counts = Counter(op_key(n) for n in g.node)
    unsupported = unsupported_ops(g)
    params = sum(math.prod(t.dims) for t in g.initializer if t.data_type in (1, 11))
    try:
        opset = str(model_opset(model))
    except Exception:
        opset = "none"
    producer = f"{model.producer_name} {model.producer_version}".strip() or "unknown"
    lines = [str(path), f"  format: ONNX (ir_version {model.ir_version}, opset {opset}, producer {producer})"]
    inputs = [v for v in g.input if v.name not in init_names]
    lines.append(f"  inputs: {len(inputs)}")
    lines += [f"    {v.name}: {_type(v)}" for v in inputs]
    lines.append(f"  outputs: {len(g.output)}")
    lines += [f"    {v.name}: {_type(v)}" for v in g.output]
    detail = tally(counts)
    lines.append(f"  nodes: {len(g.node)}" + (f" ({detail})" if detail else ""))
    lines.append(f"  parameters: {format_count(params)} in {len(g.initializer)} initializer(s)")
    if unsupported:
        hint = unsupported_message(unsupported).replace("FILE.onnx", os.path.basename(os.fspath(path)))
        lines.append(f"  supported: no ({hint})")
    else:
        lines.append("  supported: yes")
    return "\n".join(lines) + "\n"
