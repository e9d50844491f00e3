"""``python -m tools.mutate``: one mutation, the tests' verdict, the file restored."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# `tools` is repository tooling, not an installed package: import it from the checkout.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
mutate = importlib.import_module("tools.mutate")

MODULE = "def add(a, b):\n    return a + b\n\n\ndef twice(x):\n    return add(x, x)\n"
TESTS = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "calc.py").write_text(MODULE, encoding="utf-8")
    (tmp_path / "test_calc.py").write_text(TESTS, encoding="utf-8")
    old = 1_000_000_000_000_000_000  # a fixed past mtime, in ns
    os.utime(tmp_path / "calc.py", ns=(old, old))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    return tmp_path


def test_a_caught_mutation_is_killed_and_the_file_restored(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (project / "calc.py").stat()
    assert mutate.main(["calc.py:2", "a + b", "a - b", "--", "test_calc.py"]) == mutate.EXIT_KILLED
    out = capsys.readouterr().out
    assert out.startswith("mutation calc.py:2: `a + b` → `a - b`\nkilled: the tests failed\n")
    assert "FAILED test_calc.py::test_add" in out
    assert (project / "calc.py").read_text(encoding="utf-8") == MODULE
    assert (project / "calc.py").stat().st_mtime_ns == before.st_mtime_ns
    assert not list(project.rglob("*.pyc"))  # nothing of the mutated module was cached


def test_a_surviving_mutation_is_reported(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # `twice` has no test: breaking it goes unnoticed.
    assert mutate.main(["calc.py:6", "add(x, x)", "add(x, 1)", "--", "test_calc.py"]) == mutate.EXIT_SURVIVED
    assert "SURVIVED" in capsys.readouterr().out
    assert (project / "calc.py").read_text(encoding="utf-8") == MODULE


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["calc.py:2", "a * b", "a - b"], "`a * b` not found on calc.py:2"),
        (["calc.py:6", "x", "y"], "`x` found 2 times on calc.py:6"),
        (["calc.py:99", "a", "b"], "calc.py has 6 lines, not 99"),
        (["calc.py", "a", "b"], "expected FILE:LINE"),
        (["calc.py:0", "a", "b"], "expected FILE:LINE"),
        (["nope.py:1", "a", "b"], "no file nope.py"),
    ],
)
def test_usage_errors_change_nothing(
    project: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert mutate.main(argv) == mutate.EXIT_USAGE
    assert message in capsys.readouterr().err
    assert (project / "calc.py").read_text(encoding="utf-8") == MODULE


def test_the_file_is_restored_when_the_run_is_interrupted(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> object:
        assert (project / "calc.py").read_text(encoding="utf-8") != MODULE  # the mutation is in place
        raise KeyboardInterrupt

    monkeypatch.setattr(mutate.subprocess, "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        mutate.run_mutation(mutate.Mutation(Path("calc.py"), 2, "+", "-"), ["test_calc.py"])
    assert (project / "calc.py").read_text(encoding="utf-8") == MODULE


def test_failure_lines() -> None:
    output = (
        "..F\n___ test_x ___\n    def test_x():\nE   assert 1 == 2\nE    +  where 1 = f()\n"
        "FAILED t.py::test_x - assert 1 == 2\nERROR t.py::test_y\n"
    )
    assert mutate.failure_lines(output) == [
        "E   assert 1 == 2", "FAILED t.py::test_x - assert 1 == 2", "ERROR t.py::test_y",
    ]
    assert mutate.failure_lines("E   " + "x" * 300, width=10) == ["E   xxxxx…"]
