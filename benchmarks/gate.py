"""The performance gate: Volta/PyTorch ratios against the committed baseline.

Ratios, not times, are compared: both sides ran interleaved in the same
process on the same machine, so the ratio carries over between machines far
better than a time does. A benchmark *regresses* when its measured ratio
exceeds the baseline ratio by more than ``threshold`` (relative:
``measured > baseline * (1 + threshold)``). Volta-only benchmarks (no peer)
are gated only where the baseline gives an absolute ``max_ms`` for them
(compile times). A baseline benchmark with a ratio (or ``max_ms``) that the
results lack, or that did not run, is reported as missing. Each regression
writes ``incident-<name>.md`` naming the benchmark, the baseline ratio and
the measured ratio.

Ratios carry over between machines, not between BLAS kernel sets: NumPy's
OpenBLAS runs AVX2 (``Haswell``) or AVX-512 (``SkylakeX``) kernels depending on
the CPU and ``OPENBLAS_CORETYPE``, which changes Volta's step times by 20-40 %
on the development machine while PyTorch (MKL) stays put. When the baseline and the results name different
kernel sets the gate fails as *not comparable* (and writes
``incident-blas-kernels.md``) instead of judging the ratios. Nor between hosts
whose matmul speed differs a lot: the same kernel set measured 463 GFLOP/s on
the baseline's host and 197-202 on a later one, and eight MLP ratios moved by
30-60 % with no change to the code (an A/B of the two commits on one host
agreed within noise). When the two runs' measured float32 matmul peaks differ
by more than :data:`PEAK_TOLERANCE` times, the gate fails as *not comparable*
too (``incident-matmul-peak.md``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_THRESHOLD = 0.10
#: Runs whose measured matmul peaks differ by more than this factor are not compared.
PEAK_TOLERANCE = 1.5


@dataclass
class GateReport:
    regressions: list[dict[str, object]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)
    incidents: list[Path] = field(default_factory=list)
    not_comparable: str | None = None  # why the ratios were not judged

    def ok(self, allow_missing: bool = False) -> bool:
        return self.not_comparable is None and not self.regressions and (allow_missing or not self.missing)


def kernels_of(doc: dict[str, object]) -> str | None:
    """The OpenBLAS kernel set a run used (None: not recorded, e.g. older results)."""
    info = doc.get("blas_kernels")
    return str(info["kernels"]) if isinstance(info, dict) and info.get("kernels") else None


def _ms(res: dict[str, object], key: str = "volta") -> float | None:
    s = res.get(key)
    return float(s["median"]) if isinstance(s, dict) and "median" in s else None


def peak_of(doc: dict[str, object]) -> float | None:
    """The float32 matmul peak (GFLOP/s) a run measured on its host (None: not recorded)."""
    peak = doc.get("matmul_peak_gflops")
    return float(peak) if isinstance(peak, (int, float)) and peak > 0 else None


def _incomparable(baseline: dict[str, object], results: dict[str, object]) -> tuple[str, str] | None:
    """(why, incident name) when the two runs' ratios cannot be compared, else None."""
    base_k, run_k = kernels_of(baseline), kernels_of(results)
    if base_k and run_k and base_k != run_k:
        return (f"the baseline was measured with OpenBLAS kernels {base_k}, this run with {run_k}: "
                "rerun with the baseline's kernel set (see OPENBLAS_CORETYPE in docs/performance.md) "
                "or make a baseline for this one"), "blas-kernels"
    base_p, run_p = peak_of(baseline), peak_of(results)
    if base_p and run_p and max(base_p, run_p) > PEAK_TOLERANCE * min(base_p, run_p):
        return (f"the baseline's host measured a float32 matmul peak of {base_p:.0f} GFLOP/s, this one "
                f"{run_p:.0f} ({max(base_p, run_p) / min(base_p, run_p):.1f}x apart, more than "
                f"{PEAK_TOLERANCE:g}x): Volta's NumPy steps follow that speed and PyTorch's do not, so the "
                "ratios do not carry over; rerun on a host like the baseline's or make a baseline for "
                "this one"), "matmul-peak"
    return None


def compare(baseline: dict[str, object], results: dict[str, object], threshold: float = DEFAULT_THRESHOLD,
            incident_dir: Path | None = None) -> GateReport:
    report = GateReport()
    incomparable = _incomparable(baseline, results)
    if incomparable is not None:
        report.not_comparable, what = incomparable
        if incident_dir is not None:
            incident_dir.mkdir(parents=True, exist_ok=True)
            path = incident_dir / f"incident-{what}.md"
            path.write_text(f"# Performance gate: results not comparable\n\n- {report.not_comparable}\n")
            report.incidents.append(path)
        return report
    measured: dict[str, dict[str, object]] = results.get("benchmarks", {})  # type: ignore[assignment]
    for name, base in baseline.get("benchmarks", {}).items():  # type: ignore[union-attr]
        base_ratio = base.get("ratio")
        max_ms = base.get("max_ms")
        max_cached = base.get("max_cached_ms")
        if base_ratio is None and max_ms is None and max_cached is None:
            continue  # not gated (pending, or informational)
        res = measured.get(name)
        if res is None or res.get("status", "ok") != "ok":
            report.missing.append(name)
            continue
        problems: list[str] = []
        detail: dict[str, object] = {"name": name, "threshold": threshold}
        if base_ratio is not None:
            ratio = res.get("ratio")
            if ratio is None:
                report.missing.append(name)
                continue
            detail.update(baseline_ratio=float(base_ratio), measured_ratio=float(ratio))
            limit = float(base_ratio) * (1.0 + threshold)
            if float(ratio) > limit:
                problems.append(f"ratio {float(ratio):.3f} > {float(base_ratio):.3f} × (1 + {threshold:g}) = {limit:.3f}")
        for key, bound, label in (("volta", max_ms, "max_ms"), ("cached", max_cached, "max_cached_ms")):
            if bound is None:
                continue
            got = _ms(res, key)
            if got is None:
                problems.append(f"no {key} time measured")
            elif got > float(bound):
                problems.append(f"{key} median {got:.2f} ms > {label} {float(bound):.2f} ms")
                detail[f"measured_{key}_ms"] = got
                detail[label] = float(bound)
        if problems:
            detail["problems"] = problems
            report.regressions.append(detail)
            if incident_dir is not None:
                report.incidents.append(write_incident(incident_dir, detail, results))
        else:
            report.passed.append(name)
    return report


def write_incident(directory: Path, detail: dict[str, object], results: dict[str, object]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    name = str(detail["name"])
    path = directory / f"incident-{name}.md"
    machine = results.get("machine", {})
    lines = [
        f"# Performance regression: `{name}`",
        "",
        f"- benchmark: `{name}`",
        f"- baseline ratio (Volta/PyTorch): {detail.get('baseline_ratio', '—')}",
        f"- measured ratio (Volta/PyTorch): {detail.get('measured_ratio', '—')}",
        f"- threshold: {float(detail['threshold']):.0%}",
        f"- run: {results.get('created', '?')} on {machine.get('cpu', '?')} ({machine.get('cores', '?')} cores)",  # type: ignore[union-attr]
        "",
        "Why it failed:",
        "",
        *[f"- {p}" for p in detail["problems"]],  # type: ignore[union-attr]
        "",
        "Reproduce with `python -m benchmarks run --only " + name + "` and "
        "`python -m benchmarks gate`; profile the step before changing the baseline.",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


#: Absolute limits the baseline adds for Volta-only benchmarks (issue 11's compile targets).
LIMITS = {"compile_mlp_small": {"max_ms": 50.0, "max_cached_ms": 10.0},
          "compile_mlp_large": {"max_ms": 50.0, "max_cached_ms": 10.0}}


def make_baseline(results: dict[str, object]) -> dict[str, object]:
    """A baseline from a full run's results: the ratios, plus :data:`LIMITS`."""
    base = dict(results)
    benches = {name: dict(res) for name, res in results.get("benchmarks", {}).items()}  # type: ignore[union-attr]
    for name, limits in LIMITS.items():
        if name in benches:
            benches[name].update(limits)
    base["benchmarks"] = benches
    return base


def load(path: Path) -> dict[str, object]:
    return json.loads(Path(path).read_text())


def format_report(report: GateReport, threshold: float) -> str:
    if report.not_comparable:
        return "\n".join([f"perf gate: NOT COMPARABLE: {report.not_comparable}",
                          *(f"  incident written: {p}" for p in report.incidents)])
    out = [f"perf gate (threshold {threshold:.0%}): {len(report.passed)} passed, "
           f"{len(report.regressions)} regressed, {len(report.missing)} missing"]
    for r in report.regressions:
        out.append(f"  REGRESSION {r['name']}: " + "; ".join(r["problems"]))  # type: ignore[arg-type]
    for name in report.missing:
        out.append(f"  MISSING {name}: in the baseline but not measured")
    for p in report.incidents:
        out.append(f"  incident written: {p}")
    return "\n".join(out)
