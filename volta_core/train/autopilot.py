"""Autopilot: resolve every training setting to (value, source, reason) and print the table.

Order of precedence for each setting: the `train` block (``explicit``), then
the model's ``optimizer NAME [LR]`` line (``model default``), then the dataset
(``batch``), then a rule, then the default. Nothing falls back silently:
``device gpu`` without a usable GPU is an error, ``device auto`` says which
device it chose and why.

Size rule (SPEC §2.3): with ``n`` width values (the number of widths in
``layers``; for an explicit stack the input plus one per dense layer),
``n ≤ 3`` → adam 0.001 (small), ``n ≤ 6`` → adam 0.0007 (medium), else
adamw 0.0003 (large).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from volta_core.check.schema import DATASET, TRAIN
from volta_core.errors import VoltaError
from volta_core.train.report import Setting

#: Settings always shown in the table, in order; others appear when given.
CORE = ("epochs", "optimizer", "lr", "batch", "device", "precision", "determinism")
OPTIONAL = (
    "steps", "momentum", "weight_decay", "clip_grad", "lr_schedule", "warmup_steps",
    "early_stopping", "seed", "distributed", "log_every",
)
#: Optional settings shown with their schema default when not given.
_SHOWN_DEFAULTS: Final = ("weight_decay", "lr_schedule", "warmup_steps", "log_every")


class DeviceError(VoltaError):
    """The requested device cannot be used (message names what is missing).

    Unlike the base, ``help`` is required: there is always another device to name.
    """

    default_code = "E0622"
    help: str

    def __init__(self, message: str, *, help: str) -> None:
        super().__init__(message, help=help)


@dataclass(frozen=True)
class Resolved:
    settings: tuple[Setting, ...]

    def __getitem__(self, name: str) -> object:
        for s in self.settings:
            if s.name == name:
                return s.value
        return None

    def get(self, name: str, default: object = None) -> object:
        value = self[name]
        return default if value is None else value

    def table(self) -> str:
        """The SPEC §2.3 table: ``Auto configuration:`` then ``    key = value (reason)``."""
        lines = ["Auto configuration:"]
        for s in self.settings:
            if s.name in CORE or s.source == "explicit" or s.name in ("momentum", "distributed"):
                lines.append(f"    {s.name} = {_fmt(s.value)} ({s.reason})")
        return "\n".join(lines) + "\n"


def _fmt(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _size_rule(widths: int) -> tuple[str, float, str]:
    if widths <= 3:
        return "adam", 0.001, "small"
    if widths <= 6:
        return "adam", 0.0007, "medium"
    return "adamw", 0.0003, "large"


def cuda_status() -> str | None:
    """None when a CUDA device is usable, else what is missing (PyCUDA, the driver, a GPU)."""
    from volta_core.backends.cuda.driver import cuda_status as status

    return status()


def resolve(
    given: Mapping[str, object],
    *,
    widths: int,
    model_optimizer: tuple[str, float | None] | None,
    dataset_batch: int | None,
    device_default: str = "auto",
    ranks: int = 1,
) -> Resolved:
    """Resolve the settings of one `train` statement (``given``: its block's values;
    ``ranks``: the processes of the job, more than one for data-parallel training)."""
    out: list[Setting] = []
    distributed = "distributed" in given or ranks > 1

    def add(name: str, value: object, source: str, reason: str) -> None:
        out.append(Setting(name, value, source, reason))

    def explicit(name: str) -> bool:
        if name in given:
            add(name, given[name], "explicit", "explicit")
            return True
        return False

    if not explicit("epochs"):
        add("epochs", TRAIN.default("epochs"), "default", "overridden by steps" if "steps" in given else "default")
    rule_opt, rule_lr, size = _size_rule(widths)
    if not explicit("optimizer"):
        if model_optimizer is not None:
            add("optimizer", model_optimizer[0], "model default", "model default")
        else:
            add("optimizer", rule_opt, "rule", f"rule: {size} model, {widths} layers")
    if not explicit("lr"):
        if model_optimizer is not None and model_optimizer[1] is not None:
            add("lr", model_optimizer[1], "model default", "model default")
        else:
            add("lr", rule_lr, "rule", f"rule: {size} model")
    if not explicit("batch"):
        if dataset_batch is not None:
            add("batch", dataset_batch, "dataset", "dataset")
        else:
            add("batch", DATASET.default("batch"), "default", "default")
    device = given.get("device", device_default)
    if distributed and device == "gpu":
        raise DeviceError(
            "`distributed data_parallel` trains on the CPU; `device gpu` is not supported with it",
            help="use `device cpu` (or leave `device` out), or train on one GPU without `distributed`",
        )
    if device == "gpu":
        missing = cuda_status()
        if missing is not None:
            raise DeviceError(
                f"`device gpu` is not available: {missing}",
                help="use `device cpu` or `device auto` (no silent fallback to the CPU)",
            )
    missing = cuda_status() if device == "auto" and not distributed else None
    auto = ("cpu", "auto: no CUDA device") if missing else ("gpu", "auto: CUDA device found")
    if distributed and device == "auto":
        add("device", "cpu", "rule", "rule: distributed data_parallel trains on the CPU")
    elif "device" in given:
        if device == "auto":
            add("device", auto[0], "auto", auto[1])
        else:
            add("device", str(device), "explicit", "explicit")
    elif device_default != "auto":
        add("device", device_default, "explicit", "--device")
    else:
        add("device", auto[0], "auto", auto[1])
    if not explicit("precision") or given.get("precision") == "auto":
        if out[-1].name == "precision":
            out.pop()
        add("precision", "fp32", "rule", f"rule: device={next(x.value for x in out if x.name == 'device')}")
    if not explicit("determinism"):
        add("determinism", TRAIN.default("determinism"), "default", "default")
    optimizer = next(s.value for s in out if s.name == "optimizer")
    for name in OPTIONAL:
        if explicit(name):
            continue
        if name == "momentum" and optimizer in ("momentum", "rmsprop"):
            # The schema's default is the `momentum` optimizer's; rmsprop runs without momentum.
            value = TRAIN.default("momentum") if optimizer == "momentum" else 0.0
            add("momentum", value, "default", "default")
        elif name in _SHOWN_DEFAULTS:
            add(name, TRAIN.default(name), "default", "default")
    if ranks > 1 and "distributed" not in given:
        add("distributed", "data_parallel", "launch", f"launch: {ranks} ranks")
    return Resolved(tuple(out))
