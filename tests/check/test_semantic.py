"""Semantic analysis: scopes, types, arity, schemas, shapes and warnings."""

from __future__ import annotations

import pytest

from volta_core.analysis import analyze
from volta_core.check import schema as S
from volta_core.check.symbols import Symbol, SymbolKind
from volta_core.diagnostics import CODES
from volta_core.syntax.tokens import STATEMENT_KEYWORDS


def codes(text: str) -> list[tuple[str, int, int]]:
    """(code, line, column) of every diagnostic."""
    a = analyze(text, "t.vt")
    out = []
    for d in a.diagnostics:
        p = a.source.position(d.span.start)
        out.append((d.code, p.line, p.column))
    return out


def only(text: str) -> str:
    found = codes(text)
    assert len(found) == 1, found
    return found[0][0]


CLEAN = [
    "x 1\nprint x\n",
    "fn fact(n)\n    if n <= 1\n        return 1\n    return n * fact(n - 1)\nprint fact(5)\n",
    # a function body may use globals and functions declared later
    "fn f()\n    return g() + base\nfn g()\n    return 1\nbase 2\nprint f()\n",
    "lr 0.1\nlr = lr * 0.5\nprint lr\n",
    "x 1\nx = 2.5\nprint x / 2\n",
    "for i in 0..3\n    print i\nfor j in 4\n    print j\n",
    'print "a" + "b", 1 < 2.5, "a" < "b", 1 == 1.0\n',
    "flag true\nif flag and not false\n    print 1\nelif 1 + 1 == 3 or flag\n    print 2\nelse\n    print 3\n",
    "_unused 3\n",
    "model m\n    layers 2 4 1\n    activation sigmoid\n    output sigmoid\n"
    "dataset d\n    type xor\ntrain m on d\n    epochs 100\n    lr 0.1\nprint m.loss, m.steps + 1, d.size\n",
    "model lm\n    input tokens 32\n    layer embedding 512 64\n    layer positional 32\n"
    "    layer transformer 4 128 causal\n    layer layernorm\n    layer dense 512\n    loss cross_entropy\n"
    'save lm as "lm.safetensors" with optimizer\nload lm from "lm.safetensors"\nexport lm as "lm.onnx"\ninspect lm\n',
    'import "m.onnx" as net with batch 1\ninfer net on "in.csv" as "out.csv"\n',
    "model m\n    layers 2 3\ninfer m\n    input 1 2\n    input 0.5 -1\n",
]


@pytest.mark.parametrize("text", CLEAN)
def test_valid_programs_have_no_diagnostics(text: str) -> None:
    assert codes(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("print y\n", ("E0301", 1, 7)),
        ("value 1\nprint valeu\n", ("E0301", 2, 7)),
        ("x 1\nif true\n    x 2\nprint x\n", ("E0302", 3, 5)),
        ("x 1\nx 2\nprint x\n", ("E0303", 2, 1)),
        ("y = 1\n", ("E0304", 1, 1)),
        ("print nope(1)\n", ("E0305", 1, 7)),
        ("fn f(a)\n    return a\nprint f(1, 2)\n", ("E0306", 3, 7)),
        ("return 1\n", ("E0307", 1, 1)),
        ("dataset d\n    type xor\ntrain nobody on d\n", ("E0308", 3, 7)),
        ("model m\n    layers 2 1\ntrain m on nodata\n", ("E0309", 3, 12)),
        ("fn f(a, a)\n    return a\nprint f(1, 2)\n", ("E0311", 1, 9)),
        ("model m\n    layers 2 1\nprint m.los\n", ("E0312", 3, 9)),
        ("fn f()\n    return 1\nf = 2\nprint f()\n", ("E0313", 3, 1)),
        ("print x\nx 1\n", ("E0314", 1, 7)),
        ('print "a" + 1\n', ("E0401", 1, 11)),
        ("if 1\n    print 1\n", ("E0402", 1, 4)),
        ('print -"a"\n', ("E0403", 1, 7)),
        ("loop 2.5\n    print 1\n", ("E0404", 1, 6)),
        ("x 1\nprint x.loss\n", ("E0405", 2, 9)),
        ("loop -1\n    print 1\n", ("E0605", 1, 6)),
        ("n 3\nfor i in 5..n\n    print i\nfor j in 3..1\n    print j\n", ("W0106", 4, 10)),
        ("if 1 < 2\n    print 1\n", ("W0104", 1, 4)),
        ("fn f()\n    return 1\n    print 2\nprint f()\n", ("W0105", 3, 5)),
        ("fn f(a)\n    return 1\nprint f(1)\n", ("W0103", 1, 6)),
        ("fn f()\n    return 1\n", ("W0102", 1, 4)),
        ("x 1\n", ("W0101", 1, 1)),
    ],
)
def test_each_rule_reports_code_at_span(text: str, expected: tuple[str, int, int]) -> None:
    assert expected in codes(text)


def test_function_cannot_see_callers_locals() -> None:
    text = "fn show()\n    print secret\nfn caller()\n    secret 1\n    show()\n    print secret\ncaller()\n"
    found = codes(text)
    assert ("E0301", 2, 11) in found
    assert all(c[0] != "E0301" or c[1] == 2 for c in found)


def test_block_local_is_not_visible_after_block_with_hint() -> None:
    a = analyze("if true\n    z 3\nprint z\n")
    d = next(d for d in a.diagnostics if d.code == "E0301")
    assert d.labels and "inner block" in d.labels[0].message


def test_session_predeclared_names_are_visible_and_redeclarable() -> None:
    pre = {"lr": Symbol("lr", SymbolKind.VARIABLE, None, "float")}
    a = analyze("print lr * 2\nlr 0.5\nprint lr\n", predeclared=pre)
    assert [d.code for d in a.diagnostics] == []


def test_a_keyword_misspelling_with_a_value_it_takes_is_an_error_with_a_fix() -> None:
    for text, keyword in (('prnt "hello"\n', "print"), ("model m\n    layers 2 1\ninspct m\n", "inspect"),
                          ("fn f(x)\n    retrun x\nprint f(1)\n", "return")):
        [d] = analyze(text).diagnostics
        assert (d.code, d.severity.value) == ("E0101", "error"), text
        assert d.helps[0] == f"did you mean `{keyword}`?"
        assert d.fixes[0].edits[0].new_text == keyword


def test_an_unused_keyword_like_variable_whose_value_the_keyword_does_not_take_is_a_warning() -> None:
    # `inspect 3` or a `loop` line without its block would not be those statements either.
    for text, keyword in (("inspct 3\n", "inspect"), ("lop 3\n", "loop"), ('_prnt "x"\nprnt 1\nprint prnt\n', "")):
        diagnostics = analyze(text).diagnostics
        assert all(d.code == "W0101" for d in diagnostics), text
        if keyword:
            [d] = diagnostics
            assert any(f"the keyword `{keyword}`" in h for h in d.helps) and d.fixes == ()


# --------------------------------------------------------------- schemas


def test_activation_typo_matches_spec_example() -> None:
    a = analyze("model m\n    layers 784 10\n    activation reluu\n", "examples/mnist.vt")
    d = a.diagnostics[0]
    assert d.code == "E0203"
    assert d.message == "unknown activation `reluu`"
    assert d.label == "not a known activation"
    assert d.helps == (
        "did you mean `relu`? allowed: relu, sigmoid, tanh, gelu, silu, leaky_relu, softmax",
    )
    assert a.source.snippet(d.span) == "reluu"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("dataset d\n    type xor\ntrain x on d\n    lrr 0.1\n", "E0201"),
        ("dataset d\n    type csv\n    samples 3\n", "W0201"),
        ("model m\n    layers 2 1\ndataset d\n    type xor\ntrain m on d\n    epochs -3\n", "E0204"),
        ("model m\n    layers 2 1\ndataset d\n    type xor\ntrain m on d\n    epochs 2.5\n", "E0202"),
        ("dataset d\n    batch 4\n", "E0205"),
        ("dataset d\n    type xor\n    type xor\n", "E0206"),
        ("model m\n    layers 2\n", "E0207"),
        ("model m\n    input 2\n    layer dense 3\n    layer danse 1\n", "E0208"),
        ("model m\n    input 2\n    layer dense\n", "E0209"),
        ("model m\n    layers 2 1\n    input 2\n", "E0210"),
        ("model m\n    input 4\n    layer embedding 10 8\n", "E0501"),
        ("model m\n    input tokens 8\n    layer embedding 10 6\n    layer attention 4\n", "E0502"),
        ("model m\n    layers 4 1\n    loss cross_entropy\n", "E0503"),
        ("model m\n    input tokens 8\n    layer embedding 10 6\n    layer positional 9\n", "E0504"),
        ("model m\n    layers 3 2\ndataset d\n    type xor\ntrain m on d\n", "E0506"),
    ],
)
def test_schema_and_shape_rules(text: str, code: str) -> None:
    assert code in [c for c, _, _ in codes(text)]


def test_head_count_hint_for_a_huge_width_is_found_at_once() -> None:
    # The hint's divisor search once counted up to the width: 2**62 never finished.
    a = analyze("model m\n    input tokens 8\n    layer embedding 10 4611686018427387904\n    layer attention 3\n")
    d = next(d for d in a.diagnostics if d.code == "E0502")
    assert d.helps[0].endswith("e.g. 2")


def test_missing_on_gets_fix_naming_the_only_dataset() -> None:
    a = analyze("model m\n    layers 2 1\ndataset xs\n    type xor\ntrain m\n")
    d = next(d for d in a.diagnostics if d.code == "E0105")
    assert d.fixes[0].edits[0].new_text == " on xs"


def test_model_table_follows_spec_parameter_names_and_shapes() -> None:
    a = analyze("model m\n    layers 2 4 1\n    activation sigmoid\n")
    info = a.symbols.models["m"]
    assert [(layer.index, layer.kind) for layer in info.layers] == [(0, "dense"), (1, "sigmoid"), (2, "dense")]
    assert info.layers[0].param_shapes == (("0.dense.weight", (2, 4)), ("0.dense.bias", (4,)))
    assert info.total_params == 2 * 4 + 4 + 4 * 1 + 1
    assert info.loss == "mse"


def test_layers_shorthand_takes_dropout_and_layernorm_after_each_hidden_activation() -> None:
    a = analyze("model m\n    layers 2 4 3 1\n    activation tanh\n    dropout 0.2\n    layernorm yes\n")
    assert a.diagnostics == []
    info = a.symbols.models["m"]
    assert [(layer.kind, layer.args) for layer in info.layers] == [
        ("dense", (4,)), ("tanh", ()), ("layernorm", ()), ("dropout", (0.2,)),
        ("dense", (3,)), ("tanh", ()), ("layernorm", ()), ("dropout", (0.2,)),
        ("dense", (1,)),
    ]
    assert info.layers[2].param_shapes == (("2.layernorm.scale", (4,)), ("2.layernorm.shift", (4,)))
    plain = analyze("model m\n    layers 2 4 1\n    dropout 0\n    layernorm no\n").symbols.models["m"]
    assert [layer.kind for layer in plain.layers] == ["dense", "relu", "dense"]


@pytest.mark.parametrize(("line", "code", "snippet"), [
    ("dropout 1", "E0204", "1"),
    ("layernorm true", "E0202", "true"),
    ("layernorm yess", "E0203", "yess"),
])
def test_layers_shorthand_dropout_and_layernorm_values_are_checked(line: str, code: str, snippet: str) -> None:
    a = analyze(f"model m\n    layers 2 4 1\n    {line}\n")
    [d] = a.diagnostics
    assert d.code == code and a.source.snippet(d.span) == snippet


def test_dropout_and_layernorm_lines_belong_to_the_shorthand() -> None:
    a = analyze("model m\n    input 2\n    layer dense 1\n    dropout 0.2\n    layernorm yes\n")
    assert [(d.code, d.message) for d in a.diagnostics] == [
        ("E0210", "`dropout` only applies to the `layers` shorthand"),
        ("E0210", "`layernorm` only applies to the `layers` shorthand"),
    ]


def test_transformer_model_shapes_and_param_count() -> None:
    a = analyze(
        "model clf\n    input tokens 16\n    layer embedding 100 32\n    layer transformer 4 64\n"
        "    layer mean_pool\n    layer dense 3\n    output_note 1\n"
    )
    info = a.symbols.models["clf"]
    assert [layer.output_shape for layer in info.layers] == [(16, 32), (16, 32), (32,), (3,)]
    d = 32
    attn = 4 * d * d + 4 * d
    block = attn + 4 * d + d * 64 + 64 + 64 * d + d
    assert info.total_params == 100 * 32 + block + 0 + 32 * 3 + 3


def test_text_dataset_with_sequence_output_is_rejected() -> None:
    text = (
        "model lm\n    input tokens 8\n    layer embedding 50 8\n    layer dense 2\n    loss cross_entropy\n"
        'dataset t\n    type text\n    source "t.csv"\n    text "t"\n    target "y"\ntrain lm on t\n'
    )
    assert "E0505" in [c for c, _, _ in codes(text)]


def test_every_schema_entry_is_documented() -> None:
    for block in S.BLOCKS.values():
        assert block.doc
        for spec in block.properties.values():
            assert spec.doc and spec.example.split()[0] == spec.key, spec.key
    for layer in S.LAYERS.values():
        assert layer.doc and layer.example.startswith(f"layer {layer.kind}")


def test_every_code_has_an_explanation() -> None:
    for info in CODES.values():
        assert info.title and len(info.explanation.strip()) > 20, info.code


def test_symbols_record_references_for_navigation() -> None:
    a = analyze("fn f(x)\n    return x\nv f(1)\nprint v, f(2)\n")
    syms = {s.name: s for s in a.symbols.symbols}
    assert len(syms["f"].references) == 2
    assert len(syms["v"].references) == 1
    at = a.symbols.at(a.source.offset(4, 7))
    assert at is not None and at.name == "v"


def test_generated_reference_is_committed_and_lists_everything() -> None:
    from pathlib import Path

    from volta_core.check.reference import render_reference

    text = render_reference()
    committed = (Path(__file__).parents[2] / "docs" / "reference.md").read_text(encoding="utf-8")
    assert committed == text, "docs/reference.md is stale: regenerate it with render_reference()"
    for block in S.BLOCKS.values():
        for key, spec in block.properties.items():
            assert f"| `{key}` |" in text
            for v in spec.values:
                for choice in v.choices:
                    assert choice in text
    for kind in S.LAYERS:
        assert f"| `{kind}" in text
    statements = text.split("## Statements", 1)[1].split("\n## ", 1)[0]
    for keyword in STATEMENT_KEYWORDS:
        assert f"| `{keyword}" in statements, keyword
    for form in ('`save MODEL as "path" [with optimizer]`', '`load MODEL from "path"`', "`input v1 v2 …` row"):
        assert form in statements


def test_undefined_variable_offers_a_declare_fix_above_the_statement() -> None:
    text = "flag true\nif flag\n    print total + 1\n"
    a = analyze(text)
    d = next(d for d in a.diagnostics if d.code == "E0301")
    fix = next(f for f in d.fixes if f.title.startswith("Declare"))
    (edit,) = fix.edits
    fixed = text[: edit.span.start] + edit.new_text + text[edit.span.end :]
    assert fixed == "flag true\nif flag\n    total 0\n    print total + 1\n"
    assert [x.code for x in analyze(fixed).diagnostics] == []
