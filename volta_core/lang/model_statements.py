"""The statements that declare and show models and datasets — ``model``,
``dataset``, ``inspect`` — and member access (``m.loss``, ``d.size``)
(SPEC §2.1, §2.2, §2.4).

Handlers follow the walker rule (``visit_<NodeClass>(ctx, stmt, scope)``,
:mod:`volta_core.syntax.visitor`); failures are runtime diagnostics at the
statement, never tracebacks.
"""

from __future__ import annotations

from volta_core.check.schema import DATASET, MODEL
from volta_core.lang.arguments import handle, property_spans, property_values
from volta_core.lang.context import Context, Scope
from volta_core.lang.data_fit import load_data
from volta_core.nn.imported import ImportedNetwork, describe
from volta_core.nn.network import Network, init_params
from volta_core.present import Table, layer_table, metrics_fact
from volta_core.syntax import ast as A
from volta_core.train.runtime import DatasetHandle, ModelHandle


def visit_ModelDef(ctx: Context, stmt: A.ModelDef, scope: Scope) -> None:
    props = property_values(ctx, stmt.props, scope, MODEL)
    info = ctx.runtime.model_infos.get(stmt.name.id)
    if info is None:
        raise ctx.fail(
            "E0901", f"the layers of model `{stmt.name.id}` could not be resolved statically",
            stmt.name.span, label="layer widths must be known when the program is checked",
            helps=("write the widths as numbers or as variables declared before the model",),
        )
    seed = int(props.get("seed", MODEL.default("seed")))  # type: ignore[call-overload]
    opt = props.get("optimizer")
    default: tuple[str, float | None] | None = None
    if isinstance(opt, list):
        default = (str(opt[0]), float(opt[1]))
    elif isinstance(opt, str):
        default = (opt, None)
    net = Network(info, info.loss or "mse", init_params(info, seed))
    scope.vars[stmt.name.id] = ModelHandle(stmt.name.id, net, seed, default)  # type: ignore[assignment]


def visit_DatasetDef(ctx: Context, stmt: A.DatasetDef, scope: Scope) -> None:
    data = DatasetHandle(stmt.name.id, property_values(ctx, stmt.props, scope, DATASET), ctx.runtime.base_dir)
    if not data.needs_model:
        load_data(ctx, data, None, stmt.span, property_spans(stmt.props))
    scope.vars[stmt.name.id] = data  # type: ignore[assignment]


def visit_Inspect(ctx: Context, stmt: A.Inspect, scope: Scope) -> None:
    table = model_table(handle(ctx, stmt.model, scope, ModelHandle))
    display = ctx.runtime.display
    if display is None:
        ctx.write(table.text() + "\n")
    else:
        bundle = table.mime_bundle()
        bundle["text/plain"] += "\n"
        display(bundle)


def model_table(model: ModelHandle, compiled: bool = True) -> Table:
    """``inspect``'s table of a model value: the layer table (Volta models) or
    the import facts (ONNX models); with ``compiled``, the inference graph's
    IR facts; after training, the last metrics."""
    from volta_core.nn.summary import graph_facts, ir_facts  # the compiler, only for `inspect`

    net = model.net
    if isinstance(net, ImportedNetwork):
        origin, facts = describe(net)
        table = Table(f"model {model.name}: {origin}", facts=facts)
        if compiled:
            from volta_core.ir import compile_plan

            batch = net.chunk(1)
            graph, _, _ = net.build(batch, training=False)
            plan = compile_plan(graph)
            table = table.with_facts(*graph_facts(len(graph), batch, plan.memory.peak_bytes, plan.fingerprint))
    else:
        table = layer_table(net.info, net.loss, ir_facts(net.info, net.loss) if compiled else ())
    metrics = metrics_fact(model.metrics, model.steps)
    return table if metrics is None else table.with_facts(metrics)


def member_value(ctx: Context, expr: A.Member, obj: object) -> object:
    """``MODEL.name`` (steps, epochs, params, metrics) and ``DATASET.name`` (sizes, batch)."""
    if isinstance(obj, ModelHandle):
        name = expr.name
        if name == "steps":
            return obj.steps
        if name == "epochs":
            return obj.epochs
        if name == "params":
            return obj.net.info.total_params
        if name in obj.metrics:
            return float(obj.metrics[name])
        if name in ("accuracy", "val_accuracy") and not obj.net.classification:
            why = f"model `{obj.name}` is a regression model (loss {obj.net.loss}): it has no accuracy"
        elif name.startswith("val_") and obj.last_report is not None:
            why = f"`{obj.name}.{name}` is not available: the dataset it was trained on has no validation split"
        else:
            why = f"`{obj.name}.{name}` is not available before `train`"
        raise ctx.fail(
            "E0621", why, expr.span, label="no value yet",
            helps=("train the model (or `evaluate` it) first",) if "before" in why else (),
        )
    if isinstance(obj, DatasetHandle):
        data = load_data(ctx, obj, None, expr.span)
        val = len(data.val) if data.val is not None else 0
        values = {"size": len(data.train) + val, "train_size": len(data.train), "val_size": val, "batch": data.batch}
        return values[expr.name]
    raise ctx.fail("E0405", "only models and datasets have members", expr.span, label=f"`.{expr.name}`")
