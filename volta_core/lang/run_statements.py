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
from volta_core.diagnostics import DiagnosticError
from volta_core.ir.budget import TooLarge, check_fits
from volta_core.lang.arguments import error_diagnostic, handle, property_values, resolve_path, unsupported
from volta_core.lang.context import Context, Scope
from volta_core.lang.data_fit import ready_data
from volta_core.nn.imported import ImportFitError
from volta_core.nn.network import UnsupportedLayer, width_values
from volta_core.present import format_shape
from volta_core.syntax import ast as A
from volta_core.syntax.source import Span
from volta_core.train import autopilot, distributed
from volta_core.train.atomic import atomic_write_bytes
from volta_core.train.images import scale_pixels
from volta_core.train.loop import Interrupted, NonFiniteLoss, NonFiniteWeights, evaluate_split, train
from volta_core.train.optim import Optimizer
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
            dataset_batch=data.batch, device_default=rt.device, ranks=distributed.launched_size(),
        )
    except autopilot.DeviceError as err:
        span = next((p.span for p in stmt.props if p.key.id in ("device", "distributed")), stmt.span)
        raise error_diagnostic(ctx, err, span, "no usable GPU") from None
    world = None
    if cfg.get("distributed") == "data_parallel":
        try:
            world = distributed.world()
        except distributed.MpiMissing as err:
            span = next((p.span for p in stmt.props if p.key.id == "distributed"), stmt.span)
            raise error_diagnostic(ctx, err, span, "no MPI") from None
    ctx.write(cfg.table())
    if world is not None:
        ctx.write(f"data parallel: {world.describe()}" + (
            " (launch with `volta run --ranks N` or `mpiexec -n N` to train on more)\n" if world.size == 1 else "\n"))
    _check_memory(ctx, model, int(cfg["batch"]), len(data.train), stmt.span,  # type: ignore[call-overload]
                  slots=Optimizer(str(cfg["optimizer"]), momentum=float(cfg.get("momentum", 0.0))).slot_names())  # type: ignore[arg-type]
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
                interrupted=lambda: ctx.interrupted, world=world,
            )
    except distributed.DistributedError as err:
        raise error_diagnostic(ctx, err, stmt.span, "distributed training stopped") from None
    except NonFiniteLoss as stop:
        rt.train_reports.append(stop.report)
        raise _non_finite_loss(ctx, stop, stmt.span, float(cfg["lr"])) from None  # type: ignore[arg-type]
    except NonFiniteWeights as stop:
        rt.train_reports.append(stop.report)
        when = f"at step {stop.step}" if stop.step is not None else f"by step {model.steps} (checked on the host)"
        raise ctx.fail(
            "E0625", f"the update {when} (epoch {stop.epoch}) made the weights not finite: `{stop.param}` "
            "holds nan or inf; training stopped", stmt.span, label="training diverged",
            notes=("this update was applied: the weights are not usable, and `save` refuses them",),
            helps=(_lr_help(float(cfg["lr"])),),  # type: ignore[arg-type]
        ) from None
    except ImportFitError as err:  # an imported model that cannot train on this batch (batchnorm chunks)
        raise ctx.fail(err.code, f"cannot train {model.name}: {err}", stmt.span, label="this training run",
                       notes=(f"the weights are those after step {model.steps}",)) from None
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
    normalize = data_handle.props.get("normalize")
    model.normalized_by = None if normalize is None else (data_handle.name, _words(normalize))
    last = report.epochs[-1] if report.epochs else None
    why = {"early_stopping": " (early stopping)", "steps": ""}.get(report.stopped or "", "")
    summary = trained_summary(model.name, len(report.epochs), model.steps - start_steps, model.epochs, model.steps) + why
    if last is not None:
        summary += "  " + format_metrics(last.loss, last.accuracy, last.val_loss, last.val_accuracy)
    ctx.write(summary + "\n")


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _lr_help(lr: float) -> str:
    if abs(lr) > _FLOAT32_MAX:
        return f"`lr {lr:g}` is beyond float32, the precision updates are computed in: use a far smaller `lr`"
    return "lower the learning rate (`lr`), or add `clip_grad 1.0`"


def _non_finite_loss(ctx: Context, stop: NonFiniteLoss, span: Span, lr: float) -> DiagnosticError:
    """E0620 with the help that fits: the learning rate cannot be the cause
    before this `train` has applied any update."""
    if stop.split == "validation":
        return ctx.fail(
            "E0620", f"the validation loss became {stop.value} after epoch {stop.epoch} (step {stop.step}); "
            "training stopped", span, label="training diverged",
            notes=("the weights are those after the epoch's last step",),
            helps=(_lr_help(lr),),
        )
    if stop.first:
        help_ = ("the loss is not finite before this `train` changed any weight, so the learning rate is not "
                 "the cause: the forward pass overflows float32 (check layer arguments such as "
                 "`leaky_relu`'s slope, and the scale of the data and the weights)")
    else:
        help_ = _lr_help(lr)
    return ctx.fail(
        "E0620", f"the loss became {stop.value} at step {stop.step} (epoch {stop.epoch}); training stopped",
        span, label="training diverged",
        notes=(f"the weights are those after step {stop.step - 1}; the failing step was not applied",),
        helps=(help_,),
    )


def _check_memory(ctx: Context, model: ModelHandle, batch: int, rows: int, span: Span,
                  slots: tuple[str, ...] | None = None) -> None:
    """Estimate what running the model at ``batch`` takes (its plan, plus the
    optimizer state ``slots`` when training) before anything is allocated."""
    plan_batch = max(1, min(batch, rows))  # no batch is larger than the data
    net = model.net
    try:
        peak = net.plan(plan_batch, net.mode(training=True, train_mode=slots is not None)).memory.peak_bytes
        state = sum(p.size for p in net.params.values()) * 4 * len(slots or ())  # no slots for buffers
        check_fits(peak + state, f"{'training' if slots is not None else 'evaluating'} model `{model.name}` "
                   f"at batch {plan_batch}", help="use a smaller `batch`")
    except UnsupportedLayer as err:
        raise unsupported(ctx, err, span) from None
    except TooLarge as err:
        raise error_diagnostic(ctx, err, span, "not enough memory") from None


def visit_Evaluate(ctx: Context, stmt: A.Evaluate, scope: Scope) -> None:
    model = handle(ctx, stmt.model, scope, ModelHandle)
    assert stmt.dataset is not None
    data_handle = handle(ctx, stmt.dataset, scope, DatasetHandle)
    data = ready_data(ctx, model, data_handle, stmt.span)
    on_val = data.val is not None and len(data.val) > 0
    split = data.val if on_val else data.train
    assert split is not None
    _check_memory(ctx, model, data.batch, len(split), stmt.span)
    loss, acc = evaluate_split(model, split, data.batch)
    if not math.isfinite(loss):
        raise ctx.fail(
            "E0620", f"the loss of `{model.name}` on `{data_handle.name}` is {loss}", stmt.span,
            label="not a finite loss", helps=("the model's output overflows float32 on this data",),
        )
    prefix = "val_" if on_val else ""
    model.metrics[prefix + "loss"] = loss
    if acc is not None:
        model.metrics[prefix + "accuracy"] = acc
    where = "validation split" if on_val else "all data"
    metrics = f"loss {loss:.4f}" + (f"  accuracy {acc:.4f}" if acc is not None else "")
    ctx.write(f"evaluate {model.name} on {data_handle.name} ({where}, {len(split)} examples): {metrics}\n")


def _predict(ctx: Context, model: ModelHandle, x: np.ndarray, span: Span, src: Path | None) -> np.ndarray:
    """The predictions for the examples ``x`` (of the file ``src``, or of the statement's rows)."""
    if not len(x):
        return np.empty((0, model.net.output_width), np.float32)
    if model.normalized_by is not None:
        _note_raw_inputs(ctx, model, model.normalized_by, f"`{src.name}`" if src is not None else "these rows")
    try:
        preds = model.net.predict(x)
    except UnsupportedLayer as err:
        raise unsupported(ctx, err, span) from None
    _check_predictions(ctx, preds, span, src)
    return preds


def _check_predictions(ctx: Context, preds: np.ndarray, span: Span, src: Path | None) -> None:
    """A prediction that is nan or inf is an error, never printed or written as a result."""
    finite = np.isfinite(preds.reshape(len(preds), -1)).all(axis=1)
    if not finite.all():
        r = int(np.argmax(~finite))
        if src is None:
            where = f"for input row {r + 1}"
        elif src.suffix.lower() == ".npz":
            where = f"for example `x[{r}]` of `{src}`"
        else:
            where = f"for row {r + 2} of `{src}`"
        raise ctx.fail("E0606", f"the prediction {where} is not finite (the model's output overflows float32)",
                       span, label="no finite prediction")


def _fmt(v: float) -> str:
    return f"{float(v):.4f}"


def visit_Infer(ctx: Context, stmt: A.Infer, scope: Scope) -> None:
    model = handle(ctx, stmt.model, scope, ModelHandle)
    net = model.net
    if stmt.source is not None and stmt.dest is not None:
        _infer_file(ctx, model, resolve_path(ctx, stmt.source, scope), resolve_path(ctx, stmt.dest, scope), stmt)
        return
    src = None
    if stmt.source is not None:
        src = resolve_path(ctx, stmt.source, scope)
        x = _inputs(ctx, model, src, stmt.source.span)
    elif stmt.rows:
        rows = [[float(ctx.value(v, scope)) for v in row.values] for row in stmt.rows]
        x = np.array(rows, np.int64 if net.info.token_input else np.float32)
        if not np.isfinite(x).all():
            r = int(np.argmax(~np.isfinite(x).all(axis=1)))
            raise ctx.fail("E0606", f"input row {r + 1} holds a value beyond float32 (the model computes in float32)",
                           stmt.rows[r].span, label="not finite in float32")
    else:
        return
    preds = _predict(ctx, model, x, stmt.span, src)
    for pred in preds:
        if net.loss == "cross_entropy":
            text = f"class {int(np.argmax(pred))}  probabilities " + " ".join(_fmt(p) for p in pred)
        elif net.loss == "bce":
            text = f"class {int(pred[0] > 0.5)}  p(class 1) {_fmt(pred[0])}"
        else:
            text = " ".join(_fmt(p) for p in np.ravel(pred))
        ctx.write(text + "\n")


def _words(value: object) -> str:
    return " ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)


def _note_raw_inputs(ctx: Context, model: ModelHandle, trained: tuple[str, str], what: str) -> None:
    """``infer`` feeds its values as they are: say so when the model learnt on normalised data."""
    dataset, values = trained
    ctx.write(f"note: `{model.name}` was trained on `{dataset}`, which normalises its images (`normalize {values}`); "
              f"infer feeds the values of {what} as they are: normalise them the same way for predictions like "
              "those in training\n")


def _inputs(ctx: Context, model: ModelHandle, src: Path, span: Span) -> np.ndarray:
    """The examples of an ``infer … on`` file: an npz array, or the rows of a CSV."""
    return _npz_inputs(ctx, model, src, span) if src.suffix.lower() == ".npz" else _csv_inputs(ctx, model, src, span)


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
    if not np.isfinite(x).all():
        r, c = (int(i) for i in np.argwhere(~np.isfinite(x))[0])
        raise ctx.fail("E0623", f"`{src}`, row {r + 2}, column `{header[c]}`: `{body[r][c].strip()}` is not a "
                       "finite number in float32", span, label="input file")
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
    with np.errstate(over="ignore", invalid="ignore"):
        x = scale_pixels(x)
    if not np.isfinite(x).all():
        at = ", ".join(str(int(i)) for i in np.argwhere(~np.isfinite(x))[0])
        raise ctx.fail("E0623", f"`{src}`: `x[{at}]` is not a finite number in float32", span, label="input file")
    return x


def _infer_file(ctx: Context, model: ModelHandle, src: Path, dest: Path, stmt: A.Infer) -> None:
    span = stmt.source.span if stmt.source is not None else stmt.span
    x = _inputs(ctx, model, src, span)
    preds = _predict(ctx, model, x, stmt.span, src)
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
