"""The canonical formatter: ``format_source(text) -> str | None``.

Rules (documented in docs/editors.md):

- 4 spaces per block level; one space between tokens, except none after `(`,
  before `,` and `)`, around `.` and `..`, between a call's name and its `(`,
  and after a unary minus; one space after `,`.
- Trailing comments get two spaces before `#`/`//`; comment-only lines keep
  their indentation rounded down to a multiple of 4 spaces.
- At most one blank line in a row; no blank lines at the start or end; the
  text ends with exactly one newline.

Only text that lexes and parses without errors is formatted (``None``
otherwise): formatting never guesses at broken code. The token stream (kinds
and values) is unchanged by construction, and each line is re-lexed as a guard.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from volta_core.syntax import ast as A
from volta_core.syntax import tokens as T
from volta_core.syntax.lexer import tokenize
from volta_core.syntax.parser import parse
from volta_core.syntax.source import Source
from volta_core.syntax.tokens import Token

INDENT = "    "
_LAYOUT = frozenset((T.NEWLINE, T.INDENT, T.DEDENT, T.EOF))


def _nodes(node: object) -> Iterator[object]:
    """Every AST node under ``node`` (itself included)."""
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, tuple):
            stack.extend(cur)
            continue
        if not dataclasses.is_dataclass(cur) or isinstance(cur, type):
            continue
        yield cur
        for f in dataclasses.fields(cur):
            value = getattr(cur, f.name)
            if isinstance(value, tuple) or (dataclasses.is_dataclass(value) and not isinstance(value, type)):
                stack.append(value)


def _attachments(program: A.Program, tokens: list[Token]) -> tuple[set[int], set[int]]:
    """Offsets of unary minus tokens and of call/parameter-list parentheses."""
    expr_starts: set[int] = set()
    call_parens: set[int] = set()
    by_start = {tok.start: i for i, tok in enumerate(tokens) if tok.kind not in _LAYOUT}
    for node in _nodes(program):
        span = getattr(node, "span", None)
        if isinstance(node, A.Unary):
            expr_starts.add(node.op_span.start)
        elif span is not None and not isinstance(node, A.Program):
            expr_starts.add(span.start)
        name: A.Name | None = None
        if isinstance(node, A.Call):
            name = node.callee
        elif isinstance(node, A.FnDef):
            name = node.name
        if name is not None:
            i = by_start.get(name.span.start)
            if i is not None and i + 1 < len(tokens) and tokens[i + 1].is_op("("):
                call_parens.add(tokens[i + 1].start)
    unary = {tok.start for tok in tokens if tok.is_op("-") and tok.start in expr_starts}
    return unary, call_parens


def _join(line: list[Token], unary: set[int], call_parens: set[int]) -> str:
    parts: list[str] = []
    prev: Token | None = None
    for tok in line:
        if prev is not None:
            parts.append(_separator(prev, tok, unary, call_parens))
        parts.append(tok.text)
        prev = tok
    return "".join(parts)


def _separator(prev: Token, tok: Token, unary: set[int], call_parens: set[int]) -> str:
    if tok.kind == T.OP and tok.text in (",", ")", ".", ".."):
        return ""
    if prev.kind == T.OP and prev.text in ("(", ".", ".."):
        return ""
    if prev.is_op("-") and prev.start in unary:
        return ""
    if tok.is_op("(") and tok.start in call_parens:
        return ""
    return " "


def _same_tokens(a: str, b: str) -> bool:
    def key(text: str) -> list[tuple[str, object]]:
        return [(t.kind, t.value) for t in tokenize(Source(text)).tokens if t.kind not in _LAYOUT]

    return key(a) == key(b)


def format_source(text: str) -> str | None:
    """The canonically formatted ``text``, or None if it has syntax errors.

    Guarantees: idempotent, and the token stream (ignoring layout) is unchanged.
    """
    source = Source(text)
    parsed = parse(source)
    if parsed.diagnostics:
        return None
    tokens = parsed.lex.tokens
    unary, call_parens = _attachments(parsed.program, tokens)

    n_lines = source.line_count
    line_tokens: list[list[Token]] = [[] for _ in range(n_lines + 1)]
    line_level = [0] * (n_lines + 1)
    level = 0
    for tok in tokens:
        if tok.kind == T.INDENT:
            level += 1
        elif tok.kind == T.DEDENT:
            level -= 1
        elif tok.kind not in _LAYOUT:
            line = source.position(tok.start).line
            if not line_tokens[line]:
                line_level[line] = level
            line_tokens[line].append(tok)
    comments = {source.position(c.start).line: source.snippet(c).rstrip() for c in parsed.lex.comments}

    out: list[str] = []
    for line in range(1, n_lines + 1):
        toks = line_tokens[line]
        comment = comments.get(line)
        if toks:
            original = source.text[toks[0].start : toks[-1].end]
            code = _join(toks, unary, call_parens)
            if not _same_tokens(code, original):
                code = original  # never change meaning; keep the author's spacing
            row = INDENT * line_level[line] + code
            if comment is not None:
                row += "  " + comment
        elif comment is not None:
            raw = source.line_text(line)
            width = len(raw) - len(raw.lstrip(" "))
            row = " " * (width - width % len(INDENT)) + comment
        else:
            row = ""
        if row or (out and out[-1]):
            out.append(row)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n" if out else ""
