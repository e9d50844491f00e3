"""Golden runtime diagnostics: ``tests/golden/diagnostics_runtime/NAME.vt`` → ``NAME.txt``.

Like ``test_golden_diagnostics.py`` but for what ``Session.run`` reports when
the program *runs* (bad data files, checkpoints, devices, diverging training)
as well as what the checker reports first. The expected file is the plain-text
rendering (no colour) of every diagnostic of the run, joined by a blank line;
the comparison is exact. Fixture files live in ``diagnostics_runtime/data/``
and are referenced relative to the ``.vt`` file. To accept new output after a
deliberate change, run

    VOLTA_UPDATE_GOLDEN=1 pytest tests/test_golden_runtime_diagnostics.py

and review the diff: each case names the code it is about (``e0803_…``), and
``test_case_reports_its_code`` checks that code is still reported.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from golden_files import check_golden

from volta_core.diagnostics import Diagnostic, render_text
from volta_core.lang import Session
from volta_core.train import autopilot

GOLDEN_DIR = Path(__file__).resolve().parent / "golden" / "diagnostics_runtime"
CASES = sorted(p.stem for p in GOLDEN_DIR.glob("*.vt"))


def run_case(name: str, monkeypatch: pytest.MonkeyPatch) -> list[Diagnostic]:
    # What `device gpu` reports must not depend on the machine running the tests.
    monkeypatch.setattr(autopilot, "cuda_status", lambda: "PyCUDA is not installed")
    text = (GOLDEN_DIR / f"{name}.vt").read_text(encoding="utf-8")
    session = Session(stdout=lambda _: None, base_dir=GOLDEN_DIR)
    return list(session.run(text, f"{name}.vt").diagnostics)


def render_case(name: str, monkeypatch: pytest.MonkeyPatch) -> str:
    text = "\n".join(render_text(d, colour=False) for d in run_case(name, monkeypatch))
    # Messages that name the resolved file show it absolutely: keep the golden files portable.
    return text.replace(str(GOLDEN_DIR), "<golden>")


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 16


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    actual = render_case(name, monkeypatch)
    assert "Traceback" not in actual
    expected_path = GOLDEN_DIR / f"{name}.txt"
    check_golden(expected_path, actual)


@pytest.mark.parametrize("name", CASES)
def test_case_reports_its_code(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``e0803_ragged_row`` must report E0803 as an error (guards against blind updates)."""
    code = name.split("_", 1)[0].upper()
    diagnostics = run_case(name, monkeypatch)
    assert code in [d.code for d in diagnostics if d.severity == "error"]
