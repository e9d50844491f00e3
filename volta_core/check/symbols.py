"""The symbol table produced by semantic analysis (read by CLI, LSP and kernel)."""

from __future__ import annotations

from collections.abc import Iterator
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
    #: Named options as written (``(("stride", 2), ("pad", "same"))``).
    options: tuple[tuple[str, object], ...] = ()
    #: State saved with the weights but not trained (batchnorm running statistics).
    buffer_shapes: tuple[tuple[str, tuple[int, ...]], ...] = ()

    def walk(self) -> Iterator[LayerInfo]:
        """This layer, then every layer inside it (blocks), depth first."""
        yield self
        for child in self.children:
            yield from child.walk()


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

    @property
    def image_input(self) -> bool:
        """The model takes images ``[C, H, W]`` (``input image C H W``)."""
        return len(self.input_shape) == 3 and not self.token_input

    def all_layers(self) -> Iterator[LayerInfo]:
        """Every layer, blocks' inner layers included, depth first."""
        for layer in self.layers:
            yield from layer.walk()

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every trainable parameter's name and shape, in stack order."""
        return {name: shape for layer in self.all_layers() for name, shape in layer.param_shapes}

    def buffer_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every buffer's name and shape (saved with the weights, not trained)."""
        return {name: shape for layer in self.all_layers() for name, shape in layer.buffer_shapes}


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
