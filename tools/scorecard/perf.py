"""Perf: the perf gate's verdict on the latest benchmark results against the baseline.

By default the results are read (``benchmarks/results/latest.json``, written by
``python -m benchmarks run``); ``--run-benchmarks`` runs the suite first, into
the scorecard's temporary folder (the committed results stay as they are). The
verdict is the gate's (``benchmarks/gate.py``, threshold 10 %), with two
cases that are not a pass: results and baseline ran different OpenBLAS kernel
sets (NOT COMPARABLE), and results that *are* the baseline's own run (same
``created`` time: nothing new was measured, NOT MEASURED). No incident files
are written: the scorecard only reads.
"""

from __future__ import annotations

import sys
from pathlib import Path

from benchmarks import gate
from tools.scorecard.kpi import ROOT, Kpi, Verdict, cell, run, shown

RESULTS = ROOT / "benchmarks" / "results" / "latest.json"
BASELINE = ROOT / "benchmarks" / "baseline.json"
COMMAND = "python -m benchmarks gate"
#: The suite takes ~2.5 minutes on a quiet machine (docs/performance.md); allow a loaded one.
SUITE_TIMEOUT_S = 1800.0


def run_suite(out: Path) -> str | None:
    """``python -m benchmarks run --out OUT`` (writes ``OUT/latest.json``); why it failed, else None."""
    done = run([sys.executable, "-m", "benchmarks", "run", "--out", str(out)], SUITE_TIMEOUT_S)
    if done.returncode == 0:
        return None
    return f"`python -m benchmarks run` {'timed out' if done.returncode is None else f'exited {done.returncode}'}: " \
        + done.last_line()


def _ratio(value: object) -> str:
    return f"{float(value):.3f}" if isinstance(value, (int, float)) else "—"


def ratios_table(baseline: dict[str, object], results: dict[str, object], threshold: float) -> list[str]:
    """Every gated benchmark: baseline and measured ratio, the limit, and compile limits where set."""
    rows = ["| benchmark | baseline ratio | measured ratio | limit | Volta ms (median) |", "|---|---|---|---|---|"]
    measured: dict[str, dict[str, object]] = results.get("benchmarks", {})  # type: ignore[assignment]
    based: dict[str, dict[str, object]] = baseline.get("benchmarks", {})  # type: ignore[assignment]
    for name, base in based.items():
        got = measured.get(name, {})
        limits = []
        if isinstance(base.get("ratio"), (int, float)):
            limits.append(f"ratio ≤ {float(base['ratio']) * (1 + threshold):.3f}")  # type: ignore[arg-type]
        limits += [f"{key} {base[key]}" for key in ("max_ms", "max_cached_ms") if key in base]
        if not limits:
            continue  # not gated
        times = got.get("volta")  # Volta's side: median and quartiles in ms
        ms = f"{float(times['median']):.2f}" if isinstance(times, dict) and "median" in times else "—"
        if got.get("status", "ok") != "ok" or not got:
            ms = "not measured"
        rows.append(f"| `{name}` | {_ratio(base.get('ratio'))} | {_ratio(got.get('ratio'))} | "
                    f"{cell('; '.join(limits))} | {ms} |")
    return rows


def _loads(doc: dict[str, object]) -> list[float]:
    """The 1-minute load averages a run recorded at its start and end."""
    load = doc.get("load_average")
    if not isinstance(load, dict):
        return []
    return [float(v[0]) for v in (load.get("start"), load.get("end")) if isinstance(v, list) and v]


def _cores(doc: dict[str, object]) -> int | None:
    machine = doc.get("machine")
    cores = machine.get("cores") if isinstance(machine, dict) else None
    return cores if isinstance(cores, int) else None


def _describe(doc: dict[str, object]) -> str:
    machine = doc.get("machine")
    cpu = machine.get("cpu", "?") if isinstance(machine, dict) else "?"
    loads = _loads(doc)
    return (f"run {doc.get('created', '?')}{' (--quick)' if doc.get('quick') else ''}, {cpu}, {_cores(doc)} cores, "
            f"OpenBLAS kernels {gate.kernels_of(doc) or 'not recorded'}"
            + (f", load average {' → '.join(f'{x:.2f}' for x in loads)} (start → end)" if loads else ""))


def busy_note(doc: dict[str, object]) -> str | None:
    """A warning when the run's recorded load reached its core count: other work shared the CPUs."""
    cores, loads = _cores(doc), _loads(doc)
    if cores is None or not loads or max(loads) < cores:
        return None
    return (f"The load average reached {max(loads):.2f} on {cores} cores during this run: other work competed "
            "for the CPUs, so these ratios measure contention as well as code. Rerun on a quiet machine "
            "before acting on them.")


def measure(results_path: Path = RESULTS, baseline_path: Path = BASELINE, run_into: Path | None = None,
            threshold: float = gate.DEFAULT_THRESHOLD) -> Kpi:
    """The gate's verdict on ``results_path``; with ``run_into``, on a suite run made there first."""
    kpi = Kpi("Perf regressions above the gate", f"0 regressions (Volta/PyTorch ratio ≤ baseline × {1 + threshold:g})",
              COMMAND)
    if run_into is not None:
        failed = run_suite(run_into)
        if failed is not None:
            kpi.value = failed
            return kpi
        results_path = run_into / "latest.json"
        source = "measured by this scorecard with `python -m benchmarks run --out TMP`"
    else:
        source = f"read from `{shown(results_path)}`"
    if not results_path.is_file():
        kpi.value = f"no results at `{shown(results_path)}`: run `python -m benchmarks run` or pass `--run-benchmarks`"
        return kpi
    results, baseline = gate.load(results_path), gate.load(baseline_path)
    kpi.budget = f"{source}: {_describe(results)}"
    report = gate.compare(baseline, results, threshold)
    gated = len(report.passed) + len(report.regressions) + len(report.missing)
    if report.not_comparable:
        kpi.verdict = Verdict.NOT_COMPARABLE
        kpi.value = f"not comparable: {report.not_comparable}"
    elif results.get("created") == baseline.get("created"):
        kpi.value = (f"the results are the baseline's own run ({results.get('created')}): nothing new measured; "
                     "rerun with `--run-benchmarks`")
    else:
        kpi.value = (f"{len(report.regressions)} regressions, {len(report.missing)} missing, "
                     f"{len(report.passed)} of {gated} gated benchmarks passed")
        kpi.verdict = Verdict.PASS if report.ok() else Verdict.FAIL
    kpi.details = [f"Baseline: `{shown(baseline_path)}`, {_describe(baseline)}.", ""]
    note = busy_note(results)
    if note:
        kpi.details += [note, ""]
    kpi.details += ratios_table(baseline, results, threshold)
    for r in report.regressions:
        kpi.details.append(f"\nRegression `{r['name']}`: " + "; ".join(map(str, r["problems"])))  # type: ignore[call-overload]
    for name in report.missing:
        kpi.details.append(f"\nMissing `{name}`: in the baseline, not measured.")
    return kpi
