"""Character offsets (volta spans, code points) ↔ LSP positions (code units).

Volta counts columns in characters; LSP clients count UTF-16 code units by
default (a client may negotiate UTF-8 or UTF-32), so a character outside the
Basic Multilingual Plane (an emoji) is one column for volta and two for the
editor. All conversion happens here.

A notebook's cells are analysed as one program: a cell's map has a ``base``,
the offset of its first character in that program, so it converts the
program's offsets to the cell's own positions and back.
"""

from __future__ import annotations

import bisect
from typing import Final

from lsprotocol import types as lsp

from volta_core.syntax.source import Span

UTF16: Final = "utf-16"


def _units(text: str, encoding: str) -> int:
    if text.isascii() or encoding == "utf-32":
        return len(text)
    if encoding == "utf-8":
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _char_units(ch: str, encoding: str) -> int:
    if encoding == "utf-32":
        return 1
    if encoding == "utf-8":
        return len(ch.encode("utf-8", "surrogatepass"))
    return 2 if ord(ch) > 0xFFFF else 1


class PositionMap:
    """Converts between offsets and LSP positions of ``text`` (newline-normalised),
    which starts at offset ``base`` of the analysed program."""

    __slots__ = ("_starts", "base", "encoding", "text")

    def __init__(self, text: str, base: int = 0, encoding: str = UTF16) -> None:
        self.text = text
        self.base = base
        self.encoding = str(encoding)
        starts = [0]
        i = text.find("\n")
        while i != -1:
            starts.append(i + 1)
            i = text.find("\n", i + 1)
        self._starts = starts

    @property
    def end(self) -> int:
        """The program offset just after this text."""
        return self.base + len(self.text)

    def contains(self, span: Span) -> bool:
        """True when ``span`` lies within this text."""
        return self.base <= span.start and span.end <= self.end

    def _line_end(self, line: int) -> int:
        return self._starts[line + 1] - 1 if line + 1 < len(self._starts) else len(self.text)

    def position(self, offset: int) -> lsp.Position:
        """The 0-based LSP position of program offset ``offset`` (clamped to this text)."""
        offset = max(0, min(offset - self.base, len(self.text)))
        line = bisect.bisect_right(self._starts, offset) - 1
        start = self._starts[line]
        return lsp.Position(line=line, character=_units(self.text[start:offset], self.encoding))

    def offset(self, position: lsp.Position) -> int:
        """The program offset of an LSP ``position`` (clamped to its line)."""
        if position.line < 0:
            return self.base
        if position.line >= len(self._starts):
            return self.end
        start = self._starts[position.line]
        end = self._line_end(position.line)
        units = 0
        i = start
        while i < end and units < position.character:
            units += _char_units(self.text[i], self.encoding)
            i += 1
        return self.base + i

    def range(self, span: Span) -> lsp.Range:
        return lsp.Range(start=self.position(span.start), end=self.position(span.end))
