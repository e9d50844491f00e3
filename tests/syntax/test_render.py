"""Rendering details of lexer/parser diagnostics (SPEC §5)."""

from __future__ import annotations

import json

from volta_core.analysis import analyze
from volta_core.diagnostics import render_json, render_text


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
