"""``python -m tools.fuzz_cases``: seeded cases from the language's own vocabulary, and the internal errors they cause."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# `tools` is repository tooling, not an installed package: import it from the checkout.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
fuzz_cases = importlib.import_module("tools.fuzz_cases")


def test_fuzz_cases_are_a_function_of_seed_and_index() -> None:
    first = [fuzz_cases.case(7, i) for i in range(12)]
    assert first == [fuzz_cases.case(7, i) for i in range(12)]
    assert [c.kind for c in first] == list(fuzz_cases.KINDS) * 2
    assert fuzz_cases.case(7, 3).text != fuzz_cases.case(8, 3).text
    words = set(fuzz_cases.vocabulary())
    # Read from the schemas: block keys, layer kinds, options and allowed values.
    assert {"epochs", "layers", "conv", "stride", "cross_entropy", "model", "train"} <= words
    assert fuzz_cases.seed_programs(), "no programs to mutate"


def test_a_real_fuzz_case_runs_clean(tmp_path: Path) -> None:
    assert fuzz_cases.check("print 1 +\n", tmp_path) == []
    assert fuzz_cases.check("x 1\nprint x\n", tmp_path) == []


def test_the_command_line_shows_a_case_and_runs_a_budget(capsys: pytest.CaptureFixture[str]) -> None:
    assert fuzz_cases.main(["--seed", "3", "--show", "4"]) == 0
    assert capsys.readouterr().out == fuzz_cases.case(3, 4).text
    assert fuzz_cases.main(["--seed", "3", "--cases", "6"]) == 0
    assert capsys.readouterr().out == "6 cases, seed 3: 0 with internal errors\n"


def test_an_internal_error_is_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(text: str, path: str = "") -> object:
        raise RuntimeError("boom")

    monkeypatch.setattr(fuzz_cases, "analyze", crash)
    monkeypatch.setattr("volta_core.analysis.analyze", crash)  # what Session.run calls
    failures = fuzz_cases.check("x 1\n", tmp_path)
    # analyze raised; Session.run, calling it too, turned the crash into E9999.
    assert [(f.door, f.what) for f in failures] == [("analyze", "traceback"), ("run", "E9999")]
    assert "RuntimeError: boom" in failures[0].detail
