"""Kernel magics: parsing magic cells, ``%history`` text and ``%replay``.

A **magic cell** holds only magics, one per line, each starting with ``%`` in
column 0 (blank and comment lines are allowed). A cell mixing magics and Volta
code is rejected, so Volta line numbers always match the cell's own lines.
No Jupyter imports here.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass
from typing import Final

from volta_core.lang.session import Session
from volta_core.lang.values import Function, format_value, type_name
from volta_core.present import plural
from volta_core.train.report import Setting
from volta_kernel.complete import is_magic_line, strip_comment

#: Magic name → (usage, one-line help).
MAGICS: Final = {
    "history": ("%history", "list the cells recorded in the session's history, with their numbers"),
    "replay": ("%replay", "re-run the history in a fresh session and compare outputs and globals"),
    "reset": ("%reset", "start a fresh session: forget all globals and the history"),
    "who": ("%who", "table of the session's globals: name, kind, type, value"),
    "step": (
        "%step MODEL on DATA [N]",
        "train MODEL for N optimizer steps (default 1), continuing from its weights and optimizer state",
    ),
    "plot": ("%plot MODEL", "loss and accuracy curves of MODEL's training so far (PNG)"),
    "ir": ("%ir MODEL", "MODEL's forward and training IR graphs with their summaries"),
}
#: Magics taking arguments (the others take none).
WITH_ARGS: Final = frozenset({"step", "plot", "ir"})
#: `train` settings a `%step` carries over from the model's last `train`.
_STEP_SETTINGS: Final = (
    "optimizer", "lr", "batch", "momentum", "weight_decay", "clip_grad", "lr_schedule", "warmup_steps",
    "seed", "device", "precision", "determinism",
)


class MagicError(Exception):
    """A magic cell that cannot run (unknown magic, bad arguments, mixed cell)."""


@dataclass(frozen=True, slots=True)
class MagicCall:
    name: str
    args: tuple[str, ...]
    line: int  # 1-based line in the cell


def parse_magic_cell(code: str) -> list[MagicCall] | None:
    """The magics of ``code``, or None when it is a plain Volta cell.

    Raises :class:`MagicError` for a cell mixing magics and code.
    """
    lines = code.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not any(is_magic_line(line) for line in lines):
        return None
    calls: list[MagicCall] = []
    for number, line in enumerate(lines, 1):
        if is_magic_line(line):
            words = line[1:].split()
            calls.append(MagicCall(words[0] if words else "", tuple(words[1:]), number))
        elif strip_comment(line)[0].strip():
            raise MagicError(
                f"line {number} is Volta code in a magic cell: put magics (`%…` lines) "
                "and Volta code in separate cells"
            )
    return calls


def parse_step_args(args: tuple[str, ...]) -> tuple[str, str, int]:
    """``MODEL on DATA [N]`` → (model, data, N); raises :class:`MagicError`."""
    usage = f"usage: {MAGICS['step'][0]}"
    if len(args) not in (3, 4) or args[1] != "on":
        raise MagicError(f"`%step` takes a model, `on` and a dataset ({usage})")
    steps = 1
    if len(args) == 4:
        try:
            steps = int(args[3])
        except ValueError:
            steps = 0
        if steps < 1:
            raise MagicError(f"the number of steps must be a positive integer, not `{args[3]}` ({usage})")
    return args[0], args[2], steps


def _setting_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def step_source(model: str, data: str, steps: int, settings: list[Setting] | None) -> str:
    """The `train` statement a ``%step`` runs (and records in the history).

    ``settings`` are the resolved settings of the model's last `train` (None:
    autopilot chooses, as for a plain `train`). Settings that were defaults
    are left to resolve to the same defaults; the device and precision are
    carried only when they were given explicitly.
    """
    lines = [f"# %step {model} on {data} {steps}", f"train {model} on {data}", f"    steps {steps}"]
    for setting in settings or ():
        if setting.name not in _STEP_SETTINGS or setting.value is None or setting.source == "default":
            continue
        if setting.name in ("device", "precision") and setting.source != "explicit":
            continue
        lines.append(f"    {setting.name} {_setting_value(setting.value)}")
    return "\n".join(lines) + "\n"


def history_text(history: list[tuple[str, str]]) -> str:
    """Each recorded cell under a ``# <cell N>`` header line."""
    if not history:
        return "history is empty\n"
    parts = [f"# {path}\n{text.rstrip()}\n" for path, text in history]
    return "\n".join(parts)


def _globals_view(session: Session) -> dict[str, str]:
    out = {}
    for name, value in session.globals.items():
        if type(value) is Function:
            assert isinstance(value, Function)
            out[name] = value.signature
        else:
            out[name] = f"{type_name(value)} {format_value(value)!r}"
    return out


@dataclass(frozen=True, slots=True)
class PartialCell:
    """A cell that failed part-way (interrupted, runtime error): not in the history,
    but the statements it finished changed the session. ``before`` is the number of
    history entries recorded before it ran."""

    path: str
    before: int
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class ReplayReport:
    cells: int
    ok: bool
    message: str
    #: True when replay stopped at a cell that failed part-way (not a divergence).
    stopped: bool = False


def replay(
    history: list[tuple[str, str]],
    outputs: dict[str, str],
    live: Session,
    base_dir: pathlib.Path | None,
    partial: list[PartialCell] | None = None,
) -> ReplayReport:
    """Run ``history`` in a fresh session; compare each cell's printed output
    with ``outputs`` (recorded when it first ran) and, at the end, the globals
    with ``live``'s. Reports the first divergence.

    Replay stops at the first cell of ``partial``: what it finished (a `train`'s
    steps before an interrupt) is not in the history, so the cells after it
    cannot be compared; the report names it and what was replayed before it."""
    stop = partial[0] if partial else None
    if stop is not None:
        history = history[: stop.before]
    captured: list[str] = []
    # Like the kernel's session: training progress goes to a display, not stdout.
    fresh = Session(
        stdout=captured.append, base_dir=base_dir, call_depth_limit=live.call_depth_limit,
        progress=_no_progress,
    )
    for count, (path, text) in enumerate(history, 1):
        captured.clear()
        result = fresh.run(text, path)
        got = "".join(captured)
        if not result.ok:
            first = result.errors[0]
            return ReplayReport(count, False, f"{path} failed on replay: error[{first.code}]: {first.message}")
        want = outputs.get(path)
        if want is not None and got != want:
            return ReplayReport(count, False, _first_difference(path, want, got))
    if stop is not None:
        what = "was interrupted" if stop.code == "E0607" else "failed part-way"
        n = len(history)
        return ReplayReport(
            n, False,
            f"replay stops at {stop.path}: it {what} (error[{stop.code}]: {stop.message}) and kept the "
            f"effects of the statements it finished, which are not in the history; the {plural(n, 'cell')} "
            f"before it replayed with identical outputs (`%reset` and rerun the cells to replay all)",
            stopped=True,
        )
    mine, theirs = _globals_view(live), _globals_view(fresh)
    if mine != theirs:
        for name in sorted(set(mine) | set(theirs)):
            if mine.get(name) != theirs.get(name):
                return ReplayReport(
                    len(history), False,
                    f"outputs identical but global `{name}` differs: session has "
                    f"{mine.get(name, '(missing)')}, replay has {theirs.get(name, '(missing)')}",
                )
    n = len(history)
    return ReplayReport(n, True, f"bit-identical: {plural(n, 'cell')} replayed, outputs identical")


def _no_progress(text: str) -> None:
    pass


def _first_difference(path: str, want: str, got: str) -> str:
    want_lines, got_lines = want.splitlines(), got.splitlines()
    for i in range(max(len(want_lines), len(got_lines))):
        a = want_lines[i] if i < len(want_lines) else "(no line)"
        b = got_lines[i] if i < len(got_lines) else "(no line)"
        if a != b:
            return f"{path} diverges at output line {i + 1}: recorded {a!r}, replay printed {b!r}"
    return f"{path} diverges in line endings of its output"
