"""Source text and spans.

A :class:`Source` holds normalised text (``\\r\\n`` and lone ``\\r`` become
``\\n``) and converts character offsets to 1-based line/column positions.
Spans are half-open character-offset ranges into that normalised text; they
stay cheap (two ints) and are turned into positions only when rendered.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass


def normalise_newlines(text: str) -> str:
    """Return ``text`` with ``\\r\\n`` and lone ``\\r`` replaced by ``\\n``."""
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass(frozen=True, slots=True)
class Span:
    """Half-open range ``[start, end)`` of character offsets in a :class:`Source`."""

    start: int
    end: int

    def to(self, other: Span) -> Span:
        """The smallest span covering ``self`` and ``other``."""
        return Span(min(self.start, other.start), max(self.end, other.end))

    def __len__(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Position:
    """1-based line and column, counted in characters."""

    line: int
    column: int


class Source:
    """A named, newline-normalised text with offset ↔ position conversion."""

    __slots__ = ("_line_starts", "path", "text")

    def __init__(self, text: str, path: str = "<input>") -> None:
        self.path = path
        self.text = normalise_newlines(text)
        starts = [0]
        find = self.text.find
        i = find("\n")
        while i != -1:
            starts.append(i + 1)
            i = find("\n", i + 1)
        self._line_starts = starts

    @property
    def line_count(self) -> int:
        return len(self._line_starts)

    def position(self, offset: int) -> Position:
        """The 1-based position of character ``offset`` (clamped to the text)."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return Position(line + 1, offset - self._line_starts[line] + 1)

    def offset(self, line: int, column: int) -> int:
        """The character offset of a 1-based ``line``/``column`` (clamped)."""
        line = max(1, min(line, len(self._line_starts)))
        start = self._line_starts[line - 1]
        return min(start + max(column, 1) - 1, self.line_end(line))

    def line_start(self, line: int) -> int:
        return self._line_starts[line - 1]

    def line_end(self, line: int) -> int:
        """Offset of the end of ``line`` (excluding its newline)."""
        if line < len(self._line_starts):
            return self._line_starts[line] - 1
        return len(self.text)

    def line_text(self, line: int) -> str:
        return self.text[self._line_starts[line - 1] : self.line_end(line)]

    def snippet(self, span: Span) -> str:
        return self.text[span.start : span.end]
