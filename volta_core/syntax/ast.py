"""AST node classes (frozen dataclasses). Every node carries its :class:`Span`.

The parser produces a partial AST for invalid input: a line it cannot parse
becomes an :class:`ErrorStmt`, an expression it cannot parse an
:class:`ErrorExpr`, so the editor still sees every other statement.
"""

from __future__ import annotations

from dataclasses import dataclass

from volta_core.syntax.source import Span

# ----------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True)
class Number:
    value: int | float
    span: Span


@dataclass(frozen=True, slots=True)
class String:
    value: str
    span: Span


@dataclass(frozen=True, slots=True)
class Bool:
    value: bool
    span: Span


@dataclass(frozen=True, slots=True)
class Name:
    id: str
    span: Span


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "-" or "not"
    operand: Expr
    span: Span
    op_span: Span


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # + - * / % == != < <= > >= and or
    left: Expr
    right: Expr
    span: Span
    op_span: Span


@dataclass(frozen=True, slots=True)
class Call:
    callee: Name
    args: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Member:
    obj: Expr
    name: str
    name_span: Span
    span: Span


@dataclass(frozen=True, slots=True)
class ErrorExpr:
    span: Span


Expr = Number | String | Bool | Name | Unary | Binary | Call | Member | ErrorExpr

# ------------------------------------------------------------------ statements


@dataclass(frozen=True, slots=True)
class VarDecl:
    """``NAME EXPR`` — declares a new variable in the current scope."""

    name: Name
    value: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Assign:
    """``NAME = EXPR`` — updates an existing variable."""

    name: Name
    value: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class ExprStmt:
    expr: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Print:
    args: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class FnDef:
    name: Name
    params: tuple[Name, ...]
    body: tuple[Stmt, ...]
    span: Span  # the header line


@dataclass(frozen=True, slots=True)
class Return:
    value: Expr | None
    span: Span


@dataclass(frozen=True, slots=True)
class Loop:
    count: Expr
    body: tuple[Stmt, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class For:
    var: Name
    start: Expr | None  # None: ``for i in N`` means 0..N
    end: Expr
    body: tuple[Stmt, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class IfBranch:
    cond: Expr
    body: tuple[Stmt, ...]
    span: Span  # the `if`/`elif` header line
    keyword: str  # "if" or "elif"


@dataclass(frozen=True, slots=True)
class If:
    branches: tuple[IfBranch, ...]
    orelse: tuple[Stmt, ...] | None
    else_span: Span | None
    span: Span


@dataclass(frozen=True, slots=True)
class Property:
    """``KEY value…`` inside a model, dataset, train or import block.

    Values are unary-level expressions (literals, words, names, calls,
    member access, parenthesised expressions), separated by spaces. A line
    followed by an indented block of property lines holds them in ``body``
    (the ``residual`` and ``repeat`` blocks of a model; the checker rejects
    a body anywhere else). ``span`` covers the line itself.
    """

    key: Name
    values: tuple[Expr, ...]
    span: Span
    body: tuple[Property, ...] = ()


@dataclass(frozen=True, slots=True)
class ModelDef:
    name: Name
    props: tuple[Property, ...]
    span: Span  # header line
    body_end: int  # offset just after the last body line (for insert fixes)


@dataclass(frozen=True, slots=True)
class DatasetDef:
    name: Name
    props: tuple[Property, ...]
    span: Span
    body_end: int


@dataclass(frozen=True, slots=True)
class Train:
    model: Name
    dataset: Name | None  # None when missing (reported by the checker)
    props: tuple[Property, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Evaluate:
    model: Name
    dataset: Name | None
    span: Span


@dataclass(frozen=True, slots=True)
class InferRow:
    values: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Infer:
    model: Name
    rows: tuple[InferRow, ...]
    source: Expr | None  # ``infer M on SRC as DEST``
    dest: Expr | None
    span: Span


@dataclass(frozen=True, slots=True)
class Save:
    model: Name
    path: Expr
    with_optimizer: bool
    span: Span


@dataclass(frozen=True, slots=True)
class Load:
    model: Name
    path: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Import:
    path: Expr
    name: Name
    options: tuple[Property, ...]  # ``with KEY VALUE…``
    span: Span


@dataclass(frozen=True, slots=True)
class Export:
    model: Name
    path: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Inspect:
    model: Name
    span: Span


@dataclass(frozen=True, slots=True)
class ErrorStmt:
    """A line (and any block under it) that could not be parsed."""

    span: Span


Stmt = (
    VarDecl | Assign | ExprStmt | Print | FnDef | Return | Loop | For | If | ModelDef | DatasetDef
    | Train | Evaluate | Infer | Save | Load | Import | Export | Inspect | Property | InferRow | ErrorStmt
)


@dataclass(frozen=True, slots=True)
class Program:
    body: tuple[Stmt, ...]
    span: Span


def block_statements(stmt: Stmt) -> list[tuple[Stmt, ...]]:
    """The nested statement blocks of ``stmt`` (bodies of fn/loop/for/if)."""
    if isinstance(stmt, (FnDef, Loop, For)):
        return [stmt.body]
    if isinstance(stmt, If):
        blocks = [b.body for b in stmt.branches]
        if stmt.orelse is not None:
            blocks.append(stmt.orelse)
        return blocks
    return []
