"""Parser tests (SPEC §2): statement forms, precedence, spans."""

from __future__ import annotations

import pytest

from volta_core.syntax import ast as A
from volta_core.syntax.source import Source

from .helpers import codes, only, parsed, snippet


def body(text: str) -> tuple[A.Stmt, ...]:
    res = parsed(text)
    assert res.diagnostics == [], [(d.code, d.message) for d in res.diagnostics]
    return res.program.body


def expr(src: str) -> A.Expr:
    (stmt,) = body(f"x {src}")
    assert isinstance(stmt, A.VarDecl)
    return stmt.value


def sexp(node: A.Expr) -> str:
    """A fully parenthesised rendering that makes the tree shape visible."""
    if isinstance(node, A.Number):
        return repr(node.value)
    if isinstance(node, A.Bool):
        return "true" if node.value else "false"
    if isinstance(node, A.String):
        return repr(node.value)
    if isinstance(node, A.Name):
        return node.id
    if isinstance(node, A.Unary):
        return f"({node.op} {sexp(node.operand)})"
    if isinstance(node, A.Binary):
        return f"({sexp(node.left)} {node.op} {sexp(node.right)})"
    if isinstance(node, A.Call):
        return f"{node.callee.id}[{', '.join(sexp(a) for a in node.args)}]"
    if isinstance(node, A.Member):
        return f"{sexp(node.obj)}.{node.name}"
    raise AssertionError(node)


# --------------------------------------------------------- statement forms


@pytest.mark.parametrize(
    ("text", "node"),
    [
        ("lr 0.001", A.VarDecl),
        ("lr = lr * 0.5", A.Assign),
        ('print "lr is", lr', A.Print),
        ("print", A.Print),
        ("f(1, 2)", A.ExprStmt),
        ("fn double(x)\n    return x * 2", A.FnDef),
        ("loop 3\n    print 1", A.Loop),
        ("for i in 0..3\n    print i", A.For),
        ("for i in 3\n    print i", A.For),
        ("if a\n    print 1\nelif b\n    print 2\nelse\n    print 3", A.If),
        ("model brain\n    layers 784 256 10\n    activation relu", A.ModelDef),
        ('dataset d\n    type csv\n    source "d.csv"', A.DatasetDef),
        ("train brain on digits", A.Train),
        ("train brain on digits\n    epochs 3\n    lr 0.01", A.Train),
        ("train brain", A.Train),
        ("evaluate brain on digits", A.Evaluate),
        ("infer brain\n    input 1 2\n    input 3 4", A.Infer),
        ('infer brain on "in.csv" as "out.csv"', A.Infer),
        ('save brain as "b.safetensors"', A.Save),
        ('save brain as "b.safetensors" with optimizer', A.Save),
        ('load brain from "b.safetensors"', A.Load),
        ('import "m.onnx" as net', A.Import),
        ('import "m.onnx" as net with batch 1', A.Import),
        ('export brain as "b.onnx"', A.Export),
        ("inspect brain", A.Inspect),
    ],
)
def test_statement_forms(text: str, node: type) -> None:
    (stmt,) = body(text)
    assert isinstance(stmt, node)


def test_declaration_and_assignment_fields() -> None:
    decl, assign = body("lr 0.001\nlr = lr * 0.5")
    assert isinstance(decl, A.VarDecl) and decl.name.id == "lr"
    assert isinstance(decl.value, A.Number) and decl.value.value == 0.001
    assert isinstance(assign, A.Assign) and sexp(assign.value) == "(lr * 0.5)"


def test_print_arguments() -> None:
    (stmt,) = body('print "lr is", lr, 1 + 2')
    assert isinstance(stmt, A.Print)
    assert [sexp(a) for a in stmt.args] == ["'lr is'", "lr", "(1 + 2)"]


def test_fn_def() -> None:
    (fn,) = body("fn add(a, b)\n    s a + b\n    return s")
    assert isinstance(fn, A.FnDef)
    assert fn.name.id == "add" and [p.id for p in fn.params] == ["a", "b"]
    assert [type(s) for s in fn.body] == [A.VarDecl, A.Return]
    assert fn.span == A.Span(0, len("fn add(a, b)")) if hasattr(A, "Span") else True


def test_fn_without_params_and_bare_return() -> None:
    (fn,) = body("fn f()\n    return")
    assert isinstance(fn, A.FnDef) and fn.params == ()
    (ret,) = fn.body
    assert isinstance(ret, A.Return) and ret.value is None


def test_for_range_forms() -> None:
    a, b = body("for i in 0..3\n    print i\nfor j in n\n    print j")
    assert isinstance(a, A.For) and isinstance(b, A.For)
    assert a.var.id == "i" and sexp(a.start) == "0" and sexp(a.end) == "3"  # type: ignore[arg-type]
    assert b.start is None and sexp(b.end) == "n"


def test_if_elif_else_structure() -> None:
    (stmt,) = body("if a\n    print 1\nelif b\n    print 2\nelif c\n    print 3\nelse\n    print 4")
    assert isinstance(stmt, A.If)
    assert [br.keyword for br in stmt.branches] == ["if", "elif", "elif"]
    assert [sexp(br.cond) for br in stmt.branches] == ["a", "b", "c"]
    assert stmt.orelse is not None and len(stmt.orelse) == 1
    assert stmt.else_span is not None


def test_if_without_else() -> None:
    (stmt,) = body("if a\n    print 1")
    assert isinstance(stmt, A.If) and stmt.orelse is None and stmt.else_span is None


def test_model_properties() -> None:
    text = "model tiny\n    input tokens 32\n    layer embedding 512 64\n    layer transformer 4 128 causal\n    loss cross_entropy"
    (m,) = body(text)
    assert isinstance(m, A.ModelDef) and m.name.id == "tiny"
    assert [p.key.id for p in m.props] == ["input", "layer", "layer", "loss"]
    assert [sexp(v) for v in m.props[2].values] == ["transformer", "4", "128", "causal"]
    assert m.body_end == len(text)


def test_property_values_allow_negative_numbers_and_parentheses() -> None:
    (m,) = body("model m\n    layers 2 -1 (3 + 4) n.x f(2)")
    assert isinstance(m, A.ModelDef)
    assert [sexp(v) for v in m.props[0].values] == ["2", "(- 1)", "(3 + 4)", "n.x", "f[2]"]


def test_dataset_properties() -> None:
    (d,) = body('dataset digits\n    type csv\n    source "data/digits.csv"\n    batch 64\n    shuffle true')
    assert isinstance(d, A.DatasetDef)
    assert {p.key.id: [sexp(v) for v in p.values] for p in d.props} == {
        "type": ["csv"], "source": ["'data/digits.csv'"], "batch": ["64"], "shuffle": ["true"],
    }


def test_train_fields() -> None:
    (t,) = body("train brain on digits\n    epochs 3")
    assert isinstance(t, A.Train)
    assert t.model.id == "brain" and t.dataset is not None and t.dataset.id == "digits"
    assert [p.key.id for p in t.props] == ["epochs"]
    (t2,) = body("train brain")
    assert isinstance(t2, A.Train) and t2.dataset is None


def test_infer_rows_and_file_form() -> None:
    rows, files = body('infer m\n    input 1 2\n    input 3 -4\ninfer m on "a.csv" as "b.csv"')
    assert isinstance(rows, A.Infer) and isinstance(files, A.Infer)
    assert [[sexp(v) for v in r.values] for r in rows.rows] == [["1", "2"], ["3", "(- 4)"]]
    assert files.rows == () and sexp(files.source) == "'a.csv'" and sexp(files.dest) == "'b.csv'"  # type: ignore[arg-type]


def test_save_load_import_export_fields() -> None:
    s1, s2, ld, im, ex = body(
        'save m as "a"\nsave m as "a" with optimizer\nload m from "a"\nimport "x.onnx" as n with batch 1\nexport m as "y"'
    )
    assert isinstance(s1, A.Save) and not s1.with_optimizer
    assert isinstance(s2, A.Save) and s2.with_optimizer
    assert isinstance(ld, A.Load) and ld.model.id == "m"
    assert isinstance(im, A.Import) and im.name.id == "n" and [o.key.id for o in im.options] == ["batch"]
    assert isinstance(ex, A.Export) and sexp(ex.path) == "'y'"


def test_member_with_keyword_name() -> None:
    assert sexp(expr("m.loss")) == "m.loss"


# --------------------------------------------------------------- precedence


@pytest.mark.parametrize(
    ("src", "tree"),
    [
        ("a or b and c", "(a or (b and c))"),
        ("a and b or c", "((a and b) or c)"),
        ("not a and b", "((not a) and b)"),
        ("not a or b", "((not a) or b)"),
        ("not a == b", "(not (a == b))"),
        ("not not a", "(not (not a))"),
        ("a == b and c != d", "((a == b) and (c != d))"),
        ("a < b + c", "(a < (b + c))"),
        ("a + b < c * d", "((a + b) < (c * d))"),
        ("a + b * c", "(a + (b * c))"),
        ("a * b + c", "((a * b) + c)"),
        ("a - b - c", "((a - b) - c)"),
        ("a / b / c", "((a / b) / c)"),
        ("a % b * c", "((a % b) * c)"),
        ("-a * b", "((- a) * b)"),
        ("a * -b", "(a * (- b))"),
        ("- - a", "(- (- a))"),
        ("-f(x)", "(- f[x])"),
        ("-m.loss", "(- m.loss)"),
        ("f(a + b, -c)", "f[(a + b), (- c)]"),
        ("(a + b) * c", "((a + b) * c)"),
        ("m.loss * 2", "(m.loss * 2)"),
        ("f(x).y", "f[x].y"),
        ("a >= 1 or not b <= 2", "((a >= 1) or (not (b <= 2)))"),
        ("1 - -2", "(1 - (- 2))"),
    ],
)
def test_precedence(src: str, tree: str) -> None:
    assert sexp(expr(src)) == tree


@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">="])
def test_comparisons_do_not_chain(op: str) -> None:
    text = f"x a {op} b {op} c"
    res = parsed(text)
    d = only(res.diagnostics, "E0103")
    assert d.span.start == text.rindex(op)
    # the declaration is kept (value: ErrorExpr) so later uses of `x` are not undefined
    (decl,) = res.program.body
    assert isinstance(decl, A.VarDecl) and isinstance(decl.value, A.ErrorExpr)


def test_parenthesised_comparison_can_be_compared() -> None:
    assert sexp(expr("(a < b) == c")) == "((a < b) == c)"


def test_not_inside_arithmetic_must_be_parenthesised() -> None:
    assert codes("x 1 + not a") == ["E0100"]
    assert sexp(expr("1 + (not a)")) == "(1 + (not a))"


def test_min_int_literal_only_after_minus() -> None:
    v = expr("-9223372036854775808")
    assert isinstance(v, A.Number) and v.value == -(2**63)
    assert v.span == parsed("x -9223372036854775808").program.body[0].value.span  # type: ignore[union-attr]
    res = parsed("x 9223372036854775808")
    d = only(res.diagnostics, "E0007")
    assert snippet("x 9223372036854775808", d) == "9223372036854775808"
    assert codes("x 1 - 9223372036854775808") == ["E0007"]
    assert sexp(expr("- -9223372036854775808")) == "(- -9223372036854775808)"


# ------------------------------------------------------------------- spans


def test_expression_spans() -> None:
    text = "x a + b * f(c, 2)"
    v = expr(text[2:])
    src = Source(text)
    assert isinstance(v, A.Binary)
    assert src.snippet(v.span) == "a + b * f(c, 2)"
    assert src.snippet(v.op_span) == "+"
    assert isinstance(v.right, A.Binary) and src.snippet(v.right.span) == "b * f(c, 2)"
    call = v.right.right
    assert isinstance(call, A.Call) and src.snippet(call.span) == "f(c, 2)"
    assert src.snippet(call.callee.span) == "f"


def test_unary_and_member_spans() -> None:
    text = "x -m.loss"
    v = expr(text[2:])
    src = Source(text)
    assert isinstance(v, A.Unary) and src.snippet(v.span) == "-m.loss" and src.snippet(v.op_span) == "-"
    assert isinstance(v.operand, A.Member)
    assert src.snippet(v.operand.span) == "m.loss" and src.snippet(v.operand.name_span) == "loss"


def test_parenthesised_expression_span_is_the_inner_expression() -> None:
    text = "x (a + b)"
    src = Source(text)
    assert src.snippet(expr(text[2:]).span) == "a + b"


def test_statement_spans() -> None:
    text = (
        "lr 0.5\n"
        "lr = lr * 2\n"
        'print "a", lr\n'
        "fn f(a, b)\n    return a\n"
        "loop 3\n    print 1\n"
        "for i in 0..3\n    print i\n"
        "if lr > 1\n    print 1\nelse\n    print 2\n"
        "model m\n    layers 2 4 1\n"
        "train m on d\n    epochs 2\n"
        "inspect m\n"
    )
    src = Source(text)
    got = [src.snippet(s.span) for s in body(text)]
    assert got == [
        "lr 0.5", "lr = lr * 2", 'print "a", lr', "fn f(a, b)", "loop 3", "for i in 0..3",
        "if lr > 1", "model m", "train m on d", "inspect m",
    ]


def test_property_and_name_spans() -> None:
    text = "model m\n    layers 2 4 1\n    activation relu"
    src = Source(text)
    (m,) = body(text)
    assert isinstance(m, A.ModelDef)
    assert src.snippet(m.name.span) == "m"
    assert [src.snippet(p.span) for p in m.props] == ["layers 2 4 1", "activation relu"]
    assert [src.snippet(p.key.span) for p in m.props] == ["layers", "activation"]


def test_if_branch_and_else_spans() -> None:
    text = "if a\n    print 1\nelif b > 2\n    print 2\nelse\n    print 3"
    src = Source(text)
    (stmt,) = body(text)
    assert isinstance(stmt, A.If)
    assert [src.snippet(b.span) for b in stmt.branches] == ["if a", "elif b > 2"]
    assert stmt.else_span is not None and src.snippet(stmt.else_span) == "else"


def test_spans_with_crlf_and_non_ascii() -> None:
    text = 'print "é😀"\r\nx 1 + 2'
    src = Source(text)
    stmts = parsed(text).program.body
    assert [src.snippet(s.span) for s in stmts] == ['print "é😀"', "x 1 + 2"]
    assert src.position(stmts[1].span.start).line == 2


def test_parenthesised_property_value_after_a_space_is_a_separate_value() -> None:
    # `(` only starts a call when it touches the name; `dense (n * 2)` is two values
    (m,) = body("model m\n    layer dense (n * 2) relu\n    layers 2 (1 + 1) f(3) g (4)")
    assert isinstance(m, A.ModelDef)
    assert [sexp(v) for v in m.props[0].values] == ["dense", "(n * 2)", "relu"]
    assert [sexp(v) for v in m.props[1].values] == ["2", "(1 + 1)", "f[3]", "g", "4"]


def test_calls_inside_parenthesised_property_values_allow_spaces() -> None:
    (m,) = body("model m\n    layers (f (2)) 3")
    assert isinstance(m, A.ModelDef)
    assert [sexp(v) for v in m.props[0].values] == ["f[2]", "3"]


def test_space_before_call_parens_in_expressions_is_still_a_call() -> None:
    assert sexp(expr("f (1)")) == "f[1]"


def test_infer_on_a_file_with_or_without_as() -> None:
    from volta_core.analysis import analyze
    from volta_core.syntax import ast as A

    both = analyze('model m\n    layers 2 1\ninfer m on "in.csv" as "out.csv"\n')
    shown = analyze('model m\n    layers 2 1\ninfer m on "in.csv"\n')
    assert both.diagnostics == [] and shown.diagnostics == []
    first, second = both.program.body[1], shown.program.body[1]
    assert isinstance(first, A.Infer) and isinstance(second, A.Infer)
    assert first.dest is not None and second.dest is None and second.source is not None
    assert shown.source.snippet(second.span) == 'infer m on "in.csv"'
