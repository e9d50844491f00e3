"""The one shape formatter and the one table model (volta_core.present)."""

from __future__ import annotations

from volta_core.analysis import analyze
from volta_core.check.symbols import LayerInfo, ModelInfo
from volta_core.present import (
    Row,
    Table,
    format_count,
    format_shape,
    layer_table,
    metrics_fact,
    plural,
    simple_table,
    tally,
)


def test_format_shape() -> None:
    assert format_shape((16, 32)) == "[16, 32]"
    assert format_shape((4,)) == "[4]"
    assert format_shape(()) == "[]"
    assert format_shape((64, 10), "f32") == "f32[64, 10]"
    assert format_shape((16,), "tokens") == "tokens[16]"
    assert format_shape(["B", 3]) == "[B, 3]"


def test_counts_and_words() -> None:
    assert format_count(13282) == "13,282"
    assert plural(1, "layer") == "1 layer" and plural(0, "layer") == "0 layers"
    assert tally({"Relu": 2, "Gemm": 2, "Softmax": 1}) == "Gemm 2, Relu 2, Softmax 1"
    assert metrics_fact({}, 0) is None
    assert metrics_fact({"val_loss": 0.5, "loss": 0.25}, 1) == ("last metrics", "loss 0.2500  val_loss 0.5000 after 1 step")


def _mlp() -> ModelInfo:
    text = "model net\n    input 4\n    layer dense 8 relu\n    layer dense 3\n    loss cross_entropy\n"
    return analyze(text).symbols.models["net"]


def test_layer_table_text_is_the_one_format() -> None:
    text = layer_table(_mlp(), facts=(("IR nodes", "11 (inference, batch 1)"),)).text()
    assert text == (
        "model net: input [4] -> output [3], loss cross_entropy\n"
        "\n"
        "  #      layer     output shape  params\n"
        "  -------------------------------------\n"
        "         input 4   [4]\n"
        "  0      dense 8   [8]               40\n"
        "  1      relu      [8]                0\n"
        "  2      dense 3   [3]               27\n"
        "  -------------------------------------\n"
        "  total  3 layers  [3]               67\n"
        "\n"
        "  IR nodes: 11 (inference, batch 1)"
    )
    lines = text.splitlines()
    # a `dense N ACT` line is two layers: the dense row does not repeat the activation
    assert lines[5].split() == ["0", "dense", "8", "[8]", "40"] and lines[6].split() == ["1", "relu", "[8]", "0"]
    assert lines[9].split() == ["total", "3", "layers", "[3]", "67"]
    # the params column is right-aligned: every number ends in the same column
    ends = {len(line) for line in lines[5:8]} | {len(lines[9])}
    assert len(ends) == 1


def test_layer_table_tokens_input_and_markdown_html() -> None:
    text = "model lm\n    input tokens 8\n    layer embedding 50 4\n    layer mean_pool\n    layer dense 2\n"
    table = layer_table(analyze(text).symbols.models["lm"])
    assert table.title == "model lm: input tokens[8] -> output [2], loss mse"
    assert table.rows[0].cells == ("", "input tokens 8", "tokens[8]", "")
    md = table.markdown()
    assert md.splitlines()[:4] == [
        "**model lm: input tokens[8] -> output [2], loss mse**",
        "",
        "| # | layer | output shape | params |",
        "|---|---|---|---:|",
    ]
    assert "| **total** | **3 layers** | **[2]** | **210** |" in md
    html = table.html()
    assert html.startswith("<p><b>model lm: input tokens[8] -&gt; output [2], loss mse</b></p>")
    assert '<td style="text-align:right">200</td>' in html and "<tfoot>" in html


def test_blocks_nest_their_layers_in_every_rendering() -> None:
    conv = LayerInfo(0, "conv", (8, 3), (8, 4, 4), 224)
    relu = LayerInfo(1, "relu", (), (8, 4, 4), 0)
    block = LayerInfo(1, "residual", (), (8, 4, 4), 224, children=(conv, relu))
    info = ModelInfo("cnn", (8, 4, 4), False, (LayerInfo(0, "relu", (), (8, 4, 4), 0), block), None, 224)
    table = layer_table(info)
    assert [r.cells[0] for r in table.rows] == ["", "0", "1", "1.0", "1.1"]
    assert [r.depth for r in table.rows] == [0, 0, 0, 1, 1]
    text = table.text().splitlines()
    assert "         input image 8 4 4  [8, 4, 4]" in text
    assert "  1      residual           [8, 4, 4]        224" in text
    assert "  1.0      conv 8 3         [8, 4, 4]        224" in text
    assert "| 1.0 | \u00a0\u00a0conv 8 3 | [8, 4, 4] | 224 |" in table.markdown()
    assert '<td style="padding-left:1.5em">conv 8 3</td>' in table.html()


def test_titles_facts_and_escaping() -> None:
    table = Table("model <m> | x", facts=(("input", "a|b"),))
    assert table.text() == "model <m> | x\n\n  input: a|b"
    assert table.markdown() == "**model <m> \\| x**\n\n- input: `a|b`"
    assert table.html() == "<p><b>model &lt;m&gt; | x</b></p><ul><li>input: <code>a|b</code></li></ul>"
    grid = simple_table(("name", "value"), [("x", "<1>")])
    assert grid.text(indent="") == "name  value\n-----------\nx     <1>"
    assert grid.html() == (
        '<table class="volta-table"><thead><tr><th>name</th><th>value</th></tr></thead>'
        "<tbody><tr><td>x</td><td>&lt;1&gt;</td></tr></tbody></table>"
    )
    assert Table("t").with_facts(("a", "1")).facts == (("a", "1"),)
    assert Row(("a",), 2).depth == 2
    assert set(table.mime_bundle()) == {"text/plain", "text/html", "text/markdown"}


def test_describe_value_never_shows_a_python_repr() -> None:
    from volta_core.present import describe_value

    class Handle:
        volta_type = "model"

    assert [describe_value(v) for v in (True, 3, 0.5, "a\"b", [1, 2], Handle(), object())] == [
        "true", "3", "0.5", '"a\\"b"', "2 values", "a model", "a value of another kind",
    ]
    assert describe_value("x" * 100) == '"' + "x" * 39 + '…"'
