"""``python -m tools.scorecard``: the tiny budget end to end, the committed scorecard, and each KPI's rules.

The tiny budget runs once per module (under a minute: two examples recorded
and verified, 36 fuzz cases, one quickstart run, 12 CLI runs) and is compared
with the newest committed scorecard: the same KPIs, targets and commands.
Everything else is checked on synthetic inputs, without timing anything.
"""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# `tools` is repository tooling, not an installed package: import it from the checkout.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
crashes = importlib.import_module("tools.scorecard.crashes")
conformance = importlib.import_module("tools.scorecard.conformance")
determinism = importlib.import_module("tools.scorecard.determinism")
fuzz_cases = importlib.import_module("tools.fuzz_cases")
generate = importlib.import_module("tools.scorecard.generate")
kpi = importlib.import_module("tools.scorecard.kpi")
links = importlib.import_module("tools.scorecard.links")
perf = importlib.import_module("tools.scorecard.perf")
quickstart = importlib.import_module("tools.scorecard.quickstart")
render = importlib.import_module("tools.scorecard.render")
smoke = importlib.import_module("tools.scorecard.smoke")
Verdict = kpi.Verdict

KPIS = ["Determinism regressions", "Critical crashes", "Perf regressions above the gate",
        "Time to first success", "CLI smoke success rate", "Docs-driven setup success"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("scorecard")
    assert generate.main(["--budget", "tiny", "--out", str(out)]) == 0
    [card] = out.glob("*.md")
    assert links.DATED.match(card.name)
    return card.read_text(encoding="utf-8")


@pytest.mark.slow
def test_the_tiny_budget_measures_every_kpi_and_calls_none_a_pass(tiny: str) -> None:
    assert tiny.startswith("# KPI scorecard ") and "(tiny budget: a check of the generator, not a scorecard)" in tiny
    rows = {row["KPI"]: row for row in render.read_kpi_table(tiny)}
    assert list(rows) == KPIS
    # Too few cases for the KPIs' definitions: on target, but PARTIAL, never PASS.
    for name in KPIS:
        if name != "Perf regressions above the gate":
            assert rows[name]["verdict"] == "PARTIAL", rows[name]
    assert rows["Docs-driven setup success"]["measured"] == "100% (1 of 1 runs passed)"
    assert rows["Time to first success"]["measured"].startswith("median ")
    assert rows["Perf regressions above the gate"]["verdict"] in {v.value for v in Verdict}
    first = determinism.training_examples()[0].relative_to(ROOT).as_posix()
    assert f"| `{first}` | bit-identical |" in tiny  # recorded and verified
    per_kind = kpi.TINY.fuzz_cases // len(fuzz_cases.KINDS)
    assert "Cases per kind: " + ", ".join(f"{k} {per_kind}" for k in fuzz_cases.KINDS) + "." in tiny
    assert "| benchmark | baseline ratio | measured ratio | limit |" in tiny
    assert "## ONNX conformance" in tiny


@pytest.mark.slow
def test_the_newest_committed_scorecard_has_the_same_kpis_and_commands(tiny: str) -> None:
    committed = links.scorecards()
    assert committed, "no scorecard committed under docs/governance/scorecards/"
    newest = committed[0].read_text(encoding="utf-8")
    assert "budget:" not in newest.splitlines()[0], "the newest committed scorecard is not a full-budget one"
    fresh = [(r["KPI"], r["target"], r["command"]) for r in render.read_kpi_table(tiny)]
    kept = [(r["KPI"], r["target"], r["command"]) for r in render.read_kpi_table(newest)]
    assert kept == fresh, f"{committed[0].name} no longer matches what the generator measures: regenerate it"
    for row in render.read_kpi_table(newest):
        assert row["verdict"] in {v.value for v in Verdict} - {Verdict.PARTIAL.value}, row
        assert row["measured"], row
    # The README's development section links it (docs/index.md's list is checked by test_docs_sync).
    assert f"(docs/governance/scorecards/{committed[0].name})" in links.README.read_text(encoding="utf-8")


def test_the_tiny_budget_needs_an_out_folder(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        generate.main(["--budget", "tiny"])
    assert exc.value.code == 2
    assert "writes only with --out" in capsys.readouterr().err


# ---------------------------------------------------------------- perf gate


def _bench(created: str, ratio: float, kernels: str = "SkylakeX") -> dict[str, object]:
    return {
        "created": created, "machine": {"cpu": "test CPU", "cores": 2},
        "blas_kernels": {"kernels": kernels, "forced": {}},
        "benchmarks": {"train_x": {"ratio": ratio, "status": "ok", "volta": {"median": 1.0}}},
    }


def _perf(tmp_path: Path, baseline: dict[str, object], results: dict[str, object] | None) -> object:
    (tmp_path / "baseline.json").write_text(json.dumps(baseline), encoding="utf-8")
    if results is not None:
        (tmp_path / "latest.json").write_text(json.dumps(results), encoding="utf-8")
    return perf.measure(tmp_path / "latest.json", tmp_path / "baseline.json")


def test_perf_passes_within_the_threshold_and_fails_above_it(tmp_path: Path) -> None:
    base = _bench("2026-01-01T00:00:00Z", 0.5)
    ok = _perf(tmp_path, base, _bench("2026-02-01T00:00:00Z", 0.54))
    assert (ok.verdict, ok.value) == (Verdict.PASS, "0 regressions, 0 missing, 1 of 1 gated benchmarks passed")
    assert "| `train_x` | 0.500 | 0.540 | ratio ≤ 0.550 | 1.00 |" in ok.details
    slow = _perf(tmp_path, base, _bench("2026-02-01T00:00:00Z", 0.56))
    assert slow.verdict is Verdict.FAIL and slow.value.startswith("1 regressions")
    assert any("Regression `train_x`: ratio 0.560 > 0.500" in line for line in slow.details)


def test_perf_other_blas_kernels_are_not_comparable_not_a_pass(tmp_path: Path) -> None:
    result = _perf(tmp_path, _bench("2026-01-01T00:00:00Z", 0.5), _bench("2026-02-01T00:00:00Z", 0.5, "Haswell"))
    assert result.verdict is Verdict.NOT_COMPARABLE
    assert "SkylakeX" in result.value and "Haswell" in result.value
    assert not list(tmp_path.glob("incident-*")), "the scorecard only reads; the gate's incidents are not written"


def test_perf_the_baselines_own_run_measures_nothing(tmp_path: Path) -> None:
    base = _bench("2026-01-01T00:00:00Z", 0.5)
    result = _perf(tmp_path, base, base)
    assert result.verdict is Verdict.NOT_MEASURED and "baseline's own run" in result.value


def test_perf_run_benchmarks_judges_the_new_run_not_the_committed_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def suite(out: Path) -> None:
        (out / "latest.json").write_text(json.dumps(_bench("2026-03-01T00:00:00Z", 0.9)), encoding="utf-8")

    monkeypatch.setattr(perf, "run_suite", suite)
    (tmp_path / "run").mkdir()
    (tmp_path / "baseline.json").write_text(json.dumps(_bench("2026-01-01T00:00:00Z", 0.5)), encoding="utf-8")
    result = perf.measure(tmp_path / "committed.json", tmp_path / "baseline.json", run_into=tmp_path / "run")
    assert result.verdict is Verdict.FAIL
    assert result.budget.startswith("measured by this scorecard") and "2026-03-01" in result.budget


def test_perf_warns_when_the_run_shared_a_busy_machine(tmp_path: Path) -> None:
    quiet = _bench("2026-02-01T00:00:00Z", 0.5) | {"load_average": {"start": [0.4, 0.5, 0.5], "end": [1.2, 0.6, 0.5]}}
    assert perf.busy_note(quiet) is None
    busy = quiet | {"load_average": {"start": [0.4, 0.5, 0.5], "end": [7.5, 6.5, 4.4]}}
    result = _perf(tmp_path, _bench("2026-01-01T00:00:00Z", 0.5), busy)
    assert "load average 0.40 → 7.50 (start → end)" in result.budget
    assert any(line.startswith("The load average reached 7.50 on 2 cores") for line in result.details)


def test_perf_without_results_is_not_measured(tmp_path: Path) -> None:
    result = _perf(tmp_path, _bench("2026-01-01T00:00:00Z", 0.5), None)
    assert result.verdict is Verdict.NOT_MEASURED and result.value.startswith("no results at")


# ---------------------------------------------------------------- crashes


WORKER = textwrap.dedent('''
    import argparse, json, os, signal, time
    p = argparse.ArgumentParser()
    for a in ("--seed", "--cases", "--start"):
        p.add_argument(a, type=int)
    p.add_argument("--jsonl", action="store_true")
    args = p.parse_args()
    for i in range(args.start, args.cases):
        print(json.dumps({"start": i, "kind": "fake"}), flush=True)
        if i == 1:
            os.kill(os.getpid(), signal.SIGSEGV)
        if i == 3:
            time.sleep(60)
        failures = [["run", "E9999", "internal error: boom"]] if i == 4 else []
        print(json.dumps({"done": i, "failures": failures}), flush=True)
''')


def test_crashes_count_signals_hangs_and_internal_errors_and_go_on(tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER, encoding="utf-8")
    found, kinds = crashes.run_cases(0, 6, limit_s=2.0, worker=[sys.executable, str(script)])
    assert [(c.index, c.what) for c in found] == [(1, "SIGSEGV"), (3, "hang"), (4, "E9999 (run)")]
    assert kinds == {"fake": 6}


def test_a_worker_that_cannot_start_is_not_counted_as_a_crash(tmp_path: Path) -> None:
    script = tmp_path / "broken.py"
    script.write_text("raise SystemExit('no such module')\n", encoding="utf-8")
    with pytest.raises(crashes.WorkerError, match="no such module"):
        crashes.run_cases(0, 3, worker=[sys.executable, str(script)])


# ---------------------------------------------------------------- CLI smoke


def _done(returncode: int | None, stdout: str = "", stderr: str = "") -> object:
    return kpi.Completed(("volta",), returncode, stdout, stderr, 0.1)


def test_smoke_success_is_the_expected_exit_without_traceback_or_internal_error() -> None:
    ok = smoke.Invocation("explain", ("explain", "E2999"), 2, "volta explain E2999")
    # A did-you-mean that names E9999 is not an internal error.
    assert smoke.judge(ok, _done(2, stderr="error: unknown code\n  = help: did you mean `E9999`?\n")).ok
    wrong_exit = smoke.judge(ok, _done(0, stdout="E2999: ..."))
    assert not wrong_exit.ok and wrong_exit.why.startswith("exit 0, expected 2")
    trace = smoke.judge(ok, _done(2, stderr="Traceback (most recent call last):\n  ...\n"))
    assert (trace.ok, trace.why) == (False, "a Python traceback")
    internal = smoke.judge(ok, _done(2, stderr="error[E9999]: internal error\n"))
    assert (internal.ok, internal.why) == (False, "an internal error (E9999)")
    assert smoke.judge(ok, _done(None)).why.startswith("no exit within")


def test_smoke_plans_are_seeded_and_mix_every_command(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    plan = smoke.Plan(5, 60, tmp_path / "a")
    again = smoke.Plan(5, 60, tmp_path / "b")
    assert [i.shown for i in plan.invocations] == [i.shown for i in again.invocations]
    assert {i.command for i in plan.invocations[:6]} == set(smoke.COMMANDS)
    assert Counter(i.command for i in plan.invocations) == dict.fromkeys(smoke.COMMANDS, 10)
    wrong = [i for i in plan.invocations if i.expected != 0]
    assert wrong and {i.expected for i in wrong} <= {1, 2}
    for invocation in plan.invocations:
        assert str(tmp_path) not in invocation.shown  # temporary paths are never printed
        if invocation.command == "verify" and invocation.expected == 0:
            # The record it checks is made first, by `volta run --record` of the same example.
            assert invocation.prepare[0] == "run" and invocation.prepare[-2:] == ("--record", invocation.args[1])


# ---------------------------------------------------------------- the others


def test_training_examples_are_found_in_the_syntax_tree() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in determinism.training_examples()}
    assert {"examples/xor.vt", "examples/tiny-lm/tiny_lm.vt"} <= names
    assert "examples/fizzbuzz.vt" not in names


def test_quickstart_outcomes() -> None:
    assert quickstart._outcome(0, "1 passed in 60.1s\n") == "passed"
    assert quickstart._outcome(0, "1 skipped in 0.1s\n") == "skipped"
    assert quickstart._outcome(1, "1 failed in 9.0s\n") == "failed (pytest exit 1)"
    assert quickstart._outcome(None, "").startswith("timed out")


def test_conformance_is_copied_when_present_and_said_absent_otherwise(tmp_path: Path) -> None:
    path = tmp_path / "onnx-conformance.json"
    assert conformance.section(path)[0].startswith("No ONNX conformance results:")
    path.write_text(json.dumps({"created": "2026-01-01", "ops": {
        "Relu": {"tests": 3, "passed": 3, "rejected": 0, "failed": 0},
        "Conv": {"tests": 5, "passed": 4, "rejected": 1}}}), encoding="utf-8")
    lines = conformance.section(path)
    assert "| Conv | 5 | 4 | 1 | — |" in lines and "| Relu | 3 | 3 | 0 | 0 |" in lines
    assert lines[-1] == "| **total** | 8 | 7 | 1 | 0 |"


def test_the_kpi_table_reads_back_what_was_rendered() -> None:
    run = render.Run("2026-01-02", "2026-01-02T00:00:00Z", "python -m tools.scorecard", kpi.FULL, 60.0,
                     ["- CPU: test"], "0.00, 0.00, 0.00", "1.00, 1.00, 1.00")
    kpis = [kpi.Kpi("A | B", "0 things", "cmd --x | y", "3 of 4", Verdict.FAIL, "4 cases", ["detail"])]
    text = render.render(run, kpis, ["No ONNX conformance results."])
    assert render.read_kpi_table(text) == [
        {"KPI": "A | B", "target": "0 things", "measured": "3 of 4", "verdict": "FAIL", "command": "cmd --x | y"},
    ]
    assert text.startswith("# KPI scorecard 2026-01-02\n")


def test_links_point_at_the_scorecards(tmp_path: Path) -> None:
    folder = tmp_path / "docs" / "governance" / "scorecards"
    folder.mkdir(parents=True)
    for name in ("2026-01-01.md", "2026-02-01.md", "notes.md"):
        (folder / name).write_text("x\n", encoding="utf-8")
    readme = tmp_path / "README.md"
    index = tmp_path / "docs" / "index.md"
    readme.write_text("a\n<!-- latest-scorecard -->\nold\n<!-- /latest-scorecard -->\nb\n", encoding="utf-8")
    index.write_text("<!-- scorecards -->\n<!-- /scorecards -->\n", encoding="utf-8")
    links.update(readme, index, folder)
    assert "[2026-02-01](docs/governance/scorecards/2026-02-01.md)" in readme.read_text(encoding="utf-8")
    assert "old" not in readme.read_text(encoding="utf-8")
    assert index.read_text(encoding="utf-8") == (
        "<!-- scorecards -->\n- [2026-02-01](governance/scorecards/2026-02-01.md)\n"
        "- [2026-01-01](governance/scorecards/2026-01-01.md)\n<!-- /scorecards -->\n"
    )
    index.write_text("no markers\n", encoding="utf-8")
    with pytest.raises(links.MarkerError, match="scorecards"):
        links.update(readme, index, folder)
