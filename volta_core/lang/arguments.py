"""How statement handlers read their arguments: property blocks, model and
dataset names, paths — and how a domain error becomes a runtime diagnostic.

Property values are evaluated when the statement runs; a bare word that is
not a variable (``relu``, ``adam``, ``csv``, ``tokens``) is the word itself —
the checker has already validated it against the schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from volta_core.diagnostics import DiagnosticError
from volta_core.errors import VoltaError
from volta_core.lang.context import Context, Scope
from volta_core.nn.network import UnsupportedLayer
from volta_core.syntax import ast as A
from volta_core.syntax.source import Span
from volta_core.train.runtime import DatasetHandle, ModelHandle

H = TypeVar("H", ModelHandle, DatasetHandle)


def property_values(ctx: Context, props: tuple[A.Property, ...], scope: Scope) -> dict[str, object]:
    """``key → value`` of a property block: a value, a list when the line has
    several values, a tuple of lists (one per line) when a repeatable key has
    several lines (``augment``). ``layer`` lines and blocks are skipped: the
    expanded stack comes from the checker's :class:`~volta_core.check.symbols.ModelInfo`."""
    lines: dict[str, list[list[object]]] = {}
    for prop in props:
        if prop.key.id in ("layer", "residual", "repeat"):
            continue
        lines.setdefault(prop.key.id, []).append([_property_value(ctx, v, scope) for v in prop.values])
    return {key: _one_line(found[0]) if len(found) == 1 else tuple(found) for key, found in lines.items()}


def _one_line(values: list[object]) -> object:
    return values[0] if len(values) == 1 else values


def _property_value(ctx: Context, expr: A.Expr, scope: Scope) -> object:
    if type(expr) is A.Name and not scope.binds(expr.id):
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
