"""Language feature matrix: every ``tests/golden/lang/NAME.vt`` runs and prints
exactly ``NAME.out``; every ``errors/NAME.vt`` prints ``NAME.out`` and then fails
with the rendered runtime error in ``NAME.err``.

Set ``VOLTA_UPDATE_GOLDEN=1`` to rewrite the expected files (then review them).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from golden_files import check_golden, check_goldens

from volta_core.diagnostics import render_text

from .helpers import GOLDEN_DIR, Recorder

CASES = sorted(GOLDEN_DIR.glob("*.vt"))
ERROR_CASES = sorted((GOLDEN_DIR / "errors").glob("*.vt"))




def test_matrix_is_complete() -> None:
    assert len(CASES) >= 25
    assert len(ERROR_CASES) >= 5


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_golden_program(case: Path) -> None:
    rec = Recorder()
    result = rec.run(case.read_text(encoding="utf-8"), path=case.name)
    rendered = "".join(render_text(d) for d in result.diagnostics if d.is_error)
    assert result.ok, rendered
    assert result.executed
    check_golden(case.with_suffix(".out"), rec.out)


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c.stem for c in ERROR_CASES])
def test_golden_runtime_error(case: Path) -> None:
    rec = Recorder()
    result = rec.run(case.read_text(encoding="utf-8"), path=case.name)
    assert result.executed, "the analysis must accept the program: the error is a runtime one"
    errors = [d for d in result.diagnostics if d.is_error]
    assert len(errors) == 1
    check_goldens([(case.with_suffix(".out"), rec.out), (case.with_suffix(".err"), render_text(errors[0]))])
