"""Adversarial inputs: every front door answers with diagnostics, never an exception.

Each bomb goes through ``analyze``, ``Session.run`` and
``cli.main(["check"|"run", path])``. Parsing limits (SPEC §5 / parser docs):
expressions nest at most 64 levels, at most 200 binary operators are chained
into one tree, blocks nest at most 64 levels; the call depth is capped at run time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from volta_core import cli
from volta_core.analysis import analyze
from volta_core.diagnostic_codes import CODES
from volta_core.diagnostics import render_json, render_text
from volta_core.lang import Session


def _nested_ifs(depth: int) -> str:
    return "".join("    " * i + "if true\n" for i in range(depth)) + "    " * depth + "print 1\n"


BOMBS: dict[str, tuple[str, str | None]] = {
    # name: (source, code expected from analyze — None: any outcome but no crash)
    "parens_10000": ("x " + "(" * 10_000 + "1" + ")" * 10_000 + "\n", "E0104"),
    "unclosed_parens_10000": ("x " + "(" * 10_000 + "1\n", "E0104"),
    "calls_5000": ("x " + "f(" * 5_000 + "1" + ")" * 5_000 + "\n", "E0104"),
    "unary_minus_10000": ("x " + "- " * 10_000 + "1\n", "E0104"),
    "unary_minus_glued_10000": ("x " + "-" * 10_000 + "1\n", "E0104"),
    "not_10000": ("x " + "not " * 10_000 + "true\n", "E0104"),
    "member_chain_10000": ("x m" + ".loss" * 10_000 + "\n", "E0104"),
    "mixed_nesting_5000": ("x " + "-(not " * 2_500 + "1" + ")" * 2_500 + "\n", "E0104"),
    "nested_blocks_200": (_nested_ifs(200), "E0108"),
    "nested_loops_200": (
        "".join("    " * i + "loop 1\n" for i in range(200)) + "    " * 200 + "print 1\n",
        "E0108",
    ),
    "indent_jump_100_levels": ("loop 1\n" + " " * 400 + "print 1\n", "E0003"),
    "sum_of_50000_terms": ("x " + " + ".join(["1"] * 50_000) + "\nprint x\n", "E0104"),
    "and_chain_50000": ("x " + " and ".join(["true"] * 50_000) + "\n", "E0104"),
    "string_concat_50000": ('x "a"' + ' + "a"' * 50_000 + "\n", "E0104"),
    "print_100000_tokens": ("print " + ", ".join(["1"] * 50_000) + "\n", None),
    "property_100000_values": ("model m\n    layers " + " ".join(["4"] * 100_000) + "\n", None),
    "many_lines_50000": ("x 0\n" + "x = x + 1\n" * 50_000, None),
    "huge_int_literal": ("x 1" + "0" * 10_000 + "\n", "E0007"),
    "huge_float_literal": ("x 1" + "0" * 10_000 + ".5\n", None),
    "long_string": ('x "' + "é" * 200_000 + '"\nprint x\n', None),
    "long_name": ("a" * 100_000 + " 1\n", None),
    "nul_and_control_chars": ("x 1\x00\x01\x7f\nprint \x1b[31m\n", "E0006"),
}

RECURSION = "fn f(n)\n    if n == 0\n        return 0\n    return f(n - 1) + 1\nprint f(5000)\n"
INFINITE_RECURSION = "fn g(n)\n    return g(n + 1)\nprint g(0)\n"


def _assert_well_formed(diagnostics: list, text_length: int) -> None:
    for d in diagnostics:
        assert d.code in CODES
        assert d.code != "E9999", render_text(d)
        assert 0 <= d.span.start <= d.span.end <= text_length
        render_text(d)
    render_json(diagnostics)


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_analyze_survives(name: str) -> None:
    text, code = BOMBS[name]
    analysis = analyze(text, path=f"{name}.vt")
    _assert_well_formed(analysis.diagnostics, len(analysis.source.text))
    if code is not None:
        assert code in [d.code for d in analysis.diagnostics]


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_session_run_survives(name: str) -> None:
    text, code = BOMBS[name]
    result = Session(stdout=lambda s: None).run(text, f"{name}.vt")
    _assert_well_formed(result.diagnostics, len(result.analysis.source.text))
    if code is not None:
        assert code in [d.code for d in result.diagnostics]
        assert not result.executed


@pytest.mark.parametrize("command", ["check", "run"])
@pytest.mark.parametrize("name", sorted(BOMBS))
def test_cli_survives(name: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text, code = BOMBS[name]
    path = tmp_path / f"{name}.vt"
    path.write_text(text, encoding="utf-8")
    rc = cli.main([command, str(path)])
    out, err = capsys.readouterr()
    assert rc in (0, 1), (rc, err[-2000:])
    assert "E9999" not in out + err and "Traceback" not in out + err, err[-2000:]
    if code is not None:
        assert rc == 1 and f"[{code}]" in err + out


def test_runtime_recursion_5000_deep_is_a_diagnostic() -> None:
    for text in (RECURSION, INFINITE_RECURSION):
        result = Session(stdout=lambda s: None).run(text, "rec.vt")
        assert result.executed and not result.ok
        assert [d.code for d in result.errors] == ["E0603"]
        _assert_well_formed(result.diagnostics, len(text))


def test_session_is_usable_after_a_recursion_error() -> None:
    printed: list[str] = []
    session = Session(stdout=printed.append)
    assert not session.run(INFINITE_RECURSION, "a.vt").ok
    result = session.run("print 1 + 1\n", "b.vt")
    assert result.ok and printed == ["2\n"]


def test_cli_runtime_recursion(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "rec.vt"
    path.write_text(RECURSION, encoding="utf-8")
    assert cli.main(["run", str(path)]) == 1
    out, err = capsys.readouterr()
    assert "[E0603]" in err + out and "Traceback" not in err + out


def test_limits_are_not_hit_by_reasonable_code() -> None:
    text = (
        "x " + "(" * 60 + "1" + ")" * 60 + "\n"
        "y " + " + ".join(["1"] * 200) + "\n"
        + "z " + "-" * 60 + "1\n"
        + _nested_ifs(60)
    )
    codes = {d.code for d in analyze(text).diagnostics}
    assert not codes & {"E0104", "E0108"}, codes
