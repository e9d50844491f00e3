"""The ``import`` and ``export`` statements, and ``inspect`` of imported models (docs/onnx.md).

``import "m.onnx" as m [with batch N] [with loss L]`` binds an
:class:`~volta_core.nn.imported.ImportedNetwork` in a ``ModelHandle``, so
``train``/``evaluate``/``infer``/``save``/``load`` run it through the same code as
Volta models. ``export m as "f.onnx"`` writes the model's inference graph
(trailing softmax/sigmoid included) with :func:`graph_to_onnx`.
Failures are diagnostics ``E0801`` and ``E0807``–``E0812`` (never tracebacks).
``onnx`` is imported only when one of these statements runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from volta_core.nn.network import Network, UnsupportedLayer
from volta_core.syntax import ast as A
from volta_core.train.atomic import atomic_write_bytes
from volta_core.train.runtime import ModelHandle

if TYPE_CHECKING:
    from volta_core.lang.interpreter import Interpreter, Scope


def exec_import(interp: Interpreter, stmt: A.Import, scope: Scope) -> None:
    from volta_core.interop.diagnose import DOES_NOT_FIT, classify
    from volta_core.interop.onnx_import import OnnxImportError
    from volta_core.lang.training import _path, _props, _single
    from volta_core.nn.imported import ImportFitError, load_imported

    path = _path(interp, stmt.path, scope)
    opts = _single(_props(interp, stmt.options, scope))
    batch = opts.get("batch")
    loss = opts.get("loss")
    try:
        net = load_imported(path, stmt.name.id, int(batch) if batch is not None else None,  # type: ignore[call-overload]
                            str(loss) if loss is not None else None)  # fmt: skip
    except OnnxImportError as err:
        raise interp.fail(
            classify(err), f"cannot import `{path.name}`: {err}", stmt.path.span, label="this ONNX file",
            helps=_import_helps(err),
        ) from None
    except ImportFitError as err:
        raise interp.fail(DOES_NOT_FIT, f"cannot import `{path.name}`: {err}", stmt.path.span,
                          label="this ONNX file") from None  # fmt: skip
    scope.vars[stmt.name.id] = ModelHandle(stmt.name.id, net, 0)  # type: ignore[assignment]
    batch_text = f"batch {net.fixed_batch}" if net.fixed_batch is not None else "any batch"
    interp.write(
        f"imported {stmt.name.id} from {path.name}: {len(net.params)} parameter tensors "
        f"({net.info.total_params:,} values), {batch_text}, loss {net.loss}\n"
    )


def _import_helps(err: Any) -> tuple[str, ...]:
    reason = str(getattr(err, "reason", ""))
    if "dynamic batch" in reason:
        return ("write `with batch N` after the import",)
    if reason.startswith("unsupported op"):
        return ("`volta info FILE.onnx` lists every op the file uses and which Volta does not support",)
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
    model = graph_to_onnx(graph, net.params, graph_name=getattr(net.info, "name", "volta"))
    if fixed is None:
        other = graph_to_onnx(net.build(2, training=False)[0], net.params)
        if [n.SerializeToString() for n in model.graph.node] == [n.SerializeToString() for n in other.graph.node]:
            for v in (*model.graph.input, *model.graph.output):
                dims = v.type.tensor_type.shape.dim
                if dims:
                    dims[0].Clear()
                    dims[0].dim_param = "batch"
            onnx.checker.check_model(model, full_check=True)
    atomic_write_bytes(path, model.SerializeToString())
    return model


def exec_export(interp: Interpreter, stmt: A.Export, scope: Scope) -> None:
    from volta_core.interop.diagnose import EXPORT_FAILED
    from volta_core.interop.onnx_export import OnnxExportError
    from volta_core.lang.training import _handle, _path, _unsupported

    model: ModelHandle = _handle(interp, stmt.model, scope, ModelHandle)
    path = _path(interp, stmt.path, scope)
    try:
        model.net.check_supported()
        proto = export_network(model.net, path)
    except UnsupportedLayer as err:
        raise _unsupported(interp, err, stmt.span) from None
    except OnnxExportError as err:
        raise interp.fail(EXPORT_FAILED, f"cannot export `{model.name}`: {err}", stmt.span,
                          label="export") from None  # fmt: skip
    except OSError as err:
        raise interp.fail("E0801", f"cannot write `{path}`: {err.strerror or err}", stmt.path.span,
                          label="output file") from None  # fmt: skip
    except Exception as err:  # onnx.checker on the batch-symbolic form
        raise interp.fail(EXPORT_FAILED, f"cannot export `{model.name}`: {err}", stmt.span, label="export") from None
    nodes = len(proto.graph.node)
    interp.write(f"exported {model.name} to {path.name} (ONNX opset 17, {nodes} nodes)\n")


def inspect_imported(interp: Interpreter, model: ModelHandle) -> bool:
    """``inspect`` of an imported model; False for Volta models (the caller prints those)."""
    from volta_core.ir import compile_plan
    from volta_core.nn.imported import ImportedNetwork, describe

    net = model.net
    if not isinstance(net, ImportedNetwork):
        return False
    lines = describe(net, model.name)
    graph, _, _ = net.build(net.chunk(1), training=False)
    plan = compile_plan(graph)
    lines.append(f"    IR nodes: {len(graph)} (inference, batch {net.chunk(1)})")
    lines.append(f"    peak planned memory: {plan.memory.peak_bytes:,} bytes")
    lines.append(f"    graph fingerprint: {plan.fingerprint[:16]}")
    if model.metrics:
        keys = ("loss", "accuracy", "val_loss", "val_accuracy")
        parts = [f"{k} {model.metrics[k]:.4f}" for k in keys if k in model.metrics]
        lines.append(f"    last metrics: {'  '.join(parts)} after {model.steps} steps")
    interp.write("\n".join(lines) + "\n")
    return True


HANDLERS: dict[type, Any] = {A.Import: exec_import, A.Export: exec_export}
