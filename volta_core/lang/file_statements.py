"""The statements that move a model through files: ``save`` and ``load``
(safetensors checkpoints, SPEC §3) and ``import`` and ``export`` (ONNX,
docs/onnx.md).

``import "m.onnx" as m [with batch N] [with loss L]`` binds an
:class:`~volta_core.nn.imported.ImportedNetwork` in a ``ModelHandle``, so
``train``/``evaluate``/``infer``/``save``/``load`` run it through the same code as
Volta models. ``export m as "f.onnx"`` writes the model's inference graph
(trailing softmax/sigmoid included). ``onnx`` is imported only when an ONNX
statement runs. Handlers follow the walker rule (``visit_<NodeClass>``);
failures are diagnostics, never tracebacks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from volta_core.check.schema import IMPORT
from volta_core.lang.arguments import error_diagnostic, handle, property_values, resolve_path, unsupported
from volta_core.lang.context import Context, Scope
from volta_core.nn.network import Network, UnsupportedLayer, architecture_json
from volta_core.syntax import ast as A
from volta_core.train.atomic import atomic_write_bytes
from volta_core.train.checkpoint import (
    CheckpointError,
    check_compatible,
    finite_in_float32,
    load_checkpoint,
    read_training_state,
    save_checkpoint,
)
from volta_core.train.runtime import ModelHandle

CHECKPOINT_FORMAT = "volta-checkpoint-1"


# ------------------------------------------------------------- checkpoints
def visit_Save(ctx: Context, stmt: A.Save, scope: Scope) -> None:
    model = handle(ctx, stmt.model, scope, ModelHandle)
    path = resolve_path(ctx, stmt.path, scope)
    net = model.net
    bad = next((name for name in sorted(net.params) if not np.isfinite(net.params[name]).all()), None)
    if bad is not None:
        raise ctx.fail(
            "E0625", f"model `{model.name}` was not saved: its weights are not finite (`{bad}` holds nan or inf)",
            stmt.span, label="nothing was written",
            helps=("train again from finite weights (`load` a good checkpoint, or declare the model again)",),
        )
    metadata = {
        "format": CHECKPOINT_FORMAT,
        "architecture": architecture_json(net.info, net.loss),
        "fingerprint": _fingerprint(net),
        "steps": str(model.steps),
        "epochs": str(model.epochs),
        "seed": str(model.seed),
    }
    state = None
    if stmt.with_optimizer and model.optimizer is not None:
        opt = model.optimizer
        metadata["optimizer"] = json.dumps(
            {"name": opt.name, "momentum": opt.momentum, "weight_decay": opt.weight_decay}, sort_keys=True
        )
        state = opt.state_arrays()
    try:
        save_checkpoint(path, net.weights(), metadata, state)
    except CheckpointError as err:
        raise error_diagnostic(ctx, err, stmt.path.span, "checkpoint") from None
    ctx.write(f"saved {model.name} to {path.name}\n")


def _fingerprint(net: Network) -> str:
    try:
        return net.fingerprint()
    except UnsupportedLayer:
        return ""


def visit_Load(ctx: Context, stmt: A.Load, scope: Scope) -> None:
    """Read, then validate everything (file, architecture, weights, training
    state), then apply: a failing ``load`` leaves the model as it was."""
    model = handle(ctx, stmt.model, scope, ModelHandle)
    path = resolve_path(ctx, stmt.path, scope)
    net = model.net
    try:
        ckpt = load_checkpoint(path)
        shapes = net.param_shapes()
        check_compatible(shapes, {n: tuple(a.shape) for n, a in ckpt.params.items()})
        for name, value in ckpt.params.items():
            if not finite_in_float32(value):
                raise CheckpointError(
                    f"invalid checkpoint `{path}`: parameter `{name}` holds values that are not finite in "
                    "float32 (nan, inf, or beyond ±3.4e38)",
                )
        trained = {name: tuple(value.shape) for name, value in net.params.items()}  # not the buffers
        state = read_training_state(ckpt.metadata, ckpt.optimizer_state, trained, path)
    except CheckpointError as err:
        raise error_diagnostic(ctx, err, stmt.path.span, "checkpoint") from None
    weights = net.weights()  # parameters and batchnorm buffers
    for name, value in ckpt.params.items():
        np.copyto(weights[name], value.astype(np.float32, copy=False))
    model.steps, model.epochs, model.optimizer = state.steps, state.epochs, state.optimizer
    model.metrics.clear()
    model.normalized_by = None  # weights from elsewhere: what they were trained on is not known
    ctx.write(f"loaded {model.name} from {path.name}\n")


# -------------------------------------------------------------------- ONNX
def visit_Import(ctx: Context, stmt: A.Import, scope: Scope) -> None:
    from volta_core.interop.diagnose import classify, import_message
    from volta_core.interop.onnx_import import OnnxImportError
    from volta_core.nn.imported import ImportFitError, load_imported

    path = resolve_path(ctx, stmt.path, scope)
    opts = property_values(ctx, stmt.options, scope, IMPORT)
    batch = opts.get("batch")
    loss = opts.get("loss")
    try:
        net = load_imported(path, stmt.name.id, int(batch) if batch is not None else None,  # type: ignore[call-overload]
                            str(loss) if loss is not None else None)  # fmt: skip
    except OnnxImportError as err:
        raise ctx.fail(
            classify(err), import_message(path.name, err), stmt.path.span, label="this ONNX file",
            helps=_import_helps(err),
        ) from None
    except ImportFitError as err:
        raise ctx.fail(err.code, import_message(path.name, err), stmt.path.span,
                       label="this ONNX file") from None  # fmt: skip
    scope.vars[stmt.name.id] = ModelHandle(stmt.name.id, net, 0)  # type: ignore[assignment]
    batch_text = f"batch {net.fixed_batch}" if net.fixed_batch is not None else "any batch"
    ctx.write(
        f"imported {stmt.name.id} from {path.name}: {len(net.params)} parameter tensors "
        f"({net.info.total_params:,} values), {batch_text}, loss {net.loss}\n"
    )


def _import_helps(err: Any) -> tuple[str, ...]:
    reason = str(getattr(err, "reason", ""))
    if "dynamic batch" in reason:
        return ("write `with batch N` after the import",)
    return ()


def export_network(net: Network, path: Path) -> Any:
    """Write ``net``'s inference graph to ``path`` (atomically); returns the ModelProto.

    The batch axis is exported as the symbolic ``batch`` when the graph does
    not depend on the batch size (the ONNX nodes built at batch 1 and 2 are
    identical); otherwise at the model's batch (fixed batch, or 1).
    """
    import onnx

    from volta_core.interop.onnx_export import graph_to_onnx
    from volta_core.nn.imported import ImportedNetwork

    fixed = net.fixed_batch if isinstance(net, ImportedNetwork) else None
    graph, _, _ = net.build(fixed or 1, training=False)
    model = graph_to_onnx(graph, net.weights(), graph_name=getattr(net.info, "name", "volta"))
    if fixed is None:
        other = graph_to_onnx(net.build(2, training=False)[0], net.weights())
        if [n.SerializeToString() for n in model.graph.node] == [n.SerializeToString() for n in other.graph.node]:
            for v in (*model.graph.input, *model.graph.output):
                dims = v.type.tensor_type.shape.dim
                if dims:
                    dims[0].Clear()
                    dims[0].dim_param = "batch"
            onnx.checker.check_model(model, full_check=True)
    atomic_write_bytes(path, model.SerializeToString())
    return model


def visit_Export(ctx: Context, stmt: A.Export, scope: Scope) -> None:
    from volta_core.interop.diagnose import EXPORT_FAILED
    from volta_core.interop.onnx_export import OnnxExportError

    model = handle(ctx, stmt.model, scope, ModelHandle)
    path = resolve_path(ctx, stmt.path, scope)
    try:
        model.net.check_supported()
        proto = export_network(model.net, path)
    except UnsupportedLayer as err:
        raise unsupported(ctx, err, stmt.span) from None
    except OnnxExportError as err:
        raise ctx.fail(EXPORT_FAILED, f"cannot export `{model.name}`: {err}", stmt.span,
                       label="export") from None  # fmt: skip
    except OSError as err:
        raise ctx.fail("E0801", f"cannot write `{path}`: {err.strerror or err}", stmt.path.span,
                       label="output file") from None  # fmt: skip
    except Exception as err:  # onnx.checker on the batch-symbolic form
        raise ctx.fail(EXPORT_FAILED, f"cannot export `{model.name}`: {err}", stmt.span, label="export") from None
    nodes = len(proto.graph.node)
    ctx.write(f"exported {model.name} to {path.name} (ONNX opset 17, {nodes} nodes)\n")
