"""CLI smoke: a seeded mix of ``volta`` commands over the examples, and how many succeed.

Every block of six runs is the six commands (``run check info inspect verify
explain``) in a seeded order; each draws its subject (an example, a model of
it, a diagnostic code) and, one time in five, a wrong input. The exit code each
invocation must give is the one docs/cli.md documents:

| command | right input → 0 | wrong input → expected code |
|---|---|---|
| `run` | `volta run EXAMPLE --quiet` | a path that does not exist → 1 (E0801) |
| `check` | `volta check EXAMPLE` | the example plus an undefined name → 1 |
| `info` | `volta info EXAMPLE` | the example plus an undefined name → 1 |
| `inspect` | `volta inspect EXAMPLE MODEL` | a model the file does not declare → 2 |
| `verify` | `volta verify RECORD` (made by `volta run --record`) | a record that is not JSON → 1 (E0806) |
| `explain` | `volta explain CODE` | a code that is not registered → 2 |

A run *succeeds* when it exits with the expected code within
:data:`TIMEOUT_S`, and neither its stdout nor its stderr contains a Python
traceback (``Traceback (most recent call last)``) or an internal error
(``error[E9999]``; the bare code may be a did-you-mean or an explanation).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tools.scorecard.kpi import (
    ROOT,
    SMOKE_MIN_RUNS,
    SMOKE_SEED,
    Budget,
    Completed,
    Kpi,
    Verdict,
    cell,
    run,
    volta_argv,
)
from volta_core.analysis import analyze
from volta_core.diagnostic_codes import CODES
from volta_core.syntax import ast as A

COMMANDS = ("run", "check", "info", "inspect", "verify", "explain")
COMMAND = "volta COMMAND ARGS (a seeded mix of run, check, info, inspect, verify, explain over examples/)"
WRONG_INPUT_RATE = 0.2
TIMEOUT_S = 600.0
TRACEBACK = "Traceback (most recent call last)"
INTERNAL_ERROR = "error[E9999]"
#: Appended to an example to make the `check`/`info` wrong input: an error (E0301).
UNDEFINED = "\nprint no_such_name_for_the_smoke_test\n"


@dataclass(frozen=True)
class Invocation:
    command: str
    args: tuple[str, ...]
    expected: int
    shown: str  # the command line as the scorecard prints it (no temporary paths)
    #: A ``volta`` command that must succeed first (making the record `verify` checks).
    prepare: tuple[str, ...] = ()


@dataclass(frozen=True)
class Result:
    invocation: Invocation
    ok: bool
    why: str  # empty when ok


def _examples() -> list[str]:
    return sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "examples").rglob("*.vt"))


def _models(example: str) -> list[str]:
    program = analyze((ROOT / example).read_text(encoding="utf-8"), example).program
    return [s.name.id for s in program.body if isinstance(s, A.ModelDef)]


def _unregistered_code(rng: random.Random) -> str:
    while True:
        code = f"E{rng.randrange(10_000):04d}"
        if code not in CODES:
            return code


class Plan:
    """The invocations of one smoke run; the files its wrong inputs and records need go to ``workdir``."""

    def __init__(self, seed: int, runs: int, workdir: Path) -> None:
        self.workdir = workdir
        self.rng = random.Random(f"volta-smoke:{seed}")
        self.examples = _examples()
        self.with_models = [(e, m) for e in self.examples for m in _models(e)]
        order: list[str] = []
        while len(order) < runs:
            block = list(COMMANDS)
            self.rng.shuffle(block)
            order += block
        self.invocations = [self._draw(command) for command in order[:runs]]

    def _broken(self, example: str) -> Path:
        path = self.workdir / f"broken-{self.examples.index(example)}.vt"
        path.write_text((ROOT / example).read_text(encoding="utf-8") + UNDEFINED, encoding="utf-8")
        return path

    def _draw(self, command: str) -> Invocation:
        wrong = self.rng.random() < WRONG_INPUT_RATE
        example = self.rng.choice(self.examples)
        if command == "run":
            if wrong:
                missing = example.removesuffix(".vt") + "-missing.vt"
                return Invocation(command, ("run", missing), 1, f"volta run {missing}")
            return Invocation(command, ("run", example, "--quiet"), 0, f"volta run {example} --quiet")
        if command in ("check", "info"):
            if wrong:
                return Invocation(command, (command, str(self._broken(example))), 1,
                                  f"volta {command} BROKEN ({example} plus an undefined name)")
            return Invocation(command, (command, example), 0, f"volta {command} {example}")
        if command == "inspect":
            if wrong or not self.with_models:
                return Invocation(command, ("inspect", example, "no_such_model"), 2,
                                  f"volta inspect {example} no_such_model")
            example, model = self.rng.choice(self.with_models)
            return Invocation(command, ("inspect", example, model), 0, f"volta inspect {example} {model}")
        if command == "verify":
            if wrong:
                bad = self.workdir / "not-a-record.json"
                bad.write_text("{not json\n", encoding="utf-8")
                return Invocation(command, ("verify", str(bad)), 1, "volta verify NOT_JSON (a file that is not JSON)")
            record = str(self.workdir / f"record-{self.examples.index(example)}.json")
            return Invocation(command, ("verify", record), 0,
                              f"volta verify RECORD (of volta run {example} --quiet --record RECORD)",
                              prepare=("run", example, "--quiet", "--record", record))
        code = _unregistered_code(self.rng) if wrong else self.rng.choice(sorted(CODES))
        return Invocation(command, ("explain", code), 2 if wrong else 0, f"volta explain {code}")


def judge(invocation: Invocation, done: Completed) -> Result:
    output = done.stdout + done.stderr
    if done.returncode is None:
        return Result(invocation, False, f"no exit within {TIMEOUT_S:.0f} s")
    problems = []
    if done.returncode != invocation.expected:
        problems.append(f"exit {done.returncode}, expected {invocation.expected}")
    if TRACEBACK in output:
        problems.append("a Python traceback")
    if INTERNAL_ERROR in output:
        problems.append("an internal error (E9999)")
    why = "; ".join(problems)
    if why and done.returncode != invocation.expected:
        why += f": {done.last_line()}"
    return Result(invocation, not problems, why)


def run_plan(plan: Plan) -> list[Result]:
    results = []
    prepared: dict[tuple[str, ...], str] = {}  # prepare command → why it failed ("" when it worked)
    for invocation in plan.invocations:
        if invocation.prepare and invocation.prepare not in prepared:
            made = run([*volta_argv(), *invocation.prepare], TIMEOUT_S)
            prepared[invocation.prepare] = "" if made.returncode == 0 else (
                f"making the record: `volta run --record` exited {made.returncode}: {made.last_line()}")
        if invocation.prepare and prepared[invocation.prepare]:
            results.append(Result(invocation, False, prepared[invocation.prepare]))
            continue
        results.append(judge(invocation, run([*volta_argv(), *invocation.args], TIMEOUT_S)))
    return results


def measure(budget: Budget, workdir: Path) -> Kpi:
    kpi = Kpi("CLI smoke success rate", f"≥ 99% of ≥ {SMOKE_MIN_RUNS} runs", COMMAND)
    plan = Plan(SMOKE_SEED, budget.smoke_runs, workdir)
    results = run_plan(plan)
    passed = sum(r.ok for r in results)
    rate = passed / len(results) if results else 0.0
    wrong = sum(r.invocation.expected != 0 for r in results)
    kpi.budget = f"{len(results)} runs ({wrong} with a wrong input), seed {SMOKE_SEED}"
    kpi.value = f"{rate:.1%} ({passed} of {len(results)} runs)"
    if not results:
        kpi.verdict = Verdict.NOT_MEASURED
    elif rate < 0.99:
        kpi.verdict = Verdict.FAIL
    else:
        kpi.verdict = Verdict.PASS if len(results) >= SMOKE_MIN_RUNS else Verdict.PARTIAL
    runs = Counter(r.invocation.command for r in results)
    ok = Counter(r.invocation.command for r in results if r.ok)
    kpi.details = [
        "Success: the exit code docs/cli.md gives for the input (0, or 1/2 for the wrong inputs), "
        "and no Python traceback or `error[E9999]` in the output.",
        "",
        "| command | runs | succeeded |",
        "|---|---|---|",
        *(f"| `{c}` | {runs[c]} | {ok[c]} |" for c in COMMANDS),
    ]
    failed = [r for r in results if not r.ok]
    if failed:
        kpi.details += ["", "| failed run | why |", "|---|---|"]
        kpi.details += [f"| `{cell(r.invocation.shown)}` | {cell(r.why)} |" for r in failed]
    kpi.details += ["", f"<details><summary>All {len(results)} runs, in order</summary>", "",
                    "| # | command | expected exit | result |", "|---|---|---|---|"]
    kpi.details += [f"| {i} | `{cell(r.invocation.shown)}` | {r.invocation.expected} | {'ok' if r.ok else 'FAILED'} |"
                    for i, r in enumerate(results, 1)]
    kpi.details += ["", "</details>"]
    return kpi
