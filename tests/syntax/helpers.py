"""Small helpers shared by the syntax tests."""

from __future__ import annotations

from volta_core.diagnostics import Diagnostic
from volta_core.syntax import tokens as T
from volta_core.syntax.lexer import LexResult, tokenize
from volta_core.syntax.parser import ParseResult, parse
from volta_core.syntax.source import Source


def lex(text: str) -> LexResult:
    return tokenize(Source(text))


def kinds(text: str) -> list[tuple[str, str]]:
    """``(kind, text)`` of every token except NEWLINE/EOF bookkeeping at the end."""
    return [(t.kind, t.text) for t in lex(text).tokens if t.kind not in (T.NEWLINE, T.EOF)]


def lex_codes(text: str) -> list[str]:
    return [d.code for d in lex(text).diagnostics]


def parsed(text: str) -> ParseResult:
    return parse(Source(text))


def codes(text: str) -> list[str]:
    return [d.code for d in parsed(text).diagnostics]


def code_lines(text: str) -> list[tuple[str, int]]:
    """``(code, 1-based line)`` of every parse diagnostic."""
    src = Source(text)
    return [(d.code, src.position(d.span.start).line) for d in parse(src).diagnostics]


def only(diags: list[Diagnostic], code: str) -> Diagnostic:
    found = [d for d in diags if d.code == code]
    assert len(found) == 1, [(d.code, d.message) for d in diags]
    return found[0]


def snippet(text: str, diag: Diagnostic) -> str:
    return Source(text).snippet(diag.span)


def apply_fix(text: str, diag: Diagnostic, index: int = 0) -> str:
    """``text`` after applying fix ``index`` of ``diag`` (edits applied back to front)."""
    src = Source(text)
    out = src.text
    for edit in sorted(diag.fixes[index].edits, key=lambda e: e.span.start, reverse=True):
        out = out[: edit.span.start] + edit.new_text + out[edit.span.end :]
    return out
