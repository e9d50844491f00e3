"""Where the cursor is: enclosing block, the line's words, the token under it."""

from __future__ import annotations

from dataclasses import dataclass

from volta_core.analysis import Analysis
from volta_core.syntax import tokens as T
from volta_core.syntax.tokens import Token

PROPERTY_BLOCKS = ("model", "dataset", "train")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_code(line: str) -> bool:
    s = line.strip()
    return bool(s) and not s.startswith(("#", "//"))


@dataclass(frozen=True, slots=True)
class LineContext:
    """The text of the cursor's line before the cursor and the block it is in."""

    prefix: str
    block: str | None  # "model" | "dataset" | "train" | "code" (fn/if/…) | None (top level)
    line_index: int  # 0-based


def line_context(text: str, offset: int) -> LineContext:
    line_start = text.rfind("\n", 0, offset) + 1
    prefix = text[line_start:offset]
    lines = text[:line_start].split("\n")[:-1]
    indent = _indent(prefix) if prefix.strip() else len(prefix)
    block: str | None = None
    if indent > 0:
        for line in reversed(lines):
            if _is_code(line) and _indent(line) < indent:
                first = line.split()[0]
                block = first if first in PROPERTY_BLOCKS else "code"
                break
    return LineContext(prefix, block, len(lines))


def token_at(analysis: Analysis, offset: int) -> Token | None:
    """The non-layout token covering ``offset`` (its end counts, for a cursor after a word)."""
    best: Token | None = None
    for tok in analysis.lex.tokens:
        if tok.kind in (T.NEWLINE, T.INDENT, T.DEDENT, T.EOF):
            continue
        if tok.start <= offset < tok.end:
            return tok
        if tok.end == offset and tok.kind in (T.NAME, T.KEYWORD):
            best = tok
        if tok.start > offset:
            break
    return best
