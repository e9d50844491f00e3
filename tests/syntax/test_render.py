"""Rendering details of lexer/parser diagnostics (SPEC §5)."""

from __future__ import annotations

import json

from volta_core.analysis import analyze
from volta_core.diagnostics import render_json, render_text
from volta_core.syntax.source import Span


def _underline_column(rendered: str, marker: str) -> int:
    """Column of ``marker`` on the first underline line (after the `|` gutter)."""
    for line in rendered.splitlines():
        body = line.split("|", 1)[-1]
        if marker in body and line.lstrip().startswith("|"):
            return body.index(marker)
    raise AssertionError(rendered)


def test_underline_after_tab_uses_tab_stops() -> None:
    # "ab\t$" is shown as "ab  $" (tab stop at column 4); `^` must sit under `$`
    (_, bad) = [d for d in analyze("ab\t$\n").diagnostics if d.code != "W0101"]
    assert bad.code == "E0006"
    rendered = render_text(bad)
    assert " | ab  $" in rendered
    source_line = next(line for line in rendered.splitlines() if line.endswith("ab  $"))
    assert _underline_column(rendered, "^") == source_line.split("|", 1)[1].index("$")


def test_underline_of_a_leading_tab() -> None:
    d = next(d for d in analyze("loop 1\n\tprint 1\n").diagnostics if d.code == "E0001")
    assert "  | ^^^^ tab used here" in render_text(d)


def test_positions_in_json_are_characters() -> None:
    d = next(d for d in analyze('print "é😀" $\n').diagnostics if d.code == "E0006")
    (entry,) = json.loads(render_json([d]))
    assert entry["range"] == {"start": {"line": 1, "column": 12}, "end": {"line": 1, "column": 13}}


def test_fix_edits_are_in_json() -> None:
    d = next(d for d in analyze("trian brain on xor\n").diagnostics if d.code == "E0101")
    (entry,) = json.loads(render_json([d]))
    assert entry["fixes"][0]["edits"][0]["new_text"] == "train"


def test_colour_rendering_wraps_in_ansi_and_plain_does_not() -> None:
    d = analyze("x 1 $\n").diagnostics[-1]
    assert "\x1b[" in render_text(d, colour=True)
    assert "\x1b[" not in render_text(d)


def test_unknown_name_is_the_one_did_you_mean() -> None:
    from volta_core.diagnostics import Fix, TextEdit, unknown_name

    span = Span(4, 9)
    near = unknown_name("E0203", "unknown activation `reluu`", "reluu", span, ["relu", "tanh"],
                        label="not a known activation", listing="allowed: relu, tanh")  # fmt: skip
    assert near.helps == ("did you mean `relu`? allowed: relu, tanh",)
    assert near.fixes == (Fix("Change to `relu`", (TextEdit(span, "relu"),)),)
    assert near.label == "not a known activation" and near.code == "E0203"
    far = unknown_name("E0203", "m", "zzzzz", span, ["relu"], label="l", listing="allowed: relu", otherwise="x")
    assert far.helps == ("allowed: relu",) and far.fixes == ()
    extra = Fix("Declare", (TextEdit(Span(0, 0), "x 0\n"),))
    none = unknown_name("E0301", "m", "zzzzz", span, [], label="l", otherwise="declare it", helps=("h",), fixes=(extra,))
    assert none.helps == ("declare it", "h") and none.fixes == (extra,)
    both = unknown_name("E0301", "m", "valeu", span, ["value"], label="l", otherwise="declare it", fixes=(extra,))
    assert both.helps == ("did you mean `value`?",) and [f.title for f in both.fixes] == ["Change to `value`", "Declare"]
