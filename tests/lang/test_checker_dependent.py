"""Rules the checker enforces statically and the runtime enforces again.

Each case runs twice:

- with the semantic checker disabled (``runtime_only``): the runtime guard
  must produce its own diagnostic, so the interpreter is safe whatever the
  checker lets through;
- with the real analysis: either the checker rejects the program (one of the
  static codes, nothing executed) or — while the checker does not cover the
  rule — the runtime reports it. Both are correct; a Python exception or a
  silently wrong result is not.
"""

from __future__ import annotations

import pytest

from .helpers import Recorder, dedent, error_codes

# (id, program, acceptable static codes, runtime code, stdout when the runtime catches it)
CASES = [
    (
        "caller_locals_invisible",
        """
        fn peek()
            return secret
        fn caller()
            secret 42
            return peek()
        print caller()
        """,
        {"E0301"}, "E0301", "",
    ),
    ("undefined_name", "print missing\n", {"E0301"}, "E0301", ""),
    ("assign_undeclared", "y = 1\n", {"E0304"}, "E0304", ""),
    ("undefined_function", "print nope(1)\n", {"E0305"}, "E0305", ""),
    (
        "wrong_argument_count",
        "fn two(a, b)\n    return a + b\nprint two(1)\n",
        {"E0306"}, "E0306", "",
    ),
    ("return_at_top_level", 'print "a"\nreturn 1\n', {"E0307"}, "E0307", "a\n"),
    ("call_a_variable", "v 1\nprint v(2)\n", {"E0310"}, "E0310", ""),
    ("function_as_value", "fn f()\n    return 1\nx f\n", {"E0310"}, "E0310", ""),
    ("assign_to_function", "fn f()\n    return 1\nf = 2\n", {"E0313"}, "E0313", ""),
    ("string_plus_int", 'print "a" + 1\n', {"E0401"}, "E0604", ""),
    ("bool_is_not_a_number", "print true + 1\n", {"E0401"}, "E0604", ""),
    ("compare_bool_with_int", "print 1 == true\n", {"E0401"}, "E0604", ""),
    ("order_bools", "print true < false\n", {"E0401"}, "E0604", ""),
    ("int_condition", "if 1\n    print 1\n", {"E0402"}, "E0604", ""),
    ("and_on_numbers", "print 1 and true\n", {"E0402"}, "E0604", ""),
    ("not_on_string", 'print not "x"\n', {"E0402", "E0403"}, "E0604", ""),
    ("minus_on_string", 'print -"x"\n', {"E0403"}, "E0604", ""),
    ("float_loop_count", "loop 2.5\n    print 1\n", {"E0404"}, "E0604", ""),
    ("float_range_bound", "for i in 0..2.0\n    print i\n", {"E0404"}, "E0604", ""),
    ("infinite_loop_count", "big 1e308\nloop big * 10\n    print 1\n", {"E0404"}, "E0606", ""),
]


@pytest.mark.parametrize(
    ("program", "runtime_code", "stdout"),
    [pytest.param(dedent(c[1]), c[3], c[4], id=c[0]) for c in CASES],
)
def test_runtime_guard(runtime_only: None, program: str, runtime_code: str, stdout: str) -> None:
    rec = Recorder()
    result = rec.run(program)
    assert result.executed
    assert error_codes(result) == [runtime_code]
    assert rec.out == stdout
    assert result.internal_traceback is None


@pytest.mark.parametrize(
    ("program", "static_codes", "runtime_code"),
    [pytest.param(dedent(c[1]), c[2], c[3], id=c[0]) for c in CASES],
)
def test_checker_or_runtime_rejects(program: str, static_codes: set[str], runtime_code: str) -> None:
    result = Recorder().run(program)
    codes = error_codes(result)
    assert codes, "the program must be rejected"
    if result.executed:
        assert codes == [runtime_code]
    else:
        assert static_codes & set(codes), codes


SHADOWING = """
x 1
if true
    x 2
    print x
print x
"""

REDECLARE_SAME_SCOPE = """
x 1
x 2
print x
"""


def test_shadowing_runtime_behaviour(runtime_only: None) -> None:
    # CHECKER-DEPENDENT: the checker rejects shadowing (E0302); without it the
    # inner declaration is local to the block.
    rec = Recorder()
    assert rec.run(dedent(SHADOWING)).ok
    assert rec.out == "2\n1\n"


def test_shadowing_is_rejected_or_lexical() -> None:
    rec = Recorder()
    result = rec.run(dedent(SHADOWING))
    if result.executed:
        assert rec.out == "2\n1\n"
    else:
        assert "E0302" in error_codes(result)


def test_redeclaration_in_one_scope(runtime_only: None) -> None:
    # CHECKER-DEPENDENT: the checker rejects it (E0303); the runtime rebinds.
    rec = Recorder()
    assert rec.run(dedent(REDECLARE_SAME_SCOPE)).ok
    assert rec.out == "2\n"
    result = Recorder().run(dedent(REDECLARE_SAME_SCOPE))
    assert result.executed or "E0303" in error_codes(result)


def test_parameter_shadowing_a_global_runtime_behaviour(runtime_only: None) -> None:
    # CHECKER-DEPENDENT (E0302 if the checker treats parameters as shadowing).
    rec = Recorder()
    assert rec.run("v 100\nfn f(v)\n    return v + 1\nprint f(1), v\n").ok
    assert rec.out == "2 100\n"
