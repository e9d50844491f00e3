"""Training progress: an updating bar on a terminal, else one line per ``log_every`` epochs."""

from __future__ import annotations

import time
from collections.abc import Callable

from volta_core.present import plural
from volta_core.train.report import EpochStats

_BAR_INTERVAL_S = 0.1


def format_metrics(loss: float, accuracy: float | None, val_loss: float | None, val_accuracy: float | None) -> str:
    parts = [f"loss {loss:.4f}"]
    if accuracy is not None:
        parts.append(f"accuracy {accuracy:.4f}")
    if val_loss is not None:
        parts.append(f"val_loss {val_loss:.4f}")
    if val_accuracy is not None:
        parts.append(f"val_accuracy {val_accuracy:.4f}")
    return "  ".join(parts)


def trained_summary(name: str, epochs: int, steps: int, total_epochs: int, total_steps: int) -> str:
    """``trained m: 2 epochs, 8 steps``: what one `train` statement did; when the model
    had trained before, its totals follow (``(model total: 5 epochs, 20 steps)``)."""
    text = f"trained {name}: {plural(epochs, 'epoch')}, {plural(steps, 'step')}"
    if (total_epochs, total_steps) != (epochs, steps):
        text += f" (model total: {plural(total_epochs, 'epoch')}, {plural(total_steps, 'step')})"
    return text


class Progress:
    """``bar``: a sink for the single updating line (a TTY), or None for epoch lines on ``write``.

    Callers pass the model's epoch and step numbers (over its life); what is shown
    counts this `train` statement's epochs and steps (``epoch 2/2``), and, when the
    model had trained before (``start_epoch``, ``start_step``), its totals next to
    them (``epoch 2/2 (model epoch 5)``)."""

    def __init__(
        self,
        write: Callable[[str], None],
        bar: Callable[[str], None] | None,
        log_every: int,
        total_epochs: int | None,
        clock: Callable[[], float] = time.monotonic,
        *,
        start_epoch: int = 0,
        start_step: int = 0,
    ) -> None:
        self.write = write
        self.bar = bar
        self.log_every = max(1, log_every)
        self.total_epochs = total_epochs
        self.clock = clock
        self.start_epoch = start_epoch
        self.start_step = start_step
        self._start = clock()
        self._last_draw = -1.0
        self._steps = 0
        self._epoch_text = ""
        self._drawn = False

    def _epoch_label(self, epoch: int) -> str:
        """This statement's epoch (of how many), then the model's when it trained before."""
        own = epoch - self.start_epoch
        text = f"epoch {own}/{self.total_epochs}" if self.total_epochs else f"epoch {own}"
        return text + (f" (model epoch {epoch})" if self.start_epoch else "")

    def _step_label(self, step: int) -> str:
        own = step - self.start_step
        return f"step {own}" + (f" (model step {step})" if self.start_step else "")

    def step(self, epoch: int, step: int, loss: float) -> None:
        self._steps += 1
        if self.bar is None:
            return
        now = self.clock()
        if now - self._last_draw < _BAR_INTERVAL_S:
            return
        self._draw(now, epoch, step, loss)

    def _draw(self, now: float, epoch: int, step: int, loss: float) -> None:
        assert self.bar is not None
        self._last_draw = now
        rate = self._steps / max(now - self._start, 1e-9)
        text = (f"{self._epoch_label(epoch)}  {self._step_label(step)}  loss {loss:.4f}{self._epoch_text}"
                f"  {rate:.1f} steps/s")
        self.bar("\r\x1b[K" + text)
        self._drawn = True

    def epoch(self, stats: EpochStats, last: bool) -> None:
        extra = format_metrics(stats.loss, stats.accuracy, stats.val_loss, stats.val_accuracy)
        if self.bar is not None:
            self._epoch_text = "  (last epoch: " + extra + ")"
            # Redraw at the end of an epoch (throttled), always after the last one,
            # so a sink that keeps the final line (a notebook display) shows it.
            now = self.clock()
            if last or now - self._last_draw >= _BAR_INTERVAL_S:
                self._draw(now, stats.epoch, stats.steps, stats.loss)
            return
        if (stats.epoch - self.start_epoch) % self.log_every == 0 or last:
            self.write(f"{self._epoch_label(stats.epoch)}  {extra}\n")

    def close(self) -> None:
        if self.bar is not None and self._drawn:
            self.bar("\r\x1b[K")
