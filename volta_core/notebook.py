"""Notebook content as one program, by the kernel's rules.

A notebook's code cells run top to bottom in one session, so they are
analysed as one program: the cells joined in order (one newline between
two cells), with each cell's start offset (:class:`Cells`). The analysis
(:func:`analyze_cells`) then follows the kernel: ``%`` lines are magics, a
later cell may declare a global name again, and each diagnostic belongs to
the cell its span starts in.

Editors send cells two ways: one text document per cell (LSP notebook
sync; :meth:`Cells.join`), or jupyterlab-lsp's *virtual document*, the cells
concatenated with two blank lines after each (:meth:`Cells.split_virtual`).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from volta_core.analysis import Analysis, analyze
from volta_core.syntax.source import Span, normalise_newlines

#: jupyterlab-lsp puts this many blank lines after each cell of its virtual document.
VIRTUAL_BLANK_LINES = 2
#: A cell boundary of a virtual document: 2+ blank lines, then a line in column 0.
_VIRTUAL_BREAK = re.compile(r"\n(?:[ \t]*\n){" + str(VIRTUAL_BLANK_LINES) + r",}(?=[^ \t\n])")


@dataclass(frozen=True, slots=True)
class Cells:
    """``text``: the cells as one program; ``starts``: each cell's start offset
    in it (the first is 0); ``ends``: each cell's end offset."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    @classmethod
    def join(cls, cells: Sequence[str]) -> Cells:
        """The cells (newlines normalised), one newline between two cells."""
        starts: list[int] = []
        ends: list[int] = []
        parts: list[str] = []
        at = 0
        for cell in cells:
            text = normalise_newlines(cell)
            starts.append(at)
            ends.append(at + len(text))
            parts.append(text)
            at += len(text) + 1
        return cls("\n".join(parts), tuple(starts) or (0,), tuple(ends) or (0,))

    @classmethod
    def split_virtual(cls, text: str) -> Cells:
        """jupyterlab-lsp's concatenation of cells, split back where it has two
        (or more) blank lines before a line in column 0. A cell that holds such
        a gap itself is seen as two cells: a name it declares twice is then not
        reported, never reported wrongly."""
        starts, ends = [0], []
        for m in _VIRTUAL_BREAK.finditer(text):
            ends.append(m.start())
            starts.append(m.end())
        ends.append(len(text))
        return cls(text, tuple(starts), tuple(ends))

    def cell_at(self, offset: int) -> int:
        """The index of the cell holding ``offset`` (a gap belongs to the cell before)."""
        return max(0, bisect.bisect_right(self.starts, offset) - 1)

    def local(self, index: int, span: Span) -> Span:
        """``span`` in cell ``index``'s own offsets, clamped to that cell."""
        start, end = self.starts[index], self.ends[index]

        def clamp(offset: int) -> int:
            return max(start, min(offset, end)) - start

        return Span(clamp(span.start), clamp(span.end))


def analyze_cells(
    cells: Cells, path: str = "<notebook>", cancelled: Callable[[], bool] | None = None
) -> Analysis:
    """The analysis of ``cells`` as one program by the kernel's rules."""
    return analyze(cells.text, path, cancelled=cancelled, cells=cells.starts)
