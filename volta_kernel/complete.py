"""Cursor context for the kernel: is-complete, completion and inspection targets.

Pure functions over cell text (no Jupyter imports), so they are unit-testable
and can later move into ``volta_core`` to be shared with ``volta_lsp``'s
``context.py`` (the two were written in parallel; unify them there).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from volta_core.check import schema
from volta_core.check.symbols import Symbol, SymbolKind
from volta_core.syntax.tokens import STATEMENT_KEYWORDS

INDENT: Final = "    "
#: Statements whose header line always opens an indented block.
_ALWAYS_BLOCK: Final = frozenset({"model", "dataset", "fn", "loop", "for", "if", "elif", "else"})
#: Blocks whose body is ``KEY value…`` property lines.
PROPERTY_BLOCKS: Final = ("model", "dataset", "train")
#: Words allowed inside expressions besides names.
EXPRESSION_KEYWORDS: Final = ("true", "false", "and", "or", "not")
_WORD_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def strip_comment(line: str) -> tuple[str, bool]:
    """``line`` without its ``#``/``//`` comment, and whether a string is left open."""
    in_string = False
    i = 0
    while i < len(line):
        ch = line[i]
        if in_string:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "#" or line.startswith("//", i):
            return line[:i], False
        i += 1
    return line, in_string


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def is_magic_line(line: str) -> bool:
    """Magics are lines starting with ``%`` in column 0 (``%`` never starts Volta code)."""
    return line.startswith("%")


def opens_block(line: str) -> bool:
    """True when ``line`` (comment stripped) is a header that needs an indented body."""
    words = line.split()
    if not words:
        return False
    first = words[0]
    if first in _ALWAYS_BLOCK:
        return True
    # `infer MODEL` takes rows in a block; `infer MODEL on "in" as "out"` does not.
    return first == "infer" and "on" not in words[1:]


def is_complete(code: str) -> tuple[str, str]:
    """Jupyter's is_complete for the indented language: ``(status, indent)``.

    ``incomplete`` when the last code line opens a block, or when the cell
    ends on an indented line (a blank line ends the block); ``invalid`` for a
    string left open (strings are single-line); ``complete`` otherwise.
    Magic cells are always complete.
    """
    lines = code.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if any(is_magic_line(line) for line in lines):
        return "complete", ""
    last_code: str | None = None
    for raw in lines:
        text, open_string = strip_comment(raw)
        if open_string:
            return "invalid", ""
        if text.strip():
            last_code = text.rstrip()
    if last_code is None:
        return "complete", ""
    if opens_block(last_code):
        return "incomplete", " " * _indent(last_code) + INDENT
    last = lines[-1]
    if last.strip() and _indent(last) > 0:
        return "incomplete", " " * _indent(last)
    return "complete", ""


@dataclass(frozen=True, slots=True)
class Context:
    """What surrounds the cursor.

    ``word`` is the identifier being typed (``start`` where it begins, ``end``
    where the identifier under the cursor ends); ``before`` the words on the
    line before it; ``block`` the enclosing block's keyword (``model``,
    ``dataset``, ``train``, ``infer``, another statement keyword, or None at
    top level); ``member_of`` the name before a ``.``.
    """

    word: str
    start: int
    end: int
    before: tuple[str, ...]  # whitespace-separated, ("#",) inside a comment
    block: str | None
    member_of: str | None
    magic: bool


def context_at(code: str, cursor: int) -> Context:
    """The :class:`Context` at ``cursor`` (a code-point offset into ``code``)."""
    cursor = max(0, min(cursor, len(code)))
    start = cursor
    while start > 0 and code[start - 1] in _WORD_CHARS:
        start -= 1
    end = cursor
    while end < len(code) and code[end] in _WORD_CHARS:
        end += 1
    line_start = code.rfind("\n", 0, start) + 1
    prefix = code[line_start:start]
    magic = prefix == "%" or (prefix.startswith("%") and not prefix[1:].strip())
    member_of = None
    if prefix.endswith("."):
        owner = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\.$", prefix)
        member_of = owner.group(1) if owner else None
    stripped, _ = strip_comment(prefix)
    before = tuple(stripped.split())
    if stripped != prefix:  # the cursor is inside a comment
        before = ("#",)
    indent = _indent(prefix) if prefix.strip() else len(prefix)
    block: str | None = None
    if indent > 0:
        for line in reversed(code[:line_start].split("\n")[:-1]):
            text, _ = strip_comment(line)
            if text.strip() and _indent(text) < indent:
                block = text.split()[0]
                break
    return Context(code[start:cursor], start, end, before, block, member_of, magic)


def _value_spec(key: str, block: str, before: tuple[str, ...]) -> schema.ValueSpec | None:
    """The spec of the value being typed after ``before`` (``[key, v1, …]``)."""
    spec = schema.BLOCKS[block].properties.get(key)
    if spec is None:
        return None
    position = len(before) - 1
    if block == "model" and key == "layer" and position >= 1:
        layer = schema.LAYERS.get(before[1])
        if layer is None or position - 1 >= len(layer.args):
            return None
        return layer.args[position - 1]
    if position < len(spec.values):
        return spec.values[position]
    return spec.values[-1] if spec.variadic and spec.values else None


def _choices(spec: schema.ValueSpec | None) -> tuple[str, ...]:
    if spec is None:
        return ()
    if spec.kind == "choice":
        return spec.choices
    if spec.kind == "bool":
        return ("true", "false")
    return ()


_SYMBOL_TYPES: Final = {
    SymbolKind.FUNCTION: "function",
    SymbolKind.MODEL: "class",
    SymbolKind.DATASET: "module",
}


def _names(symbols: Mapping[str, Symbol]) -> list[tuple[str, str]]:
    return [(name, _SYMBOL_TYPES.get(sym.kind, "instance")) for name, sym in symbols.items()]


def completions(
    code: str, cursor: int, symbols: Mapping[str, Symbol], magics: tuple[str, ...] = ()
) -> tuple[Context, list[tuple[str, str]]]:
    """Completion candidates ``(text, type)`` for ``cursor``, filtered by the typed prefix.

    ``symbols`` are the names visible in the cell (session globals and the
    cell's own declarations); ``magics`` the magic names (without ``%``).
    """
    ctx = context_at(code, cursor)
    found: list[tuple[str, str]] = []
    if ctx.magic:
        found = [(m, "magic") for m in magics]
    elif ctx.before == ("#",):
        found = []
    elif ctx.member_of is not None:
        sym = symbols.get(ctx.member_of)
        if sym is not None and sym.kind is SymbolKind.MODEL:
            found = [(m, "property") for m in schema.MODEL_MEMBERS]
        elif sym is not None and sym.kind is SymbolKind.DATASET:
            found = [(m, "property") for m in schema.DATASET_MEMBERS]
    elif ctx.block in PROPERTY_BLOCKS:
        if not ctx.before:
            found = [(k, "keyword") for k in schema.BLOCKS[ctx.block].properties]
        else:
            spec = _value_spec(ctx.before[0], ctx.block, ctx.before)
            found = [(c, "keyword") for c in _choices(spec)]
            if spec is None or spec.kind in ("int", "number", "string"):
                found += _names({n: s for n, s in symbols.items() if s.kind is not SymbolKind.FUNCTION})
    elif ctx.block == "infer":
        found = [("input", "keyword")] if not ctx.before else _names(symbols)
    elif not ctx.before:
        found = [(k, "keyword") for k in STATEMENT_KEYWORDS] + _names(symbols)
    else:
        wanted = _after_keyword(ctx.before)
        pool = {n: s for n, s in symbols.items() if wanted is None or s.kind is wanted}
        found = _names(pool)
        if wanted is None:
            found += [(k, "keyword") for k in EXPRESSION_KEYWORDS]
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for text, kind in sorted(found):
        if text.startswith(ctx.word) and text not in seen:
            seen.add(text)
            out.append((text, kind))
    return ctx, out


def _after_keyword(before: tuple[str, ...]) -> SymbolKind | None:
    """The kind of name a statement wants at this position, if it is specific."""
    first, count = before[0], len(before)
    if first in ("train", "evaluate", "infer", "save", "load", "export", "inspect") and count == 1:
        return SymbolKind.MODEL
    if first in ("train", "evaluate") and before[-1] == "on":
        return SymbolKind.DATASET
    return None
