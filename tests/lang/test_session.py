"""Session state across sources (files, notebook cells)."""

from __future__ import annotations

from volta_core.check.symbols import SymbolKind
from volta_core.lang import RunResult, Session
from volta_core.lang.values import Function

from .helpers import Recorder, dedent, error_codes


def test_globals_persist_across_runs(rec: Recorder) -> None:
    assert rec.run("x 41\n", "cell1").ok
    assert rec.run("x = x + 1\nprint x\n", "cell2").ok
    assert rec.out == "42\n"
    assert rec.session.globals["x"] == 42


def test_functions_persist_and_resolve_globals_at_call_time(rec: Recorder) -> None:
    assert rec.run("fn scaled(v)\n    return v * factor\nfactor 3\n", "cell1").ok
    assert rec.run("print scaled(2)\n", "cell2").ok
    assert rec.run('factor = 10\nprint scaled(2)\n', "cell3").ok
    assert rec.run("factor 0.5\nprint scaled(2)\n", "cell4").ok  # redeclared across runs
    assert rec.out == "6\n20\n1.0\n"


def test_redeclaring_a_global_in_a_later_run_is_allowed(rec: Recorder) -> None:
    assert rec.run("lr 0.1\n").ok
    result = rec.run('lr "fast"\nprint lr\n')
    assert result.ok, result.diagnostics
    assert rec.out == "fast\n"
    assert rec.run("fn lr2()\n    return 1\n").ok
    assert rec.run("fn lr2()\n    return 2\nprint lr2()\n").ok
    assert rec.out == "fast\n2\n"


def test_error_run_between_good_runs(rec: Recorder) -> None:
    assert rec.run("x 1\nzero 0\n", "cell1").ok
    failed = rec.run('x = 2\nprint "before"\nx = x / zero\nprint "after"\n', "cell2")
    assert failed.executed
    assert error_codes(failed) == ["E0601"]
    assert rec.session.globals["x"] == 2  # the completed assignment stays
    third = rec.run("x = x + 1\nprint x\n", "cell3")
    assert third.ok
    assert rec.out == "before\n3\n"
    assert [path for path, _ in rec.session.history] == ["cell1", "cell3"]


def test_analysis_errors_prevent_execution(rec: Recorder) -> None:
    assert rec.run("x 1\n").ok
    result = rec.run('x = 5\nprint "never"\nprint (\n')
    assert not result.executed
    assert not result.ok
    assert result.diagnostics == result.analysis.diagnostics
    assert rec.session.globals["x"] == 1
    assert rec.out == ""
    assert len(rec.session.history) == 1


def test_history_records_successful_runs_in_order(rec: Recorder) -> None:
    rec.run("a 1\n", "one.vt")
    rec.run("b 2\n", "two.vt")
    assert rec.session.history == [("one.vt", "a 1\n"), ("two.vt", "b 2\n")]


def test_error_in_function_from_earlier_cell_points_into_that_cell(rec: Recorder) -> None:
    assert rec.run("fn inv(v)\n    return 1 / v\n", "cell1").ok
    result = rec.run("print inv(0)\n", "cell2")
    (err,) = result.errors
    assert err.code == "E0601"
    assert err.source is not None and err.source.path == "cell1"
    assert err.source.snippet(err.span) == "/"
    assert any("cell2:1:7" in note for note in err.notes)


def test_predeclared_describes_globals() -> None:
    session = Session(stdout=lambda _line: None)
    assert session.run('n 3\nrate 0.5\nname "v"\nflag true\nfn add(a, b)\n    return a + b\n').ok
    symbols = session.predeclared()
    assert set(symbols) == {"n", "rate", "name", "flag", "add"}
    assert (symbols["n"].kind, symbols["n"].type, symbols["n"].constant) == (SymbolKind.VARIABLE, "int", 3)
    assert (symbols["rate"].type, symbols["rate"].constant) == ("float", 0.5)
    assert symbols["name"].type == "str"
    assert symbols["flag"].type == "bool"
    add = symbols["add"]
    assert (add.kind, add.type, add.params) == (SymbolKind.FUNCTION, "fn", ("a", "b"))
    assert all(s.span is None for s in symbols.values())


def test_reset_forgets_everything(rec: Recorder) -> None:
    assert rec.run("x 1\nfn f()\n    return 1\n").ok
    rec.session.reset()
    assert rec.session.globals == {}
    assert rec.session.history == []
    result = rec.run("print x\n")
    assert not result.ok


def test_function_values_are_stored_as_functions(rec: Recorder) -> None:
    assert rec.run("fn twice(v)\n    return v * 2\n").ok
    fn = rec.session.globals["twice"]
    assert isinstance(fn, Function)
    assert fn.params == ("v",) and fn.signature == "fn twice(v)"


def test_run_result_ok_ignores_warnings(rec: Recorder) -> None:
    result = rec.run("unused_thing 1\n")
    assert result.ok
    assert isinstance(result, RunResult)


def test_cells_like_a_notebook() -> None:
    lines: list[str] = []
    session = Session(stdout=lines.append)
    cells = [
        "count 0\n",
        dedent("""
            fn tick(by)
                count = count + by
                return count
        """),
        "loop 3\n    tick(2)\n",
        'print "count", count\n',
        "print tick(10)\n",
    ]
    for i, cell in enumerate(cells):
        result = session.run(cell, f"cell[{i}]")
        assert result.ok, result.diagnostics
    assert lines == ["count 6\n", "16\n"]
    assert len(session.history) == len(cells)


def test_separate_sessions_are_independent() -> None:
    one = Session(stdout=lambda _line: None)
    two = Session(stdout=lambda _line: None)
    assert one.run("x 1\n").ok
    assert "x" not in two.globals
