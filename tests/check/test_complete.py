"""Cursor contexts and completion candidates (volta_core.check.complete), no server."""

from __future__ import annotations

import pytest

from volta_core.analysis import analyze
from volta_core.check.complete import (
    ContextKind,
    call_at,
    complete,
    cursor_context,
    describe_at,
    strip_comment,
    value_spec,
)
from volta_core.check.symbols import Symbol, SymbolKind

DECLS = "model net\n    layers 2 4 2\ndataset data\n    type xor\nrate 0.5\nflag true\nfn double(x)\n    return x * 2\n"


def _ctx(text: str, extra: dict[str, Symbol] | None = None):  # type: ignore[no-untyped-def]
    return cursor_context(analyze(text), len(text), extra)


def _items(text: str, extra: dict[str, Symbol] | None = None) -> dict[str, str]:
    return {i.label: i.kind for i in complete(analyze(text), len(text), extra)}


@pytest.mark.parametrize(
    ("text", "kind", "block"),
    [
        ("", ContextKind.STATEMENT, None),
        ("pri", ContextKind.STATEMENT, None),
        ("fn f(x)\n    ", ContextKind.STATEMENT, "fn"),
        ("model m\n    ", ContextKind.PROPERTY_KEY, "model"),
        ("model m\n    # note\n    act", ContextKind.PROPERTY_KEY, "model"),
        ("dataset d\n    type ", ContextKind.PROPERTY_VALUE, "dataset"),
        ("model m\n    layer ", ContextKind.LAYER_KIND, "model"),
        ("print x.", ContextKind.MEMBER, None),
        ("train ", ContextKind.NAME, None),
        ("train m ", ContextKind.KEYWORD, None),
        ("fn ", ContextKind.NEW_NAME, None),
        ("print 1 + ", ContextKind.EXPRESSION, None),
        ('print "ab', ContextKind.STRING, None),
        ("x 1  # co", ContextKind.COMMENT, None),
        ("x 1  // co", ContextKind.COMMENT, None),
    ],
)
def test_context_kinds(text: str, kind: ContextKind, block: str | None) -> None:
    ctx = _ctx(text)
    assert (ctx.kind, ctx.block) == (kind, block)


def test_context_word_span_and_value_index() -> None:
    text = "model m\n    layer dense 3 si"
    ctx = _ctx(text)
    assert (ctx.word, ctx.start, ctx.end) == ("si", len(text) - 2, len(text))
    assert (ctx.key, ctx.index, ctx.words) == ("layer", 2, ("layer", "dense", "3"))
    assert ctx.spec is not None and "silu" in ctx.spec.choices
    mid = analyze("print alpha")
    ctx = cursor_context(mid, 8)
    assert (ctx.word, ctx.start, ctx.end) == ("al", 6, 11)


def test_context_member_owner_kind_and_expectations() -> None:
    ctx = _ctx(DECLS + "print data.")
    assert (ctx.owner, ctx.owner_kind) == ("data", SymbolKind.DATASET)
    assert _ctx(DECLS + "evaluate net on ").expects == SymbolKind.DATASET
    assert _ctx("save m ").keywords == ("as",)
    assert _ctx("load m ").keywords == ("from",)
    assert _ctx('import "a.onnx" ').keywords == ("as",)
    session = {"old": Symbol("old", SymbolKind.MODEL, None, type="model")}
    assert _ctx("print old.", session).owner_kind == SymbolKind.MODEL


def test_value_spec() -> None:
    assert value_spec("model", ["layers", "2"], 5) is not None  # variadic
    assert value_spec("model", ["activation"], 1) is None
    assert value_spec("model", ["layer", "attention", "4"], 2) is not None
    assert value_spec("model", ["nope"], 0) is None
    assert strip_comment('print "a # b" # c') == ('print "a # b" ', False)


def test_statement_completion() -> None:
    items = _items(DECLS)
    assert {"model", "train", "print"} <= set(items) and items["double"] == "function"
    assert items["net"] == "model" and items["data"] == "dataset" and items["rate"] == "variable"
    inner = _items(DECLS + "if rate > 1\n    ")
    assert "return" in inner and "model" not in inner and "fn" not in inner
    snippet = next(i for i in complete(analyze(""), 0) if i.kind == "snippet" and i.label == "model")
    assert snippet.is_snippet and "${1:name}" in (snippet.insert_text or "")
    assert _items("infer m\n    ") == {"input": "keyword"}


def test_block_completion() -> None:
    keys = complete(analyze("model m\n    "), 12)
    layers = next(i for i in keys if i.label == "layers")
    assert layers.kind == "property" and layers.detail == "layers 784 256 128 10" and "Dense MLP" in layers.documentation
    assert {"dense", "embedding", "transformer"} <= set(_items("model m\n    layer "))
    assert set(_items("model m\n    activation ")) == {"relu", "sigmoid", "tanh", "gelu", "silu", "leaky_relu", "softmax"}
    assert set(_items("dataset d\n    shuffle ")) >= {"true", "false"}
    assert "tokens" in _items("model m\n    input ")
    assert {"causal"} <= set(_items("model m\n    layer attention 4 "))
    assert _items("model m\n    activation relu ") == {}


def test_value_positions_offer_type_compatible_variables() -> None:
    numbers = _items(DECLS + "model m2\n    layers 2 ")
    assert "rate" not in numbers  # a float is not a layer width
    assert "rate" in _items(DECLS + "train net on data\n    lr ")
    assert "flag" in _items(DECLS + "dataset d2\n    shuffle ")
    assert "net" not in _items(DECLS + "train net on data\n    lr ")


def test_member_name_and_keyword_completion() -> None:
    assert set(_items(DECLS + "print net.")) == {"loss", "accuracy", "val_loss", "val_accuracy", "steps", "epochs", "params"}
    assert set(_items(DECLS + "print data.")) == {"size", "train_size", "val_size", "batch"}
    assert _items(DECLS + "print rate.") == {}
    assert _items(DECLS + "train ") == {"net": "model"}
    assert _items(DECLS + "train net ") == {"on": "keyword"}
    assert _items(DECLS + "train net on ") == {"data": "dataset"}
    assert _items(DECLS + "inspect ") == {"net": "model"}
    assert _items('print "abc ') == {} and _items("x 1 # c ") == {} and _items("fn ") == {}


def test_expression_completion_and_scopes() -> None:
    text = DECLS + "fn other(y)\n    z 1\n    print "
    items = _items(text)
    assert {"y", "z", "rate", "double", "and", "not", "true"} <= set(items)
    assert "x" not in items  # a parameter of another function
    session = {"earlier": Symbol("earlier", SymbolKind.VARIABLE, None, type="int")}
    assert "earlier" in _items("print ", session)


def test_function_items_are_call_snippets() -> None:
    item = next(i for i in complete(analyze(DECLS + "print "), len(DECLS) + 6) if i.label == "double")
    assert item.is_snippet and item.insert_text == "double(${1:x})" and item.detail == "fn double(x)"


def test_call_at() -> None:
    text = "fn f(a, b)\n    return a\nprint f(1, (2 + 3), "
    analysis = analyze(text)
    found = call_at(analysis, len(text))
    assert found is not None and found[0].name == "f" and found[1] == 2
    found = call_at(analysis, text.index("(1") + 1)
    assert found is not None and found[1] == 0
    assert call_at(analysis, text.index("print")) is None
    assert call_at(analyze("print (1, "), 10) is None


def test_describe_at() -> None:
    text = DECLS + "print net.loss, rate\n"
    analysis = analyze(text)
    doc, span = describe_at(analysis, text.index("layers") + 1) or ("", None)
    assert "Dense MLP" in doc and span is not None
    assert "xor" in (describe_at(analysis, text.index("xor") + 1) or ("",))[0]
    assert "training loss" in (describe_at(analysis, text.index("loss,") + 1) or ("",))[0]
    assert "| # | layer |" in (describe_at(analysis, text.index("net") + 1) or ("",))[0]
    assert "float" in (describe_at(analysis, text.rindex("rate") + 1) or ("",))[0]
    assert "runs the indented block" in (describe_at(analyze("loop 3\n    print 1\n"), 1) or ("",))[0]
    assert describe_at(analysis, text.index("0.5")) is None


def test_layer_options_blocks_and_image_inputs_complete() -> None:
    head = "model m\n    input image 1 8 8\n"
    assert "image" in _items("model m\n    input ")
    assert {"conv", "maxpool", "batchnorm", "global_avg_pool"} <= set(_items(head + "    layer "))
    # after the required arguments: the options and the activation words
    after = set(_items(head + "    layer conv 8 3 "))
    assert {"stride", "pad", "dilation", "groups", "bias", "relu"} <= after
    # an option's value: `pad` takes a number or `same`; `bias` true or false
    assert set(_items(head + "    layer conv 8 3 pad ")) == {"same"}
    assert set(_items(head + "    layer conv 8 3 bias ")) >= {"true", "false"}
    # options already given are not offered again
    assert "stride" not in _items(head + "    layer conv 8 3 stride 2 ")
    # inside `residual` and `repeat` blocks the lines are the model's
    assert {"layer", "residual", "repeat"} <= set(_items(head + "    residual\n        "))
    assert "conv" in _items(head + "    repeat 2\n        residual\n            layer ")
    text = head + "    residual\n        layer conv 8 3 pad same\n"
    hover = describe_at(analyze(text), text.index("conv") + 1)
    assert hover is not None and hover[0].startswith("**layer** `conv OUT K")
