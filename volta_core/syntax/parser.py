"""Error-recovering recursive-descent parser (SPEC §1–2).

Errors are reported per line: when a line cannot be parsed, one diagnostic
is recorded, the line (and any block indented under it) becomes an
:class:`~volta_core.syntax.ast.ErrorStmt`, and parsing resumes on the next
line. One run therefore reports every independent error and always returns a
usable partial AST.

Recursion is bounded: expressions nest at most :data:`MAX_EXPR_DEPTH` levels and
blocks at most :data:`MAX_BLOCK_DEPTH`, so adversarial input yields a
diagnostic, never a ``RecursionError``.

The parser of statement keyword ``kw`` is ``Parser.parse_<kw>``; the table
that dispatches on the keyword is built from those names.
"""

from __future__ import annotations

from dataclasses import dataclass

from volta_core.diagnostics import Diagnostic, Fix, TextEdit
from volta_core.suggest import closest
from volta_core.syntax import ast as A
from volta_core.syntax import tokens as T
from volta_core.syntax.lexer import INT_MAX, LexResult, tokenize
from volta_core.syntax.source import Source, Span
from volta_core.syntax.tokens import STATEMENT_KEYWORDS, Token

MAX_EXPR_DEPTH = 64
MAX_BLOCK_DEPTH = 64
#: Binary operators folded into one tree along any path (``1 + 1 + … + 1``):
#: each adds a level to the AST, which the checker and interpreter walk recursively.
MAX_OPERATOR_CHAIN = 200

_BINARY_PREC = {
    "or": 1,
    "and": 2,
    "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4,
    "+": 5, "-": 5,
    "*": 6, "/": 6, "%": 6,
}
_COMPARISON = 4
_NOT_PREC = 3

# Statement contexts.
_TOP = "top"
_FN = "fn"
_BLOCK = "block"
_PROPS = "props"
_ROWS = "rows"


class ParseError(Exception):
    """Aborts the current line; ``diagnostic`` is None when already reported."""

    def __init__(self, diagnostic: Diagnostic | None) -> None:
        super().__init__(diagnostic.message if diagnostic else "")
        self.diagnostic = diagnostic


@dataclass(slots=True)
class ParseResult:
    program: A.Program
    diagnostics: list[Diagnostic]
    lex: LexResult


def describe(tok: Token) -> str:
    """How a token is named in messages."""
    if tok.kind == T.NEWLINE:
        return "end of line"
    if tok.kind == T.EOF:
        return "end of file"
    if tok.kind == T.INDENT:
        return "indentation"
    if tok.kind == T.DEDENT:
        return "end of block"
    if tok.kind == T.KEYWORD:
        return f"keyword `{tok.text}`"
    if tok.kind == T.STRING:
        return "a string"
    if tok.kind in (T.INT, T.FLOAT):
        return f"number `{tok.text}`"
    return f"`{tok.text}`"


class Parser:
    def __init__(self, source: Source, lex: LexResult) -> None:
        self.source = source
        self.toks = lex.tokens
        self.i = 0
        self.diags: list[Diagnostic] = []
        self.expr_depth = 0
        self.block_depth = 0
        # binary operators folded by the parse_expr frames now active
        self.chain = 0
        # True while parsing space-separated property values, where `(` only
        # starts a call when it touches the name (`f(2)`); `dense (n * 2)` is two values.
        self.values_mode = False

    # ------------------------------------------------------------- helpers
    def peek(self, k: int = 0) -> Token:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else self.toks[-1]

    def advance(self) -> Token:
        tok = self.toks[self.i]
        if tok.kind != T.EOF:
            self.i += 1
        return tok

    def error(
        self,
        code: str,
        message: str,
        span: Span,
        label: str = "",
        helps: tuple[str, ...] = (),
        fixes: tuple[Fix, ...] = (),
    ) -> ParseError:
        return ParseError(Diagnostic(code, message, span, label=label, helps=helps, fixes=fixes))

    def unexpected(self, expected: str, tok: Token | None = None, code: str = "E0100") -> ParseError:
        tok = tok or self.peek()
        if tok.kind == T.ERROR:
            return ParseError(None)  # the lexer already reported it
        span = Span(tok.start, tok.end)
        if tok.kind in (T.NEWLINE, T.EOF):
            span = Span(tok.start, tok.start)
        return self.error(code, f"expected {expected}, found {describe(tok)}", span, label=f"expected {expected}")

    def expect_op(self, text: str, expected: str | None = None) -> Token:
        tok = self.peek()
        if tok.kind == T.OP and tok.text == text:
            return self.advance()
        raise self.unexpected(expected or f"`{text}`")

    def expect_keyword(self, text: str) -> Token:
        tok = self.peek()
        if tok.kind == T.KEYWORD and tok.text == text:
            return self.advance()
        raise self.unexpected(f"`{text}`")

    def expect_name(self, what: str) -> A.Name:
        tok = self.peek()
        if tok.kind == T.NAME:
            self.advance()
            return A.Name(tok.text, Span(tok.start, tok.end))
        if tok.kind == T.KEYWORD:
            raise self.error(
                "E0109",
                f"keyword `{tok.text}` cannot be used as {what}",
                Span(tok.start, tok.end),
                label="this is a keyword",
                helps=(f"choose another name, e.g. `{tok.text}_`",),
            )
        raise self.unexpected(what)

    def end_of_line(self) -> None:
        tok = self.peek()
        if tok.kind == T.NEWLINE:
            self.advance()
            return
        if tok.kind == T.EOF:
            return
        if tok.kind == T.ERROR:
            raise ParseError(None)
        j = self.i
        while self.toks[j].kind not in (T.NEWLINE, T.EOF):
            j += 1
        last = self.toks[j - 1]
        span = Span(tok.start, last.end)
        raise self.error(
            "E0106",
            f"unexpected {describe(tok)} after the end of the statement",
            span,
            label="one statement per line",
            fixes=(Fix.replace("Remove the extra tokens", Span(self.toks[self.i - 1].end, last.end), ""),),
        )

    def sync_line(self) -> None:
        """Skip to just after the end of the current line."""
        while True:
            tok = self.peek()
            if tok.kind == T.EOF:
                return
            if tok.kind == T.NEWLINE:
                self.advance()
                return
            if tok.kind in (T.INDENT, T.DEDENT):
                # never inside a line; stop so block structure stays intact
                return
            self.advance()

    def skip_block(self) -> int:
        """Skip an INDENT … DEDENT block; returns the offset where it ends."""
        depth = 0
        end = self.peek().start
        while True:
            tok = self.peek()
            if tok.kind == T.EOF:
                return end
            self.advance()
            if tok.kind == T.INDENT:
                depth += 1
            elif tok.kind == T.DEDENT:
                depth -= 1
                if depth == 0:
                    return end
            elif tok.kind == T.NEWLINE:
                end = tok.start
            if depth == 0:
                return end

    def line_span(self, start_tok: Token) -> Span:
        """Span from ``start_tok`` to the last token before the current one."""
        prev = self.toks[self.i - 1] if self.i > 0 else start_tok
        end = prev.end if prev.kind != T.NEWLINE else prev.start
        return Span(start_tok.start, max(end, start_tok.end))

    # ------------------------------------------------------------ program
    def parse_program(self) -> A.Program:
        body = self.parse_statements(_TOP)
        while self.peek().kind != T.EOF:  # stray DEDENT cannot happen, but be safe
            self.advance()
            body.extend(self.parse_statements(_TOP))
        return A.Program(tuple(body), Span(0, len(self.source.text)))

    def parse_statements(self, context: str) -> list[A.Stmt]:
        out: list[A.Stmt] = []
        while True:
            tok = self.peek()
            kind = tok.kind
            if kind == T.EOF or kind == T.DEDENT:
                return out
            if kind == T.NEWLINE:
                self.advance()
                continue
            if kind == T.INDENT:
                self.diags.append(
                    Diagnostic(
                        "E0003",
                        "unexpected indentation",
                        Span(self.source.line_start(self.source.position(tok.start).line), tok.start),
                        label="this line is indented but the line before does not open a block",
                        helps=("remove the indentation, or put the line inside a block header such as `if` or `loop`",),
                    )
                )
                start = tok.start
                end = self.skip_block()
                out.append(A.ErrorStmt(Span(start, end)))
                continue
            out.append(self.parse_statement(context))

    def parse_statement(self, context: str) -> A.Stmt:
        first = self.peek()
        try:
            return self.statement(context)
        except ParseError as exc:
            if exc.diagnostic is not None:
                self.diags.append(exc.diagnostic)
            self.sync_line()
            end = self.toks[self.i - 1].start if self.i > 0 else first.end
            if self.peek().kind == T.INDENT:
                end = self.skip_block()
            return A.ErrorStmt(Span(first.start, max(end, first.end)))

    def parse_block(self, header: Token, what: str) -> tuple[tuple[A.Stmt, ...], int]:
        """After a header line's NEWLINE: parse the indented body of ``what``.

        Returns the statements and the offset just after the body.
        """
        context = what
        tok = self.peek()
        if tok.kind != T.INDENT:
            self.diags.append(
                Diagnostic(
                    "E0102",
                    f"expected an indented block after `{header.text}`",
                    Span(header.start, header.end),
                    label="this line opens a block",
                    helps=("indent the body by 4 spaces",),
                )
            )
            return (), self.toks[self.i - 1].start
        if self.block_depth >= MAX_BLOCK_DEPTH:
            self.diags.append(
                Diagnostic(
                    "E0108",
                    f"blocks nested more than {MAX_BLOCK_DEPTH} levels deep",
                    Span(header.start, header.end),
                    label="too deep",
                    helps=("move the inner code into a function",),
                )
            )
            return (), self.skip_block()
        self.advance()
        self.block_depth += 1
        try:
            body = self.parse_statements(context)
        finally:
            self.block_depth -= 1
        end = self.toks[self.i - 1].start if self.i > 0 else tok.start
        if self.peek().kind == T.DEDENT:
            self.advance()
        return tuple(body), end

    # ---------------------------------------------------------- statements
    def statement(self, context: str) -> A.Stmt:
        tok = self.peek()
        if context in (_PROPS, _ROWS):
            return self.property_line(context)
        if tok.kind == T.KEYWORD:
            handler = _STATEMENTS.get(tok.text)
            if handler is None:
                raise self.error(
                    "E0100",
                    f"a statement cannot start with keyword `{tok.text}`",
                    Span(tok.start, tok.end),
                    label="unexpected keyword",
                )
            return handler(self, context)
        if tok.kind == T.NAME:
            return self.name_statement(context)
        raise self.unexpected("a statement")

    def _require_top(self, tok: Token, context: str, what: str) -> None:
        if context != _TOP:
            raise self.error(
                "E0112",
                f"{what} can only be declared at the top level",
                Span(tok.start, tok.end),
                label="inside a block",
                helps=("move the declaration out of the block",),
            )

    def typo_error(self, tok: Token, suggestion: str) -> ParseError:
        return self.error(
            "E0101",
            f"unknown statement `{tok.text}`",
            Span(tok.start, tok.end),
            label="not a keyword",
            helps=(f"did you mean `{suggestion}`?",),
            fixes=(Fix.replace(f"Change to `{suggestion}`", Span(tok.start, tok.end), suggestion),),
        )

    def name_statement(self, context: str) -> A.Stmt:
        tok = self.advance()
        name = A.Name(tok.text, Span(tok.start, tok.end))
        nxt = self.peek()
        if nxt.kind == T.OP and nxt.text == "=":
            self.advance()
            value = self.parse_expr()
            self.end_of_line()
            return A.Assign(name, value, self.stmt_span(tok, value))
        if nxt.kind == T.OP and nxt.text == "(" and nxt.start == tok.end:
            self.i -= 1
            expr = self.parse_expr()
            self.end_of_line()
            return A.ExprStmt(expr, Span(tok.start, _span(expr).end))
        if nxt.kind in (T.NEWLINE, T.EOF):
            keyword = closest(tok.text, STATEMENT_KEYWORDS)
            if keyword is not None:
                raise self.typo_error(tok, keyword)
            raise self.error(
                "E0100",
                f"expected a value after `{tok.text}`",
                Span(tok.start, tok.end),
                label="a name alone is not a statement",
                helps=(
                    f"declare with `{tok.text} VALUE`, assign with `{tok.text} = VALUE`, or show it with `print {tok.text}`",
                ),
            )
        if nxt.kind == T.OP and nxt.text == "==":
            raise self.error(
                "E0100",
                "expected a statement, found a comparison",
                Span(nxt.start, nxt.end),
                label="`==` compares",
                helps=("use `=` to assign",),
                fixes=(Fix.replace("Use `=`", Span(nxt.start, nxt.end), "="),),
            )
        decl_value: A.Expr | None = None
        try:
            decl_value = self.parse_expr()
            self.end_of_line()
        except ParseError as exc:
            keyword = closest(tok.text, STATEMENT_KEYWORDS)
            if keyword is not None:
                raise self.typo_error(tok, keyword) from None
            if nxt.kind == T.ERROR and nxt.start == tok.end:
                raise  # the name itself is broken (`größe 3`): declare nothing
            # Keep the declaration (with an ErrorExpr value when the value itself is
            # broken) so later uses of the name are not reported as undefined.
            if exc.diagnostic is not None:
                self.diags.append(exc.diagnostic)
            self.sync_line()
            if decl_value is None:
                end = max(self.toks[self.i - 1].start, nxt.end)
                decl_value = A.ErrorExpr(Span(nxt.start, end))
            if self.peek().kind == T.INDENT:
                self.skip_block()  # a block under a broken line was reported with it
            return A.VarDecl(name, decl_value, self.stmt_span(tok, decl_value))
        if self.peek().kind == T.INDENT:
            keyword = closest(tok.text, STATEMENT_KEYWORDS)
            if keyword is not None:
                raise self.typo_error(tok, keyword)
        assert decl_value is not None
        return A.VarDecl(name, decl_value, self.stmt_span(tok, decl_value))

    def stmt_span(self, first: Token, last: A.Expr | A.Name | Token) -> Span:
        end = last.end if isinstance(last, Token) else _span(last).end
        return Span(first.start, end)

    def property_line(self, context: str) -> A.Stmt:
        tok = self.peek()
        if tok.kind == T.KEYWORD:
            raise self.error(
                "E0112",
                f"`{tok.text}` statements cannot appear inside this block",
                Span(tok.start, tok.end),
                label="only `KEY value…` lines belong here"
                if context == _PROPS
                else "only `input v1 v2 …` rows belong here",
                helps=("dedent the line to end the block first",),
            )
        if tok.kind != T.NAME:
            raise self.unexpected("a property name" if context == _PROPS else "`input`")
        self.advance()
        key = A.Name(tok.text, Span(tok.start, tok.end))
        if context == _ROWS and tok.text != "input":
            # raised before the line is consumed, so recovery skips only this line
            raise self.error(
                "E0112",
                f"expected an `input` row, found `{tok.text}`",
                key.span,
                label="rows of an infer block start with `input`",
                fixes=(Fix.replace("Change to `input`", key.span, "input"),)
                if closest(tok.text, ["input"])
                else (),
            )
        values = self.property_values()
        end = _span(values[-1]).end if values else key.span.end
        self.end_of_line()
        if context == _ROWS:
            return A.InferRow(values, Span(tok.start, end))
        body: tuple[A.Property, ...] = ()
        if self.peek().kind == T.INDENT:  # a block of property lines (`residual`, `repeat`)
            lines, _ = self.parse_block(tok, _PROPS)
            body = _props(lines)
        return A.Property(key, values, Span(tok.start, end), body)

    def property_values(self) -> tuple[A.Expr, ...]:
        values: list[A.Expr] = []
        while True:
            tok = self.peek()
            kind = tok.kind
            if kind in (T.NEWLINE, T.EOF):
                return tuple(values)
            if kind == T.OP and tok.text in _BINARY_PREC and not (tok.text == "-" and self._unary_minus_here()):
                if values:
                    # Report, then read the rest as one expression value so the
                    # property survives (no knock-on "missing property" errors).
                    values[-1] = self.parse_expr(1, values[-1])
                    first, last = _span(values[-1]).start, _span(values[-1]).end
                    self.diags.append(
                        Diagnostic(
                            "E0100",
                            f"operator `{tok.text}` between property values",
                            Span(tok.start, tok.end),
                            label="values are separated by spaces",
                            helps=("wrap an expression in parentheses to use it as one value",),
                            fixes=(
                                Fix(
                                    "Wrap in parentheses",
                                    (TextEdit(Span(first, first), "("), TextEdit(Span(last, last), ")")),
                                ),
                            ),
                        )
                    )
                    continue
            if kind == T.KEYWORD and tok.text in ("and", "or"):
                raise self.unexpected("a value")
            self.values_mode = True
            try:
                values.append(self.parse_prefix())
            finally:
                self.values_mode = False

    def _unary_minus_here(self) -> bool:
        """A ``-`` directly attached to the next token (``-1``) starts a value."""
        tok = self.peek()
        nxt = self.peek(1)
        return nxt.start == tok.end and nxt.kind not in (T.NEWLINE, T.EOF)

    # -- keyword statements
    def parse_print(self, context: str) -> A.Stmt:
        tok = self.advance()
        args: list[A.Expr] = []
        if self.peek().kind not in (T.NEWLINE, T.EOF):
            args.append(self.parse_expr())
            while self.peek().is_op(","):
                self.advance()
                args.append(self.parse_expr())
        self.end_of_line()
        end = _span(args[-1]).end if args else tok.end
        return A.Print(tuple(args), Span(tok.start, end))

    def parse_fn(self, context: str) -> A.Stmt:
        tok = self.advance()
        self._require_top(tok, context, "functions")
        name = self.expect_name("a function name")
        self.expect_op("(", "`(` and the parameter list")
        params: list[A.Name] = []
        if not self.peek().is_op(")"):
            params.append(self.expect_name("a parameter name"))
            while self.peek().is_op(","):
                self.advance()
                params.append(self.expect_name("a parameter name"))
        close = self.expect_op(")", "`,` or `)`")
        self.end_of_line()
        body, _ = self.parse_block(tok, _FN)
        return A.FnDef(name, tuple(params), body, Span(tok.start, close.end))

    def parse_return(self, context: str) -> A.Stmt:
        tok = self.advance()
        value = None
        if self.peek().kind not in (T.NEWLINE, T.EOF):
            value = self.parse_expr()
        self.end_of_line()
        return A.Return(value, Span(tok.start, _span(value).end if value else tok.end))

    def inner_context(self, context: str) -> str:
        return _FN if context == _FN else _BLOCK

    def parse_loop(self, context: str) -> A.Stmt:
        tok = self.advance()
        count = self.parse_expr()
        self.end_of_line()
        body, _ = self.parse_block(tok, self.inner_context(context))
        return A.Loop(count, body, Span(tok.start, _span(count).end))

    def parse_for(self, context: str) -> A.Stmt:
        tok = self.advance()
        var = self.expect_name("a loop variable")
        self.expect_keyword("in")
        first = self.parse_expr()
        start: A.Expr | None = None
        end = first
        if self.peek().is_op(".."):
            self.advance()
            start, end = first, self.parse_expr()
        self.end_of_line()
        body, _ = self.parse_block(tok, self.inner_context(context))
        return A.For(var, start, end, body, Span(tok.start, _span(end).end))

    def parse_if(self, context: str) -> A.Stmt:
        tok = self.advance()
        inner = self.inner_context(context)
        cond = self.header_condition(tok)
        body, _ = self.parse_block(tok, inner)
        branches = [A.IfBranch(cond, body, Span(tok.start, _span(cond).end), "if")]
        orelse: tuple[A.Stmt, ...] | None = None
        else_span: Span | None = None
        while True:
            nxt = self.peek()
            if nxt.is_keyword("elif"):
                self.advance()
                c = self.header_condition(nxt)
                b, _ = self.parse_block(nxt, inner)
                branches.append(A.IfBranch(c, b, Span(nxt.start, _span(c).end), "elif"))
                continue
            if nxt.is_keyword("else"):
                self.advance()
                else_span = Span(nxt.start, nxt.end)
                try:
                    self.end_of_line()
                except ParseError as exc:
                    if exc.diagnostic is not None:
                        self.diags.append(exc.diagnostic)
                    self.sync_line()
                orelse, _ = self.parse_block(nxt, inner)
            break
        return A.If(tuple(branches), orelse, else_span, Span(tok.start, _span(cond).end))

    def header_condition(self, keyword: Token) -> A.Expr:
        """The condition of an `if`/`elif` header. On a syntax error the
        error is recorded and the block is still parsed, so the branches
        that follow are not reported as orphans."""
        try:
            cond = self.parse_expr()
            self.end_of_line()
            return cond
        except ParseError as exc:
            if exc.diagnostic is not None:
                self.diags.append(exc.diagnostic)
            self.sync_line()
            return A.ErrorExpr(Span(keyword.start, keyword.end))

    def parse_elif(self, context: str) -> A.Stmt:
        """``elif``/``else`` reached as a statement: ``parse_if`` consumes them after an ``if``."""
        tok = self.advance()
        raise self.error(
            "E0107",
            f"`{tok.text}` without a preceding `if`",
            Span(tok.start, tok.end),
            label="no `if` block directly above at this indentation",
            helps=("`elif` and `else` must follow an `if` block at the same indentation",),
        )

    parse_else = parse_elif

    def parse_model(self, context: str) -> A.Stmt:
        tok = self.advance()
        self._require_top(tok, context, "models")
        name = self.expect_name("a model name")
        self.end_of_line()
        props, end = self.parse_block(tok, _PROPS)
        return A.ModelDef(name, _props(props), Span(tok.start, name.span.end), end)

    def parse_dataset(self, context: str) -> A.Stmt:
        tok = self.advance()
        self._require_top(tok, context, "datasets")
        name = self.expect_name("a dataset name")
        self.end_of_line()
        props, end = self.parse_block(tok, _PROPS)
        return A.DatasetDef(name, _props(props), Span(tok.start, name.span.end), end)

    def model_and_data(self, tok: Token) -> tuple[A.Name, A.Name | None]:
        model = self.expect_name("a model name")
        nxt = self.peek()
        if nxt.is_keyword("on"):
            self.advance()
            return model, self.expect_name("a dataset name")
        if nxt.kind == T.NAME:
            self.advance()
            self.diags.append(
                Diagnostic(
                    "E0105",
                    f"expected `on` between the model and the dataset in `{tok.text}`",
                    Span(nxt.start, nxt.end),
                    label="missing `on` before this dataset",
                    helps=(f"write `{tok.text} {model.id} on {nxt.text}`",),
                    fixes=(Fix("Insert `on`", (TextEdit(Span(nxt.start, nxt.start), "on "),)),),
                )
            )
            return model, A.Name(nxt.text, Span(nxt.start, nxt.end))
        if nxt.kind in (T.NEWLINE, T.EOF):
            return model, None  # the checker reports it with a fix naming a dataset
        raise self.unexpected("`on`")

    def parse_train(self, context: str) -> A.Stmt:
        tok = self.advance()
        model, data = self.model_and_data(tok)
        span = Span(tok.start, (data or model).span.end)
        self.end_of_line()
        props: tuple[A.Stmt, ...] = ()
        if self.peek().kind == T.INDENT:
            props, _ = self.parse_block(tok, _PROPS)
        return A.Train(model, data, _props(props), span)

    def parse_evaluate(self, context: str) -> A.Stmt:
        tok = self.advance()
        model, data = self.model_and_data(tok)
        span = Span(tok.start, (data or model).span.end)
        self.end_of_line()
        return A.Evaluate(model, data, span)

    def parse_infer(self, context: str) -> A.Stmt:
        tok = self.advance()
        model = self.expect_name("a model name")
        if self.peek().is_keyword("on"):
            self.advance()
            src = self.parse_expr()
            dest: A.Expr | None = None
            if self.peek().is_keyword("as"):  # without `as`, the predictions are printed
                self.advance()
                dest = self.parse_expr()
            self.end_of_line()
            return A.Infer(model, (), src, dest, Span(tok.start, _span(dest if dest is not None else src).end))
        self.end_of_line()
        rows, _ = self.parse_block(tok, _ROWS)
        return A.Infer(model, tuple(r for r in rows if isinstance(r, A.InferRow)), None, None, Span(tok.start, model.span.end))

    def parse_save(self, context: str) -> A.Stmt:
        tok = self.advance()
        model = self.expect_name("a model name")
        self.expect_keyword("as")
        path = self.parse_expr()
        with_opt = False
        end = _span(path).end
        nxt = self.peek()
        if nxt.kind == T.NAME and nxt.text == "with":
            self.advance()
            opt = self.peek()
            if not (opt.kind == T.NAME and opt.text == "optimizer"):
                raise self.unexpected("`optimizer`")
            self.advance()
            with_opt, end = True, opt.end
        self.end_of_line()
        return A.Save(model, path, with_opt, Span(tok.start, end))

    def parse_load(self, context: str) -> A.Stmt:
        tok = self.advance()
        model = self.expect_name("a model name")
        self.expect_keyword("from")
        path = self.parse_expr()
        self.end_of_line()
        return A.Load(model, path, Span(tok.start, _span(path).end))

    def parse_import(self, context: str) -> A.Stmt:
        tok = self.advance()
        path = self.parse_expr()
        self.expect_keyword("as")
        name = self.expect_name("a model name")
        end = name.span.end
        options: list[A.Property] = []
        nxt = self.peek()
        if nxt.kind == T.NAME and nxt.text == "with":
            self.advance()
            while self.peek().kind not in (T.NEWLINE, T.EOF):
                key = self.expect_name("an option name")
                value = self.parse_prefix()
                options.append(A.Property(key, (value,), key.span.to(_span(value))))
                end = _span(value).end
            if not options:
                raise self.unexpected("an option such as `batch 1`")
        self.end_of_line()
        return A.Import(path, name, tuple(options), Span(tok.start, end))

    def parse_export(self, context: str) -> A.Stmt:
        tok = self.advance()
        model = self.expect_name("a model name")
        self.expect_keyword("as")
        path = self.parse_expr()
        self.end_of_line()
        return A.Export(model, path, Span(tok.start, _span(path).end))

    def parse_inspect(self, context: str) -> A.Stmt:
        tok = self.advance()
        model = self.expect_name("a model name")
        self.end_of_line()
        return A.Inspect(model, Span(tok.start, model.span.end))

    # --------------------------------------------------------- expressions
    def too_deep(self, tok: Token) -> ParseError:
        return self.error(
            "E0104",
            f"expression nested more than {MAX_EXPR_DEPTH} levels deep",
            Span(tok.start, tok.end),
            label="too deep",
            helps=("split the expression using intermediate variables",),
        )

    def parse_expr(self, min_prec: int = 1, left: A.Expr | None = None) -> A.Expr:
        """Precedence climbing. With ``left`` given, continue an expression
        whose first operand was already parsed (used by property values)."""
        self.expr_depth += 1
        folds = 0
        try:
            if self.expr_depth > MAX_EXPR_DEPTH:
                tok = self.peek()
                raise self.error(
                    "E0104",
                    f"expression nested more than {MAX_EXPR_DEPTH} levels deep",
                    Span(tok.start, tok.end),
                    label="too deep",
                    helps=("split the expression using intermediate variables",),
                )
            if left is None:
                left = self.parse_prefix(min_prec)
            while True:
                tok = self.peek()
                if tok.kind == T.OP or (tok.kind == T.KEYWORD and tok.text in ("and", "or")):
                    prec = _BINARY_PREC.get(tok.text)
                else:
                    prec = None
                if prec is None or prec < min_prec:
                    return left
                folds += 1
                self.chain += 1
                if self.chain > MAX_OPERATOR_CHAIN:
                    raise self.error(
                        "E0104",
                        f"expression has more than {MAX_OPERATOR_CHAIN} chained operators",
                        Span(tok.start, tok.end),
                        label="too long",
                        helps=("split the expression using intermediate variables",),
                    )
                self.advance()
                right = self.parse_expr(prec + 1)
                if prec == _COMPARISON and self.peek().text in _BINARY_PREC and _BINARY_PREC[self.peek().text] == _COMPARISON and self.peek().kind == T.OP:
                    nxt = self.peek()
                    raise self.error(
                        "E0103",
                        "comparisons cannot be chained",
                        Span(nxt.start, nxt.end),
                        label="second comparison",
                        helps=(
                            f"write `a {tok.text} b and b {nxt.text} c` to test both",
                        ),
                    )
                left = A.Binary(tok.text, left, right, _span(left).to(_span(right)), Span(tok.start, tok.end))
        finally:
            self.expr_depth -= 1
            self.chain -= folds

    def parse_prefix(self, min_prec: int = 1) -> A.Expr:
        tok = self.peek()
        if tok.kind == T.KEYWORD and tok.text == "not":
            if min_prec > _NOT_PREC:
                raise self.error(
                    "E0100",
                    "`not` must be parenthesised here",
                    Span(tok.start, tok.end),
                    label="`not` binds looser than this operator",
                    helps=("write `(not x)`",),
                )
            self.advance()
            negated = self.parse_expr(_NOT_PREC)
            return A.Unary("not", negated, Span(tok.start, _span(negated).end), Span(tok.start, tok.end))
        if tok.kind == T.OP and tok.text == "-":
            minus: list[Token] = []
            while self.peek().is_op("-"):
                minus.append(self.advance())
                if self.expr_depth + len(minus) > MAX_EXPR_DEPTH:
                    raise self.too_deep(minus[-1])
            nxt = self.peek()
            operand: A.Expr
            if nxt.kind == T.INT and nxt.value == INT_MAX + 1:
                self.advance()
                last = minus.pop()
                operand = A.Number(-(INT_MAX + 1), Span(last.start, nxt.end))
            else:
                operand = self.parse_postfix()
            for m in reversed(minus):
                operand = A.Unary("-", operand, Span(m.start, _span(operand).end), Span(m.start, m.end))
            return operand
        return self.parse_postfix()

    def parse_postfix(self) -> A.Expr:
        expr = self.parse_primary()
        chain = 0
        while True:
            tok = self.peek()
            if tok.kind != T.OP:
                return expr
            chain += 1
            if tok.text in (".", "(") and self.expr_depth + chain > MAX_EXPR_DEPTH:
                # each member access/call nests the AST one level deeper
                raise self.too_deep(tok)
            if tok.text == ".":
                self.advance()
                name = self.peek()
                if name.kind not in (T.NAME, T.KEYWORD):
                    raise self.unexpected("a member name after `.`")
                self.advance()
                expr = A.Member(expr, name.text, Span(name.start, name.end), Span(_span(expr).start, name.end))
            elif tok.text == "(":
                if self.values_mode and tok.start != _span(expr).end:
                    return expr  # the next property value
                if not isinstance(expr, A.Name):
                    raise self.error(
                        "E0100",
                        "only functions can be called",
                        Span(tok.start, tok.end),
                        label="call on something that is not a function name",
                    )
                expr = self.parse_call(expr)
            else:
                return expr

    def parse_call(self, callee: A.Name) -> A.Expr:
        open_tok = self.advance()
        outer_mode, self.values_mode = self.values_mode, False
        try:
            return self._call_args(callee, open_tok)
        finally:
            self.values_mode = outer_mode

    def _call_args(self, callee: A.Name, open_tok: Token) -> A.Expr:
        args: list[A.Expr] = []
        self.expr_depth += 1
        try:
            if self.expr_depth > MAX_EXPR_DEPTH:
                raise self.error(
                    "E0104",
                    f"expression nested more than {MAX_EXPR_DEPTH} levels deep",
                    Span(open_tok.start, open_tok.end),
                    label="too deep",
                    helps=("split the expression using intermediate variables",),
                )
            if not self.peek().is_op(")"):
                args.append(self.parse_expr())
                while self.peek().is_op(","):
                    self.advance()
                    args.append(self.parse_expr())
            close = self.peek()
            if not close.is_op(")"):
                raise self.unclosed(open_tok, close)
            self.advance()
        finally:
            self.expr_depth -= 1
        return A.Call(callee, tuple(args), Span(callee.span.start, close.end))

    def unclosed(self, open_tok: Token, at: Token) -> ParseError:
        if at.kind == T.ERROR:
            return ParseError(None)
        if at.kind in (T.NEWLINE, T.EOF):
            return ParseError(
                Diagnostic(
                    "E0110",
                    "unclosed parenthesis",
                    Span(open_tok.start, open_tok.end),
                    label="this `(` is never closed",
                    helps=("expressions end at the end of the line",),
                    fixes=(Fix("Close the parenthesis", (TextEdit(Span(at.start, at.start), ")"),)),),
                )
            )
        return self.unexpected("`)`", at)

    def parse_primary(self) -> A.Expr:
        tok = self.peek()
        kind = tok.kind
        if kind == T.INT:
            self.advance()
            if tok.value == INT_MAX + 1:
                raise self.error(
                    "E0007",
                    "integer literal out of range",
                    Span(tok.start, tok.end),
                    label="does not fit in a 64-bit integer",
                    helps=(f"the largest integer is {INT_MAX}",),
                )
            return A.Number(tok.value, Span(tok.start, tok.end))  # type: ignore[arg-type]
        if kind == T.FLOAT:
            self.advance()
            return A.Number(tok.value, Span(tok.start, tok.end))  # type: ignore[arg-type]
        if kind == T.STRING:
            self.advance()
            return A.String(tok.value, Span(tok.start, tok.end))  # type: ignore[arg-type]
        if kind == T.NAME:
            self.advance()
            name = A.Name(tok.text, Span(tok.start, tok.end))
            nxt = self.peek()
            if nxt.is_op("(") and (not self.values_mode or nxt.start == tok.end):
                return self.parse_call(name)
            return name
        if kind == T.KEYWORD and tok.text in ("true", "false"):
            self.advance()
            return A.Bool(tok.text == "true", Span(tok.start, tok.end))
        if kind == T.OP and tok.text == "(":
            self.advance()
            outer_mode, self.values_mode = self.values_mode, False
            try:
                inner = self.parse_expr()
            finally:
                self.values_mode = outer_mode
            close = self.peek()
            if not close.is_op(")"):
                raise self.unclosed(tok, close)
            self.advance()
            return inner
        if kind == T.KEYWORD and tok.text not in ("and", "or", "not", "in", "on", "as", "from"):
            raise self.error(
                "E0109",
                f"keyword `{tok.text}` cannot be used as a value",
                Span(tok.start, tok.end),
                label="this is a keyword",
            )
        raise self.unexpected("an expression", code="E0111")


def _span(node: object) -> Span:
    return node.span  # type: ignore[attr-defined]


def _props(stmts: tuple[A.Stmt, ...]) -> tuple[A.Property, ...]:
    return tuple(s for s in stmts if isinstance(s, A.Property))


#: ``keyword → parser`` for every statement keyword: ``Parser.parse_<keyword>``.
_STATEMENTS = {kw: getattr(Parser, f"parse_{kw}") for kw in STATEMENT_KEYWORDS}


def parse(source: Source, magics: bool = False) -> ParseResult:
    """Lex and parse ``source``; never raises. Diagnostics are in source order.
    ``magics``: notebook content, whose ``%`` lines are kernel magics (:func:`tokenize`)."""
    lex = tokenize(source, magics)
    parser = Parser(source, lex)
    program = parser.parse_program()
    diags = sorted(lex.diagnostics + parser.diags, key=lambda d: (d.span.start, d.span.end))
    return ParseResult(program, diags, lex)
