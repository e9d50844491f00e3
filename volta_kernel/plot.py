"""``%plot``: a model's loss (and accuracy) curves as a PNG, drawn with
matplotlib's Agg backend (imported on first use only). No Jupyter imports."""

from __future__ import annotations

import io
from collections.abc import Sequence

from volta_core.present import plural
from volta_core.train.report import EpochStats


def curves_png(model: str, epochs: Sequence[EpochStats]) -> bytes:
    """Per-epoch training loss, validation loss and (classification) accuracy
    against the optimizer step at the end of each epoch."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    steps = [e.steps for e in epochs]
    has_acc = any(e.accuracy is not None or e.val_accuracy is not None for e in epochs)
    fig = Figure(figsize=(9.0 if has_acc else 5.5, 3.4), dpi=100, layout="constrained")
    axes = fig.subplots(1, 2 if has_acc else 1, squeeze=False)[0]
    marker = "o" if len(epochs) <= 30 else None

    def line(ax: object, values: list[float | None], label: str) -> None:
        points = [(s, v) for s, v in zip(steps, values, strict=True) if v is not None]
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker=marker, markersize=3, label=label)  # type: ignore[attr-defined]

    panels: list[tuple[str, list[float | None], list[float | None]]] = [
        ("loss", [e.loss for e in epochs], [e.val_loss for e in epochs])
    ]
    if has_acc:
        panels.append(("accuracy", [e.accuracy for e in epochs], [e.val_accuracy for e in epochs]))
    for ax, (what, train, val) in zip(axes, panels, strict=False):
        line(ax, train, f"train {what}")
        line(ax, val, f"val {what}")
        ax.set_title(f"{model}: {what}")
        ax.set_xlabel("optimizer step")
        ax.legend()
        ax.grid(alpha=0.3)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def curves_text(model: str, epochs: Sequence[EpochStats]) -> str:
    """The plain-text fallback: one line per epoch."""
    lines = [f"training curves of {model}: {plural(len(epochs), 'epoch')}, {plural(epochs[-1].steps, 'step')}"
             if epochs else model]
    shown: list[EpochStats | None] = list(epochs)
    if len(epochs) > 20:
        shown = [*epochs[:5], None, *epochs[-10:]]
    for e in shown:
        if e is None:
            lines.append("…")
            continue
        parts = [f"epoch {e.epoch}", f"step {e.steps}", f"loss {e.loss:.4f}"]
        for name, value in (("accuracy", e.accuracy), ("val_loss", e.val_loss), ("val_accuracy", e.val_accuracy)):
            if value is not None:
                parts.append(f"{name} {value:.4f}")
        lines.append("  ".join(parts))
    return "\n".join(lines)
