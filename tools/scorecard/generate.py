"""Measure every KPI and write the scorecard.

    python -m tools.scorecard [--budget full|tiny] [--out DIR] [--run-benchmarks]

Writes ``DIR/YYYY-MM-DD.md`` (UTC date; default DIR: docs/governance/scorecards,
where README.md and docs/index.md are then re-pointed at the scorecards). The
tiny budget checks the generator in about a minute and writes only with
``--out``: its numbers cover too few cases to be a scorecard. Exit status 0
once the scorecard is written, whatever its verdicts; 2 for a usage error.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from tools.scorecard import conformance, crashes, determinism, links, machine, perf, quickstart, smoke
from tools.scorecard.kpi import BUDGETS, SCORECARDS, Budget, Kpi, shown
from tools.scorecard.render import Run, render


def _timed(label: str, measure: Callable[[], Kpi | tuple[Kpi, ...]]) -> list[Kpi]:
    load = machine.load_average()
    sys.stderr.write(f"scorecard: {label} (load average {load})…\n")
    started = time.monotonic()
    result = measure()
    measured = list(result) if isinstance(result, tuple) else [result]
    for kpi in measured:
        kpi.seconds, kpi.load = time.monotonic() - started, load
        sys.stderr.write(f"scorecard:   {kpi.name}: {kpi.verdict}: {kpi.value}\n")
    return measured


def measure_all(budget: Budget, work: Path, results: Path, baseline: Path, run_benchmarks: bool) -> list[Kpi]:
    """Every KPI, in the roadmap's order."""
    for folder in ("benchmarks", "determinism", "smoke"):
        (work / folder).mkdir()
    run_into = work / "benchmarks" if run_benchmarks else None
    # The benchmarks go first: they are the measurement most disturbed by a busy machine.
    found = {
        "perf": _timed("perf gate", lambda: perf.measure(results, baseline, run_into)),
        "determinism": _timed("determinism", lambda: determinism.measure(budget, work / "determinism")),
        "crashes": _timed("crashes", lambda: crashes.measure(budget)),
        "quickstart": _timed("quickstart", lambda: quickstart.measure(budget)),
        "smoke": _timed("CLI smoke", lambda: smoke.measure(budget, work / "smoke")),
    }
    first_success, setup = found["quickstart"]
    return [*found["determinism"], *found["crashes"], *found["perf"], first_success, *found["smoke"], setup]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.scorecard",
                                     description="Measure every KPI and write the scorecard.")
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="full",
                        help="full: the KPIs' definition (default); tiny: a quick check of the generator")
    parser.add_argument("--out", type=Path, help=f"folder of the scorecard (default {shown(SCORECARDS)})")
    parser.add_argument("--run-benchmarks", action="store_true",
                        help="run `python -m benchmarks run` first, into a temporary folder (about 2.5 min "
                             "on a quiet machine), instead of reading the latest results")
    parser.add_argument("--results", type=Path, default=perf.RESULTS, help="benchmark results the perf gate reads")
    parser.add_argument("--baseline", type=Path, default=perf.BASELINE, help="the perf gate's baseline")
    parser.add_argument("--conformance", type=Path, default=conformance.RESULTS,
                        help="ONNX conformance results (shown when the file exists)")
    args = parser.parse_args(argv)
    budget = BUDGETS[args.budget]
    if budget.name != "full" and args.out is None:
        parser.error(f"the {budget.name} budget writes only with --out: it is a check of the generator, not a scorecard")
    out: Path = args.out or SCORECARDS
    command = " ".join(["python -m tools.scorecard", *(argv if argv is not None else sys.argv[1:])])

    started = datetime.now(UTC)
    clock = time.monotonic()
    load_start = machine.load_average()
    described = machine.describe()
    with tempfile.TemporaryDirectory(prefix="volta-scorecard-") as work:
        kpis = measure_all(budget, Path(work), args.results, args.baseline, args.run_benchmarks)
    run = Run(date=started.date().isoformat(), started=started.strftime("%Y-%m-%dT%H:%M:%SZ"), command=command,
              budget=budget, seconds=time.monotonic() - clock, machine=described, load_start=load_start,
              load_end=machine.load_average())
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{run.date}.md"
    path.write_text(render(run, kpis, conformance.section(args.conformance)), encoding="utf-8")
    if out.resolve() == SCORECARDS.resolve():
        links.update()
    print(f"wrote {path}")
    return 0
