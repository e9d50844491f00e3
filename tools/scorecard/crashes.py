"""Crashes: internal errors over a fixed, seeded budget of fuzz cases.

The cases of :mod:`tools.fuzz_cases` run in a child process that reports each
case before and after it runs. An internal error is an ``E9999`` diagnostic or
a Python traceback (reported by the child), a signal that kills the child (a
segmentation fault, an abort), or a case that hangs past :data:`CASE_LIMIT_S`
(the child is killed). After a signal or a hang a new child resumes at the
next case, so one crash does not hide the others.
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

from tools.fuzz_cases import KINDS
from tools.scorecard.kpi import FULL, FUZZ_SEED, ROOT, Budget, Kpi, Verdict, cell

COMMAND = "python -m tools.fuzz_cases --seed SEED --cases N"
#: Far above any case's run (the run itself is interrupted after 0.2 s).
CASE_LIMIT_S = 120.0
#: Failures listed one by one in the scorecard; the count covers all of them.
LISTED = 20


@dataclass(frozen=True)
class Crash:
    index: int
    kind: str
    what: str  # "E9999 (analyze)", "traceback (run)", "signal SIGSEGV", "hang", "exit 3"
    detail: str


class WorkerError(Exception):
    """The child process could not run a single case (not a crash of Volta)."""


def _reader(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _message(line: str) -> dict[str, Any] | None:
    """A protocol line of the child; None for anything else a case wrote to stdout."""
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) and ("start" in message or "done" in message) else None


def _signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


#: The child process: ``tools.fuzz_cases`` in its ``--jsonl`` mode.
WORKER = (sys.executable, "-m", "tools.fuzz_cases")


def run_cases(seed: int, cases: int, limit_s: float = CASE_LIMIT_S,
              worker: Sequence[str] = WORKER) -> tuple[list[Crash], Counter[str]]:
    """Run cases ``0..cases-1`` of ``seed``: the crashes, and how many cases of each kind ran."""
    crashes: list[Crash] = []
    kinds: Counter[str] = Counter()
    start = 0
    while start < cases:
        argv = [*worker, "--seed", str(seed), "--cases", str(cases), "--start", str(start), "--jsonl"]
        with tempfile.TemporaryFile("w+", encoding="utf-8") as stderr:
            proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True)
            assert proc.stdout is not None
            lines: queue.Queue[str | None] = queue.Queue()
            threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
            current: tuple[int, str] | None = None
            hung = False
            while True:
                try:
                    line = lines.get(timeout=limit_s)
                except queue.Empty:
                    hung = True
                    proc.kill()
                    break
                if line is None:
                    break
                message = _message(line)
                if message is None:
                    continue
                if "start" in message:
                    current = (int(message["start"]), str(message["kind"]))
                    continue
                assert current is not None and message["done"] == current[0]
                kinds[current[1]] += 1
                for door, what, detail in message["failures"]:
                    crashes.append(Crash(current[0], current[1], f"{what} ({door})", detail))
                start, current = current[0] + 1, None
            returncode = proc.wait()
            stderr.seek(0)
            errors = stderr.read()
        if current is None:
            if start < cases:
                raise WorkerError(f"`{' '.join(argv[1:])}` exited {returncode} before case {start}: "
                                  f"{errors.strip()[-500:] or '(no output)'}")
            break
        index, kind = current
        kinds[kind] += 1
        if hung:
            crashes.append(Crash(index, kind, "hang", f"no answer within {limit_s:.0f} s; the process was killed"))
        elif returncode < 0:
            crashes.append(Crash(index, kind, _signal_name(returncode), "the process was killed by a signal"))
        else:
            crashes.append(Crash(index, kind, f"exit {returncode}", errors.strip()[-500:] or "(no output)"))
        start = index + 1
    return crashes, kinds


def measure(budget: Budget) -> Kpi:
    kpi = Kpi("Critical crashes", "0 internal errors (E9999, tracebacks, signals, hangs)", COMMAND)
    kpi.budget = f"{budget.fuzz_cases} cases, seed {FUZZ_SEED}"
    try:
        crashes, kinds = run_cases(FUZZ_SEED, budget.fuzz_cases)
    except WorkerError as exc:
        kpi.value = f"could not run the cases: {exc}"
        return kpi
    failing = len({c.index for c in crashes})
    kpi.value = f"{failing} of {sum(kinds.values())} cases caused an internal error"
    if crashes:
        kpi.verdict = Verdict.FAIL
    else:
        kpi.verdict = Verdict.PASS if budget.fuzz_cases >= FULL.fuzz_cases else Verdict.PARTIAL
    by_what = Counter(c.what for c in crashes)
    kpi.details = [
        "Cases per kind: " + ", ".join(f"{kind} {kinds[kind]}" for kind in KINDS) + ".",
        "Each case goes through `analyze`, `Session.run` (interrupted after 0.2 s) and the text and JSON "
        "renderers, in a child process.",
    ]
    if crashes:
        kpi.details.append(f"{len(crashes)} internal errors: " + ", ".join(f"{what} {n}" for what, n in by_what.items())
                           + f". Rebuild a case with `python -m tools.fuzz_cases --seed {FUZZ_SEED} --show I`.")
        kpi.details += ["", "| case | kind | internal error | last line |", "|---|---|---|---|"]
        for c in crashes[:LISTED]:
            last = c.detail.strip().splitlines()[-1] if c.detail.strip() else ""
            kpi.details.append(f"| {c.index} | {c.kind} | {c.what} | {cell(last)} |")
        if len(crashes) > LISTED:
            kpi.details.append(f"\n({len(crashes) - LISTED} more not listed.)")
    return kpi
