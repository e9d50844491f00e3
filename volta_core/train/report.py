"""What one `train` statement reports: the shared record between the training
loop (which fills it), the Session (which keeps them in order), run records
(`volta run --record`) and `volta verify` (which compares them)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Setting:
    """One resolved training setting and why it has this value.

    ``source`` is one of ``explicit``, ``model default``, ``dataset``,
    ``rule``, ``default`` or ``auto`` — printed in the autopilot table.
    """

    name: str
    value: object
    source: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class EpochStats:
    epoch: int  # 1-based
    steps: int  # optimizer steps taken so far (cumulative over the model's life)
    loss: float  # mean training loss over the epoch's batches
    accuracy: float | None = None  # classification only
    val_loss: float | None = None
    val_accuracy: float | None = None


@dataclass(slots=True)
class TrainReport:
    """Everything needed to reproduce and compare one `train` statement."""

    model: str
    dataset: str
    settings: list[Setting] = field(default_factory=list)
    dataset_sha256: str = ""  # SHA-256 of the dataset arrays (x then y, train then val)
    graph_fingerprint: str = ""  # fingerprint of the training graph
    epochs: list[EpochStats] = field(default_factory=list)
    steps: int = 0  # total optimizer steps after this statement
    weights_sha256: str = ""  # SHA-256 over parameters in sorted-name order (name, dtype, shape, bytes)
    stopped: str | None = None  # None, "early_stopping", "steps", "interrupted", "nan"
