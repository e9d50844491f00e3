"""Determinism: record every training example's run, verify it, count divergences.

A *training example* is a ``.vt`` file under ``examples/`` with a ``train``
statement anywhere in it (found in its syntax tree, so an example that fails
to run is still counted). Each is run with ``--record`` and re-run by
``volta verify``: bit-identical, diverged (the first divergence is quoted), or
could not be verified (the failing command and its last line) — never skipped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tools.scorecard.kpi import ROOT, Budget, Kpi, Verdict, cell, run, volta_argv
from volta_core.analysis import analyze
from volta_core.syntax import ast as A

EXAMPLES = ROOT / "examples"
COMMAND = "volta run EXAMPLE --quiet --record RECORD && volta verify RECORD"
TIMEOUT_S = 900.0


@dataclass(frozen=True)
class Outcome:
    example: str
    result: str  # "bit-identical", "diverged", "not verified", "not measured"
    detail: str
    seconds: float = 0.0


def _has_train(body: Sequence[A.Stmt]) -> bool:
    return any(isinstance(s, A.Train) or any(_has_train(b) for b in A.block_statements(s)) for s in body)


def training_examples(examples: Path = EXAMPLES) -> list[Path]:
    """Every ``.vt`` under ``examples`` with a ``train`` statement, in path order."""
    found = []
    for path in sorted(examples.rglob("*.vt")):
        program = analyze(path.read_text(encoding="utf-8"), str(path)).program
        if _has_train(program.body):
            found.append(path)
    return found


def verify_example(path: Path, record: Path) -> Outcome:
    """``volta run --record`` then ``volta verify`` of one example."""
    name = path.relative_to(ROOT).as_posix()
    volta = volta_argv()
    ran = run([*volta, "run", name, "--quiet", "--record", str(record)], TIMEOUT_S)
    if ran.returncode != 0 or not record.is_file():
        got = "timed out" if ran.returncode is None else f"exited {ran.returncode}"
        return Outcome(name, "not verified", f"`volta run --record` {got}: {ran.last_line()}", ran.seconds)
    trains = json.loads(record.read_text(encoding="utf-8")).get("trains", [])
    if not trains:
        return Outcome(name, "not verified", "the record holds no train statement", ran.seconds)
    verified = run([*volta, "verify", str(record)], TIMEOUT_S)
    seconds = ran.seconds + verified.seconds
    first = verified.stdout.strip().splitlines()[0] if verified.stdout.strip() else ""
    if verified.returncode == 0 and first.startswith("bit-identical"):
        return Outcome(name, "bit-identical", first, seconds)
    if verified.returncode == 1 and first.startswith("diverged"):
        return Outcome(name, "diverged", first, seconds)
    got = "timed out" if verified.returncode is None else f"exited {verified.returncode}"
    return Outcome(name, "not verified", f"`volta verify` {got}: {verified.last_line()}", seconds)


def measure(budget: Budget, workdir: Path) -> Kpi:
    kpi = Kpi("Determinism regressions", "0 divergences", COMMAND)
    examples = training_examples()
    chosen = examples if budget.determinism_examples is None else examples[: budget.determinism_examples]
    outcomes = [verify_example(p, workdir / f"record-{i}.json") for i, p in enumerate(chosen)]
    outcomes += [Outcome(p.relative_to(ROOT).as_posix(), "not measured", f"not measured in the {budget.name} budget")
                 for p in examples[len(chosen):]]
    diverged = sum(o.result == "diverged" for o in outcomes)
    unverified = sum(o.result == "not verified" for o in outcomes)
    measured = len(chosen)
    kpi.budget = f"{measured} of {len(examples)} training examples"
    kpi.value = f"{diverged} divergences in {measured} training examples"
    if unverified:
        kpi.value += f"; {unverified} could not be verified"
    if not examples:
        kpi.value, kpi.verdict = "no training example found under examples/", Verdict.NOT_MEASURED
    elif diverged or unverified:
        kpi.verdict = Verdict.FAIL
    else:
        kpi.verdict = Verdict.PASS if measured == len(examples) else Verdict.PARTIAL
    kpi.details = ["| example | result | detail | seconds |", "|---|---|---|---|"]
    kpi.details += [f"| `{o.example}` | {o.result} | {cell(o.detail)} | {f'{o.seconds:.1f}' if o.seconds else '—'} |"
                    for o in outcomes]
    return kpi
