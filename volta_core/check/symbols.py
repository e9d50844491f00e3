"""The symbol table produced by semantic analysis (read by CLI, LSP and kernel)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from volta_core.syntax.source import Span


class SymbolKind(StrEnum):
    VARIABLE = "variable"
    PARAMETER = "parameter"
    LOOP_VARIABLE = "loop variable"
    FUNCTION = "function"
    MODEL = "model"
    DATASET = "dataset"


@dataclass(slots=True)
class Symbol:
    """A declared name. ``span`` is the name at its declaration (None: from an
    earlier source in the session); ``references`` are the spans of its uses."""

    name: str
    kind: SymbolKind
    span: Span | None
    type: str = "unknown"  # int float bool str model dataset fn unknown
    constant: object = None  # the value, when known statically
    params: tuple[str, ...] = ()  # for functions
    scope: int = 0  # 0 is the global scope
    references: list[Span] = field(default_factory=list)
    detail: str = ""


@dataclass(frozen=True, slots=True)
class LayerInfo:
    """One layer of a checked stack: its position, kind and arguments as
    written, output shape and parameters. A block (``residual``, ``repeat``)
    holds its layers in ``children``, numbered from 0 inside the block."""

    index: int
    kind: str
    args: tuple[object, ...]
    output_shape: tuple[int, ...]  # batch excluded: (10,) or (L, D)
    params: int
    param_shapes: tuple[tuple[str, tuple[int, ...]], ...] = ()
    children: tuple[LayerInfo, ...] = ()


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str
    input_shape: tuple[int, ...]
    token_input: bool
    layers: tuple[LayerInfo, ...]
    loss: str | None
    total_params: int

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.layers[-1].output_shape if self.layers else self.input_shape


@dataclass(slots=True)
class SymbolTable:
    symbols: list[Symbol] = field(default_factory=list)
    models: dict[str, ModelInfo] = field(default_factory=dict)

    def add(self, symbol: Symbol) -> Symbol:
        self.symbols.append(symbol)
        return symbol

    def at(self, offset: int) -> Symbol | None:
        """The symbol whose declaration or a reference covers ``offset``."""
        for sym in self.symbols:
            if sym.span is not None and sym.span.start <= offset <= sym.span.end:
                return sym
            for ref in sym.references:
                if ref.start <= offset <= ref.end:
                    return sym
        return None

    def globals(self) -> dict[str, Symbol]:
        return {s.name: s for s in self.symbols if s.scope == 0}
