"""The training loop: mini-batches, optimizer steps, validation, early stopping.

Guarantees:

- one optimizer step per mini-batch, loss = mean over the batch;
- the epoch order comes from the dataset's seed (``Dataset.batches``), or,
  when the `train` block gives ``seed``, from ``SeedSequence([seed, epoch])``;
  epochs are numbered over the model's life, so training again continues
  the shuffle sequence instead of repeating it;
- a step is all or nothing: a non-finite loss is detected before the update
  (:class:`NonFiniteLoss`, weights untouched), and an interrupt is honoured
  only between steps (:class:`Interrupted`);
- weights are checked after every update (the optimizer sums each block's
  squares while it is in cache): an update that makes one ``nan`` or ``inf``
  stops training (:class:`NonFiniteWeights`, naming the step and parameter);
  on the GPU the weights are checked when they come back to the host;
- a non-finite validation loss stops training too (never early stopping on ``nan``);
- :class:`~volta_core.train.report.TrainReport` records every epoch.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from volta_core.train.autopilot import Resolved
from volta_core.train.data import Dataset, Split
from volta_core.train.distributed import Exchange, World, shard
from volta_core.train.optim import Optimizer, clip_grad_norm
from volta_core.train.progress import Progress
from volta_core.train.report import EpochStats, TrainReport
from volta_core.train.runtime import ModelHandle
from volta_core.train.schedule import lr_at

if TYPE_CHECKING:
    from volta_core.nn.network import Network


#: In strict determinism, distributed ranks compare their weights' hashes every this many steps
#: (and after every epoch).
HASH_CHECK_EVERY = 100


class TrainingStopped(Exception):
    def __init__(self, report: TrainReport) -> None:
        super().__init__(report.stopped or "stopped")
        self.report = report


class NonFiniteLoss(TrainingStopped):
    """The loss at ``step`` (of ``split``: ``training`` or ``validation``) is not
    finite; ``first`` says whether no update of this `train` preceded it."""

    def __init__(self, report: TrainReport, step: int, epoch: int, value: float,
                 split: str = "training", first: bool = False) -> None:
        super().__init__(report)
        self.step = step
        self.epoch = epoch
        self.value = value
        self.split = split
        self.first = first


class NonFiniteWeights(TrainingStopped):
    """The update of ``step`` left ``param`` holding nan or inf (``step`` None: found
    after training on the GPU)."""

    def __init__(self, report: TrainReport, step: int | None, epoch: int, param: str) -> None:
        super().__init__(report)
        self.step = step
        self.epoch = epoch
        self.param = param


class Interrupted(TrainingStopped):
    pass


def weights_sha256(params: Mapping[str, np.ndarray]) -> str:
    """SHA-256 over parameters in sorted-name order: name, dtype, shape, raw bytes."""
    h = hashlib.sha256()
    for name in sorted(params):
        a = np.ascontiguousarray(params[name])
        h.update(name.encode("utf-8") + b"\0")
        h.update(a.dtype.str.encode("ascii") + b"\0")
        h.update(",".join(str(d) for d in a.shape).encode("ascii") + b"\0")
        h.update(a.tobytes())
    return h.hexdigest()


def evaluate_split(model: ModelHandle, split: Split, batch: int) -> tuple[float, float | None]:
    """Mean loss (over examples) and accuracy (classification) on ``split``."""
    net = model.net
    n = len(split)
    if n == 0:
        return float("nan"), None
    total = 0.0
    correct = 0.0
    for start in range(0, n, batch):
        x, y = split.x[start : start + batch], split.y[start : start + batch]
        loss, logits = net.loss_on(x, y)
        total += loss * len(x)
        if net.classification:
            correct += net.correct(logits, y)
    return total / n, (correct / n if net.classification else None)


def train(
    model: ModelHandle,
    dataset: Dataset,
    cfg: Resolved,
    *,
    dataset_name: str,
    progress: Progress,
    interrupted: Callable[[], bool],
    world: World | None = None,
) -> TrainReport:
    """Train ``model`` in place; returns the report (also on early stop).

    With ``world`` (``distributed data_parallel``), each rank trains on its
    shard of every global batch and the ranks' gradients are summed in rank
    order (:mod:`.distributed`): the loss is still the mean over the global batch.
    """
    net = model.net
    batch = int(cfg["batch"])  # type: ignore[call-overload]
    epochs = int(cfg["epochs"])  # type: ignore[call-overload]
    steps_limit = cfg["steps"]
    per_epoch = dataset.n_batches(batch)
    total_steps = int(steps_limit) if steps_limit is not None else epochs * per_epoch  # type: ignore[call-overload]
    base_lr = float(cfg["lr"])  # type: ignore[arg-type]
    schedule = str(cfg.get("lr_schedule", "constant"))
    warmup = int(cfg.get("warmup_steps", 0))  # type: ignore[call-overload]
    clip = cfg["clip_grad"]
    patience = cfg["early_stopping"]
    seed = cfg["seed"]
    strict = cfg.get("determinism", "strict") == "strict"
    opt = Optimizer(
        str(cfg["optimizer"]),
        momentum=float(cfg.get("momentum", 0.0)),  # type: ignore[arg-type]
        weight_decay=float(cfg.get("weight_decay", 0.0)),  # type: ignore[arg-type]
    )
    if model.optimizer is not None and model.optimizer.hyper() == opt.hyper():
        opt = model.optimizer  # training again continues the optimizer state
    model.optimizer = opt

    # The CPU plan names the graph on every device; no batch is larger than the data.
    _, plan = net.executor(min(batch, len(dataset.train)), training=True)
    gpu = None
    if cfg.get("device") == "gpu":
        from volta_core.train.gpu import GpuRunner

        gpu = GpuRunner(net, opt, str(cfg.get("determinism", "strict")))
    report = TrainReport(
        model=model.name, dataset=dataset_name, settings=list(cfg.settings),
        dataset_sha256=dataset.sha256, graph_fingerprint=plan.fingerprint,
    )
    exchange = None if world is None else Exchange(world, {n: p.shape for n, p in net.params.items()})
    # Several ranks: batchnorm normalises with the global batch's moments (the report's
    # fingerprint above names the model, as in one process).
    synced = world is not None and world.size > 1 and net.can_sync
    if synced:
        net.synced = True
    best = math.inf
    bad_epochs = 0
    taken = 0
    epoch_index = 0
    try:
        while (steps_limit is None and epoch_index < epochs) or (steps_limit is not None and taken < total_steps):
            life_epoch = model.epochs  # 0-based epoch number over the model's life
            loss_sum = 0.0
            seen = 0
            correct = 0.0
            for x, y in dataset.batches(life_epoch, batch, seed if isinstance(seed, int) else None):
                if steps_limit is not None and taken >= total_steps:
                    break
                if exchange is None and interrupted():
                    report.stopped = "interrupted"
                    raise Interrupted(report)
                key = seed if isinstance(seed, int) else model.seed
                lr = lr_at(base_lr, schedule, taken, total_steps, warmup)
                stop_after = False
                if gpu is not None:
                    loss, logits = gpu.forward_backward(x, y, model.steps + 1, key)
                elif exchange is not None:
                    assert world is not None
                    loss, step_correct, grads, bn_stats, stop_after = _data_parallel_step(
                        net, exchange, world, x, y, model.steps + 1, key, interrupted())
                else:  # gradients used (and clipped) in place, then dropped
                    loss, logits, grads = net.train_step(x, y, model.steps + 1, key, copy_grads=False)
                if not math.isfinite(loss):
                    report.stopped = "nan"
                    raise NonFiniteLoss(report, model.steps + 1, model.epochs + 1, loss, first=taken == 0)
                bad = None
                if gpu is not None:
                    gpu.update(lr, None if clip is None else float(clip))  # type: ignore[arg-type]
                else:
                    if clip is not None:
                        clip_grad_norm(grads, float(clip))  # type: ignore[arg-type]
                    bad = opt.step(net.params, grads, lr)
                    if exchange is not None:  # the whole global batch's moments, combined across ranks
                        if bn_stats:
                            net.apply_batch_stats(bn_stats, len(x))
                    elif net.batch_stats:  # batchnorm: the step is applied, so are its statistics
                        net.apply_batch_stats(net.batch_stats, len(x))
                taken += 1
                model.steps += 1
                if bad is not None:
                    report.stopped = "nan"
                    raise NonFiniteWeights(report, model.steps, model.epochs + 1, bad)
                loss_sum += loss * len(x)
                seen += len(x)
                if exchange is not None:
                    correct += step_correct
                elif net.classification:
                    correct += net.correct(logits, y)
                progress.step(model.epochs + 1, model.steps, loss)
                if world is not None and strict and model.steps % HASH_CHECK_EVERY == 0:
                    world.check_same(weights_sha256(net.weights()), f"weights after step {model.steps}")
                if stop_after:  # an interrupt on any rank: every rank stops after the same step
                    report.stopped = "interrupted"
                    raise Interrupted(report)
            if seen == 0:
                break
            model.epochs += 1
            epoch_index += 1
            stats = EpochStats(
                epoch=model.epochs, steps=model.steps, loss=loss_sum / seen,
                accuracy=(correct / seen) if net.classification else None,
            )
            if dataset.val is not None and len(dataset.val):
                val_loss, val_acc = (gpu.evaluate_split(dataset.val, batch) if gpu is not None
                                     else evaluate_split(model, dataset.val, batch))
                stats = EpochStats(stats.epoch, stats.steps, stats.loss, stats.accuracy, val_loss, val_acc)
                if not math.isfinite(val_loss):
                    report.stopped = "nan"
                    raise NonFiniteLoss(report, model.steps, model.epochs, val_loss, split="validation")
            report.epochs.append(stats)
            _set_metrics(model, stats)
            if world is not None and strict:
                world.check_same(weights_sha256(net.weights()), f"weights after epoch {model.epochs}")
            done_by_steps = steps_limit is not None and taken >= total_steps
            monitored = stats.val_loss if stats.val_loss is not None else stats.loss
            stop_early = False
            if patience is not None:
                if monitored < best:
                    best, bad_epochs = monitored, 0
                else:
                    bad_epochs += 1
                    stop_early = bad_epochs >= int(patience)  # type: ignore[call-overload]
            last = done_by_steps or stop_early or (steps_limit is None and epoch_index >= epochs)
            progress.epoch(stats, last)
            if stop_early:
                report.stopped = "early_stopping"
                break
        if report.stopped is None and steps_limit is not None:
            report.stopped = "steps"
    finally:
        if synced:
            net.synced = False
        if gpu is not None:
            gpu.finish()  # weights and optimizer state back on the host, also after a stop
        progress.close()
        report.steps = model.steps
        report.weights_sha256 = weights_sha256(net.weights())
        model.last_report = report
    if gpu is not None:
        bad = next((name for name in sorted(net.params) if not np.isfinite(net.params[name]).all()), None)
        if bad is not None:
            report.stopped = "nan"
            raise NonFiniteWeights(report, None, model.epochs, bad)
    return report


def _data_parallel_step(
    net: Network, exchange: Exchange, world: World, x: np.ndarray, y: np.ndarray, step: int, key: int,
    interrupted: bool,
) -> tuple[float, float, dict[str, np.ndarray], list[np.ndarray], bool]:
    """This rank's shard of one global batch, forward and backward, then the exchange:
    (global mean loss, correct count, summed gradients, whole-batch moments, any rank interrupted)."""
    lo, hi = shard(len(x), world.rank, world.size)
    # Dropout masks: rank 0 draws as a single process does, the others from (key, rank).
    rank_key = key if world.rank == 0 else int(np.random.SeedSequence([key, world.rank]).generate_state(1)[0])
    grads: dict[str, np.ndarray] | None = None
    loss, correct = 0.0, 0.0
    moments = [np.zeros((2, net.buffers[f"{n.prefix}.running_mean"].size), np.float32) for n in net.batchnorm_layers()]
    if hi > lo:
        loss, logits, grads = net.train_step(x[lo:hi], y[lo:hi], step, rank_key, copy_grads=False)
        moments = net.batch_stats
        if net.classification:
            correct = net.correct(logits, y[lo:hi])
    elif net.synced:
        _take_part_in_batchnorm(moments, step)
    total, total_correct, stats, stop = exchange.step(
        grads, hi - lo, len(x), loss, correct, moments, interrupted, step)
    if grads is None:  # an empty shard: take the summed gradients into fresh arrays
        grads = {}
        at = 0
        summed = exchange.last_sum
        for name, size in zip(exchange.names, exchange.sizes, strict=True):
            grads[name] = summed[at : at + size].reshape(net.params[name].shape)
            at += size
    return total, total_correct, grads, stats, stop


def _take_part_in_batchnorm(moments: list[np.ndarray], step: int) -> None:
    """An empty shard's part in a synchronised-batchnorm step: the other ranks' training
    graph exchanges with every rank once per batchnorm forward (in layer order), then once
    per batchnorm backward (in reverse order); this rank adds nothing to either."""
    from volta_core.backends.cpu.ranks import exchange

    for m in moments:
        exchange(np.zeros(1 + m.size), f"exchanging the batchnorm statistics of step {step}")
    for m in reversed(moments):
        exchange(np.zeros(1 + m.size), f"exchanging the batchnorm gradients of step {step}")


def _set_metrics(model: ModelHandle, stats: EpochStats) -> None:
    m = model.metrics
    m["loss"] = stats.loss
    for key, value in (("accuracy", stats.accuracy), ("val_loss", stats.val_loss), ("val_accuracy", stats.val_accuracy)):
        if value is not None:
            m[key] = value
