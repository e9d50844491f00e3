"""Character offsets (volta spans, code points) ↔ LSP positions (UTF-16 units).

Volta counts columns in characters; LSP clients count UTF-16 code units by
default, so a character outside the Basic Multilingual Plane (an emoji) is
one column for volta and two for the editor. All conversion happens here.
"""

from __future__ import annotations

import bisect

from lsprotocol import types as lsp

from volta_core.syntax.source import Span


def _utf16_len(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


class PositionMap:
    """Converts between offsets into ``text`` (newline-normalised) and LSP positions."""

    __slots__ = ("_starts", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        starts = [0]
        i = text.find("\n")
        while i != -1:
            starts.append(i + 1)
            i = text.find("\n", i + 1)
        self._starts = starts

    def _line_end(self, line: int) -> int:
        return self._starts[line + 1] - 1 if line + 1 < len(self._starts) else len(self.text)

    def position(self, offset: int) -> lsp.Position:
        """The 0-based LSP position of character ``offset`` (clamped)."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._starts, offset) - 1
        start = self._starts[line]
        return lsp.Position(line=line, character=_utf16_len(self.text[start:offset]))

    def offset(self, position: lsp.Position) -> int:
        """The character offset of an LSP ``position`` (clamped to its line)."""
        if position.line < 0:
            return 0
        if position.line >= len(self._starts):
            return len(self.text)
        start = self._starts[position.line]
        end = self._line_end(position.line)
        units = 0
        i = start
        while i < end and units < position.character:
            units += 2 if ord(self.text[i]) > 0xFFFF else 1
            i += 1
        return i

    def range(self, span: Span) -> lsp.Range:
        return lsp.Range(start=self.position(span.start), end=self.position(span.end))
