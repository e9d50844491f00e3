"""``analyze(text, path) -> Analysis``: the one analysis every front door reads."""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from volta_core.check.semantic import ImportProblem, check_program
from volta_core.check.symbols import Symbol, SymbolTable
from volta_core.diagnostics import Diagnostic
from volta_core.syntax.ast import Program
from volta_core.syntax.lexer import LexResult
from volta_core.syntax.parser import parse
from volta_core.syntax.source import Source, Span


@dataclass(slots=True)
class Analysis:
    """The (partial) AST, all diagnostics (sorted, attached to ``source``), the
    symbol table and the raw tokens/comments of one source text."""

    source: Source
    program: Program
    diagnostics: list[Diagnostic]
    symbols: SymbolTable
    lex: LexResult

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]

    @property
    def comments(self) -> list[Span]:
        return self.lex.comments


def validate_onnx_import(path: Path, batch: int | None, loss: str | None) -> ImportProblem | None:
    """The checker's hook for ``import "file.onnx"``: import the file as the
    statement would (:func:`volta_core.nn.imported.validate_file`). ``onnx``
    and the compiler are loaded only when a program imports an existing file."""
    from volta_core.nn.imported import validate_file

    verdict = validate_file(path, batch, loss)
    if verdict is None or verdict.code is None:
        return None
    return ImportProblem(verdict.code, verdict.message)


class AnalysisCancelled(Exception):
    """Raised by :func:`analyze` when its ``cancelled`` callback says the result
    is no longer wanted (an editor's document changed meanwhile)."""


def analyze(
    text: str | Source,
    path: str = "<input>",
    predeclared: Mapping[str, Symbol] | None = None,
    cancelled: Callable[[], bool] | None = None,
    cells: Sequence[int] | None = None,
) -> Analysis:
    """Lex, parse and check ``text``. Never raises for any input.

    ``predeclared`` holds global symbols known from earlier sources of the
    same session (notebook cells); they may be used and redeclared.
    ``cancelled`` is asked between the phases (it may be called from any
    thread); when it answers True, :class:`AnalysisCancelled` is raised.
    ``cells`` makes ``text`` notebook content, analysed by the kernel's
    rules: the start offsets of its cells (``volta_core.notebook``), ``%``
    lines are magics, and a later cell may declare a global name again.
    """
    source = text if isinstance(text, Source) else Source(text, path)
    # Analysis allocates many small, acyclic objects; pausing the cyclic GC
    # avoids collections that cost more than the analysis itself on big files.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        parsed = parse(source, magics=cells is not None)
        if cancelled is not None and cancelled():
            raise AnalysisCancelled
        diags = list(parsed.diagnostics)
        symbols = check_program(
            source, parsed.program, diags, predeclared or {}, validate_onnx_import, cells or ()
        )
    finally:
        if gc_was_enabled:
            gc.enable()
    diags.sort(key=lambda d: (d.span.start, d.span.end, d.code))
    return Analysis(
        source,
        parsed.program,
        [d.with_source(source) for d in diags],
        symbols,
        parsed.lex,
    )
