"""Kernel-only cursor logic: is-complete, magics, and the Jupyter shape of
completion replies.

Context detection and candidates come from ``volta_core.check.complete``
(shared with the language server); this module adds what only a notebook
has — ``%magics`` and prefix filtering of matches. No Jupyter imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from volta_core.analysis import Analysis, analyze
from volta_core.check import complete as C
from volta_core.check.complete import strip_comment
from volta_core.check.symbols import Symbol
from volta_core.syntax.parser import parse
from volta_core.syntax.source import Source
from volta_core.syntax.tokens import OPTIONAL_BLOCK_KEYWORDS, header_opens_block

INDENT: Final = "    "
#: The parser's "expected an indented block" (a header still waiting for its body).
MISSING_BLOCK: Final = "E0102"
#: Jupyter's ``_jupyter_types_experimental`` type of each completion item kind.
JUPYTER_TYPES: Final = {
    "keyword": "keyword",
    "property": "keyword",
    "value": "keyword",
    "layer": "keyword",
    "member": "property",
    "variable": "instance",
    "function": "function",
    "model": "class",
    "dataset": "module",
}

__all__ = ["INDENT", "Completion", "completions", "is_complete", "is_magic_line", "opens_block", "strip_comment"]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def is_magic_line(line: str) -> bool:
    """Magics are lines starting with ``%`` in column 0 (``%`` never starts Volta code)."""
    return line.startswith("%")


def opens_block(line: str) -> bool:
    """True when ``line`` (comment stripped) is a header that opens an indented body."""
    return header_opens_block(line.split(), indented=line[:1] == " ")


def is_complete(code: str) -> tuple[str, str]:
    """Jupyter's is_complete for the indented language: ``(status, indent)``.

    ``incomplete`` when the last code line opens a block, or when the cell
    ends on an indented line (a blank line ends the block); ``invalid`` when
    no further line can make the cell valid: a string left open (strings are
    single-line) or any syntax error other than a missing block — Volta has
    no continuation lines, so an unclosed bracket (``print (1 +``) or a
    stray ``)`` is an error now, not a line to be continued; ``complete``
    otherwise. A header whose block is optional (``train M on D``) followed
    by a blank line is complete: the block was left out. Magic cells are
    always complete.
    """
    lines = code.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if any(is_magic_line(line) for line in lines):
        return "complete", ""
    last_code: str | None = None
    last_code_row = 0
    for row, raw in enumerate(lines):
        text, open_string = strip_comment(raw)
        if open_string:
            return "invalid", ""
        if text.strip():
            last_code, last_code_row = text.rstrip(), row
    if last_code is None:
        return "complete", ""
    parsed = parse(Source(code, "<cell>"))
    if any(d.is_error and d.code != MISSING_BLOCK for d in parsed.diagnostics):
        return "invalid", ""
    if opens_block(last_code):
        if last_code.split()[0] in OPTIONAL_BLOCK_KEYWORDS and last_code_row < len(lines) - 1:
            return "complete", ""
        return "incomplete", " " * _indent(last_code) + INDENT
    last = lines[-1]
    if last.strip() and _indent(last) > 0:
        return "incomplete", " " * _indent(last)
    return "complete", ""


@dataclass(frozen=True, slots=True)
class Completion:
    """A completion reply: matches ``(text, jupyter type)`` replacing ``code[start:end]``."""

    start: int
    end: int
    matches: list[tuple[str, str]]
    magic: bool = False


def magic_word(code: str, cursor: int) -> tuple[int, int] | None:
    """The span of the magic name at ``cursor`` when the line is ``%name``; else None."""
    line_start = code.rfind("\n", 0, cursor) + 1
    line = code[line_start:cursor]
    if not line.startswith("%") or any(ch.isspace() for ch in line):
        return None
    end = cursor
    while end < len(code) and (code[end].isalnum() or code[end] == "_"):
        end += 1
    return line_start + 1, end


def completions(
    code: str,
    cursor: int,
    symbols: Mapping[str, Symbol],
    magics: tuple[str, ...] = (),
    analysis: Analysis | None = None,
) -> Completion:
    """Candidates for ``cursor``, filtered by the typed prefix and sorted.

    ``symbols`` are the session's globals (earlier cells); the cell's own
    declarations come from its analysis. ``magics`` are the magic names
    (without ``%``). Snippets are left out: Jupyter inserts plain text.
    """
    cursor = max(0, min(cursor, len(code)))
    magic = magic_word(code, cursor)
    if magic is not None:
        word = code[magic[0]:cursor]
        return Completion(magic[0], magic[1], sorted((m, "magic") for m in magics if m.startswith(word)), True)
    if analysis is None:
        analysis = analyze(code, "<cell>", predeclared=symbols)
    ctx = C.cursor_context(analysis, cursor, symbols)
    found = {
        (item.label, JUPYTER_TYPES[item.kind])
        for item in C.complete(analysis, cursor, symbols)
        if item.kind != "snippet" and item.label.startswith(ctx.word)
    }
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for text, kind in sorted(found):
        if text not in seen:
            seen.add(text)
            out.append((text, kind))
    return Completion(ctx.start, ctx.end, out)
