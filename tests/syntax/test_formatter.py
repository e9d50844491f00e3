from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from volta_core.syntax import tokens as T
from volta_core.syntax.formatter import format_source
from volta_core.syntax.lexer import tokenize
from volta_core.syntax.source import Source

ROOT = Path(__file__).resolve().parents[2]
CORPUS = sorted([*ROOT.glob("tests/fuzz_corpus/*.vt"), *ROOT.glob("examples/*.vt")])
_LAYOUT = {T.NEWLINE, T.INDENT, T.DEDENT, T.EOF}


def _tokens(text: str) -> list[tuple[str, object]]:
    return [(t.kind, t.value) for t in tokenize(Source(text)).tokens if t.kind not in _LAYOUT]


def _check(text: str) -> None:
    out = format_source(text)
    if out is None:
        return
    assert format_source(out) == out
    assert _tokens(out) == _tokens(text)
    assert out == "" or out.endswith("\n")
    assert "\n\n\n" not in out


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_corpus_formats_idempotently(path: Path) -> None:
    text = path.read_text()
    out = format_source(text)
    assert out is not None
    _check(text)


def test_rules() -> None:
    src = "x=-1\nfn  f( a,b )\n    return a*-b   # c\n\n\n\n\ny 2\nfor i in 0 .. 3\n    print f(x,i) , y\n"
    assert format_source(src) == (
        "x = -1\nfn f(a, b)\n    return a * -b  # c\n\ny 2\nfor i in 0..3\n    print f(x, i), y\n"
    )


def test_property_values_keep_their_meaning() -> None:
    src = "lr 2\nmodel m\n    layers 2   -1 (lr) lr\n    seed  (lr*2)\n"
    out = format_source(src)
    assert out == "lr 2\nmodel m\n    layers 2 -1 (lr) lr\n    seed (lr * 2)\n"


def test_comments_and_blank_lines() -> None:
    src = "\n\n# head\n  # odd indent\nif true\n    // inner\n    print 1\n\n\n"
    assert format_source(src) == "# head\n# odd indent\nif true\n    // inner\n    print 1\n"


def test_broken_code_is_not_formatted() -> None:
    assert format_source("fn f(\n") is None
    assert format_source("x = \t1\n") is None
    assert format_source("") == ""


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(CORPUS)).read_text()
    lines = text.split("\n")
    for _ in range(draw(st.integers(0, 4))):
        i = draw(st.integers(0, max(len(lines) - 1, 0)))
        op = draw(st.sampled_from(["spaces", "blank", "squash", "drop"]))
        if op == "spaces":
            lines[i] = lines[i].replace(" ", "  ").replace("    ", "    ", 1)
        elif op == "blank":
            lines.insert(i, "")
        elif op == "squash":
            for a, b in ((" = ", "="), (", ", ","), (" * ", "*"), (" + ", "+")):
                lines[i] = lines[i].replace(a, b)
        else:
            del lines[i]
    return "\n".join(lines)


@settings(max_examples=60, deadline=None)
@given(_mutated())
def test_mutated_corpus_idempotent_and_meaning_preserving(text: str) -> None:
    _check(text)
