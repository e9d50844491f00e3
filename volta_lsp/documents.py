"""What one analysis covers, and where its spans lie in the editor's documents.

A :class:`Unit` is analysed as one program: a ``.vt`` file; jupyterlab-lsp's
*virtual document* of a notebook (one text document whose path ends in
``.ipynb``: the cells concatenated, split back by
:meth:`volta_core.notebook.Cells.split_virtual`); or an LSP notebook
document's Volta cells in cell order (:meth:`Cells.join`). Its
:class:`Layout` maps any span of the analysis to the document (a cell's URI)
and the position it has there.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum

from lsprotocol import types as lsp

from volta_core.analysis import Analysis, analyze
from volta_core.notebook import Cells, analyze_cells
from volta_core.syntax.source import Span
from volta_lsp.positions import UTF16, PositionMap


class Kind(Enum):
    FILE = "file"
    #: jupyterlab-lsp's concatenation of a notebook's cells (one text document).
    VIRTUAL_NOTEBOOK = "virtual notebook"
    #: An LSP 3.17 notebook document: one text document per cell.
    NOTEBOOK = "notebook"


def is_virtual_notebook(path: str) -> bool:
    """jupyterlab-lsp names a notebook's virtual document after the notebook
    (``.virtual_documents/name.ipynb``): no Volta file ends in ``.ipynb``."""
    return path.endswith(".ipynb")


@dataclass(frozen=True, slots=True)
class Layout:
    """The documents of a unit in program order: ``(uri, its position map)``."""

    parts: tuple[tuple[str, PositionMap], ...]

    def part(self, uri: str) -> PositionMap | None:
        return next((pos for u, pos in self.parts if u == uri), None)

    def at(self, offset: int) -> tuple[str, PositionMap]:
        """The document holding program offset ``offset``."""
        bases = [pos.base for _, pos in self.parts]
        return self.parts[max(0, bisect.bisect_right(bases, offset) - 1)]

    def location(self, span: Span) -> lsp.Location:
        uri, pos = self.at(span.start)
        return lsp.Location(uri=uri, range=pos.range(span))

    def edit(self, edits: Iterable[tuple[Span, str]]) -> lsp.WorkspaceEdit:
        """Text edits by program span, grouped by the document each lies in."""
        changes: dict[str, list[lsp.TextEdit]] = {}
        for span, text in edits:
            uri, pos = self.at(span.start)
            changes.setdefault(uri, []).append(lsp.TextEdit(range=pos.range(span), new_text=text))
        return lsp.WorkspaceEdit(changes=changes)


@dataclass(frozen=True, slots=True)
class Unit:
    """``texts`` of the documents ``uris`` (newline-normalised), analysed as one program."""

    key: str
    kind: Kind
    path: str
    uris: tuple[str, ...]
    texts: tuple[str, ...]

    @property
    def size(self) -> int:
        return sum(len(t) for t in self.texts)

    def _cells(self) -> Cells | None:
        if self.kind is Kind.NOTEBOOK:
            return Cells.join(self.texts)
        if self.kind is Kind.VIRTUAL_NOTEBOOK:
            return Cells.split_virtual(self.texts[0])
        return None

    def analyze(self, cancelled: Callable[[], bool] | None = None) -> Analysis:
        cells = self._cells()
        if cells is None:
            return analyze(self.texts[0], self.path, None, cancelled)
        return analyze_cells(cells, self.path, cancelled)

    def layout(self, encoding: str = UTF16) -> Layout:
        if self.kind is not Kind.NOTEBOOK:
            return Layout(((self.uris[0], PositionMap(self.texts[0], 0, encoding)),))
        cells = Cells.join(self.texts)
        return Layout(tuple(
            (uri, PositionMap(text, base, encoding))
            for uri, text, base in zip(self.uris, self.texts, cells.starts, strict=True)
        ))
