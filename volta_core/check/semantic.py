"""Semantic analysis (placeholder while being written)."""

from __future__ import annotations

from typing import Mapping

from volta_core.check.symbols import Symbol, SymbolTable
from volta_core.diagnostics import Diagnostic
from volta_core.syntax.ast import Program
from volta_core.syntax.source import Source


def check_program(
    source: Source, program: Program, diags: list[Diagnostic], predeclared: Mapping[str, Symbol]
) -> SymbolTable:
    return SymbolTable()
