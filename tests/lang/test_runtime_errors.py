"""Runtime errors: every failure is a diagnostic with the right code and span,
earlier statements keep their effects and the failing one has none."""

from __future__ import annotations

import threading
import time

import pytest

from volta_core.diagnostics import render_text
from volta_core.lang import Session
from volta_core.lang import session as session_module

from .helpers import Recorder, dedent, error_codes


def only_error(result):  # type: ignore[no-untyped-def]
    errors = [d for d in result.diagnostics if d.is_error]
    assert len(errors) == 1, [render_text(d) for d in errors]
    return errors[0]


def snippet(diagnostic) -> str:  # type: ignore[no-untyped-def]
    return diagnostic.source.snippet(diagnostic.span)


def test_division_by_zero_points_at_operator(rec: Recorder) -> None:
    result = rec.run(dedent("""
        fn div(a, b)
            return a / b
        print div(1.0, 0)
    """))
    err = only_error(result)
    assert err.code == "E0601"
    assert snippet(err) == "/"
    assert result.executed and not result.ok


@pytest.mark.parametrize("divisor", ["0", "0.0", "-0.0"])
def test_modulo_and_division_by_any_zero(rec: Recorder, divisor: str) -> None:
    for op in ("/", "%"):
        result = rec.run(f"fn f(a, b)\n    return a {op} b\nprint f(5, {divisor})\n")
        assert error_codes(result) == ["E0601"]


def test_int_overflow_at_max_plus_one(rec: Recorder) -> None:
    result = rec.run("x 9223372036854775807\nprint x + 1\n")
    err = only_error(result)
    assert err.code == "E0602"
    assert snippet(err) == "+"
    assert "9223372036854775807 + 1" in err.message


@pytest.mark.parametrize(
    ("program", "op"),
    [
        ("x -9223372036854775807\nprint x - 2\n", "-"),
        ("x 4294967296\nprint x * x\n", "*"),
        ("x -9223372036854775807\nx = x - 1\nprint -x\n", "-"),
    ],
)
def test_other_overflows(rec: Recorder, program: str, op: str) -> None:
    err = only_error(rec.run(program))
    assert err.code == "E0602"
    assert snippet(err) == op


def test_float_overflow_is_a_value_not_an_error(rec: Recorder) -> None:
    result = rec.run("x 1e308\nprint x * 10, -x * 10, x * 10 - x * 10\n")
    assert result.ok
    assert rec.out == "inf -inf nan\n"


def test_call_depth_without_base_case(rec: Recorder) -> None:
    result = rec.run("fn down(n)\n    return down(n - 1)\nprint down(0)\n")
    err = only_error(result)
    assert err.code == "E0603"
    assert "`down`" in err.message and "256" in err.message


def test_deep_recursion_with_base_case_is_limited_not_a_python_error(rec: Recorder) -> None:
    result = rec.run(dedent("""
        fn depth(n)
            if n == 0
                return 0
            return 1 + depth(n - 1)
        print depth(5000)
    """))
    assert error_codes(result) == ["E0603"]
    assert result.internal_traceback is None


def test_higher_call_depth_limit_allows_deep_recursion() -> None:
    rec = Recorder(call_depth_limit=6000)
    result = rec.run(dedent("""
        fn depth(n)
            if n == 0
                return 0
            return 1 + depth(n - 1)
        print depth(5000)
    """))
    assert result.ok, [render_text(d) for d in result.diagnostics]
    assert rec.out == "5000\n"


def test_python_stack_exhaustion_becomes_e0603(monkeypatch: pytest.MonkeyPatch) -> None:
    # A limit far beyond what the Python stack allows: RecursionError must
    # still come back as a diagnostic, never escape.
    monkeypatch.setattr(session_module, "_MAX_RECURSION_LIMIT", 3000)
    monkeypatch.setattr(session_module, "_MIN_RECURSION_LIMIT", 3000)
    rec = Recorder(call_depth_limit=10**9)
    result = rec.run("fn down(n)\n    return down(n - 1)\nprint down(0)\n")
    err = only_error(result)
    assert err.code == "E0603"
    assert any("stack ran out" in note for note in err.notes)
    assert result.internal_traceback is None
    assert rec.run("print 1\n").ok  # the session is still usable


def test_recursion_limit_is_restored() -> None:
    import sys

    before = sys.getrecursionlimit()
    Recorder().run("fn f(n)\n    return f(n)\nprint f(1)\n")
    assert sys.getrecursionlimit() == before


def test_negative_loop_count(rec: Recorder) -> None:
    result = rec.run("n -3\nloop n\n    print 1\n")
    err = only_error(result)
    assert err.code == "E0605"
    assert snippet(err) == "n"
    assert rec.out == ""


def test_model_statement_binds_a_model(rec: Recorder) -> None:
    result = rec.run(dedent("""
        print "first"
        model brain
            layers 2 4 1
        print brain
    """))
    assert result.ok
    assert rec.out == "first\n<model brain>\n"
    assert "brain" in rec.session.globals


def test_onnx_import_of_a_missing_file_is_a_runtime_error(runtime_only: None) -> None:
    rec = Recorder()
    err = only_error(rec.run('import "no-such-model.onnx" as m\n'))
    assert err.code == "E0801"
    assert "cannot import `no-such-model.onnx`" in err.message


def test_member_access_on_a_number_is_an_error(runtime_only: None) -> None:
    rec = Recorder()
    err = only_error(rec.run("x 1\nprint x.loss\n"))
    assert err.code == "E0405"
    assert snippet(err) == "x.loss"


def test_failing_assignment_leaves_variable_unchanged(rec: Recorder) -> None:
    assert rec.run("x 5\nzero 0\n").ok
    result = rec.run("x = 10 / zero\n")
    assert error_codes(result) == ["E0601"]
    assert rec.session.globals["x"] == 5


def test_failing_declaration_does_not_bind(rec: Recorder) -> None:
    result = rec.run("zero 0\nfresh 1 % zero\n")
    assert error_codes(result) == ["E0601"]
    assert "fresh" not in rec.session.globals
    assert rec.session.globals["zero"] == 0


def test_failing_print_prints_nothing(rec: Recorder) -> None:
    result = rec.run('zero 0\nprint "partial", 1 / zero\n')
    assert error_codes(result) == ["E0601"]
    assert rec.out == ""


def test_error_stops_execution_and_keeps_earlier_effects(rec: Recorder) -> None:
    result = rec.run(dedent("""
        a 1
        print "one"
        zero 0
        b a / zero
        print "two"
        c 3
    """))
    assert error_codes(result) == ["E0601"]
    assert rec.out == "one\n"
    assert rec.session.globals == {"a": 1, "zero": 0}


def test_completed_iterations_keep_their_effects(rec: Recorder) -> None:
    result = rec.run(dedent("""
        total 0
        for i in 5
            total = total + 10 / (3 - i)
    """))
    assert error_codes(result) == ["E0601"]
    assert rec.session.globals["total"] == pytest.approx(10 / 3 + 10 / 2 + 10 / 1)


def test_interrupt_from_another_thread_stops_a_long_loop() -> None:
    started = threading.Event()

    def on_print(line: str) -> None:
        started.set()

    session = Session(stdout=on_print)

    def interrupter() -> None:
        started.wait(10)
        time.sleep(0.05)
        session.interrupt()

    thread = threading.Thread(target=interrupter)
    thread.start()
    result = session.run(dedent("""
        count 0
        print "started"
        loop 9223372036854775807
            count = count + 1
            mirror count
        done 1
    """))
    thread.join(10)
    errors = [d for d in result.diagnostics if d.is_error]
    assert [d.code for d in errors] == ["E0607"]
    # state is consistent: `count` holds a whole number of completed iterations
    count = session.globals["count"]
    assert isinstance(count, int) and count > 0
    assert "done" not in session.globals and "mirror" not in session.globals
    # the session keeps working and the interrupt does not leak into the next run
    after = session.run("count = count + 1\n")
    assert after.ok
    assert session.globals["count"] == count + 1


def test_interrupt_while_idle_is_dropped(rec: Recorder) -> None:
    rec.session.interrupt()
    assert rec.run("print 1\n").ok
    assert rec.out == "1\n"


def test_interrupt_inside_a_function_call() -> None:
    lines: list[str] = []
    session = Session(stdout=lines.append)

    def stop_after_three(line: str) -> None:
        lines.append(line)
        if len(lines) == 3:
            session.interrupt()

    session.stdout = stop_after_three
    result = session.run(dedent("""
        fn chatter()
            loop 100
                print "tick"
        chatter()
    """))
    assert error_codes(result) == ["E0607"]
    assert len(lines) == 3


def test_internal_errors_become_e9999_with_traceback(rec: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self, stmt, scope):  # type: ignore[no-untyped-def]
        raise ZeroDivisionError("boom")

    from volta_core.lang import interpreter
    from volta_core.syntax import ast

    monkeypatch.setitem(interpreter._DISPATCH, ast.Print, broken)
    result = rec.run("x 1\nprint x\n")
    err = only_error(result)
    assert err.code == "E9999"
    assert "report" in " ".join(err.helps)
    assert result.internal_traceback is not None and "boom" in result.internal_traceback
    assert err.source is not None and snippet(err) == "print x"


def test_stdout_callback_failure_is_a_diagnostic() -> None:
    def bad_stdout(line: str) -> None:
        raise BrokenPipeError("closed")

    result = Session(stdout=bad_stdout).run("print 1\n")
    assert error_codes(result) == ["E0801"]  # an output that fails is not a bug in Volta (issue 24, item 10)
    assert "cannot write the program's output" in result.errors[0].message


def test_keyboard_interrupt_becomes_e0607() -> None:
    def ctrl_c(line: str) -> None:
        raise KeyboardInterrupt

    result = Session(stdout=ctrl_c).run("print 1\n")
    assert error_codes(result) == ["E0607"]


def test_string_growth_is_bounded(rec: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    from volta_core.lang import values

    monkeypatch.setattr("volta_core.lang.interpreter.MAX_STRING_LENGTH", 1000)
    assert values.MAX_STRING_LENGTH > 1000
    result = rec.run('s "ab"\nloop 20\n    s = s + s\n')
    assert error_codes(result) == ["E0608"]
    assert len(rec.session.globals["s"]) <= 1000  # type: ignore[arg-type]


def test_very_long_operator_chains_do_not_recurse() -> None:
    # The parser caps chains today; the interpreter must not depend on it.
    from volta_core.lang.interpreter import Interpreter
    from volta_core.syntax import ast
    from volta_core.syntax.source import Source, Span

    span = Span(0, 1)
    expr: ast.Expr = ast.Number(0, span)
    for _ in range(30000):
        expr = ast.Binary("+", expr, ast.Number(1, span), span, span)
    negated: ast.Expr = ast.Number(1, span)
    for _ in range(10001):
        negated = ast.Unary("-", negated, span, span)
    program = ast.Program((ast.Print((expr, negated), span),), span)
    lines: list[str] = []
    Interpreter({}, lines.append).execute(program, Source("x"))
    assert lines == ["30000 -1\n"]


def test_default_stdout_streams_to_sys_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    result = Session().run('print "hello", 1\nprint\n')
    assert result.ok
    assert capsys.readouterr().out == "hello 1\n\n"


def test_int_widens_to_float_in_equality(rec: Recorder) -> None:
    # Documented choice: `==` widens like arithmetic does (Python would
    # compare the exact values and say false here).
    assert rec.run("big 9007199254740993\nprint big == 9007199254740992.0, big == 9007199254740992\n").ok
    assert rec.out == "true false\n"
