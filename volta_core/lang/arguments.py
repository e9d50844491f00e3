"""How statement handlers read their arguments: property blocks, model and
dataset names, paths — and how a domain error becomes a runtime diagnostic.

Property values are evaluated when the statement runs. A bare word is read
as what its key expects (SPEC §5): one of the key's words (``relu``, ``adam``,
``xor``) is that word even when a variable, model or dataset has the same
name — as the checker reads it — and any other word is a variable's value, or
the word itself when nothing has that name (``tokens``). The checker has
already validated every value against the schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from volta_core.check.schema import BlockSchema, ValueSpec
from volta_core.diagnostics import DiagnosticError
from volta_core.errors import VoltaError
from volta_core.lang.context import Context, Scope
from volta_core.nn.network import UnsupportedLayer
from volta_core.syntax import ast as A
from volta_core.syntax.source import Span
from volta_core.train.runtime import DatasetHandle, ModelHandle

H = TypeVar("H", ModelHandle, DatasetHandle)


def property_values(
    ctx: Context, props: tuple[A.Property, ...], scope: Scope, schema: BlockSchema
) -> dict[str, object]:
    """``key → value`` of a property block of ``schema``: a value, a list when the
    line has several values, a tuple of lists (one per line) when a repeatable key
    has several lines (``augment``). ``layer`` lines and blocks are skipped: the
    expanded stack comes from the checker's :class:`~volta_core.check.symbols.ModelInfo`."""
    lines: dict[str, list[list[object]]] = {}
    for prop in props:
        if prop.key.id in ("layer", "residual", "repeat"):
            continue
        spec = schema.properties.get(prop.key.id)
        specs = spec.values if spec is not None else ()
        lines.setdefault(prop.key.id, []).append([
            _property_value(ctx, v, scope, specs[min(i, len(specs) - 1)] if specs else None)
            for i, v in enumerate(prop.values)
        ])
    return {key: _one_line(found[0]) if len(found) == 1 else tuple(found) for key, found in lines.items()}


def _one_line(values: list[object]) -> object:
    return values[0] if len(values) == 1 else values


def property_spans(props: tuple[A.Property, ...]) -> dict[str, Span]:
    """``key → span`` of each property's values (of its key when it has none): where a
    diagnostic about that property points."""
    return {p.key.id: p.values[0].span.to(p.values[-1].span) if p.values else p.key.span for p in props}


def _property_value(ctx: Context, expr: A.Expr, scope: Scope, spec: ValueSpec | None) -> object:
    if type(expr) is A.Name and (
        (spec is not None and expr.id in spec.choices) or not scope.binds(expr.id)
    ):
        return expr.id
    return ctx.value(expr, scope)


def handle(ctx: Context, name: A.Name, scope: Scope, kind: type[H]) -> H:
    """The model or dataset bound to ``name`` (E0310 when it is something else)."""
    value = ctx.lookup(name, scope)
    if not isinstance(value, kind):
        what = kind.volta_type
        raise ctx.fail("E0310", f"`{name.id}` is not a {what}", name.span, label=f"expected a {what}")
    return value


def resolve_path(ctx: Context, expr: A.Expr, scope: Scope) -> Path:
    """The path ``expr`` evaluates to, relative to the program's folder."""
    path = Path(str(ctx.value(expr, scope)))
    base = ctx.runtime.base_dir
    return path if path.is_absolute() or base is None else base / path


def error_diagnostic(ctx: Context, err: VoltaError, span: Span, label: str) -> DiagnosticError:
    """A domain error (data, checkpoint, device, layer support) as a runtime
    diagnostic at ``span``: its code, its message and its help line."""
    return ctx.fail(err.code, str(err), span, label=label, helps=(err.help,) if err.help else ())


def unsupported(ctx: Context, err: UnsupportedLayer, span: Span) -> DiagnosticError:
    """The model's graph needs a layer the compiler cannot build (E0901)."""
    return ctx.fail(
        err.code, str(err), span, label="cannot build this model's graph yet",
        notes=("dense, activation, layernorm, flatten and sequence (embedding … transformer) layers run today",),
    )
