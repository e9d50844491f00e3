"""The statements that run a model: ``train``, ``evaluate`` and ``infer``
(SPEC §2.3, §2.4).

Handlers follow the walker rule (``visit_<NodeClass>(ctx, stmt, scope)``,
:mod:`volta_core.syntax.visitor`); failures are runtime diagnostics at the
statement, never tracebacks. Training defers Ctrl-C to a step boundary.
"""

from __future__ import annotations

import csv
import io
import math
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from volta_core.backends.cuda.driver import gpu_failure
from volta_core.check.schema import TRAIN
from volta_core.lang.arguments import error_diagnostic, handle, property_values, resolve_path, unsupported
from volta_core.lang.context import Context, Scope
from volta_core.lang.data_fit import ready_data
from volta_core.nn.network import UnsupportedLayer, width_values
from volta_core.present import format_shape
from volta_core.syntax import ast as A
from volta_core.syntax.source import Span
from volta_core.train import autopilot
from volta_core.train.atomic import atomic_write_bytes
from volta_core.train.images import scale_pixels
from volta_core.train.loop import Interrupted, NonFiniteLoss, evaluate_split, train
from volta_core.train.progress import Progress, format_metrics, trained_summary
from volta_core.train.runtime import DatasetHandle, ModelHandle

_TRAIN_KEYS_INT = ("epochs", "steps", "batch", "warmup_steps", "early_stopping", "seed", "log_every")


@contextmanager
def _deferred_sigint(ctx: Context) -> Iterator[None]:
    """While training, Ctrl-C sets the interrupt flag instead of raising, so a
    step (forward, backward, update) is never cut in half."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        ctx.interrupted = True

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def visit_Train(ctx: Context, stmt: A.Train, scope: Scope) -> None:
    rt = ctx.runtime
    model = handle(ctx, stmt.model, scope, ModelHandle)
    assert stmt.dataset is not None
    data_handle = handle(ctx, stmt.dataset, scope, DatasetHandle)
    given = property_values(ctx, stmt.props, scope, TRAIN)
    for key in _TRAIN_KEYS_INT:
        if key in given:
            given[key] = int(given[key])  # type: ignore[call-overload]
    data = ready_data(ctx, model, data_handle, stmt.span)
    try:
        cfg = autopilot.resolve(
            given, widths=width_values(model.net.info), model_optimizer=model.optimizer_default,
            dataset_batch=data.batch, device_default=rt.device,
        )
    except autopilot.DeviceError as err:
        span = next((p.span for p in stmt.props if p.key.id == "device"), stmt.span)
        raise error_diagnostic(ctx, err, span, "no usable GPU") from None
    ctx.write(cfg.table())
    epochs = None if cfg["steps"] is not None else int(cfg["epochs"])  # type: ignore[call-overload]
    progress = Progress(
        ctx.write, rt.progress, int(cfg.get("log_every", 1)), epochs,  # type: ignore[call-overload]
        start_epoch=model.epochs, start_step=model.steps,
    )
    start_steps = model.steps
    if cfg.get("device") == "gpu" and cfg.get("determinism") == "balanced":
        ctx.write("note: determinism balanced on the GPU uses TF32 matmuls and atomic scatter-adds: "
                  "results are not bit-reproducible from run to run\n")
    try:
        with _deferred_sigint(ctx):
            report = train(
                model, data, cfg, dataset_name=data_handle.name, progress=progress,
                interrupted=lambda: ctx.interrupted,
            )
    except NonFiniteLoss as stop:
        rt.train_reports.append(stop.report)
        raise ctx.fail(
            "E0620", f"the loss became {stop.value} at step {stop.step} (epoch {stop.epoch}); training stopped",
            stmt.span, label="training diverged",
            notes=(f"the weights are those after step {stop.step - 1}; the failing step was not applied",),
            helps=("lower the learning rate (`lr`), or add `clip_grad 1.0`",),
        ) from None
    except Interrupted as stop:
        rt.train_reports.append(stop.report)
        ctx.interrupted = False
        raise ctx.fail(
            "E0607", f"training interrupted after step {model.steps} (epoch {model.epochs} complete)",
            stmt.span, label="stopped at a step boundary",
            notes=("the weights and optimizer state are those after the last completed step",),
        ) from None
    except Exception as exc:
        failure = gpu_failure(exc) if cfg.get("device") == "gpu" else None
        if failure is None:
            raise
        raise ctx.fail(
            "E0624", f"the GPU failed while training {model.name}: {failure}", stmt.span, label="GPU failure",
            notes=(f"the weights are those after step {model.steps}",),
            helps=("`volta doctor` reports the CUDA state; `device cpu` trains on the CPU",),
        ) from None
    rt.train_reports.append(report)
    last = report.epochs[-1] if report.epochs else None
    why = {"early_stopping": " (early stopping)", "steps": ""}.get(report.stopped or "", "")
    summary = trained_summary(model.name, len(report.epochs), model.steps - start_steps, model.epochs, model.steps) + why
    if last is not None:
        summary += "  " + format_metrics(last.loss, last.accuracy, last.val_loss, last.val_accuracy)
    ctx.write(summary + "\n")


def visit_Evaluate(ctx: Context, stmt: A.Evaluate, scope: Scope) -> None:
    model = handle(ctx, stmt.model, scope, ModelHandle)
    assert stmt.dataset is not None
    data_handle = handle(ctx, stmt.dataset, scope, DatasetHandle)
    data = ready_data(ctx, model, data_handle, stmt.span)
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
    ctx.write(f"evaluate {model.name} on {data_handle.name} ({where}, {len(split)} examples): {metrics}\n")


def _predict(ctx: Context, model: ModelHandle, x: np.ndarray, span: Span) -> np.ndarray:
    try:
        return model.net.predict(x)
    except UnsupportedLayer as err:
        raise unsupported(ctx, err, span) from None


def _fmt(v: float) -> str:
    return f"{float(v):.4f}"


def visit_Infer(ctx: Context, stmt: A.Infer, scope: Scope) -> None:
    model = handle(ctx, stmt.model, scope, ModelHandle)
    net = model.net
    if stmt.source is not None and stmt.dest is not None:
        _infer_file(ctx, model, resolve_path(ctx, stmt.source, scope), resolve_path(ctx, stmt.dest, scope), stmt)
        return
    if not stmt.rows:
        return
    rows = [[float(ctx.value(v, scope)) for v in row.values] for row in stmt.rows]
    dtype = np.int64 if net.info.token_input else np.float32
    preds = _predict(ctx, model, np.array(rows, dtype), stmt.span)
    for pred in preds:
        if net.loss == "cross_entropy":
            text = f"class {int(np.argmax(pred))}  probabilities " + " ".join(_fmt(p) for p in pred)
        elif net.loss == "bce":
            text = f"class {int(pred[0] > 0.5)}  p(class 1) {_fmt(pred[0])}"
        else:
            text = " ".join(_fmt(p) for p in np.ravel(pred))
        ctx.write(text + "\n")


def _csv_inputs(ctx: Context, model: ModelHandle, src: Path, span: Span) -> np.ndarray:
    """The rows of a CSV with a header: the model's features (an image model's
    C·H·W values, row-major), one example per row."""
    try:
        text = src.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ctx.fail("E0801", f"cannot read `{src}`: {getattr(exc, 'strerror', None) or exc}", span,
                       label="input file") from None
    reader = list(csv.reader(io.StringIO(text)))
    if not reader:
        raise ctx.fail("E0623", f"`{src}`: the file is empty (a header row is required)", span, label="input file")
    header, body = reader[0], reader[1:]
    width = model.net.input_width
    if len(header) != width:
        raise ctx.fail(
            "E0623", f"`{src}`, row 1: {len(header)} columns but model `{model.name}` takes {width} features",
            span, label="input file", helps=("the columns must be the model's features, in order",),
        )
    x = np.empty((len(body), width), np.float32)
    for r, row in enumerate(body):
        if len(row) != width:
            raise ctx.fail("E0623", f"`{src}`, row {r + 2}: {len(row)} values, expected {width}", span, label="input file")
        for c, cell in enumerate(row):
            try:
                x[r, c] = float(cell)
            except ValueError:
                raise ctx.fail(
                    "E0623", f"`{src}`, row {r + 2}, column `{header[c]}`: `{cell}` is not a number",
                    span, label="input file",
                ) from None
    return x


def _npz_inputs(ctx: Context, model: ModelHandle, src: Path, span: Span) -> np.ndarray:
    """The examples of an npz file's array `x` (or its only array), shaped like the
    model's input: images ``[N, C, H, W]`` or ``[N, H, W]`` (``uint8`` scaled to [0, 1])."""
    try:
        with np.load(src, allow_pickle=False) as archive:
            names = list(archive.files)
            if "x" not in names and len(names) != 1:
                raise ctx.fail(
                    "E0623", f"`{src}` has no array `x` (arrays: {', '.join(names) or 'none'})", span,
                    label="input file", helps=("save the inputs as `x`: numpy.savez(path, x=…)",),
                )
            x = archive["x" if "x" in names else names[0]]
    except (OSError, ValueError, EOFError) as exc:
        raise ctx.fail("E0623", f"`{src}` is not a readable npz file ({exc})", span, label="input file") from None
    wanted = model.net.info.input_shape
    if x.ndim < 1 or x.dtype.kind not in "biuf" or math.prod(x.shape[1:]) != math.prod(wanted):
        raise ctx.fail(
            "E0623", f"`{src}`: examples of shape {format_shape(x.shape[1:])} ({x.dtype}) do not fit model "
            f"`{model.name}`, which takes {format_shape(wanted)}", span, label="input file",
        )
    return scale_pixels(x)


def _infer_file(ctx: Context, model: ModelHandle, src: Path, dest: Path, stmt: A.Infer) -> None:
    span = stmt.source.span if stmt.source is not None else stmt.span
    x = _npz_inputs(ctx, model, src, span) if src.suffix.lower() == ".npz" else _csv_inputs(ctx, model, src, span)
    preds = _predict(ctx, model, x, stmt.span) if len(x) else np.empty((0, model.net.output_width), np.float32)
    preds = preds.reshape(len(x), -1)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([f"pred_{i}" for i in range(preds.shape[1] if preds.ndim == 2 else 1)])
    for pred in preds:
        writer.writerow([f"{float(v):.9g}" for v in pred])
    try:
        atomic_write_bytes(dest, out.getvalue().encode("utf-8"))
    except OSError as exc:
        dspan = stmt.dest.span if stmt.dest is not None else stmt.span
        raise ctx.fail("E0801", f"cannot write `{dest}`: {exc.strerror or exc}", dspan, label="output file") from None
    ctx.write(f"wrote {len(x)} predictions to {dest.name}\n")
