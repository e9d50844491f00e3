"""Golden diagnostics: ``tests/golden/diagnostics/NAME.vt`` → ``NAME.txt``.

The expected file is the plain-text rendering (no colour) of every diagnostic
of ``analyze(text, path="NAME.vt")``, joined by a blank line. The comparison is
exact. To accept new output after a deliberate change, run

    VOLTA_UPDATE_GOLDEN=1 pytest tests/test_golden_diagnostics.py

and review the diff: each case names the code it is about (``e0203_…``), and
``test_case_reports_its_code`` checks that code is still reported.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from golden_files import check_golden

from volta_core.analysis import analyze
from volta_core.diagnostics import render_text

GOLDEN_DIR = Path(__file__).resolve().parent / "golden" / "diagnostics"
CASES = sorted(p.stem for p in GOLDEN_DIR.glob("*.vt"))


def render_case(name: str) -> str:
    text = (GOLDEN_DIR / f"{name}.vt").read_text(encoding="utf-8")
    analysis = analyze(text, path=f"{name}.vt")
    return "\n".join(render_text(d, colour=False) for d in analysis.diagnostics)


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 45


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str) -> None:
    actual = render_case(name)
    expected_path = GOLDEN_DIR / f"{name}.txt"
    check_golden(expected_path, actual)


@pytest.mark.parametrize("name", CASES)
def test_case_reports_its_code(name: str) -> None:
    """``e0203_unknown_activation`` must report E0203 (guards against blind updates)."""
    code = name.split("_", 1)[0].upper()
    text = (GOLDEN_DIR / f"{name}.vt").read_text(encoding="utf-8")
    assert code in [d.code for d in analyze(text, path=f"{name}.vt").diagnostics]
