"""Execution of the model statements: model, dataset, train, evaluate, infer,
save, load, inspect, and model/dataset members (SPEC §2.1–2.4).

Each handler takes the interpreter, the statement and the scope. Failures
become runtime diagnostics at the statement (never tracebacks). Property
values are evaluated when the statement runs; a bare word that is not a
variable (``relu``, ``adam``, ``csv``, ``tokens``) is the word itself — the
checker has already validated it against the schema.
"""

from __future__ import annotations

import csv
import io
import json
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from volta_core.backends.cuda.driver import gpu_failure as _gpu_failure
from volta_core.diagnostic_codes import CODES
from volta_core.diagnostics import DiagnosticError
from volta_core.nn.network import Network, UnsupportedLayer, architecture_json, init_params, width_values
from volta_core.syntax import ast as A
from volta_core.syntax.source import Span
from volta_core.train import autopilot
from volta_core.train.atomic import atomic_write_bytes
from volta_core.train.checkpoint import CheckpointError, check_compatible, load_checkpoint, save_checkpoint
from volta_core.train.data import DataError, Dataset, load_dataset
from volta_core.train.loop import Interrupted, NonFiniteLoss, evaluate_split, train
from volta_core.train.optim import Optimizer
from volta_core.train.progress import Progress, format_metrics
from volta_core.train.runtime import DatasetHandle, ModelHandle

if TYPE_CHECKING:
    from volta_core.lang.interpreter import Interpreter, Scope

CHECKPOINT_FORMAT = "volta-checkpoint-1"
_TRAIN_KEYS_INT = ("epochs", "steps", "batch", "warmup_steps", "early_stopping", "seed", "log_every")


# ------------------------------------------------------------------ helpers
def _props(interp: Interpreter, props: tuple[A.Property, ...], scope: Scope) -> dict[str, list[object]]:
    out: dict[str, list[object]] = {}
    for prop in props:
        values = [_prop_value(interp, v, scope) for v in prop.values]
        if prop.key.id == "layer":
            continue  # the expanded stack comes from the checker's ModelInfo
        out[prop.key.id] = values
    return out


def _prop_value(interp: Interpreter, expr: A.Expr, scope: Scope) -> object:
    if type(expr) is A.Name:
        s: Scope | None = scope
        while s is not None:
            if expr.id in s.vars:
                return interp._value(expr, scope)
            s = s.parent
        return expr.id
    return interp._value(expr, scope)


def _single(props: dict[str, list[object]]) -> dict[str, object]:
    return {k: (v[0] if len(v) == 1 else v) for k, v in props.items()}


def _handle(interp: Interpreter, name: A.Name, scope: Scope, kind: type) -> Any:
    value = interp._eval_name(name, scope)
    if not isinstance(value, kind):
        what = "model" if kind is ModelHandle else "dataset"
        raise interp.fail("E0310", f"`{name.id}` is not a {what}", name.span, label=f"expected a {what}")
    return value


def _code(code: str, fallback: str) -> str:
    return code if code in CODES else fallback


def _data_error(interp: Interpreter, err: DataError, span: Span) -> DiagnosticError:
    return interp.fail(
        _code(err.code, "E0801"), err.describe(), span, label="while loading this dataset",
        helps=(err.help,) if err.help else (),
    )


def _unsupported(interp: Interpreter, err: UnsupportedLayer, span: Span) -> DiagnosticError:
    return interp.fail(
        "E0901", str(err), span, label="cannot build this model's graph yet",
        notes=("dense, activation, layernorm, flatten and sequence (embedding … transformer) layers run today",),
    )


def _path(interp: Interpreter, expr: A.Expr, scope: Scope) -> Path:
    text = str(interp._value(expr, scope))
    path = Path(text)
    base = interp.runtime.base_dir
    return path if path.is_absolute() or base is None else base / path


def _load_data(interp: Interpreter, data: DatasetHandle, model: ModelHandle | None, span: Span) -> Dataset:
    try:
        loaded = data.load(model.shape() if model is not None else None)
        if model is not None and loaded.type in ("csv", "npz") and model.net.classification:
            # A label the model cannot predict: read the file again with the model's shape,
            # which names the file, row and column of the first such label.
            limit = 2 if model.net.output_width == 1 else model.net.output_width
            labels = [s.y for s in (loaded.train, loaded.val) if s is not None and s.y.size]
            if any(y.dtype.kind in "iu" and int(y.max()) >= limit for y in labels):
                load_dataset(data.name, data.props, data.base_dir, model.shape())
        return loaded
    except DataError as err:
        raise _data_error(interp, err, span) from None


def _check_widths(interp: Interpreter, model: ModelHandle, data: Dataset, span: Span) -> None:
    """The dataset's features and targets must fit the model's input, output and loss."""
    net = model.net
    if not net.info.token_input and data.n_features != net.input_width:
        raise interp.fail(
            "E0506", f"`{data.name}` has {data.n_features} features but model `{model.name}` takes "
            f"{net.input_width}", span, label="widths differ",
            helps=("make the model's input width match the dataset's feature columns",),
        )
    if net.info.token_input:
        _check_tokens(interp, model, data, span)
    y = data.train.y
    width = net.output_width
    per_position = net.per_position and y.ndim == 2
    classes = (y.ndim == 1 or per_position) and y.dtype.kind in "iu"
    problem = help_ = ""
    if net.loss == "cross_entropy" and net.per_position and y.ndim == 1:
        problem = f"`{data.name}` has one label per example but model `{model.name}` predicts per position"
        help_ = "add `layer mean_pool` or `layer last_token` before the classification head"
    elif net.loss == "cross_entropy" and not net.per_position and y.ndim == 2 and y.dtype.kind in "iu":
        problem = f"`{data.name}` has a target per position but model `{model.name}` predicts one per example"
        help_ = "remove `mean_pool` / `last_token` so the model predicts at every position"
    elif net.loss == "cross_entropy":
        top = int(y.max()) + 1 if classes and y.size else 0
        if not classes:
            problem = f"`{data.name}` has regression targets but model `{model.name}` uses `cross_entropy`"
            help_ = "use `loss mse` for regression targets"
        elif top > width:
            problem = f"`{data.name}` has {top} classes but model `{model.name}` outputs {width} logits"
            help_ = f"make the last layer {top} wide"
    elif net.loss == "bce":
        if not classes or (y.size and int(y.max()) > 1):
            problem = f"`bce` needs 0/1 labels, but `{data.name}` has other targets"
            help_ = "use `cross_entropy` for several classes, or `mse` for regression"
    else:
        t = 1 if y.ndim == 1 else y.shape[1]
        if classes and width > 1:
            problem = (f"`{data.name}` has class labels but model `{model.name}` predicts {width} values "
                       "with `mse`")
            help_ = "use `loss cross_entropy` (or `output softmax`) for classification"
        elif t != width:
            values = "1 target value" if t == 1 else f"{t} target values"
            problem = f"`{data.name}` has {values} per example but model `{model.name}` predicts {width}"
            help_ = f"make the last layer {t} wide"
    if problem:
        raise interp.fail("E0505", problem, span, label="targets do not fit the model", helps=(help_,))


def _check_tokens(interp: Interpreter, model: ModelHandle, data: Dataset, span: Span) -> None:
    """Token data must match a token model's sequence length and embedding vocabulary."""
    net = model.net
    length = net.input_width
    problem = help_ = ""
    if data.train.x.dtype.kind not in "iu":
        problem = f"`{data.name}` holds feature vectors but model `{model.name}` takes token ids"
        help_ = "use a `text` dataset (or integer ids in an npz file) for token models"
    elif data.n_features != length:
        problem = f"`{data.name}` has sequences of {data.n_features} tokens but model `{model.name}` takes {length}"
        help_ = f"set `seq_len {length}` in the dataset"
    else:
        first = net.info.layers[0] if net.info.layers else None
        rows = first.param_shapes[0][1][0] if first is not None and first.kind == "embedding" else None
        top = data.vocab if data.vocab is not None else int(data.train.x.max()) + 1 if data.train.x.size else 0
        if rows is not None and top > rows:
            problem = f"`{data.name}` has a vocabulary of {top} ids but `embedding` of model `{model.name}` has {rows}"
            help_ = f"use `layer embedding {top} …` or set `vocab {rows}` in the dataset"
    if problem:
        raise interp.fail("E0506", problem, span, label="token data does not fit the model", helps=(help_,))


@contextmanager
def _deferred_sigint(interp: Interpreter) -> Iterator[None]:
    """While training, Ctrl-C sets the interrupt flag instead of raising, so a
    step (forward, backward, update) is never cut in half."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        interp.interrupted = True

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


# --------------------------------------------------------------- statements
def exec_model(interp: Interpreter, stmt: A.ModelDef, scope: Scope) -> None:
    props = _single(_props(interp, stmt.props, scope))
    info = interp.runtime.model_infos.get(stmt.name.id)
    if info is None:
        raise interp.fail(
            "E0901", f"the layers of model `{stmt.name.id}` could not be resolved statically",
            stmt.name.span, label="layer widths must be known when the program is checked",
            helps=("write the widths as numbers or as variables declared before the model",),
        )
    seed = props.get("seed", 0)
    opt = props.get("optimizer")
    default: tuple[str, float | None] | None = None
    if isinstance(opt, list):
        default = (str(opt[0]), float(opt[1]))
    elif isinstance(opt, str):
        default = (opt, None)
    loss = info.loss or "mse"
    net = Network(info, loss, init_params(info, int(seed)))  # type: ignore[call-overload]
    scope.vars[stmt.name.id] = ModelHandle(stmt.name.id, net, int(seed), default)  # type: ignore[call-overload, assignment]


def exec_dataset(interp: Interpreter, stmt: A.DatasetDef, scope: Scope) -> None:
    props = _single(_props(interp, stmt.props, scope))
    handle = DatasetHandle(stmt.name.id, props, interp.runtime.base_dir)
    if not handle.needs_model:
        _load_data(interp, handle, None, stmt.span)
    scope.vars[stmt.name.id] = handle  # type: ignore[assignment]


def exec_train(interp: Interpreter, stmt: A.Train, scope: Scope) -> None:
    rt = interp.runtime
    model: ModelHandle = _handle(interp, stmt.model, scope, ModelHandle)
    assert stmt.dataset is not None
    data_handle: DatasetHandle = _handle(interp, stmt.dataset, scope, DatasetHandle)
    given = _single(_props(interp, stmt.props, scope))
    for key in _TRAIN_KEYS_INT:
        if key in given:
            given[key] = int(given[key])  # type: ignore[call-overload]
    data = _ready_data(interp, model, data_handle, stmt.span)
    try:
        cfg = autopilot.resolve(
            given, widths=width_values(model.net.info), model_optimizer=model.optimizer_default,
            dataset_batch=data.batch, device_default=rt.device,
        )
    except autopilot.DeviceError as err:
        span = next((p.span for p in stmt.props if p.key.id == "device"), stmt.span)
        raise interp.fail("E0622", str(err), span, label="no usable GPU", helps=(err.help,)) from None
    interp.write(cfg.table())
    epochs = None if cfg["steps"] is not None else int(cfg["epochs"])  # type: ignore[call-overload]
    progress = Progress(interp.write, rt.progress, int(cfg.get("log_every", 1)), epochs)  # type: ignore[call-overload]
    if cfg.get("device") == "gpu" and cfg.get("determinism") == "balanced":
        interp.write("note: determinism balanced on the GPU uses TF32 matmuls and atomic scatter-adds: "
                     "results are not bit-reproducible from run to run\n")
    try:
        with _deferred_sigint(interp):
            report = train(
                model, data, cfg, dataset_name=data_handle.name, progress=progress,
                interrupted=lambda: interp.interrupted,
            )
    except NonFiniteLoss as stop:
        rt.train_reports.append(stop.report)
        raise interp.fail(
            "E0620", f"the loss became {stop.value} at step {stop.step} (epoch {stop.epoch}); training stopped",
            stmt.span, label="training diverged",
            notes=(f"the weights are those after step {stop.step - 1}; the failing step was not applied",),
            helps=("lower the learning rate (`lr`), or add `clip_grad 1.0`",),
        ) from None
    except Interrupted as stop:
        rt.train_reports.append(stop.report)
        interp.interrupted = False
        raise interp.fail(
            "E0607", f"training interrupted after step {model.steps} (epoch {model.epochs} complete)",
            stmt.span, label="stopped at a step boundary",
            notes=("the weights and optimizer state are those after the last completed step",),
        ) from None
    except Exception as exc:
        failure = _gpu_failure(exc) if cfg.get("device") == "gpu" else None
        if failure is None:
            raise
        raise interp.fail(
            "E0624", f"the GPU failed while training {model.name}: {failure}", stmt.span, label="GPU failure",
            notes=(f"the weights are those after step {model.steps}",),
            helps=("`volta doctor` reports the CUDA state; `device cpu` trains on the CPU",),
        ) from None
    rt.train_reports.append(report)
    last = report.epochs[-1] if report.epochs else None
    why = {"early_stopping": " (early stopping)", "steps": ""}.get(report.stopped or "", "")
    summary = f"trained {model.name}: {len(report.epochs)} epochs, {model.steps} steps{why}"
    if last is not None:
        summary += "  " + format_metrics(last.loss, last.accuracy, last.val_loss, last.val_accuracy)
    interp.write(summary + "\n")


def _ready_data(interp: Interpreter, model: ModelHandle, handle: DatasetHandle, span: Span) -> Dataset:
    """The model's graph can be built and the dataset is loaded and fits it."""
    try:
        model.net.check_supported()
        model.net.build(1, training=True)
    except UnsupportedLayer as err:
        raise _unsupported(interp, err, span) from None
    data = _load_data(interp, handle, model, span)
    _check_widths(interp, model, data, span)
    return data


def exec_evaluate(interp: Interpreter, stmt: A.Evaluate, scope: Scope) -> None:
    model: ModelHandle = _handle(interp, stmt.model, scope, ModelHandle)
    assert stmt.dataset is not None
    handle: DatasetHandle = _handle(interp, stmt.dataset, scope, DatasetHandle)
    data = _ready_data(interp, model, handle, stmt.span)
    on_val = data.val is not None and len(data.val) > 0
    split = data.val if on_val else data.train
    assert split is not None
    loss, acc = evaluate_split(model, split, data.batch)
    prefix = "val_" if on_val else ""
    model.metrics[prefix + "loss"] = loss
    if acc is not None:
        model.metrics[prefix + "accuracy"] = acc
    where = "validation split" if on_val else "all data"
    metrics = f"loss {loss:.4f}" + (f"  accuracy {acc:.4f}" if acc is not None else "")
    interp.write(f"evaluate {model.name} on {handle.name} ({where}, {len(split)} examples): {metrics}\n")


def _predict(interp: Interpreter, model: ModelHandle, x: np.ndarray, span: Span) -> np.ndarray:
    try:
        return model.net.predict(x)
    except UnsupportedLayer as err:
        raise _unsupported(interp, err, span) from None


def _fmt(v: float) -> str:
    return f"{float(v):.4f}"


def exec_infer(interp: Interpreter, stmt: A.Infer, scope: Scope) -> None:
    model: ModelHandle = _handle(interp, stmt.model, scope, ModelHandle)
    net = model.net
    if stmt.source is not None and stmt.dest is not None:
        _infer_file(interp, model, _path(interp, stmt.source, scope), _path(interp, stmt.dest, scope), stmt)
        return
    if not stmt.rows:
        return
    rows = []
    for row in stmt.rows:
        values = [interp._value(v, scope) for v in row.values]
        rows.append([float(v) for v in values])
    dtype = np.int64 if net.info.token_input else np.float32
    preds = _predict(interp, model, np.array(rows, dtype), stmt.span)
    for pred in preds:
        if net.loss == "cross_entropy":
            text = f"class {int(np.argmax(pred))}  probabilities " + " ".join(_fmt(p) for p in pred)
        elif net.loss == "bce":
            text = f"class {int(pred[0] > 0.5)}  p(class 1) {_fmt(pred[0])}"
        else:
            text = " ".join(_fmt(p) for p in np.ravel(pred))
        interp.write(text + "\n")


def _infer_file(interp: Interpreter, model: ModelHandle, src: Path, dest: Path, stmt: A.Infer) -> None:
    span = stmt.source.span if stmt.source is not None else stmt.span
    try:
        text = src.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise interp.fail("E0801", f"cannot read `{src}`: {getattr(exc, 'strerror', None) or exc}", span,
                          label="input file") from None
    reader = list(csv.reader(io.StringIO(text)))
    if not reader:
        raise interp.fail("E0623", f"`{src}`: the file is empty (a header row is required)", span, label="input file")
    header, body = reader[0], reader[1:]
    width = model.net.input_width
    if len(header) != width:
        raise interp.fail(
            "E0623", f"`{src}`, row 1: {len(header)} columns but model `{model.name}` takes {width} features",
            span, label="input file", helps=("the columns must be the model's features, in order",),
        )
    x = np.empty((len(body), width), np.float32)
    for r, row in enumerate(body):
        if len(row) != width:
            raise interp.fail("E0623", f"`{src}`, row {r + 2}: {len(row)} values, expected {width}", span, label="input file")
        for c, cell in enumerate(row):
            try:
                x[r, c] = float(cell)
            except ValueError:
                raise interp.fail(
                    "E0623", f"`{src}`, row {r + 2}, column `{header[c]}`: `{cell}` is not a number",
                    span, label="input file",
                ) from None
    preds = _predict(interp, model, x, stmt.span) if len(body) else np.empty((0, model.net.output_width), np.float32)
    preds = preds.reshape(len(body), -1)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([f"pred_{i}" for i in range(preds.shape[1] if preds.ndim == 2 else 1)])
    for pred in preds:
        writer.writerow([f"{float(v):.9g}" for v in pred])
    try:
        atomic_write_bytes(dest, out.getvalue().encode("utf-8"))
    except OSError as exc:
        dspan = stmt.dest.span if stmt.dest is not None else stmt.span
        raise interp.fail("E0801", f"cannot write `{dest}`: {exc.strerror or exc}", dspan, label="output file") from None
    interp.write(f"wrote {len(body)} predictions to {dest.name}\n")


def exec_save(interp: Interpreter, stmt: A.Save, scope: Scope) -> None:
    model: ModelHandle = _handle(interp, stmt.model, scope, ModelHandle)
    path = _path(interp, stmt.path, scope)
    net = model.net
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
        save_checkpoint(path, net.params, metadata, state)
    except CheckpointError as err:
        raise interp.fail(_code(err.code, "E0801"), str(err), stmt.path.span, label="checkpoint") from None
    interp.write(f"saved {model.name} to {path.name}\n")


def _fingerprint(net: Network) -> str:
    try:
        return net.fingerprint()
    except UnsupportedLayer:
        return ""


def exec_load(interp: Interpreter, stmt: A.Load, scope: Scope) -> None:
    model: ModelHandle = _handle(interp, stmt.model, scope, ModelHandle)
    path = _path(interp, stmt.path, scope)
    net = model.net
    try:
        ckpt = load_checkpoint(path)
        check_compatible(net.param_shapes(), {n: tuple(a.shape) for n, a in ckpt.params.items()})
    except CheckpointError as err:
        helps = (err.help,) if getattr(err, "help", None) else ()
        raise interp.fail(_code(err.code, "E0801"), str(err), stmt.path.span, label="checkpoint",
                          helps=helps) from None  # type: ignore[arg-type]
    for name, value in ckpt.params.items():
        np.copyto(net.params[name], value.astype(np.float32, copy=False))
    meta = ckpt.metadata
    model.steps = int(meta.get("steps", "0") or 0)
    model.epochs = int(meta.get("epochs", "0") or 0)
    model.optimizer = None
    if ckpt.optimizer_state is not None and "optimizer" in meta:
        spec = json.loads(meta["optimizer"])
        opt = Optimizer(spec["name"], momentum=spec["momentum"], weight_decay=spec["weight_decay"])
        opt.load_state_arrays(ckpt.optimizer_state)
        model.optimizer = opt
    model.metrics.clear()
    interp.write(f"loaded {model.name} from {path.name}\n")


def exec_inspect(interp: Interpreter, stmt: A.Inspect, scope: Scope) -> None:
    from volta_core.nn.summary import summary_lines

    model: ModelHandle = _handle(interp, stmt.model, scope, ModelHandle)
    from volta_core.lang.onnx_models import inspect_imported

    if inspect_imported(interp, model):
        return
    net = model.net
    info = net.info
    rows = [("layer", "output", "params")]
    tokens = info.token_input
    rows.append(("input", _shape(info.input_shape, tokens), ""))
    for layer in info.layers:
        rows.append((f"{layer.index} {layer.kind}", _shape(layer.output_shape, False), f"{layer.params:,}"))
    rows.append(("total", "", f"{info.total_params:,}"))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    w2 = max(len(r[2]) for r in rows)
    lines = [f"model {model.name} (loss {net.loss})"]
    for r in rows:
        lines.append(f"    {r[0]:<{w0}}  {r[1]:<{w1}}  {r[2]:>{w2}}".rstrip())
    lines += summary_lines(info, net.loss, indent="    ")
    if model.metrics:
        parts = [f"{k} {model.metrics[k]:.4f}" for k in ("loss", "accuracy", "val_loss", "val_accuracy") if k in model.metrics]
        lines.append(f"    last metrics: {'  '.join(parts)} after {model.steps} steps")
    text = "\n".join(lines) + "\n"
    display = interp.runtime.display
    if display is None:
        interp.write(text)
    else:
        display({"text/plain": text, "text/html": _inspect_html(lines[0], rows, lines[1 + len(rows):])})


def _inspect_html(title: str, rows: list[tuple[str, str, str]], notes: list[str]) -> str:
    """``inspect``'s table for a notebook: the same rows and notes as the text."""
    import html

    from volta_core.check.describe import html_table

    return (
        f"<p><b>{html.escape(title)}</b></p>" + html_table(rows[0], rows[1:])
        + "".join(f"<p>{html.escape(note.strip())}</p>" for note in notes)
    )


def _shape(shape: tuple[int, ...], tokens: bool) -> str:
    inner = ", ".join(str(d) for d in shape)
    return f"tokens[{inner}]" if tokens else f"[{inner}]"


# ------------------------------------------------------------------ members
def member(interp: Interpreter, expr: A.Member, obj: object) -> object:
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
        raise interp.fail(
            "E0621", why, expr.span, label="no value yet",
            helps=("train the model (or `evaluate` it) first",) if "before" in why else (),
        )
    if isinstance(obj, DatasetHandle):
        data = _load_data(interp, obj, None, expr.span)
        val = len(data.val) if data.val is not None else 0
        values = {"size": len(data.train) + val, "train_size": len(data.train), "val_size": val, "batch": data.batch}
        return values[expr.name]
    raise interp.fail("E0405", "only models and datasets have members", expr.span, label=f"`.{expr.name}`")


HANDLERS: dict[type, Callable[[Interpreter, Any, Scope], None]] = {
    A.ModelDef: exec_model,
    A.DatasetDef: exec_dataset,
    A.Train: exec_train,
    A.Evaluate: exec_evaluate,
    A.Infer: exec_infer,
    A.Save: exec_save,
    A.Load: exec_load,
    A.Inspect: exec_inspect,
}
