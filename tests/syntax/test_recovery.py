"""Error recovery: one run reports every independent error and keeps the rest."""

from __future__ import annotations

from volta_core.syntax import ast as A
from volta_core.syntax.source import Source

from .helpers import apply_fix, code_lines, codes, only, parsed, snippet

FIVE_ERRORS = """\
lr 0.01
x (1 + 2
epochs 3
trian brain on digits
batch 32
print 1 < 2 < 3
ok true
y 1 2
model brain
    layers 2 4 1
else
print lr
"""


def test_five_independent_errors_are_all_reported() -> None:
    assert code_lines(FIVE_ERRORS) == [
        ("E0110", 2), ("E0101", 4), ("E0103", 6), ("E0106", 8), ("E0107", 11),
    ]


def test_valid_statements_survive_around_errors() -> None:
    stmts = parsed(FIVE_ERRORS).program.body
    src = Source(FIVE_ERRORS)
    kinds = [(type(s).__name__, src.position(s.span.start).line) for s in stmts]
    assert kinds == [
        ("VarDecl", 1), ("VarDecl", 2), ("VarDecl", 3), ("ErrorStmt", 4), ("VarDecl", 5),
        ("ErrorStmt", 6), ("VarDecl", 7), ("VarDecl", 8), ("ModelDef", 9), ("ErrorStmt", 11),
        ("Print", 12),
    ]
    # a declaration whose value is broken keeps its name; its value becomes ErrorExpr
    broken = stmts[1]
    assert isinstance(broken, A.VarDecl) and isinstance(broken.value, A.ErrorExpr)
    assert src.snippet(broken.value.span) == "(1 + 2"
    extra = stmts[7]
    assert isinstance(extra, A.VarDecl) and isinstance(extra.value, A.Number)


def test_broken_declaration_does_not_cascade_into_undefined_name() -> None:
    from volta_core.analysis import analyze

    for text in ("rate 1.\nprint rate\n", "rate (0.1\nprint rate\n", "rate $\nprint rate\n",
                 "rate 99999999999999999999\nprint rate\n"):
        assert "E0301" not in [d.code for d in analyze(text).diagnostics], text


def test_error_inside_a_block_does_not_swallow_following_statements() -> None:
    text = "fn f(a)\n    b = = 1\n    return a\nloop 2\n    print (1\nprint f(1)\nz 2"
    res = parsed(text)
    assert code_lines(text) == [("E0111", 2), ("E0110", 5)]
    top = res.program.body
    assert [type(s) for s in top] == [A.FnDef, A.Loop, A.Print, A.VarDecl]
    fn = top[0]
    assert isinstance(fn, A.FnDef)
    assert [type(s) for s in fn.body] == [A.ErrorStmt, A.Return]


def test_error_in_header_skips_its_block_only() -> None:
    text = "loop (a\n    print 1\n    print 2\nprint 3"
    res = parsed(text)
    assert [d.code for d in res.diagnostics] == ["E0110"]
    err, after = res.program.body
    assert isinstance(err, A.ErrorStmt) and isinstance(after, A.Print)
    assert Source(text).snippet(err.span) == "loop (a\n    print 1\n    print 2"


def test_error_in_if_condition_keeps_the_block_and_branches() -> None:
    text = "if (a\n    print 1\nelse\n    print 2\nprint 3"
    res = parsed(text)
    assert [d.code for d in res.diagnostics] == ["E0110"]
    stmt, after = res.program.body
    assert isinstance(stmt, A.If) and isinstance(stmt.branches[0].cond, A.ErrorExpr)
    assert len(stmt.branches[0].body) == 1 and stmt.orelse is not None
    assert isinstance(after, A.Print)


def test_error_in_elif_keeps_the_if() -> None:
    text = "if a\n    print 1\nelif (b\n    print 2\nelse\n    print 3\nprint 4"
    res = parsed(text)
    assert [d.code for d in res.diagnostics] == ["E0110"]
    stmt, after = res.program.body
    assert isinstance(stmt, A.If) and len(stmt.branches) == 2 and stmt.orelse is not None
    assert isinstance(stmt.branches[1].cond, A.ErrorExpr)
    assert isinstance(after, A.Print)


def test_property_errors_keep_other_properties() -> None:
    text = "model m\n    layers 2 + 3\n    activation relu\n    if x\n    seed 7\ntrain m on d"
    res = parsed(text)
    assert code_lines(text) == [("E0100", 2), ("E0112", 4)]
    m, t = res.program.body
    assert isinstance(m, A.ModelDef) and [p.key.id for p in m.props] == ["layers", "activation", "seed"]
    assert isinstance(t, A.Train)


def test_errors_in_nested_blocks_each_reported() -> None:
    text = "loop 2\n    if x\n        y = \n        print 1 2\n    z 1 <\nprint 9"
    assert code_lines(text) == [("E0111", 3), ("E0106", 4), ("E0111", 5)]
    assert isinstance(parsed(text).program.body[-1], A.Print)


def test_unexpected_indent_skips_the_indented_lines() -> None:
    text = "x 1\n    y 2\n    z 3\nw 4"
    res = parsed(text)
    d = only(res.diagnostics, "E0003")
    assert snippet(text, d) == "    "
    assert [type(s) for s in res.program.body] == [A.VarDecl, A.ErrorStmt, A.VarDecl]


def test_expected_indented_block() -> None:
    text = "loop 3\nprint 1"
    res = parsed(text)
    d = only(res.diagnostics, "E0102")
    assert snippet(text, d) == "loop"
    loop, pr = res.program.body
    assert isinstance(loop, A.Loop) and loop.body == () and isinstance(pr, A.Print)


def test_missing_indented_block_at_end_of_file() -> None:
    assert codes("model m") == ["E0102"]
    assert codes("fn f()\n") == ["E0102"]


def test_keyword_typo_suggests_keyword_with_fix() -> None:
    text = "trian brain on xor"
    d = only(parsed(text).diagnostics, "E0101")
    assert snippet(text, d) == "trian"
    assert "did you mean `train`?" in d.helps
    assert apply_fix(text, d) == "train brain on xor"


def test_keyword_typo_for_block_header() -> None:
    text = "modle brain\n    layers 2 4 1\nprint 1"
    res = parsed(text)
    d = only(res.diagnostics, "E0101")
    assert apply_fix(text, d).startswith("model brain")
    assert isinstance(res.program.body[-1], A.Print)


def test_short_names_are_declarations_not_typos() -> None:
    # `fo 1` is a valid declaration even though `fo` is close to `for`
    assert codes("fo 1\npint 2\ntrain_steps 3") == []


def test_missing_on_between_model_and_dataset() -> None:
    text = "train brain xor"
    res = parsed(text)
    d = only(res.diagnostics, "E0105")
    assert snippet(text, d) == "xor"
    assert apply_fix(text, d) == "train brain on xor"
    (t,) = res.program.body
    assert isinstance(t, A.Train) and t.dataset is not None and t.dataset.id == "xor"


def test_keyword_as_name() -> None:
    for text, word in [("fn print(x)\n    return x", "print"), ("model if\n    layers 1 1", "if"),
                       ("for in in 3\n    print 1", "in")]:
        d = only(parsed(text).diagnostics, "E0109")
        assert snippet(text, d) == word


def test_keyword_as_value() -> None:
    d = only(parsed("x model").diagnostics, "E0109")
    assert d.span.start == 2


def test_tokens_after_statement_end_with_fix() -> None:
    text = "print 1 2 3"
    d = only(parsed(text).diagnostics, "E0106")
    assert snippet(text, d) == "2 3"
    assert apply_fix(text, d) == "print 1"


def test_comparison_instead_of_assignment() -> None:
    text = "x == 1"
    d = only(parsed(text).diagnostics, "E0100")
    assert apply_fix(text, d) == "x = 1"


def test_operator_between_property_values_fix() -> None:
    text = "model m\n    layers 784 256 * 2 10"
    d = only(parsed(text).diagnostics, "E0100")
    assert snippet(text, d) == "*"
    assert apply_fix(text, d) == "model m\n    layers 784 (256 * 2) 10"


def test_statement_inside_property_block_is_misplaced() -> None:
    text = "model m\n    print 1"
    d = only(parsed(text).diagnostics, "E0112")
    assert snippet(text, d) == "print"


def test_declarations_only_at_top_level() -> None:
    assert code_lines("loop 2\n    model m\n        layers 1 1\nprint 1") == [("E0112", 2)]
    assert code_lines("if x\n    fn f()\n        return 1") == [("E0112", 2)]


def test_infer_rows_must_start_with_input() -> None:
    text = "infer m\n    inptu 1 2\n    input 3 4"
    res = parsed(text)
    d = only(res.diagnostics, "E0112")
    assert apply_fix(text, d).splitlines()[1] == "    input 1 2"
    (inf,) = res.program.body
    assert isinstance(inf, A.Infer) and len(inf.rows) == 1


def test_lexer_errors_are_not_reported_twice() -> None:
    assert codes("x 1 $ 2") == ["E0006"]
    assert codes('x "abc') == ["E0004"]
    assert codes("x 1.") == ["E0008"]


def test_diagnostics_are_in_source_order() -> None:
    diags = parsed(FIVE_ERRORS + "\tz 1\nw (\n").diagnostics
    starts = [d.span.start for d in diags]
    assert starts == sorted(starts)


def test_deep_block_nesting_is_a_diagnostic() -> None:
    text = "".join("    " * i + "loop 1\n" for i in range(80)) + "    " * 80 + "print 1\nprint 2\n"
    res = parsed(text)
    assert [d.code for d in res.diagnostics] == ["E0108"]
    assert isinstance(res.program.body[-1], A.Print)
