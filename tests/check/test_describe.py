"""Docs rendered once for hover, completion and kernel inspection (volta_core.check.describe)."""

from __future__ import annotations

from volta_core.analysis import analyze
from volta_core.check import describe, schema
from volta_core.check.symbols import Symbol, SymbolKind
from volta_core.present import layer_table
from volta_core.syntax.tokens import KEYWORDS

MODEL = "model net\n    layers 4 8 3\n    activation relu\n    output softmax\n    loss cross_entropy\n"


def _info():  # type: ignore[no-untyped-def]
    return analyze(MODEL).symbols.models["net"]


def test_every_keyword_has_docs() -> None:
    assert set(describe.KEYWORD_DOCS) == set(KEYWORDS)
    assert "runs the indented block N times" in (describe.describe_keyword("loop") or "")
    assert describe.describe_keyword("nope") is None


def test_describe_key_and_value() -> None:
    doc = describe.describe_key("model", "activation") or ""
    assert doc.startswith("**model** `activation NAME`") and "Activation between the dense layers" in doc
    assert "one of relu" in doc and "Default: relu" in doc and "Example: `activation relu`" in doc
    assert "Only for `type` csv" in (describe.describe_key("dataset", "source") or "")
    assert describe.describe_key("model", "nope") is None and describe.describe_key("nope", "x") is None
    assert (describe.describe_value("model", "loss", "mse") or "").startswith("`mse` — value of `loss`")


def test_every_schema_entry_renders() -> None:
    for block in schema.BLOCKS.values():
        for key in block.properties:
            assert describe.describe_key(block.name, key)
    for kind in schema.LAYERS:
        assert (describe.describe_layer(kind) or "").startswith(f"**layer** `{kind}")
    assert describe.describe_layer("nope") is None
    assert describe.describe_member(SymbolKind.DATASET, "size") == schema.DATASET_MEMBERS["size"]


def test_describe_symbol() -> None:
    var = Symbol("rate", SymbolKind.VARIABLE, None, type="float", constant=0.5)
    assert describe.describe_symbol(var) == "```volta\nvariable rate: float\n```\n\nvalue: `0.5`"
    flag = Symbol("on_", SymbolKind.VARIABLE, None, type="bool", constant=True)
    assert "value: `true`" in describe.describe_symbol(flag)
    fn = Symbol("f", SymbolKind.FUNCTION, None, type="fn", params=("a", "b"))
    assert describe.symbol_signature(fn) == "fn f(a, b)"
    model = Symbol("net", SymbolKind.MODEL, None, type="model")
    assert describe.describe_symbol(model) == "```volta\nmodel net\n```"
    # A model with known shapes shows the one layer table (volta_core.present) as Markdown.
    assert describe.describe_symbol(model, _info()) == layer_table(_info()).markdown()
