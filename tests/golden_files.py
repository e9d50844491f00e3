"""The one rule for golden files: compare exactly, or rewrite them on request.

Set ``VOLTA_UPDATE_GOLDEN=1`` to rewrite the expected files that differ from
the output. A test that rewrites a file *fails*, naming it, so an update run is
never green by accident (in CI or anywhere else): review ``git diff
tests/golden`` and run the tests again without the variable. Files that already
match are left alone and their tests pass. ``.ci/run`` refuses to run at all
while the variable is set.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from pathlib import Path

import pytest

UPDATE = os.environ.get("VOLTA_UPDATE_GOLDEN") == "1"


def check_golden(path: Path, actual: str) -> None:
    """Fail unless ``actual`` equals the file at ``path`` (which is rewritten when updating)."""
    check_goldens([(path, actual)])


def check_goldens(pairs: Iterable[tuple[Path, str]]) -> None:
    """:func:`check_golden` for several files of one test: when updating, every
    differing file is rewritten before the test fails."""
    differing = [(path, actual) for path, actual in pairs
                 if not path.exists() or path.read_text(encoding="utf-8") != actual]
    if not differing:
        return
    if UPDATE:
        for path, actual in differing:
            path.write_text(actual, encoding="utf-8")
        names = ", ".join(path.name for path, _ in differing)
        pytest.fail(
            f"VOLTA_UPDATE_GOLDEN=1 rewrote {names}: review `git diff tests/golden`, "
            "then run the tests again without the variable", pytrace=False,
        )
    path, actual = differing[0]
    if not path.exists():
        pytest.fail(f"missing golden file {path} (write it with VOLTA_UPDATE_GOLDEN=1 and review it)", pytrace=False)
    expected = path.read_text(encoding="utf-8")
    diff = "".join(difflib.unified_diff(
        expected.splitlines(keepends=True), actual.splitlines(keepends=True),
        fromfile=f"{path.name} (expected)", tofile="actual output",
    ))
    pytest.fail(f"{path.name} differs from the output:\n{diff}", pytrace=False)
