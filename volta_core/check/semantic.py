"""Semantic analysis: names and lexical scopes, types, arity, schemas,
shapes, and the constant-condition / unused / unreachable warnings.

Scoping (SPEC §2): every block body (fn, loop, for, if/elif/else) opens a
scope. A function body sees the globals (declared anywhere at top level, since
it runs when called) and its own parameters and locals, never its caller's.
At top level a name must be declared before it is used. Declaring a name that
already exists in an enclosing scope is an error (shadowing).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

from volta_core.check import schema as S
from volta_core.check.shapes import LayerCall, LayerStack, infer_stack
from volta_core.check.symbols import ModelInfo, Symbol, SymbolKind, SymbolTable
from volta_core.diagnostics import Diagnostic, Fix, Label, Tag, TextEdit, unknown_name
from volta_core.present import format_shape
from volta_core.suggest import closest
from volta_core.syntax import ast as A
from volta_core.syntax.source import Source, Span
from volta_core.syntax.tokens import STATEMENT_KEYWORDS
from volta_core.syntax.visitor import dispatch_table

NUMERIC = ("int", "float")
UNKNOWN = "unknown"
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """Why an ONNX file named by an ``import`` statement cannot be imported."""

    code: str
    message: str


#: The check of an existing ONNX file named by ``import`` (path, batch, loss),
#: passed in by :func:`volta_core.analysis.analyze`: building the model is the
#: compiler's job, so this package neither reads ONNX nor imports ``nn``.
ImportValidator = Callable[[Path, int | None, str | None], ImportProblem | None]


class Scope:
    __slots__ = ("is_fn", "names", "parent")

    def __init__(self, parent: Scope | None, is_fn: bool = False) -> None:
        self.parent = parent
        self.names: dict[str, Symbol] = {}
        self.is_fn = is_fn


def const_value(e: A.Expr) -> object:
    """The value of a literal-only expression (same semantics as the
    interpreter), or ``None`` when it is not constant or would fail."""
    t = type(e)
    if t is A.Number or t is A.String or t is A.Bool:
        return e.value  # type: ignore[union-attr]
    if t is A.Unary:
        v = const_value(e.operand)  # type: ignore[union-attr]
        if e.op == "-" and type(v) in (int, float):  # type: ignore[union-attr]
            r = -v  # type: ignore[operator]
            return r if type(r) is float or _INT_MIN <= r <= _INT_MAX else None
        if e.op == "not" and type(v) is bool:  # type: ignore[union-attr]
            return not v
        return None
    if t is A.Binary:
        a = const_value(e.left)  # type: ignore[union-attr]
        b = const_value(e.right)  # type: ignore[union-attr]
        if a is None or b is None:
            return None
        return _fold(e.op, a, b)  # type: ignore[union-attr]
    return None


def _fold(op: str, a: Any, b: Any) -> object:
    ta, tb = type(a), type(b)
    num = ta in (int, float) and tb in (int, float)
    try:
        if op in ("and", "or"):
            if ta is bool and tb is bool:
                return (a and b) if op == "and" else (a or b)
            return None
        if op == "==" or op == "!=":
            if num or ta is tb:
                return (a == b) if op == "==" else (a != b)
            return None
        if op in ("<", "<=", ">", ">="):
            if not (num or (ta is str and tb is str)):
                return None
            return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
        if op == "+" and ta is str and tb is str:
            return a + b
        if not num:
            return None
        if op == "/":
            return None if b == 0 else a / b
        if op == "%" and b == 0:
            return None
        r = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "%": lambda: a % b}[op]()
        if type(r) is int and not _INT_MIN <= r <= _INT_MAX:
            return None
        return r
    except (ArithmeticError, KeyError):
        return None


def _type_of_value(v: object) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "str"
    return UNKNOWN


def _literal_only(e: A.Expr) -> bool:
    t = type(e)
    if t in (A.Number, A.String, A.Bool):
        return True
    if t is A.Unary:
        return _literal_only(e.operand)  # type: ignore[union-attr]
    if t is A.Binary:
        return _literal_only(e.left) and _literal_only(e.right)  # type: ignore[union-attr]
    return False


def _fmt(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(v)


class Checker:
    """One pass over a program: declares symbols, checks every statement and
    expression (handlers follow the walker rule, ``visit_<NodeClass>``), then
    resolves late references and reports unused names.

    ``unparsed``: the names written on lines that failed to parse (a use
    may sit there, so those names get no unused-name warning; every other
    name still does). ``validate_import`` checks ONNX files named by
    ``import`` (None: not checked). ``cells``: the start offsets of a
    notebook's cells in ``source`` (first 0), analysed by the kernel's rule
    that a later cell may declare a global name again; empty for a file.
    """

    def __init__(
        self,
        source: Source,
        diags: list[Diagnostic],
        predeclared: Mapping[str, Symbol],
        *,
        unparsed: Collection[str] = (),
        validate_import: ImportValidator | None = None,
        cells: Sequence[int] = (),
    ) -> None:
        self.source = source
        self.diags = diags
        self.unparsed = frozenset(unparsed)
        self.cells = tuple(cells)
        self.validate_import = validate_import
        self.table = SymbolTable()
        self.globals = Scope(None)
        self.predeclared = dict(predeclared)
        for name, sym in predeclared.items():
            self.globals.names[name] = sym
        self.top_decls: dict[str, A.Name] = {}  # later top-level declarations (for E0314)
        # block-local declarations (for a better E0301): span and owning function for parameters
        self.inner_decls: dict[str, tuple[Span, str | None]] = {}
        self.fn_stack: list[Symbol] = []
        self.datasets: dict[str, A.DatasetDef] = {}
        self.dataset_types: dict[str, str] = {}
        self.dataset_tasks: dict[str, str] = {}
        self.model_defs: dict[str, A.ModelDef] = {}
        #: The statement being checked (where an E0301 fix declares a name).
        self.current_stmt: A.Stmt | None = None
        #: Names and calls in function bodies resolved after the whole program.
        self.late_refs: list[tuple[A.Name, Symbol]] = []
        self.late_calls: list[tuple[A.Call, Symbol]] = []

    # ------------------------------------------------------------ helpers
    def diag(self, code: str, message: str, span: Span, **kw: Any) -> None:
        self.diags.append(Diagnostic(code, message, span, **kw))

    def report(self, diagnostic: Diagnostic) -> None:
        self.diags.append(diagnostic)

    def lookup(self, name: str, scope: Scope) -> Symbol | None:
        s: Scope | None = scope
        while s is not None:
            sym = s.names.get(name)
            if sym is not None:
                return sym
            s = s.parent
        return None

    def visible(self, scope: Scope, kinds: tuple[SymbolKind, ...] | None = None) -> list[str]:
        out: list[str] = []
        s: Scope | None = scope
        while s is not None:
            out.extend(n for n, sym in s.names.items() if kinds is None or sym.kind in kinds)
            s = s.parent
        if kinds is None or SymbolKind.FUNCTION in kinds or SymbolKind.MODEL in kinds:
            out.extend(n for n in self.top_decls if n not in out)
        return out

    def cell_of(self, offset: int) -> int:
        """The notebook cell holding ``offset`` (0 for a file)."""
        return bisect.bisect_right(self.cells, offset) - 1 if self.cells else 0

    def declare(self, name: A.Name, kind: SymbolKind, scope: Scope, type_: str = UNKNOWN, **kw: Any) -> Symbol:
        existing = scope.names.get(name.id)
        if (
            existing is not None and existing.span is not None and scope is self.globals
            and self.cell_of(existing.span.start) < self.cell_of(name.span.start)
        ):
            existing = None  # declared again in a later notebook cell: the kernel rebinds it
        if existing is not None and existing.span is not None and existing.span != name.span:
            what = existing.kind.value
            fixes: tuple[Fix, ...] = ()
            helps: tuple[str, ...] = ()
            if kind is SymbolKind.VARIABLE and existing.kind is SymbolKind.VARIABLE:
                helps = (f"to change the value, assign with `{name.id} = …`",)
                fixes = (Fix("Assign instead of redeclaring", (TextEdit(Span(name.span.end, name.span.end), " ="),)),)
            self.diag(
                "E0303",
                f"`{name.id}` is already declared in this scope",
                name.span,
                label="declared again here",
                labels=(Label(existing.span, f"{what} `{name.id}` first declared here"),),
                helps=helps,
                fixes=fixes,
            )
        elif existing is None and scope.parent is not None:
            outer = self.lookup(name.id, scope.parent)
            if outer is None and self.fn_stack and name.id in self.top_decls and scope is not self.globals:
                outer = self.lookup(name.id, self.globals)
            if outer is not None:
                labels = (Label(outer.span, f"outer {outer.kind.value} declared here"),) if outer.span else ()
                self.diag(
                    "E0302",
                    f"`{name.id}` shadows the {outer.kind.value} `{name.id}` of an enclosing scope",
                    name.span,
                    label="shadowing declaration",
                    labels=labels,
                    helps=(
                        f"rename this {kind.value}, or assign with `{name.id} = …` to update the outer one"
                        if kind is SymbolKind.VARIABLE
                        else f"rename this {kind.value}",
                    ),
                )
        sym = Symbol(name.id, kind, name.span, type_, scope=0 if scope is self.globals else id(scope), **kw)
        scope.names[name.id] = sym
        if scope is not self.globals:
            owner = self.fn_stack[-1].name if kind is SymbolKind.PARAMETER and self.fn_stack else None
            self.inner_decls.setdefault(name.id, (name.span, owner))
        self.table.add(sym)
        return sym

    # -------------------------------------------------------------- entry
    def check(self, program: A.Program) -> SymbolTable:
        for stmt in program.body:
            if isinstance(stmt, (A.FnDef, A.ModelDef, A.DatasetDef, A.VarDecl, A.Import)):
                self.top_decls.setdefault(stmt.name.id, stmt.name)
            if isinstance(stmt, A.DatasetDef):
                self.datasets.setdefault(stmt.name.id, stmt)
        self.block(program.body, self.globals)
        self.report_unused()
        return self.table

    def block(self, body: tuple[A.Stmt, ...], scope: Scope) -> None:
        returned: A.Stmt | None = None
        warned = False
        for stmt in body:
            if returned is not None and not warned and not isinstance(stmt, A.ErrorStmt):
                warned = True
                self.diag(
                    "W0105",
                    "unreachable code",
                    stmt.span,
                    label="this never runs",
                    labels=(Label(returned.span, "any code after this `return` is unreachable"),),
                    tags=(Tag.UNNECESSARY,),
                )
            handler = _VISIT.get(type(stmt))
            if handler is not None:  # property lines, infer rows and error lines belong to their block
                outer, self.current_stmt = self.current_stmt, stmt
                handler(self, stmt, scope)
                self.current_stmt = outer
            if isinstance(stmt, A.Return) and self.fn_stack:
                returned = stmt

    # --------------------------------------------------------- statements
    def visit_VarDecl(self, st: A.VarDecl, scope: Scope) -> None:
        t = self.expr(st.value, scope)
        const = const_value(st.value) if _literal_only(st.value) else None
        if scope is self.globals and self.top_decls.get(st.name.id) == st.name:
            del self.top_decls[st.name.id]
        self.declare(st.name, SymbolKind.VARIABLE, scope, t, constant=const)

    def visit_Assign(self, st: A.Assign, scope: Scope) -> None:
        t = self.expr(st.value, scope)
        sym = self.lookup(st.name.id, scope)
        if sym is None and self.fn_stack and st.name.id in self.top_decls:
            sym = self.lookup(st.name.id, self.globals)
        if sym is None:
            name = st.name
            self.report(unknown_name(
                "E0304", f"assignment to undeclared variable `{name.id}`", name.id, name.span,
                self.visible(scope, (SymbolKind.VARIABLE, SymbolKind.PARAMETER)), label="not declared",
                helps=(f"declare it with `{name.id} {self.source.snippet(st.value.span)}`",),
                fixes=(Fix(f"Declare `{name.id}`", (TextEdit(Span(name.span.end, st.value.span.start), " "),)),),
            ))
            return
        if sym.kind not in (SymbolKind.VARIABLE, SymbolKind.PARAMETER):
            self.diag(
                "E0313",
                f"cannot assign to {sym.kind.value} `{st.name.id}`",
                st.name.span,
                label=f"`{st.name.id}` is a {sym.kind.value}",
                labels=(Label(sym.span, "declared here"),) if sym.span else (),
                helps=("only variables and parameters can be assigned",),
            )
            return
        sym.constant = None
        if sym.type != t:
            sym.type = "float" if {sym.type, t} == {"int", "float"} else UNKNOWN

    def visit_ExprStmt(self, st: A.ExprStmt, scope: Scope) -> None:
        self.expr(st.expr, scope)

    def visit_Print(self, st: A.Print, scope: Scope) -> None:
        for a in st.args:
            self.expr(a, scope)

    def visit_FnDef(self, st: A.FnDef, scope: Scope) -> None:
        params = tuple(p.id for p in st.params)
        sym = self.declare(
            st.name, SymbolKind.FUNCTION, scope, "fn", params=params,
            detail=f"fn {st.name.id}({', '.join(params)})",
        )
        self.top_decls.pop(st.name.id, None)
        self.globals.names[st.name.id] = sym
        inner = Scope(self.globals, is_fn=True)
        self.fn_stack.append(sym)
        seen: dict[str, Span] = {}
        for p in st.params:
            if p.id in seen:
                self.diag(
                    "E0311",
                    f"duplicate parameter `{p.id}`",
                    p.span,
                    label="repeated",
                    labels=(Label(seen[p.id], "first used here"),),
                )
                continue
            seen[p.id] = p.span
            self.declare(p, SymbolKind.PARAMETER, inner)
        self.block(st.body, inner)
        self.fn_stack.pop()

    def visit_Return(self, st: A.Return, scope: Scope) -> None:
        if st.value is not None:
            self.expr(st.value, scope)
        if not self.fn_stack:
            self.diag(
                "E0307",
                "`return` outside a function",
                st.span,
                label="not inside a `fn`",
                helps=("`return` ends a function; at top level there is nothing to return from",),
            )

    def visit_Loop(self, st: A.Loop, scope: Scope) -> None:
        t = self.expr(st.count, scope)
        self.require_int(st.count, t, "`loop` count")
        v = const_value(st.count)
        if type(v) is int and v < 0:
            self.diag("E0605", f"`loop` count is negative ({v})", st.count.span, label="must be ≥ 0")
        self.block(st.body, Scope(scope))

    def visit_For(self, st: A.For, scope: Scope) -> None:
        for bound in (st.start, st.end):
            if bound is not None:
                self.require_int(bound, self.expr(bound, scope), "range bound")
        lo = 0 if st.start is None else const_value(st.start)
        hi = const_value(st.end)
        if type(lo) is int and type(hi) is int and hi <= lo:
            self.diag(
                "W0106",
                f"empty range: {lo}..{hi} has no elements",
                (st.start.span.to(st.end.span) if st.start else st.end.span),
                label="the body never runs",
                helps=("ranges are half-open: `a..b` counts a, a+1, …, b-1",),
            )
        inner = Scope(scope)
        self.declare(st.var, SymbolKind.LOOP_VARIABLE, inner, "int")
        self.block(st.body, inner)

    def visit_If(self, st: A.If, scope: Scope) -> None:
        for br in st.branches:
            t = self.expr(br.cond, scope)
            if t not in ("bool", UNKNOWN):
                self.diag(
                    "E0402",
                    f"`{br.keyword}` condition must be a bool, found {t}",
                    br.cond.span,
                    label=f"this is {_a(t)}",
                    helps=("Volta has no truthiness; compare explicitly, e.g. `n != 0`",),
                )
            elif _literal_only(br.cond) and type(const_value(br.cond)) is bool:
                v = const_value(br.cond)
                self.diag(
                    "W0104",
                    f"condition is always {_fmt(v)}",
                    br.cond.span,
                    label="built only from literals",
                    helps=("use a variable, or remove the branch that can never run",),
                )
            self.block(br.body, Scope(scope))
        if st.orelse is not None:
            self.block(st.orelse, Scope(scope))

    # --------------------------------------------------------- expressions
    def expr(self, e: A.Expr, scope: Scope) -> str:
        """Check ``e``; returns its static type (``unknown`` when it cannot be known)."""
        return _VISIT[type(e)](self, e, scope)

    def visit_Number(self, e: A.Number, scope: Scope) -> str:
        return "float" if type(e.value) is float else "int"

    def visit_String(self, e: A.String, scope: Scope) -> str:
        return "str"

    def visit_Bool(self, e: A.Bool, scope: Scope) -> str:
        return "bool"

    def visit_ErrorExpr(self, e: A.ErrorExpr, scope: Scope) -> str:
        return UNKNOWN

    def resolve(self, name: A.Name, scope: Scope) -> Symbol | None:
        sym = self.lookup(name.id, scope)
        if sym is None and name.id in self.top_decls:
            if self.fn_stack:
                return None  # resolved later in pass; bodies may use later globals
            self.before_declaration(name, "used", "move the declaration above this line")
            return None
        return sym

    def before_declaration(self, name: A.Name, verb: str, help_: str) -> None:
        """E0314: a top-level use of a name declared further down."""
        self.diag(
            "E0314",
            f"`{name.id}` is {verb} before its declaration",
            name.span,
            label=f"{verb} here",
            labels=(Label(self.top_decls[name.id].span, "declared later here"),),
            helps=(help_,),
        )

    def visit_Name(self, e: A.Name, scope: Scope) -> str:
        sym = self.lookup(e.id, scope)
        if sym is None and e.id in self.top_decls:
            if self.fn_stack:
                self.late_refs.append((e, self.fn_stack[-1]))
                return UNKNOWN
            self.resolve(e, scope)
            return UNKNOWN
        if sym is None:
            self.undefined(e, scope)
            return UNKNOWN
        sym.references.append(e.span)
        if sym.kind is SymbolKind.FUNCTION:
            self.diag(
                "E0310",
                f"function `{e.id}` used as a value",
                e.span,
                label="functions are not values",
                helps=(f"call it: `{e.id}({', '.join(sym.params)})`",),
            )
            return UNKNOWN
        if sym.kind is SymbolKind.MODEL:
            return "model"
        if sym.kind is SymbolKind.DATASET:
            return "dataset"
        return sym.type

    def undefined(self, e: A.Name, scope: Scope) -> None:
        fixes: tuple[Fix, ...] = ()
        labels: tuple[Label, ...] = ()
        helps: tuple[str, ...] = ()
        otherwise = f"declare it first: `{e.id} VALUE`"
        if self.current_stmt is not None and not isinstance(self.current_stmt, (A.ModelDef, A.DatasetDef, A.Train)):
            # Declare it on a new line just above the statement that uses it.
            line = self.source.position(self.current_stmt.span.start).line
            at = self.source.line_start(line)
            indent = self.source.text[at : self.current_stmt.span.start]
            fixes = (Fix(f"Declare `{e.id}` above", (TextEdit(Span(at, at), f"{indent}{e.id} 0\n"),)),)
        if e.id in self.inner_decls:
            otherwise = ""
            span, owner = self.inner_decls[e.id]
            if owner is not None:
                labels = (Label(span, f"a parameter of `{owner}`, only visible inside it"),)
            else:
                labels = (Label(span, "a variable of this name is declared here, in an inner block"),)
                helps = ("names declared inside a block are only visible in that block; declare it before the block",)
        kinds = (SymbolKind.VARIABLE, SymbolKind.PARAMETER, SymbolKind.LOOP_VARIABLE, SymbolKind.MODEL, SymbolKind.DATASET)
        self.report(unknown_name(
            "E0301", f"undefined variable `{e.id}`", e.id, e.span, self.visible(scope, kinds),
            label="not found in this scope", otherwise=otherwise, labels=labels, helps=helps, fixes=fixes,
        ))

    def visit_Binary(self, e: A.Binary, scope: Scope) -> str:
        lt = self.expr(e.left, scope)
        rt = self.expr(e.right, scope)
        op = e.op
        if op in ("and", "or"):
            for side, t in ((e.left, lt), (e.right, rt)):
                if t not in ("bool", UNKNOWN):
                    self.diag(
                        "E0402",
                        f"`{op}` needs bool operands, found {t}",
                        side.span,
                        label=f"this is {_a(t)}",
                        helps=("Volta has no truthiness; compare explicitly, e.g. `n != 0`",),
                    )
            return "bool"
        if UNKNOWN in (lt, rt):
            if op in ("==", "!=", "<", "<=", ">", ">="):
                return "bool"
            if op == "/":
                return "float"
            return UNKNOWN
        ok: bool
        result: str
        if op in ("==", "!="):
            ok = lt == rt or (lt in NUMERIC and rt in NUMERIC)
            result = "bool"
        elif op in ("<", "<=", ">", ">="):
            ok = (lt in NUMERIC and rt in NUMERIC) or (lt == rt == "str")
            result = "bool"
        elif op == "+" and lt == rt == "str":
            ok, result = True, "str"
        else:
            ok = lt in NUMERIC and rt in NUMERIC
            result = "float" if op == "/" or "float" in (lt, rt) else "int"
        if not ok:
            helps: tuple[str, ...] = ()
            if op == "+" and "str" in (lt, rt):
                helps = ("nothing is converted implicitly; print several values with `print a, b`",)
            elif op in ("==", "!="):
                helps = ("values of different types are never equal; compare values of one type",)
            self.diag(
                "E0401",
                f"cannot apply `{op}` to {lt} and {rt}",
                e.op_span,
                label=f"{lt} {op} {rt}",
                labels=(Label(e.left.span, lt), Label(e.right.span, rt)),
                helps=helps,
            )
            return UNKNOWN
        return result

    def visit_Unary(self, e: A.Unary, scope: Scope) -> str:
        t = self.expr(e.operand, scope)
        if e.op == "-":
            if t not in NUMERIC and t != UNKNOWN:
                self.diag("E0403", f"unary `-` needs a number, found {t}", e.op_span, label=f"applied to {_a(t)}", labels=(Label(e.operand.span, t),))
                return UNKNOWN
            return t
        if t not in ("bool", UNKNOWN):
            self.diag(
                "E0403",
                f"`not` needs a bool, found {t}",
                e.op_span,
                label=f"applied to {_a(t)}",
                labels=(Label(e.operand.span, t),),
                helps=("compare explicitly, e.g. `not (n == 0)` or `n != 0`",),
            )
        return "bool"

    def visit_Call(self, e: A.Call, scope: Scope) -> str:
        for a in e.args:
            self.expr(a, scope)
        name = e.callee
        sym = self.lookup(name.id, scope)
        if sym is None and name.id in self.top_decls:
            if self.fn_stack:
                self.late_calls.append((e, self.fn_stack[-1]))
                return UNKNOWN
            self.before_declaration(name, "called", "move the `fn` above this line")
            return UNKNOWN
        if sym is None:
            fns = [n for n, s in self.globals.names.items() if s.kind is SymbolKind.FUNCTION]
            fns += [n for n, d in self.top_decls.items() if n not in fns]
            self.report(unknown_name(
                "E0305", f"undefined function `{name.id}`", name.id, name.span, fns,
                label="no function of this name", otherwise=f"declare it with `fn {name.id}(…)`",
            ))
            return UNKNOWN
        sym.references.append(name.span)
        if sym.kind is not SymbolKind.FUNCTION:
            self.diag(
                "E0310",
                f"`{name.id}` is a {sym.kind.value}, not a function",
                name.span,
                label="cannot be called",
                labels=(Label(sym.span, "declared here"),) if sym.span else (),
            )
            return UNKNOWN
        self.check_arity(e, sym)
        return UNKNOWN

    def check_arity(self, e: A.Call, sym: Symbol) -> None:
        if len(e.args) != len(sym.params):
            n = len(sym.params)
            self.diag(
                "E0306",
                f"`{sym.name}` takes {n} argument{'s' if n != 1 else ''} but {len(e.args)} {'was' if len(e.args) == 1 else 'were'} given",
                e.span,
                label=f"{len(e.args)} argument{'s' if len(e.args) != 1 else ''}",
                labels=(Label(sym.span, f"defined as `{sym.detail}`"),) if sym.span else (),
            )

    def visit_Member(self, e: A.Member, scope: Scope) -> str:
        t = self.expr(e.obj, scope)
        if t == UNKNOWN:
            return UNKNOWN
        members = S.MODEL_MEMBERS if t == "model" else S.DATASET_MEMBERS if t == "dataset" else None
        if members is None:
            self.diag(
                "E0405",
                f"{t} values have no members",
                e.name_span,
                label=f"`.{e.name}` on {_a(t)}",
                helps=("only models and datasets have members, e.g. `brain.loss`",),
            )
            return UNKNOWN
        if e.name not in members:
            self.report(unknown_name(
                "E0312", f"{t} has no member `{e.name}`", e.name, e.name_span, members,
                label="unknown member", listing=f"{t} members: {', '.join(members)}",
            ))
            return UNKNOWN
        return S.MEMBER_TYPES[e.name]

    def require_int(self, e: A.Expr, t: str, what: str) -> None:
        if t not in ("int", UNKNOWN):
            self.diag("E0404", f"{what} must be an int, found {t}", e.span, label=f"this is {_a(t)}")

    # -------------------------------------------------- model-ish statements
    def ref(self, name: A.Name, kind: SymbolKind, scope: Scope) -> Symbol | None:
        """Resolve a model/dataset reference, reporting E0308/E0309/E0310."""
        sym = self.lookup(name.id, scope)
        if sym is None and name.id in self.top_decls and not self.fn_stack:
            return self.resolve(name, scope)
        if sym is None and name.id in self.top_decls:
            later = self.lookup(name.id, self.globals)
            if later is None:
                self.late_refs.append((name, self.fn_stack[-1]))
                return None
            sym = later
        code = "E0308" if kind is SymbolKind.MODEL else "E0309"
        if sym is None:
            cands = [n for n, s in self.globals.names.items() if s.kind is kind]
            if kind is SymbolKind.MODEL:
                cands += [n for n, d in self.top_decls.items() if n in self.model_defs]
            otherwise = (f"declared {kind.value}s: {', '.join(sorted(cands))}" if cands
                         else f"declare it with a `{kind.value} {name.id}` block")  # fmt: skip
            self.report(unknown_name(
                code, f"undefined {kind.value} `{name.id}`", name.id, name.span, cands,
                label=f"no {kind.value} of this name", otherwise=otherwise,
            ))
            return None
        sym.references.append(name.span)
        if sym.kind is not kind:
            self.diag(
                "E0310",
                f"`{name.id}` is a {sym.kind.value}, not a {kind.value}",
                name.span,
                label=f"expected a {kind.value}",
                labels=(Label(sym.span, "declared here"),) if sym.span else (),
            )
            return None
        return sym

    def visit_ModelDef(self, st: A.ModelDef, scope: Scope) -> None:
        self.top_decls.pop(st.name.id, None)
        self.model_defs[st.name.id] = st
        sym = self.declare(st.name, SymbolKind.MODEL, scope, "model")
        values = self.properties(st.props, S.MODEL, scope)
        info = self.model_shapes(st, values, self.stack_calls(st.props, scope))
        if info is not None:
            self.table.models[st.name.id] = info
            sym.detail = f"model {st.name.id}: {len(info.layers)} layers, {info.total_params:,} parameters"

    def visit_DatasetDef(self, st: A.DatasetDef, scope: Scope) -> None:
        self.top_decls.pop(st.name.id, None)
        sym = self.declare(st.name, SymbolKind.DATASET, scope, "dataset")
        values = self.properties(st.props, S.DATASET, scope)
        type_prop = values.get("type")
        if type_prop is None:
            self.missing(st, "type", "type xor", "a dataset needs a `type`")
            return
        dtype = type_prop[1][0] if type_prop[1] else None
        if not isinstance(dtype, str):
            return
        self.dataset_types[st.name.id] = dtype
        sym.detail = f"dataset {st.name.id}: {dtype}"
        task_prop = values.get("task")
        task = task_prop[1][0] if task_prop and task_prop[1] else "classify"
        self.dataset_tasks[st.name.id] = str(task)
        required = S.NEXT_TOKEN_REQUIRED if dtype == "text" and task == "next_token" else S.DATASET_REQUIRED.get(dtype, ())
        for key in required:
            if key not in values:
                spec = S.DATASET.properties[key]
                self.missing(st, key, spec.example, f"a `{dtype}` dataset needs `{key}`")
        for key, (prop, _vals) in values.items():
            spec = S.DATASET.properties[key]
            if spec.only_for and dtype not in spec.only_for:
                self.diag(
                    "W0201",
                    f"property `{key}` is not used by `{dtype}` datasets",
                    prop.key.span,
                    label="ignored",
                    helps=(f"`{key}` applies to: {', '.join(spec.only_for)}",),
                    fixes=(Fix.replace(f"Remove `{key}`", _line_span(self.source, prop.span), ""),),
                    tags=(Tag.UNNECESSARY,),
                )

    def missing(self, st: A.ModelDef | A.DatasetDef, key: str, example: str, why: str) -> None:
        indent = "    "
        insert_at = st.body_end
        self.diag(
            "E0205",
            f"{st.__class__.__name__.removesuffix('Def').lower()} `{st.name.id}` is missing `{key}`",
            st.name.span,
            label=why,
            helps=(f"add a line such as `{example}`",),
            fixes=(Fix(f"Add `{key}`", (TextEdit(Span(insert_at, insert_at), f"\n{indent}{example}"),)),),
        )

    def properties(
        self, props: tuple[A.Property, ...], schema: S.BlockSchema, scope: Scope
    ) -> dict[str, tuple[A.Property, list[object]]]:
        """Validate ``props`` against ``schema``. Returns key → (property, values)
        for recognised keys (``layer`` lines are collected separately)."""
        seen: dict[str, tuple[A.Property, list[object]]] = {}
        for prop in props:
            key = prop.key.id
            spec = schema.properties.get(key)
            if spec is None and schema is S.MODEL and key == "use":
                self.function_model(prop, scope)
                continue
            if spec is None:
                self.report(unknown_name(
                    "E0201", f"unknown property `{key}` in {schema.name} block", key, prop.key.span,
                    schema.properties, label=f"not a {schema.name} property",
                    otherwise=f"{schema.name} properties: {', '.join(schema.properties)}",
                ))
                for v in prop.values:
                    if not isinstance(v, A.Name):
                        self.expr(v, scope)
                continue
            if key in seen and not spec.repeatable:
                self.diag(
                    "E0206",
                    f"property `{key}` is given twice",
                    prop.key.span,
                    label="duplicate",
                    labels=(Label(seen[key][0].key.span, "first given here"),),
                    helps=("remove one of the lines",),
                    fixes=(Fix.replace("Remove this line", _line_span(self.source, prop.span), ""),),
                )
                continue
            if prop.body and not spec.block:
                self.diag(
                    "E0003",
                    f"`{key}` does not open a block",
                    prop.body[0].span.to(prop.body[-1].span),
                    label="unexpected indentation",
                    helps=("only the `residual` and `repeat` lines of a model take an indented block of layers",),
                )
            if key == "layer" or spec.block:
                seen.setdefault(key, (prop, []))  # the stack's lines are checked in order by stack_calls
                continue
            if key == "input" and schema is S.MODEL:
                values = self.input_values(prop, scope)
            else:
                values = self.values(prop, spec, scope)
            seen[key] = (prop, values)
        return seen

    def function_model(self, prop: A.Property, scope: Scope) -> None:
        """``use FN``: the original Volta's models backed by a function, which Volta does not support."""
        for v in prop.values:
            sym = self.lookup(v.id, scope) if isinstance(v, A.Name) else None
            if sym is not None:
                sym.references.append(v.span)  # named on purpose: not also an unused function
        self.diag(
            "E0201",
            "`use FN` (a model backed by a function) is not supported",
            prop.key.span,
            label="not supported",
            helps=("describe the layers with an explicit stack: `input N`, then one `layer KIND …` line per "
                   "layer (or the `layers` shorthand for a dense MLP)",),
        )

    def values(self, prop: A.Property, spec: S.PropertySpec, scope: Scope) -> list[object]:
        n = len(prop.values)
        lo, hi = spec.required_values, spec.max_values
        if n < lo or (hi is not None and n > hi):
            want = f"at least {lo}" if hi is None else (f"{lo}" if lo == hi else f"{lo} to {hi}")
            span = prop.span if n <= (hi or n) else prop.values[hi or 0].span.to(prop.values[-1].span)
            self.diag(
                "E0207",
                f"`{spec.key}` takes {want} value{'s' if want != '1' else ''}, got {n}",
                span if n else prop.key.span,
                label="wrong number of values",
                helps=(f"example: `{spec.example}`",),
            )
            if n < lo:
                return []
        out: list[object] = []
        for i, v in enumerate(prop.values):
            vs = spec.values[min(i, len(spec.values) - 1)]
            out.append(self.value(v, vs, spec.key, scope))
        return out

    def value(self, v: A.Expr, vs: S.ValueSpec, key: str, scope: Scope) -> object:
        """Check one value against ``vs``; returns its static value (or None)."""
        if vs.kind == "choice":
            if isinstance(v, A.Name):
                if v.id in vs.choices:
                    return v.id
                sym = self.lookup(v.id, scope)
                if sym is not None and sym.kind is SymbolKind.VARIABLE and sym.type in ("str", UNKNOWN):
                    sym.references.append(v.span)
                    return sym.constant if sym.constant in vs.choices else None
                self.unknown_choice(v.id, v.span, vs, key)
                return None
            t = self.expr(v, scope)
            c = const_value(v)
            if isinstance(c, str) and c not in vs.choices:
                self.unknown_choice(c, v.span, vs, key)
                return None
            if t not in ("str", UNKNOWN):
                self.wrong_kind(v, vs, key, t)
            return c
        if vs.choices and isinstance(v, A.Name) and v.id in vs.choices:
            return v.id  # a number or one of its words (`pad same`)
        t = self.expr(v, scope)
        ok = {
            "int": t == "int",
            "number": t in NUMERIC,
            "string": t == "str",
            "bool": t == "bool",
        }[vs.kind]
        if t != UNKNOWN and not ok:
            self.wrong_kind(v, vs, key, t)
            return None
        c = const_value(v)
        if type(c) in (int, float) and vs.kind in ("int", "number") and not vs.in_range(c):  # type: ignore[arg-type]
            self.diag(
                "E0204",
                f"`{key}` must be {vs.range_text()}, got {_fmt(c)}",
                v.span,
                label="out of range",
                helps=(f"`{key}` takes {vs.describe()}" + (f" ({vs.doc})" if vs.doc else ""),),
            )
            return None
        return c

    def unknown_choice(self, word: str, span: Span, vs: S.ValueSpec, key: str) -> None:
        what = {"activation": "activation", "output": "output activation", "loss": "loss", "type": "dataset type"}.get(
            key, f"`{key}` value"
        )
        self.report(unknown_name(
            "E0203", f"unknown {what} `{word}`", word, span, vs.choices,
            label=f"not a known {what.strip('`')}" if key in ("activation", "loss", "type", "output") else "not an allowed value",
            listing=f"allowed: {', '.join(vs.choices)}",
        ))

    def wrong_kind(self, v: A.Expr, vs: S.ValueSpec, key: str, t: str) -> None:
        self.diag(
            "E0202",
            f"`{key}` expects {vs.describe()}, found {t}",
            v.span,
            label=f"this is {_a(t)}",
        )

    def input_values(self, prop: A.Property, scope: Scope) -> list[object]:
        vals = prop.values
        specs = S.MODEL.properties["input"].values
        if vals and isinstance(vals[0], A.Name) and vals[0].id == "image":
            if len(vals) != 4:
                self.diag(
                    "E0207",
                    "`input image` takes the channels, height and width",
                    prop.span,
                    label="expected `input image C H W`",
                    helps=("example: `input image 1 28 28`",),
                )
                return ["image", None]
            dims = [self.value(v, vs, "input", scope) for v, vs in zip(vals[1:], specs[1:], strict=True)]
            return ["image", *dims]
        if vals and isinstance(vals[0], A.Name) and vals[0].id == "tokens":
            if len(vals) != 2:
                self.diag(
                    "E0207",
                    "`input tokens` takes the sequence length",
                    prop.span,
                    label="expected `input tokens L`",
                    helps=("example: `input tokens 32`",),
                )
                return ["tokens", None]
            return ["tokens", self.value(vals[1], specs[1], "input", scope)]
        if len(vals) != 1:
            self.diag(
                "E0207",
                f"`input` takes one width (or `tokens L`, or `image C H W`), got {len(vals)} values",
                prop.span if vals else prop.key.span,
                label="expected `input N`, `input tokens L` or `input image C H W`",
                helps=("example: `input 784`",),
            )
            return [None]
        return [self.value(vals[0], specs[0], "input", scope)]

    def stack_calls(self, lines: tuple[A.Property, ...], scope: Scope, block: str = "") -> tuple[list[LayerCall], bool]:
        """The ``layer`` lines and blocks among ``lines``, in order, each checked
        against the schema; False when one is invalid (the stack is checked up
        to it). Inside a ``block`` any other line is an error."""
        calls: list[LayerCall] = []
        for prop in lines:
            key = prop.key.id
            spec = S.MODEL.properties.get(key)
            if key == "layer":
                layer = self.layer_line(prop, scope)
                if layer is None:
                    return calls, False
                calls += layer
            elif spec is not None and spec.block:
                values = self.values(prop, spec, scope)
                if not prop.body:
                    self.diag("E0102", f"expected an indented block of layers after `{key}`", prop.key.span,
                              label="this line opens a block", helps=(f"indent `layer` lines under `{key}`",))  # fmt: skip
                inner, complete = self.stack_calls(prop.body, scope, key)
                if not complete or not prop.body or None in values or (key == "repeat" and not values):
                    return calls, False
                calls.append(LayerCall(key, tuple(values), prop.span, body=tuple(inner)))
            elif block:
                self.diag("E0112", f"`{key}` cannot appear inside a `{block}` block", prop.key.span,
                          label="only `layer` lines and blocks belong here",
                          helps=("dedent it to make it a property of the model",))  # fmt: skip
        return calls, True

    def layer_line(self, prop: A.Property, scope: Scope) -> list[LayerCall] | None:
        """``layer KIND args… [OPTION value]…`` checked against its :class:`LayerSpec`:
        the layer, followed by the activation layer a trailing activation word adds
        (``dense 16 relu``), or None when the line is invalid."""
        if not prop.values:
            self.diag("E0207", "`layer` needs a layer kind", prop.key.span, label="expected `layer KIND args…`", helps=("example: `layer dense 64 relu`",))
            return None
        head = prop.values[0]
        if not isinstance(head, A.Name) or head.id not in S.LAYERS:
            word = head.id if isinstance(head, A.Name) else self.source.snippet(head.span)
            self.report(unknown_name(
                "E0208", f"unknown layer kind `{word}`", word, head.span, S.LAYERS,
                label="not a layer kind", listing=f"layer kinds: {', '.join(S.LAYERS)}",
            ))
            return None
        spec = S.LAYERS[head.id]
        words = prop.values[1:]
        required = [a for a in spec.args if not a.optional]
        if len(words) < len(required):
            self.wrong_layer_arity(spec, prop, words)
            return None
        args: list[object] = []
        activation: str | None = None
        options: list[tuple[str, object]] = []
        optional = [a for a in spec.args if a.optional]
        valid = True
        i = 0
        while i < len(words):
            token = words[i]
            opt = spec.option(token.id) if isinstance(token, A.Name) and i >= len(required) else None
            if opt is not None:
                if any(name == opt.name for name, _ in options):
                    self.diag("E0209", f"option `{opt.name}` is given twice", token.span, label="duplicate option")
                    return None
                if i + 1 == len(words):
                    self.diag("E0209", f"option `{opt.name}` of `{spec.kind}` needs a value", token.span,
                              label="no value", helps=(f"example: `{opt.name} {opt.literal(opt.default or 1)}`",))  # fmt: skip
                    return None
                value = self.value(words[i + 1], opt, f"{spec.kind} {opt.name}", scope)
                options.append((opt.name, value))
                valid = valid and value is not None
                i += 2
                continue
            names = [o.name for o in spec.options]
            followed_by_value = i + 1 < len(words) and not isinstance(words[i + 1], A.Name)
            if (spec.options and i >= len(required) and isinstance(token, A.Name)
                    and (closest(token.id, names) or followed_by_value)
                    and not (optional and token.id in optional[0].choices)):  # fmt: skip
                self.report(unknown_name(
                    "E0209", f"unknown option `{token.id}` of `{spec.kind}`", token.id, token.span, names,
                    label="not an option", listing=f"options: {', '.join(names)}",
                ))
                return None
            if i < len(required):
                vs = required[i]
            elif optional:
                vs = optional.pop(0)
            else:
                self.wrong_layer_arity(spec, prop, words, words[i])
                return None
            if vs.kind == "choice" and not isinstance(token, (A.Name, A.String)):
                self.diag("E0209", f"`{spec.kind}` argument {vs.name} must be one of: {', '.join(vs.choices)}", token.span, label="not allowed here")
                return None
            value = self.value(token, vs, "activation" if vs.name == "activation" else f"{spec.kind} {vs.name}", scope)
            valid = valid and value is not None
            if vs.name == "activation":
                activation = value if isinstance(value, str) else None
            else:
                args.append(value)
            i += 1
        if not valid:
            return None
        calls = [LayerCall(spec.kind, tuple(args), prop.span, tuple(options))]
        return [*calls, LayerCall(activation, (), prop.span)] if activation else calls

    def wrong_layer_arity(
        self, spec: S.LayerSpec, prop: A.Property, words: tuple[A.Expr, ...], extra: A.Expr | None = None
    ) -> None:
        """E0209: too few arguments, or an unexpected word (from ``extra`` on)."""
        required = sum(1 for a in spec.args if not a.optional)
        if extra is None or not spec.options:
            self.diag(
                "E0209",
                f"`{spec.kind}` takes {_count(required, len(spec.args))}, got {len(words)}",
                prop.span if extra is None else extra.span.to(words[-1].span),
                label="expected `" + spec.signature() + "`",
                helps=(f"example: `{spec.example}`",),
            )
            return
        names = ", ".join(o.name for o in spec.options)
        self.diag(
            "E0209",
            f"unexpected `{self.source.snippet(extra.span)}` in a `{spec.kind}` layer",
            extra.span.to(words[-1].span),
            label="expected `" + spec.signature() + "`",
            helps=(f"after its arguments, `{spec.kind}` takes the options {names}; example: `{spec.example}`",),
        )

    def model_shapes(
        self,
        st: A.ModelDef,
        values: dict[str, tuple[A.Property, list[object]]],
        lines: tuple[list[LayerCall], bool],
    ) -> ModelInfo | None:
        """The checked layer table of a model (None when it cannot be built):
        expand its layers (``lines``: its checked layer lines and blocks), infer
        and check their shapes, resolve its loss."""
        stack = self.layer_stack(st, values, lines)
        if stack is None:
            return None
        before = len(self.diags)
        infos, out_shape, _ = infer_stack(stack.input_shape, stack.tokens, stack.calls, self.diags, stack.input_span)
        if not stack.complete:
            return None
        loss_prop = values.get("loss")
        declared = cast(str | None, loss_prop[1][0] if loss_prop and loss_prop[1] else None)
        last = stack.calls[-1].kind
        loss = declared or default_loss(last)
        if len(self.diags) == before:
            self.check_loss(st, loss, last, out_shape, loss_prop[0] if loss_prop else None)
        return ModelInfo(st.name.id, stack.input_shape, stack.tokens, tuple(infos), loss, sum(i.params for i in infos))

    def layer_stack(
        self, st: A.ModelDef, values: dict[str, tuple[A.Property, list[object]]], lines: tuple[list[LayerCall], bool]
    ) -> LayerStack | None:
        """The model's layers from the ``layers`` shorthand or its ``input`` + ``layer``
        lines (E0210 when both are used, E0205 when neither is); None when they
        cannot be known statically."""
        layers_prop = values.get("layers")
        input_prop = values.get("input")
        layer_lines = values.get("layer")
        if layers_prop and (input_prop or layer_lines):
            other = (input_prop or layer_lines)[0]  # type: ignore[index]
            self.diag(
                "E0210",
                "a model uses either `layers` or an explicit `input` + `layer` stack, not both",
                other.key.span,
                label="explicit stack here",
                labels=(Label(layers_prop[0].key.span, "`layers` shorthand here"),),
                helps=("keep one form",),
            )
            return None
        if layers_prop:
            return shorthand_stack(values)
        if not input_prop:
            example = "layers 2 4 1" if not layer_lines else "input 2"
            self.missing(st, "layers" if not layer_lines else "input", example, "a model needs `layers` or `input` + `layer` lines")
            return None
        return self.explicit_stack(st, values, input_prop, lines)

    def explicit_stack(
        self,
        st: A.ModelDef,
        values: dict[str, tuple[A.Property, list[object]]],
        input_prop: tuple[A.Property, list[object]],
        lines: tuple[list[LayerCall], bool],
    ) -> LayerStack | None:
        """``input`` + ``layer`` lines and blocks, in order; ``dense N ACT`` became
        the dense layer followed by its activation layer."""
        for key in SHORTHAND_KEYS:
            if key in values:
                self.diag(
                    "E0210",
                    f"`{key}` only applies to the `layers` shorthand",
                    values[key][0].key.span,
                    label="ignored by an explicit stack",
                    helps=("add the activation as a `layer` line instead",),
                )
        ivals = input_prop[1]
        input_shape: tuple[int, ...]
        if ivals and ivals[0] in ("tokens", "image"):
            dims = ivals[1:]
            if not dims or not all(isinstance(d, int) for d in dims):
                return None
            input_shape, tokens = tuple(cast(list[int], dims)), ivals[0] == "tokens"
        elif ivals and isinstance(ivals[0], int):
            input_shape, tokens = (ivals[0],), False
        else:
            return None
        calls, complete = lines
        if not calls:
            if complete:
                self.missing(st, "layer", "layer dense 1", "the stack has no layers")
            return None
        return LayerStack(calls, input_shape, tokens, input_prop[0].span, complete)

    def check_loss(
        self, st: A.ModelDef, loss: str, last: str | None, out: tuple[int, ...], prop: A.Property | None
    ) -> None:
        span = prop.values[0].span if prop and prop.values else st.name.span
        width = out[-1] if out else 0
        problem = help_ = ""
        if loss == "cross_entropy" and width < 2:
            problem = f"`cross_entropy` needs at least 2 class logits, but the output is {format_shape(out)}"
            help_ = "use `bce` for one output logit, or widen the last layer to the number of classes"
        elif loss == "bce" and width != 1:
            problem = f"`bce` needs one logit per example, but the output is {format_shape(out)}"
            help_ = "use `cross_entropy` for several classes, or make the last layer width 1"
        elif last == "softmax" and loss != "cross_entropy":
            problem = f"a final `softmax` goes with `cross_entropy`, not `{loss}`"
            help_ = "use `loss cross_entropy` (the softmax is folded into it), or remove the softmax"
        elif last == "sigmoid" and loss == "cross_entropy":
            problem = "a final `sigmoid` goes with `bce`, not `cross_entropy`"
            help_ = "use `loss bce`, or end with `softmax`"
        if problem:
            self.diag("E0503", problem, span, label=f"loss `{loss}`", helps=(help_,))

    def visit_Train(self, st: A.Train, scope: Scope) -> None:
        model = self.ref(st.model, SymbolKind.MODEL, scope)
        data = self.ref(st.dataset, SymbolKind.DATASET, scope) if st.dataset else None
        if st.dataset is None:
            self.missing_dataset(st, "train", scope)
        self.properties(st.props, S.TRAIN, scope)
        if model is not None and data is not None:
            self.compatible(st.model, st.dataset, st.span)  # type: ignore[arg-type]

    def visit_Evaluate(self, st: A.Evaluate, scope: Scope) -> None:
        model = self.ref(st.model, SymbolKind.MODEL, scope)
        data = self.ref(st.dataset, SymbolKind.DATASET, scope) if st.dataset else None
        if st.dataset is None:
            self.missing_dataset(st, "evaluate", scope)
        if model is not None and data is not None:
            self.compatible(st.model, st.dataset, st.span)  # type: ignore[arg-type]

    def missing_dataset(self, st: A.Train | A.Evaluate, verb: str, scope: Scope) -> None:
        names = [n for n, s in self.globals.names.items() if s.kind is SymbolKind.DATASET]
        end = st.model.span.end
        fixes: tuple[Fix, ...] = ()
        if len(names) == 1:
            fixes = (Fix(f"Add `on {names[0]}`", (TextEdit(Span(end, end), f" on {names[0]}"),)),)
            helps = (f"write `{verb} {st.model.id} on {names[0]}`",)
        elif names:
            helps = (f"name the dataset: `{verb} {st.model.id} on DATASET` (declared: {', '.join(names)})",)
        else:
            helps = (f"declare a `dataset` block, then write `{verb} {st.model.id} on NAME`",)
        self.diag(
            "E0105",
            f"`{verb}` needs `on DATASET`",
            Span(end, end),
            label="expected `on` and a dataset here",
            helps=helps,
            fixes=fixes,
        )

    def compatible(self, model: A.Name, data: A.Name, span: Span) -> None:
        info = self.table.models.get(model.id)
        dtype = self.dataset_types.get(data.id)
        if info is None or dtype is None:
            return
        out = info.output_shape
        next_token = dtype == "text" and self.dataset_tasks.get(data.id) == "next_token"
        if next_token and len(out) != 2:
            self.diag(
                "E0505",
                f"`{data.id}` has a target per position but model `{model.id}` predicts {format_shape(out)} per example",
                model.span,
                label=f"output {format_shape(out)}",
                labels=(Label(data.span, "a `next_token` dataset: one target per position"),),
                helps=("remove `mean_pool` / `last_token` so the model predicts at every position",),
            )
        elif dtype == "text" and not next_token and len(out) == 2:
            self.diag(
                "E0505",
                f"model `{model.id}` predicts per position {format_shape(out)} but `{data.id}` has one label per example",
                model.span,
                label=f"output {format_shape(out)}",
                labels=(Label(data.span, "a `text` dataset: one label per row"),),
                helps=("add `layer mean_pool` or `layer last_token` before the classification head",),
            )
        if dtype in ("xor", "blobs", "spiral") and not info.token_input and info.input_shape != (2,):
            self.diag(
                "E0506",
                f"`{data.id}` has 2 features but model `{model.id}` takes {format_shape(info.input_shape)}",
                model.span,
                label="input width differs",
                labels=(Label(data.span, f"a `{dtype}` dataset: 2 features"),),
                helps=("make the model's input width 2",),
            )

    def visit_Infer(self, st: A.Infer, scope: Scope) -> None:
        self.ref(st.model, SymbolKind.MODEL, scope)
        info = self.table.models.get(st.model.id)
        for row in st.rows:
            for v in row.values:
                t = self.expr(v, scope)
                if t not in NUMERIC and t != UNKNOWN:
                    self.diag("E0406", f"`input` values must be numbers, found {t}", v.span, label=f"this is {_a(t)}")
            if info is not None and not info.token_input and len(row.values) != info.input_shape[0]:
                self.diag(
                    "E0506",
                    f"model `{st.model.id}` takes {info.input_shape[0]} inputs, this row has {len(row.values)}",
                    row.span,
                    label="wrong number of values",
                )
        for path in (st.source, st.dest):
            if path is not None:
                self.path(path, scope)

    def path(self, e: A.Expr, scope: Scope) -> None:
        t = self.expr(e, scope)
        if t not in ("str", UNKNOWN):
            self.diag("E0406", f"a path must be a string, found {t}", e.span, label=f"this is {_a(t)}", helps=('write it in quotes: "model.safetensors"',))

    def visit_Save(self, st: A.Save, scope: Scope) -> None:
        self.ref(st.model, SymbolKind.MODEL, scope)
        self.path(st.path, scope)

    def visit_Load(self, st: A.Load, scope: Scope) -> None:
        self.ref(st.model, SymbolKind.MODEL, scope)
        self.path(st.path, scope)

    def visit_Export(self, st: A.Export, scope: Scope) -> None:
        self.ref(st.model, SymbolKind.MODEL, scope)
        self.path(st.path, scope)

    def visit_Inspect(self, st: A.Inspect, scope: Scope) -> None:
        self.ref(st.model, SymbolKind.MODEL, scope)

    def visit_Import(self, st: A.Import, scope: Scope) -> None:
        self.path(st.path, scope)
        self.top_decls.pop(st.name.id, None)
        self.declare(st.name, SymbolKind.MODEL, scope, "model", detail=f"model {st.name.id} (imported)")
        errors = sum(d.is_error for d in self.diags)
        self.properties(st.options, S.IMPORT, scope)
        if sum(d.is_error for d in self.diags) == errors:
            self.check_import_file(st)

    def check_import_file(self, st: A.Import) -> None:
        """Import a literal path that exists now, as the statement will (docs/onnx.md, "Checking").

        Relative paths resolve against the source file's folder; sources
        without a file (cells, ``<input>``) are checked only for absolute
        paths. A file that does not exist yet (written by an earlier
        ``export``) is left to the runtime.
        """
        if self.validate_import is None or type(st.path) is not A.String or not st.path.value.endswith(".onnx"):
            return
        path = Path(st.path.value)
        if not path.is_absolute():
            src = Path(self.source.path)
            if not src.is_file():
                return
            path = src.parent / path
        opts = {p.key.id: p.values[0] for p in st.options if len(p.values) == 1}
        batch = opts.get("batch")
        loss = opts.get("loss")
        if (batch is not None and type(batch) is not A.Number) or (loss is not None and type(loss) is not A.Name):
            return  # a variable: known when the statement runs
        problem = self.validate_import(
            path, int(batch.value) if isinstance(batch, A.Number) else None,
            loss.id if isinstance(loss, A.Name) else None,
        )  # fmt: skip
        if problem is not None:
            self.diag(problem.code, problem.message, st.path.span, label="this ONNX file",
                      notes=("`volta check` imports ONNX files that exist when the program is checked",))

    # -------------------------------------------------------------- unused
    def resolve_late(self) -> None:
        """Function bodies may use globals declared later: resolve them now."""
        for name, _fn in self.late_refs:
            sym = self.globals.names.get(name.id)
            if sym is None:
                continue
            sym.references.append(name.span)
            if sym.kind is SymbolKind.FUNCTION:
                self.diag("E0310", f"function `{name.id}` used as a value", name.span, label="functions are not values")
        for call, _fn in self.late_calls:
            sym = self.globals.names.get(call.callee.id)
            if sym is None:
                continue
            sym.references.append(call.callee.span)
            if sym.kind is not SymbolKind.FUNCTION:
                self.diag("E0310", f"`{call.callee.id}` is a {sym.kind.value}, not a function", call.callee.span, label="cannot be called")
            else:
                self.check_arity(call, sym)

    def report_unused(self) -> None:
        self.resolve_late()
        for sym in self.table.symbols:
            if sym.span is None or sym.name.startswith("_") or sym.references or sym.name in self.unparsed:
                continue  # (a use may sit on a line that failed to parse)
            if sym.kind is SymbolKind.VARIABLE:
                helps: tuple[str, ...] = (f"remove it, or name it `_{sym.name}` if it is intentionally unused",)
                kw = closest(sym.name, STATEMENT_KEYWORDS)
                takes = KEYWORD_VALUES.get(kw, ()) if kw is not None else ()
                if kw is not None and kw in KEYWORD_VALUES and (takes is None or sym.type in takes):
                    # `prnt "hi"`: a keyword's misspelling with a value that keyword takes is
                    # almost surely that statement, not a variable nobody reads.
                    self.diag(
                        "E0101", f"unknown statement `{sym.name}`", sym.span,
                        label=f"read as a declaration of `{sym.name}`, which nothing reads",
                        helps=(f"did you mean `{kw}`?",
                               f"to declare a variable that is never read, name it `_{sym.name}`"),
                        fixes=(Fix.replace(f"Change to `{kw}`", sym.span, kw),),
                    )
                    continue
                if kw is not None:
                    # No fix: with this value the line would not be that statement either.
                    helps = (f"`{sym.name}` is read as a new variable; did you mean the keyword `{kw}`?", *helps)
                self.diag("W0101", f"unused variable `{sym.name}`", sym.span, label="declared but never read", helps=helps, tags=(Tag.UNNECESSARY,))
            elif sym.kind is SymbolKind.FUNCTION:
                self.diag("W0102", f"unused function `{sym.name}`", sym.span, label="never called", helps=(f"call it, or name it `_{sym.name}`",), tags=(Tag.UNNECESSARY,))
            elif sym.kind is SymbolKind.PARAMETER:
                self.diag("W0103", f"unused parameter `{sym.name}`", sym.span, label="never read in the body", helps=(f"name it `_{sym.name}` if it is intentionally unused",), tags=(Tag.UNNECESSARY,))
            elif sym.kind in (SymbolKind.MODEL, SymbolKind.DATASET):
                pass  # declared for later cells or editors; not worth a warning


#: Model keys of the `layers` shorthand only (an explicit stack writes them as `layer` lines).
SHORTHAND_KEYS: Final = ("activation", "output", "dropout", "layernorm")


def shorthand_stack(values: Mapping[str, tuple[A.Property, list[object]]]) -> LayerStack | None:
    """``layers IN H… OUT`` expanded (SPEC §2.1, §2.1a): a ``dense`` per width; after each
    hidden one its ``activation`` (default relu), then a ``layernorm`` with ``layernorm yes``
    and a ``dropout P`` with ``dropout P`` (P > 0); ``output`` after the last. None when a
    width or the dropout probability is not static."""
    layers_prop = values["layers"]
    widths = layers_prop[1]
    if len(widths) < 2 or any(not isinstance(w, int) for w in widths):
        return None

    def given(key: str) -> object:
        prop = values.get(key)
        return prop[1][0] if prop and prop[1] else S.MODEL.default(key)

    act, output, dropout, layernorm = given("activation"), given("output"), given("dropout"), given("layernorm")
    if "dropout" in values and not isinstance(dropout, int | float):
        return None
    span = layers_prop[0].span

    def span_of(key: str) -> Span:
        return values[key][0].span if key in values else span

    hidden: list[LayerCall] = [LayerCall(act, (), span)] if isinstance(act, str) else []
    if layernorm == "yes":
        hidden.append(LayerCall("layernorm", (), span_of("layernorm")))
    if isinstance(dropout, int | float) and dropout > 0:
        hidden.append(LayerCall("dropout", (float(dropout),), span_of("dropout")))
    calls: list[LayerCall] = []
    for i, w in enumerate(widths[1:]):
        calls.append(LayerCall("dense", (w,), span))
        if i < len(widths) - 2:
            calls += hidden
    out_prop = values.get("output")
    if out_prop is not None and isinstance(output, str) and output != "none":  # `none`: no output activation
        calls.append(LayerCall(output, (), out_prop[0].span))
    return LayerStack(calls, (cast(int, widths[0]),), False, layers_prop[0].values[0].span)


#: One-line statements that take one value, and the static types of the values they take
#: (None: any). An unused declaration named like one of them, with such a value, is that
#: statement misspelt (E0101), not a variable. (`loop N` and `infer M` need a block: the
#: line alone would not be that statement either.)
KEYWORD_VALUES: Final[dict[str, tuple[str, ...] | None]] = {"print": None, "return": None, "inspect": ("model",)}


def default_loss(last_layer: str) -> str:
    """The loss a model gets when it names none: a trailing ``softmax`` means
    ``cross_entropy``, a trailing ``sigmoid`` ``bce``, anything else ``mse``."""
    return {"softmax": "cross_entropy", "sigmoid": "bce"}.get(last_layer, "mse")


def _a(t: str) -> str:
    return {"int": "an int", "unknown": "an unknown value"}.get(t, f"a {t}")


def _count(lo: int, hi: int) -> str:
    if lo == hi:
        return f"{lo} argument{'s' if lo != 1 else ''}"
    return f"{lo} to {hi} arguments"


def _line_span(source: Source, span: Span) -> Span:
    """The whole line(s) of ``span`` including the newline (for removal fixes)."""
    line = source.position(span.start).line
    end_line = source.position(span.end).line
    start = source.line_start(line)
    end = source.line_end(end_line)
    return Span(start, min(end + 1, len(source.text)))


#: ``node class → handler`` for every statement and expression the checker visits.
_VISIT: Final[dict[type, Callable[..., Any]]] = dispatch_table(Checker)


def check_program(
    source: Source,
    program: A.Program,
    diags: list[Diagnostic],
    predeclared: Mapping[str, Symbol],
    validate_import: ImportValidator | None = None,
    cells: Sequence[int] = (),
) -> SymbolTable:
    """Check ``program``; append diagnostics to ``diags`` (the syntax errors
    so far); return the symbols.

    ``validate_import`` checks the ONNX files that ``import`` statements name
    (None: only their syntax and options are checked); ``cells`` are the
    start offsets of notebook cells (:class:`Checker`).
    """
    checker = Checker(
        source, diags, predeclared,
        unparsed=unparsed_names(source, program, diags), validate_import=validate_import, cells=cells,
    )
    return checker.check(program)


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def unparsed_names(source: Source, program: A.Program, diags: Sequence[Diagnostic]) -> frozenset[str]:
    """The words on the lines of syntax errors (``diags``) and in the statements
    the parser skipped: the names a program may use where the checker cannot see."""
    spans = [d.span for d in diags if d.is_error]
    stack = list(program.body)
    while stack:
        stmt = stack.pop()
        if isinstance(stmt, A.ErrorStmt):
            spans.append(stmt.span)
        for block in A.block_statements(stmt):
            stack.extend(block)
    words: set[str] = set()
    for span in spans:
        first, last = source.position(span.start).line, source.position(span.end).line
        words.update(_WORD.findall(source.text[source.line_start(first):source.line_end(last)]))
    return frozenset(words)
