"""Every example is checked without errors; every runnable one is run and its
stdout compared with ``tests/golden/examples/NAME.out``.

Set ``VOLTA_UPDATE_GOLDEN=1`` to rewrite the golden files after an intended
change of output (then review the diff).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from golden_files import check_golden

from volta_core import cli
from volta_core.analysis import analyze

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.vt"))
GOLDEN = Path(__file__).resolve().parent / "golden" / "examples"
RUNNABLE = EXAMPLES


def test_examples_exist() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"quickstart.vt", "language-tour.vt", "fizzbuzz.vt", "primes.vt", "collatz.vt", "models.vt"} <= names
    assert {"xor.vt", "blobs.vt", "regression.vt"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_checks_clean(path: Path) -> None:
    # Examples are showcases: no errors, and no warnings either.
    analysis = analyze(path.read_text(encoding="utf-8"), str(path))
    assert analysis.diagnostics == []


@pytest.mark.parametrize("path", RUNNABLE, ids=lambda p: p.name)
def test_example_runs_with_golden_stdout(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["run", str(path)])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    golden = GOLDEN / f"{path.stem}.out"
    check_golden(golden, out)


def test_every_golden_file_has_an_example() -> None:
    assert {g.stem for g in GOLDEN.glob("*.out")} == {p.stem for p in RUNNABLE}
