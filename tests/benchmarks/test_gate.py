"""The perf gate on synthetic result files (no benchmarking here: DESIGN §5)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import gate  # noqa: E402
from benchmarks.suite import markdown  # noqa: E402


def _stats(ms: float) -> dict[str, float]:
    return {"median": ms, "q1": ms * 0.98, "q3": ms * 1.02, "min": ms * 0.95, "max": ms * 1.1, "n": 15}


def _results(ratios: dict[str, float | None], extra: dict[str, dict[str, object]] | None = None) -> dict[str, object]:
    benches: dict[str, dict[str, object]] = {}
    for name, ratio in ratios.items():
        if ratio is None:
            benches[name] = {"status": "pending", "why": "not built yet", "kind": "train_text"}
        else:
            benches[name] = {"status": "ok", "kind": "train", "unit": "ms", "volta": _stats(10.0 * ratio),
                             "peer": _stats(10.0), "ratio": ratio}
    benches.update(extra or {})
    return {"created": "2026-01-01T00:00:00Z", "seconds": 1.0, "quick": False,
            "machine": {"cpu": "Test CPU", "cores": 2, "numpy": "2", "numpy_blas": "openblas", "torch": "2"},
            "threads": {"volta_blas": 2, "torch": 2}, "matmul_peak_gflops": 100.0, "benchmarks": benches}


BASE = _results({"train_a": 0.80, "train_b": 1.00, "text": None})


def test_synthetic_regression_trips_the_gate_and_writes_an_incident(tmp_path: Path) -> None:
    report = gate.compare(BASE, _results({"train_a": 0.80, "train_b": 1.25}), 0.10, tmp_path)
    assert not report.ok()
    assert [r["name"] for r in report.regressions] == ["train_b"]
    incident = tmp_path / "incident-train_b.md"
    assert report.incidents == [incident]
    text = incident.read_text()
    assert "`train_b`" in text and "baseline ratio (Volta/PyTorch): 1.0" in text
    assert "measured ratio (Volta/PyTorch): 1.25" in text
    assert not (tmp_path / "incident-train_a.md").exists()


def test_noise_within_threshold_passes(tmp_path: Path) -> None:
    # +9% and an improvement are both fine at a 10% threshold; exactly at the limit passes.
    report = gate.compare(BASE, _results({"train_a": 0.872, "train_b": 0.7}), 0.10, tmp_path)
    assert report.ok() and sorted(report.passed) == ["train_a", "train_b"]
    assert list(tmp_path.iterdir()) == []
    at_limit = gate.compare(BASE, _results({"train_a": 0.88, "train_b": 1.1}), 0.10)
    assert at_limit.ok()


def test_threshold_is_configurable() -> None:
    measured = _results({"train_a": 0.86, "train_b": 1.0})
    assert gate.compare(BASE, measured, 0.10).ok()
    assert not gate.compare(BASE, measured, 0.05).ok()


def test_missing_and_failed_benchmarks_are_reported() -> None:
    measured = _results({"train_a": 0.8}, {"train_b": {"status": "error", "why": "boom"}})
    report = gate.compare(BASE, measured, 0.10)
    assert report.missing == ["train_b"] and not report.regressions
    assert not report.ok() and report.ok(allow_missing=True)
    assert "MISSING train_b" in gate.format_report(report, 0.10)
    gone = gate.compare(BASE, _results({"train_a": 0.8}), 0.10)
    assert gone.missing == ["train_b"]


def test_pending_baseline_entries_are_not_gated() -> None:
    report = gate.compare(BASE, _results({"train_a": 0.8, "train_b": 1.0}), 0.10)
    assert report.ok() and "text" not in report.missing


def test_absolute_limits_for_volta_only_benchmarks(tmp_path: Path) -> None:
    base = {"benchmarks": {"compile_x": {"ratio": None, "max_ms": 50.0, "max_cached_ms": 10.0}}}
    fast = {"benchmarks": {"compile_x": {"status": "ok", "volta": _stats(5.0), "cached": _stats(2.0), "ratio": None}}}
    slow = {"benchmarks": {"compile_x": {"status": "ok", "volta": _stats(5.0), "cached": _stats(12.0), "ratio": None}}}
    assert gate.compare(base, fast, 0.10).ok()
    report = gate.compare(base, slow, 0.10, tmp_path)
    assert not report.ok() and "max_cached_ms" in report.regressions[0]["problems"][0]
    assert (tmp_path / "incident-compile_x.md").exists()


def test_cli_exit_codes(tmp_path: Path) -> None:
    baseline, good, bad = tmp_path / "baseline.json", tmp_path / "good.json", tmp_path / "bad.json"
    baseline.write_text(json.dumps(BASE))
    good.write_text(json.dumps(_results({"train_a": 0.81, "train_b": 1.0})))
    bad.write_text(json.dumps(_results({"train_a": 1.5, "train_b": 1.0})))

    def run(results: Path, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "benchmarks", "gate", "--baseline", str(baseline), "--results", str(results),
             "--incidents", str(tmp_path / "incidents"), *extra],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )

    ok = run(good)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "2 passed, 0 regressed, 0 missing" in ok.stdout
    fail = run(bad)
    assert fail.returncode == 1 and "REGRESSION train_a" in fail.stdout
    assert (tmp_path / "incidents" / "incident-train_a.md").exists()
    assert run(bad, "--threshold", "1.0").returncode == 0


def _with_kernels(doc: dict[str, object], kernels: str | None, **forced: str) -> dict[str, object]:
    return {**doc, "blas_kernels": {"kernels": kernels, "forced": forced}}


def test_other_blas_kernels_are_not_comparable(tmp_path: Path) -> None:
    # Same ratios, different OpenBLAS kernel sets: the gate refuses to judge, and says why.
    base = _with_kernels(BASE, "SkylakeX")
    results = _with_kernels(_results({"train_a": 0.80, "train_b": 1.00}), "Haswell", OPENBLAS_CORETYPE="Haswell")
    report = gate.compare(base, results, 0.10, tmp_path)
    assert not report.ok() and report.regressions == [] and report.passed == []
    assert report.not_comparable is not None and "SkylakeX" in report.not_comparable
    assert report.incidents == [tmp_path / "incident-blas-kernels.md"]
    text = gate.format_report(report, 0.10)
    assert text.startswith("perf gate: NOT COMPARABLE: the baseline was measured with OpenBLAS kernels SkylakeX, "
                           "this run with Haswell")
    # the same kernels on both sides, or results that do not record them, are judged as usual
    assert gate.compare(base, _with_kernels(_results({"train_a": 0.8, "train_b": 1.0}), "SkylakeX"), 0.10).ok()
    assert gate.compare(base, _results({"train_a": 0.8, "train_b": 1.0}), 0.10).ok()
    table = markdown(results)
    assert "kernels Haswell (forced: OPENBLAS_CORETYPE=Haswell)" in table.splitlines()[0]


def test_hosts_with_far_apart_matmul_peaks_are_not_comparable(tmp_path: Path) -> None:
    # Same kernels, but this host multiplies matrices 2.3x slower than the baseline's: the
    # ratios moved (a "regression" of train_a) and the gate says why instead of judging them.
    slow = {**_results({"train_a": 1.20, "train_b": 1.00}), "matmul_peak_gflops": 43.0}
    report = gate.compare(BASE, slow, 0.10, tmp_path)
    assert not report.ok() and report.regressions == [] and report.passed == []
    assert report.incidents == [tmp_path / "incident-matmul-peak.md"]
    assert report.not_comparable is not None
    assert "100 GFLOP/s, this one 43 (2.3x apart" in report.not_comparable
    # within the tolerance the ratios are judged: the same regression is reported as one
    near = {**slow, "matmul_peak_gflops": 100.0 / gate.PEAK_TOLERANCE + 1}
    judged = gate.compare(BASE, near, 0.10)
    assert judged.not_comparable is None and [r["name"] for r in judged.regressions] == ["train_a"]
    # results without a recorded peak are judged as before
    unknown = {k: v for k, v in slow.items() if k != "matmul_peak_gflops"}
    assert gate.compare(BASE, unknown, 0.10).not_comparable is None


def test_committed_baseline_is_well_formed() -> None:
    base = json.loads((ROOT / "benchmarks" / "baseline.json").read_text())
    benches = base["benchmarks"]
    gated = [n for n, b in benches.items() if b.get("ratio") is not None]
    assert any(n.startswith("train_mlp_") for n in gated)
    for b in benches.values():
        assert b.get("ratio") is None or b["ratio"] > 0


@pytest.mark.parametrize("status", ["ok", "pending"])
def test_markdown_table_rows(status: str) -> None:
    doc = _results({"train_a": 0.9} if status == "ok" else {"text": None})
    table = markdown(doc)
    assert "| benchmark | Volta | PyTorch eager | Volta/PyTorch |" in table
    row = next(line for line in table.splitlines() if line.startswith("| train_a") or line.startswith("| text"))
    assert ("0.900" in row) if status == "ok" else ("pending" in row)
