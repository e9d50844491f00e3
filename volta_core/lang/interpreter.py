"""Tree-walking interpreter for Volta statements and expressions (SPEC §2).

Runtime semantics, where the specification leaves a choice:

- **Numbers.** ``int`` is signed 64-bit: ``+ - * %`` and unary ``-`` whose
  result leaves the range fail with E0602 at the operator. In mixed
  arithmetic an ``int`` widens to ``float`` first (``float(i)``); ``/`` always
  widens both operands and yields a ``float``. ``/`` and ``%`` by zero (``0``,
  ``0.0`` or ``-0.0``) fail with E0601 at the operator. Other float results
  that overflow to ``inf`` or become ``nan`` are ordinary values.
- **Modulo** follows floor semantics (Python's ``%``): the result has the sign
  of the divisor, so ``-7 % 3`` is ``2`` and ``7 % -3`` is ``-2``; for floats
  ``-1.5 % 1.0`` is ``0.5``.
- **Equality.** ``== !=`` compare two values of the same type (``nan != nan``;
  strings by content), or two numbers, where an ``int`` widens to ``float``
  exactly as in arithmetic (so ``1 == 1.0`` is true). Comparing values of
  different types otherwise (``1 == true``, ``"1" == 1``) is the runtime type
  error E0604 rather than a silent ``false``: it is always a bug.
- **Ordering.** ``< <= > >=`` take two numbers (with widening) or two strings
  (code-point order); anything else is E0604.
- **Booleans.** ``and or not`` and ``if``/``elif`` conditions need ``bool``;
  numbers and strings are never truthy (E0604). ``and``/``or`` short-circuit.
- **Strings.** ``+`` joins two strings; a result longer than
  :data:`~volta_core.lang.values.MAX_STRING_LENGTH` is E0608.
- **Scopes.** Lexical. Each block body (``fn``, every ``loop``/``for``
  iteration, ``if``/``elif``/``else``) runs in a fresh scope whose parent is the
  enclosing one; a function body's parent is the global scope, so it never
  sees its caller's locals. ``NAME EXPR`` binds in the current scope,
  ``NAME = EXPR`` rebinds the nearest enclosing binding. Names are resolved
  when the code runs, so a function body may use globals and functions that
  are declared after it. Shadowing and duplicate declarations are rejected
  by the checker; at run time a declaration simply binds in its own scope.
- **Functions** are defined when their ``fn`` statement runs. A call checks
  the argument count (E0306) and the depth limit (E0603); a function that
  ends without ``return VALUE`` yields no value, which is fine for a call
  statement and E0604 where a value is needed.
- **Atomicity.** A simple statement either completes or has no effect: the
  right-hand side and every ``print`` argument are evaluated before anything
  is bound or written. Compound statements keep the effects of the inner
  statements that completed before an error or an interrupt.
- **Interrupts** are honoured before every statement and every loop
  iteration (E0607).
- Model statements run in the statement modules, written against
  :class:`~volta_core.lang.context.Context`: ``model``/``dataset``/``inspect``
  and member access (``m.loss``) in :mod:`volta_core.lang.model_statements`,
  ``train``/``evaluate``/``infer`` in :mod:`volta_core.lang.run_statements`,
  ``save``/``load``/``import``/``export`` in :mod:`volta_core.lang.file_statements`.
  Every handler, here and there, is ``visit_<NodeClass>``
  (:mod:`volta_core.syntax.visitor`).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any, Final

from volta_core.diagnostics import DiagnosticError, Label
from volta_core.lang import file_statements, model_statements, run_statements
from volta_core.lang.context import Context, Scope
from volta_core.lang.values import (
    INT_MAX,
    INT_MIN,
    MAX_STRING_LENGTH,
    NO_VALUE,
    Function,
    Value,
    format_value,
    type_name,
)
from volta_core.suggest import did_you_mean
from volta_core.syntax import ast as A
from volta_core.syntax.source import Source, Span
from volta_core.syntax.visitor import dispatch_table

_NUMBER_TYPES: Final = (int, float)


class InternalError(Exception):
    """A state the analysis should have made impossible (becomes E9999)."""


# Statement handlers return None to continue, or the value being returned
# (NO_VALUE for a bare `return`) to unwind to the enclosing call; expression
# handlers return the value.
_Handler = Callable[["Interpreter", Any, Scope], object]
_BinaryHandler = Callable[["Interpreter", A.Binary, Any, Any], object]


class Interpreter(Context):
    """Executes analysed programs against one persistent global scope; the
    :class:`~volta_core.lang.context.Context` of the statement modules.

    Not thread-safe, except :attr:`interrupted`, which another thread may set
    (a plain attribute store is atomic under the GIL and the interpreter reads
    it before every statement).
    """

    def __init__(
        self,
        globals_: dict[str, Value],
        write: Callable[[str], None],
        call_depth_limit: int = 256,
    ) -> None:
        super().__init__(write)
        self.global_scope = Scope(globals_, None)
        self.call_depth_limit = call_depth_limit
        self.depth = 0
        #: The innermost statement being executed (for internal error spans).
        self.statement: A.Stmt | None = None

    # ------------------------------------------------------------ entry
    def execute(self, program: A.Program, source: Source) -> None:
        """Run ``program``'s statements in order in the global scope.

        Raises :class:`DiagnosticError` (diagnostic attached to its source)
        for a runtime error; completed statements keep their effects.
        """
        self.source = source
        self.depth = 0
        self.statement = None
        self.frames.clear()
        self._run_block(program.body, self.global_scope)

    def _interrupt(self, span: Span) -> DiagnosticError:
        self.interrupted = False
        return self.fail(
            "E0607", "execution interrupted", span, label="stopped before this ran",
            notes=("statements that finished before the interrupt keep their effects",),
        )

    def _type_error(self, message: str, span: Span, label: str = "", help_: str = "") -> DiagnosticError:
        return self.fail("E0604", message, span, label=label, helps=(help_,) if help_ else ())

    # ------------------------------------------------------- statements
    def _run_block(self, body: tuple[A.Stmt, ...], scope: Scope) -> object:
        table = _DISPATCH
        for stmt in body:
            if self.interrupted:
                raise self._interrupt(stmt.span)
            self.statement = stmt
            result = table[type(stmt)](self, stmt, scope)
            if result is not None:
                return result
        return None

    def visit_VarDecl(self, stmt: A.VarDecl, scope: Scope) -> None:
        scope.vars[stmt.name.id] = self.value(stmt.value, scope)

    def visit_Assign(self, stmt: A.Assign, scope: Scope) -> None:
        value = self.value(stmt.value, scope)
        name = stmt.name.id
        s: Scope | None = scope
        while s is not None:
            if name in s.vars:
                if type(s.vars[name]) is Function:
                    raise self.fail(
                        "E0313", f"cannot assign to function `{name}`", stmt.name.span,
                        label="a function, not a variable",
                    )
                s.vars[name] = value
                return
            s = s.parent
        raise self.fail(
            "E0304", f"assignment to undeclared variable `{name}`", stmt.name.span,
            label="not declared", helps=(f"declare it with `{name} VALUE`",),
        )

    def visit_ExprStmt(self, stmt: A.ExprStmt, scope: Scope) -> None:
        expr = stmt.expr
        if type(expr) is A.Call:
            self._call(expr, scope)  # a call statement may yield no value
        else:
            self.value(expr, scope)

    def visit_Print(self, stmt: A.Print, scope: Scope) -> None:
        text = " ".join([format_value(self.value(arg, scope)) for arg in stmt.args])
        self.write(text + "\n")

    def visit_FnDef(self, stmt: A.FnDef, scope: Scope) -> None:
        scope.vars[stmt.name.id] = Function(
            stmt.name.id, tuple(p.id for p in stmt.params), stmt.body, self.source, stmt
        )

    def visit_Return(self, stmt: A.Return, scope: Scope) -> object:
        if self.depth == 0:
            raise self.fail(
                "E0307", "`return` outside a function", stmt.span,
                label="nothing to return from",
            )
        if stmt.value is None:
            return NO_VALUE
        return self.value(stmt.value, scope)

    def _int_bound(self, expr: A.Expr, scope: Scope, what: str) -> int:
        value = self.value(expr, scope)
        if type(value) is int:
            return value
        if type(value) is float and not math.isfinite(value):
            raise self.fail(
                "E0606", f"{what} is `{format_value(value)}`, not a finite number", expr.span,
                label="needs an int",
            )
        raise self._type_error(
            f"{what} must be an int, found {type_name(value)} `{format_value(value)}`",
            expr.span, label=f"this is {type_name(value)}",
            help_="Volta never converts to int implicitly",
        )

    def visit_Loop(self, stmt: A.Loop, scope: Scope) -> object:
        count = self._int_bound(stmt.count, scope, "the loop count")
        if count < 0:
            raise self.fail(
                "E0605", f"negative loop count {count}", stmt.count.span,
                label="`loop` needs a count ≥ 0",
            )
        body = stmt.body
        for _ in range(count):
            if self.interrupted:
                raise self._interrupt(stmt.span)
            result = self._run_block(body, Scope({}, scope))
            if result is not None:
                return result
        return None

    def visit_For(self, stmt: A.For, scope: Scope) -> object:
        start = 0 if stmt.start is None else self._int_bound(stmt.start, scope, "the range start")
        end = self._int_bound(stmt.end, scope, "the range end")
        name = stmt.var.id
        body = stmt.body
        for i in range(start, end):
            if self.interrupted:
                raise self._interrupt(stmt.span)
            result = self._run_block(body, Scope({name: i}, scope))
            if result is not None:
                return result
        return None

    def visit_If(self, stmt: A.If, scope: Scope) -> object:
        for branch in stmt.branches:
            cond = self.value(branch.cond, scope)
            if type(cond) is not bool:
                raise self._type_error(
                    f"the condition of `{branch.keyword}` must be bool, found {type_name(cond)}",
                    branch.cond.span, label=f"this is {type_name(cond)}",
                    help_="compare explicitly, e.g. `if n != 0`",
                )
            if cond:
                return self._run_block(branch.body, Scope({}, scope))
        if stmt.orelse is not None:
            return self._run_block(stmt.orelse, Scope({}, scope))
        return None

    def visit_Property(self, stmt: A.Stmt, scope: Scope) -> None:
        raise InternalError(f"cannot execute {type(stmt).__name__} (analysis should have rejected it)")

    visit_InferRow = visit_ErrorStmt = visit_Property

    # ------------------------------------------------------ expressions
    def value(self, expr: A.Expr, scope: Scope) -> Any:
        """Evaluate ``expr`` in ``scope``."""
        return _DISPATCH[type(expr)](self, expr, scope)

    def visit_Number(self, expr: A.Number | A.String | A.Bool, scope: Scope) -> object:
        return expr.value

    visit_String = visit_Bool = visit_Number

    def lookup(self, expr: A.Name, scope: Scope) -> object:
        """The value bound to ``expr`` (E0301 with a did-you-mean when unbound)."""
        name = expr.id
        s: Scope | None = scope
        while s is not None:
            vars_ = s.vars
            if name in vars_:
                value = vars_[name]
                if type(value) is Function:
                    raise self.fail(
                        "E0310", f"`{name}` is a function, not a value", expr.span,
                        label="a function", helps=(f"call it: `{name}(…)`",),
                    )
                return value
            s = s.parent
        raise self._undefined("E0301", f"undefined name `{name}`", expr, scope)

    visit_Name = lookup

    def _undefined(self, code: str, message: str, expr: A.Name, scope: Scope) -> DiagnosticError:
        visible: list[str] = []
        s: Scope | None = scope
        while s is not None:
            visible.extend(s.vars)
            s = s.parent
        hint = did_you_mean(expr.id, visible)
        return self.fail(code, message, expr.span, label="not defined here", helps=(hint,) if hint else ())

    def visit_Unary(self, expr: A.Unary, scope: Scope) -> object:
        # Iterative over chains such as `- - - x`: their length is unbounded.
        chain: list[A.Unary] = []
        node: A.Expr = expr
        while type(node) is A.Unary:
            chain.append(node)
            node = node.operand
        value: Any = _DISPATCH[type(node)](self, node, scope)
        for op in reversed(chain):
            kind = type(value)
            if op.op == "-":
                if kind is int:
                    if value == INT_MIN:
                        raise self.fail(
                            "E0602", f"integer overflow: `-({value})` does not fit in 64 bits",
                            op.op_span, label="overflows",
                            helps=("use a float (e.g. `-1.0 * x`) for large magnitudes",),
                        )
                    value = -value
                elif kind is float:
                    value = -value
                else:
                    raise self._type_error(
                        f"unary `-` needs a number, found {type_name(value)}", op.op_span,
                        label=f"applied to {type_name(value)}",
                    )
            else:
                if kind is not bool:
                    raise self._type_error(
                        f"`not` needs a bool, found {type_name(value)}", op.op_span,
                        label=f"applied to {type_name(value)}",
                        help_="compare explicitly, e.g. `not (n == 0)`",
                    )
                value = not value
        return value

    def visit_Binary(self, expr: A.Binary, scope: Scope) -> object:
        # Left-associative chains (`1 + 1 + … + 1`) nest on the left without
        # bound, so walk the left spine iteratively; right operands are
        # bounded by the parser's nesting limit.
        spine: list[A.Binary] = []
        node: A.Expr = expr
        while type(node) is A.Binary:
            spine.append(node)
            node = node.left
        eval_table = _DISPATCH
        value: Any = eval_table[type(node)](self, node, scope)
        for op in reversed(spine):
            kind = op.op
            if kind == "and" or kind == "or":
                if type(value) is not bool:
                    raise self._bool_operand(op, op.left, value)
                if value is (kind == "or"):
                    continue  # short-circuit: `false and …`, `true or …`
                right = op.right
                value = eval_table[type(right)](self, right, scope)
                if type(value) is not bool:
                    raise self._bool_operand(op, right, value)
                continue
            right = op.right
            value = _BINARY[kind](self, op, value, eval_table[type(right)](self, right, scope))
        return value

    def _bool_operand(self, op: A.Binary, operand: A.Expr, value: object) -> DiagnosticError:
        return self.fail(
            "E0604", f"`{op.op}` needs bool operands, found {type_name(value)}", op.op_span,
            label=f"`{op.op}` of a non-bool",
            labels=(Label(operand.span, f"this is {type_name(value)}"),),
            helps=("compare explicitly, e.g. `n != 0`",),
        )

    def visit_Call(self, expr: A.Call, scope: Scope) -> object:
        result = self._call(expr, scope)
        if result is NO_VALUE:
            name = expr.callee.id
            raise self._type_error(
                f"function `{name}` returned no value", expr.span, label="used as a value",
                help_=f"end `{name}` with `return VALUE`, or call it as a statement",
            )
        return result

    def _call(self, expr: A.Call, scope: Scope) -> object:
        name = expr.callee.id
        fn: object = None
        s: Scope | None = scope
        while s is not None:
            if name in s.vars:
                fn = s.vars[name]
                break
            s = s.parent
        else:
            raise self._undefined("E0305", f"undefined function `{name}`", expr.callee, scope)
        if type(fn) is not Function:
            raise self.fail(
                "E0310", f"`{name}` is a {type_name(fn)} variable, not a function", expr.callee.span,
                label="cannot be called",
            )
        assert isinstance(fn, Function)
        args = [self.value(arg, scope) for arg in expr.args]
        if len(args) != len(fn.params):
            want = len(fn.params)
            raise self.fail(
                "E0306",
                f"function `{name}` takes {want} argument{'s' if want != 1 else ''} "
                f"but {len(args)} {'were' if len(args) != 1 else 'was'} given",
                expr.span, label=f"expected {want}", notes=(f"declared as `{fn.signature}`",),
            )
        if self.depth >= self.call_depth_limit:
            raise self._depth_error(name, expr.span)
        caller = self.source
        statement = self.statement
        self.depth += 1
        self.frames.append((name, expr.span, caller))
        self.source = fn.source
        try:
            try:
                result = self._run_block(fn.body, Scope(dict(zip(fn.params, args, strict=True)), self.global_scope))
            finally:
                self.depth -= 1
                self.frames.pop()
                self.source = caller
                self.statement = statement  # keep (statement, source) consistent
        except RecursionError:
            # Python's own stack ran out before the Volta limit (very deep
            # blocks in every frame): report it as the same limit, here.
            raise self._depth_error(name, expr.span, python_stack=True) from None
        return NO_VALUE if result is None else result

    def _depth_error(self, name: str, span: Span, python_stack: bool = False) -> DiagnosticError:
        notes: tuple[str, ...] = ()
        if python_stack:
            notes = (f"the interpreter's stack ran out at {self.depth} nested calls",)
        return self.fail(
            "E0603",
            f"call depth limit of {self.call_depth_limit} exceeded calling `{name}`",
            span, label="one call too deep", notes=notes,
            helps=("a recursive function needs a base case that stops it",),
        )

    def visit_Member(self, expr: A.Member, scope: Scope) -> object:
        return model_statements.member_value(self, expr, self.value(expr.obj, scope))

    def visit_ErrorExpr(self, expr: A.ErrorExpr, scope: Scope) -> object:
        raise InternalError("cannot evaluate an ErrorExpr (analysis should have rejected it)")

    # --------------------------------------------------- binary operators
    def _operand_error(self, op: A.Binary, left: object, right: object, help_: str = "") -> DiagnosticError:
        lt, rt = type_name(left), type_name(right)
        return self.fail(
            "E0604", f"operator `{op.op}` cannot be applied to {lt} and {rt}", op.op_span,
            label=f"{lt} {op.op} {rt}",
            labels=(Label(op.left.span, f"this is {lt}"), Label(op.right.span, f"this is {rt}")),
            helps=(help_ or "nothing is converted implicitly except int to float",),
        )

    def _overflow(self, op: A.Binary, left: object, right: object) -> DiagnosticError:
        return self.fail(
            "E0602", f"integer overflow: `{left} {op.op} {right}` does not fit in 64 bits",
            op.op_span, label="overflows",
            helps=("use a float (e.g. `2.0 * x`) for large magnitudes",),
        )

    def _zero_division(self, op: A.Binary) -> DiagnosticError:
        what = "division" if op.op == "/" else "modulo"
        return self.fail(
            "E0601", f"{what} by zero", op.op_span, label=f"{what} by zero",
            labels=(Label(op.right.span, "this is zero"),),
            helps=("check the divisor first",),
        )

    def _concat(self, op: A.Binary, left: str, right: str) -> str:
        size = len(left) + len(right)
        if size > MAX_STRING_LENGTH:
            raise self.fail(
                "E0608", f"string of {size} characters is too long", op.op_span,
                label="result too long", notes=(f"strings hold at most {MAX_STRING_LENGTH} characters",),
            )
        return left + right

    def _divide(self, op: A.Binary, left: Any, right: Any) -> object:
        if type(left) in _NUMBER_TYPES and type(right) in _NUMBER_TYPES:
            if right == 0:
                raise self._zero_division(op)
            return float(left) / float(right)
        raise self._operand_error(op, left, right)

    def _modulo(self, op: A.Binary, left: Any, right: Any) -> object:
        lt, rt = type(left), type(right)
        if lt in _NUMBER_TYPES and rt in _NUMBER_TYPES:
            if right == 0:
                raise self._zero_division(op)
            if lt is int and rt is int:
                return left % right  # floor semantics; cannot leave the int range
            return float(left) % float(right)
        raise self._operand_error(op, left, right)

    def _equal(self, op: A.Binary, left: Any, right: Any) -> bool:
        lt, rt = type(left), type(right)
        if lt is rt:
            return bool(left == right)
        if lt in _NUMBER_TYPES and rt in _NUMBER_TYPES:
            return float(left) == float(right)
        raise self._operand_error(
            op, left, right, help_="values of different types are never equal; compare like with like",
        )

    def _not_equal(self, op: A.Binary, left: Any, right: Any) -> bool:
        return not self._equal(op, left, right)


def _arithmetic(fn: Callable[[Any, Any], Any], strings: bool = False) -> _BinaryHandler:
    def apply(self: Interpreter, op: A.Binary, left: Any, right: Any) -> object:
        lt, rt = type(left), type(right)
        if lt is int and rt is int:
            result = fn(left, right)
            if INT_MIN <= result <= INT_MAX:
                return result
            raise self._overflow(op, left, right)
        if lt in _NUMBER_TYPES and rt in _NUMBER_TYPES:
            return fn(float(left), float(right))
        if strings and lt is str and rt is str:
            return self._concat(op, left, right)
        raise self._operand_error(op, left, right)

    return apply


def _ordering(fn: Callable[[Any, Any], bool]) -> _BinaryHandler:
    def apply(self: Interpreter, op: A.Binary, left: Any, right: Any) -> object:
        lt, rt = type(left), type(right)
        if lt in _NUMBER_TYPES and rt in _NUMBER_TYPES:
            if lt is int and rt is int:
                return fn(left, right)
            return fn(float(left), float(right))
        if lt is str and rt is str:
            return fn(left, right)
        raise self._operand_error(op, left, right, help_="`<`, `<=`, `>`, `>=` compare two numbers or two strings")

    return apply


_BINARY: Final[dict[str, _BinaryHandler]] = {
    "+": _arithmetic(operator.add, strings=True),
    "-": _arithmetic(operator.sub),
    "*": _arithmetic(operator.mul),
    "/": Interpreter._divide,
    "%": Interpreter._modulo,
    "==": Interpreter._equal,
    "!=": Interpreter._not_equal,
    "<": _ordering(operator.lt),
    "<=": _ordering(operator.le),
    ">": _ordering(operator.gt),
    ">=": _ordering(operator.ge),
}

#: ``node class → handler`` for every statement and expression: the
#: interpreter's own ``visit_`` methods and the statement modules' functions.
_DISPATCH: Final[dict[type, _Handler]] = dispatch_table(
    Interpreter, model_statements, run_statements, file_statements
)
