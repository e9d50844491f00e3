"""How Volta shows a thing, written once: the shape formatter and the table
model that every front door renders.

- :func:`format_shape` is the only way a shape becomes text: ``[16, 32]``,
  with an optional kind prefix (``f32[64, 10]`` in IR dumps, ``tokens[16]``
  for token ids, ``[B, 3]`` for a symbolic batch).
- :class:`Table` is a titled grid with an optional total row and trailing
  facts (``IR nodes: 11 …``). It renders as aligned text (terminals, the
  ``inspect`` statement), HTML (notebooks) and Markdown (hover, notebooks).
- :func:`describe_value` names a value in a message (``3``, ``"x"``, ``a model``),
  never by its Python repr.
- :func:`layer_table` builds the one layer table of a model from the
  checker's :class:`~volta_core.check.symbols.ModelInfo`: the input, one row
  per layer (blocks nest their layers one level deeper), the total. The CLI's
  ``inspect``, the ``inspect`` statement, the language server's hover and the
  kernel's inspection all show it.

Nothing here computes anything about a model: callers pass the facts they
know (the compiler's IR summary, the last metrics). At run time this module
imports nothing of Volta, so every layer (the IR's shape errors included)
formats shapes with it.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # annotations only: this module imports nothing of Volta at run time
    from volta_core.check.symbols import LayerInfo, ModelInfo

#: The layer table's columns (a number column is right-aligned).
LAYER_HEADERS: Final = ("#", "layer", "output shape", "params")
_INDENT: Final = "  "


def format_shape(shape: Sequence[int | str], kind: str = "") -> str:
    """``[16, 32]``; ``kind`` prefixes it (``f32[64, 10]``, ``tokens[16]``).

    Dimensions may be symbolic (``"B"``, ``"N"``); a scalar is ``[]``."""
    return kind + "[" + ", ".join(str(d) for d in shape) + "]"


def format_count(n: int) -> str:
    """A parameter or byte count with thousands separators: ``13,282``."""
    return f"{n:,}"


def tally(counts: Mapping[str, int]) -> str:
    """``Gemm 2, Relu 2, Softmax 1``: most frequent first, then by name."""
    return ", ".join(f"{k} {n}" for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def plural(n: int, word: str) -> str:
    """``1 layer``, ``2 layers``."""
    return f"{n} {word}" + ("" if n == 1 else "s")


#: Longest string :func:`describe_value` quotes in full.
_QUOTED_MAX: Final = 40


def describe_value(value: object) -> str:
    """A value as a message names it, never a Python repr: a number, bool or string as
    written in a program (``3``, ``0.5``, ``true``, ``"data.csv"``, long strings cut
    with ``…``), several values by their count, anything else by its kind (``a model``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        shown = value if len(value) <= _QUOTED_MAX else value[: _QUOTED_MAX - 1] + "…"
        return '"' + shown.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return plural(len(value), "value")
    kind = getattr(value, "volta_type", None)
    return f"a {kind}" if isinstance(kind, str) else "a value of another kind"


@dataclass(frozen=True, slots=True)
class Row:
    """One row of a :class:`Table`; ``depth`` indents its second cell (a layer
    inside a block is one level deeper than the block)."""

    cells: tuple[str, ...]
    depth: int = 0


@dataclass(frozen=True, slots=True)
class Table:
    """A titled grid: ``headers``, ``rows``, an optional ``total`` row, then
    ``facts`` (label, value) shown as ``label: value`` lines.

    ``numeric`` holds the indices of right-aligned columns. A table may have
    no rows (only a title and facts, e.g. an imported ONNX model).
    """

    title: str
    headers: tuple[str, ...] = ()
    rows: tuple[Row, ...] = ()
    total: Row | None = None
    facts: tuple[tuple[str, str], ...] = ()
    numeric: frozenset[int] = frozenset()

    def with_facts(self, *facts: tuple[str, str]) -> Table:
        """This table with ``facts`` appended."""
        return Table(self.title, self.headers, self.rows, self.total, (*self.facts, *facts), self.numeric)

    def mime_bundle(self) -> dict[str, str]:
        """The three renderings keyed by MIME type (a notebook picks the richest)."""
        return {"text/plain": self.text(), "text/html": self.html(), "text/markdown": self.markdown()}

    # ------------------------------------------------------------- text
    def text(self, indent: str = "  ") -> str:
        """Aligned columns under a dashed rule, the total under another, the
        facts after a blank line; every line but the title indented."""
        lines = [self.title] if self.title else []
        if self.rows or self.total is not None:
            grid = [Row(self.headers), *self.rows, *([self.total] if self.total else [])]
            cells = [_indented(r) for r in grid]
            widths = [max(len(c[i]) for c in cells) for i in range(len(self.headers))]
            rule = indent + "-" * (sum(widths) + 2 * (len(widths) - 1))

            def line(row: tuple[str, ...]) -> str:
                parts = [
                    c.rjust(w) if i in self.numeric else c.ljust(w)
                    for i, (c, w) in enumerate(zip(row, widths, strict=True))
                ]
                return (indent + "  ".join(parts)).rstrip()

            lines += [*([""] if lines else []), line(cells[0]), rule]
            lines += [line(c) for c in cells[1 : 1 + len(self.rows)]]
            if self.total is not None:
                lines += [rule, line(cells[-1])]
        if self.facts:
            lines += [*([""] if lines else []), *(f"{indent}{label}: {value}" for label, value in self.facts)]
        return "\n".join(lines)

    # ------------------------------------------------------------- html
    def html(self) -> str:
        """A ``<table>`` with the title as its caption and the total in ``<tfoot>``;
        facts follow as a list. Every cell is escaped."""
        style = ' style="text-align:right"'

        def cells(row: Row, tag: str) -> str:
            out = []
            for i, c in enumerate(row.cells):
                attrs = style if i in self.numeric else ""
                if i == 1 and row.depth:
                    attrs += f' style="padding-left:{1.5 * row.depth:g}em"'
                out.append(f"<{tag}{attrs}>{html.escape(c)}</{tag}>")
            return "<tr>" + "".join(out) + "</tr>"

        parts = [f"<p><b>{html.escape(self.title)}</b></p>"] if self.title else []
        if self.rows or self.total is not None:
            head = cells(Row(self.headers), "th")
            body = "".join(cells(r, "td") for r in self.rows)
            foot = f"<tfoot>{cells(self.total, 'th')}</tfoot>" if self.total is not None else ""
            parts.append(f'<table class="volta-table"><thead>{head}</thead><tbody>{body}</tbody>{foot}</table>')
        if self.facts:
            items = "".join(f"<li>{html.escape(k)}: <code>{html.escape(v)}</code></li>" for k, v in self.facts)
            parts.append(f"<ul>{items}</ul>")
        return "".join(parts)

    # --------------------------------------------------------- markdown
    def markdown(self) -> str:
        """A bold title, a pipe table (total row in bold) and the facts as a list."""
        lines = [f"**{_md(self.title)}**"] if self.title else []
        if self.rows or self.total is not None:
            align = ["---:" if i in self.numeric else "---" for i in range(len(self.headers))]
            lines += [*([""] if lines else []), _md_row(self.headers), "|" + "|".join(align) + "|"]
            lines += [_md_row(_indented(r, "\u00a0\u00a0")) for r in self.rows]
            if self.total is not None:
                lines.append(_md_row(tuple(f"**{c}**" if c else "" for c in self.total.cells)))
        if self.facts:
            lines += [*([""] if lines else []), *(f"- {_md(k)}: `{v}`" for k, v in self.facts)]
        return "\n".join(lines)


def _indented(row: Row, unit: str = _INDENT) -> tuple[str, ...]:
    if not row.depth or len(row.cells) < 2:
        return row.cells
    return (row.cells[0], unit * row.depth + row.cells[1], *row.cells[2:])


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(_md(c) for c in cells) + " |"


def simple_table(headers: Sequence[str], rows: Sequence[Sequence[str]], title: str = "") -> Table:
    """A plain grid (``%who``): no total, no facts, left-aligned."""
    return Table(title, tuple(headers), tuple(Row(tuple(r)) for r in rows))


# ------------------------------------------------------------- layer table


def layer_text(layer: LayerInfo) -> str:
    """A layer as written in a ``layer`` line: ``conv 32 3 pad same``, ``leaky_relu 0.2``."""
    words = [layer.kind, *(_arg_text(a) for a in layer.args if a is not None)]
    words += [f"{name} {_arg_text(value)}" for name, value in layer.options]
    return " ".join(words)


def _arg_text(arg: object) -> str:
    if isinstance(arg, bool):
        return "true" if arg else "false"
    return str(arg)


def input_text(info: ModelInfo) -> str:
    """The model's input as declared: ``input 2``, ``input tokens 16``, ``input image 1 28 28``."""
    dims = " ".join(str(d) for d in info.input_shape)
    kind = "tokens " if info.token_input else "image " if info.image_input else ""
    return f"input {kind}{dims}"


def input_shape_text(info: ModelInfo) -> str:
    """``[2]`` for features, ``tokens[16]`` for token ids."""
    return format_shape(info.input_shape, "tokens" if info.token_input else "")


def model_line(info: ModelInfo, loss: str | None = None, arrow: str = "->") -> str:
    """``input [2] -> output [3], loss cross_entropy`` (the table's subtitle)."""
    loss = loss or info.loss
    text = f"input {input_shape_text(info)} {arrow} output {format_shape(info.output_shape)}"
    return text + (f", loss {loss}" if loss else "")


def _layer_rows(layers: Sequence[LayerInfo], prefix: str, depth: int) -> list[Row]:
    rows = []
    for layer in layers:
        index = f"{prefix}{layer.index}"
        rows.append(Row((index, layer_text(layer), format_shape(layer.output_shape), format_count(layer.params)), depth))
        rows += _layer_rows(layer.children, f"{index}.", depth + 1)
    return rows


def layer_table(info: ModelInfo, loss: str | None = None, facts: Sequence[tuple[str, str]] = ()) -> Table:
    """The layer table of ``info``: ``model NAME: input … -> output …, loss L``,
    the input row, one row per layer (a block's layers nested under it, numbered
    by their path), and the total; ``facts`` (IR summary, metrics) follow.

    ``loss`` overrides the declared loss (a trained model's resolved loss)."""
    rows = [Row(("", input_text(info), input_shape_text(info), "")), *_layer_rows(info.layers, "", 0)]
    total = Row(("total", plural(len(info.layers), "layer"), format_shape(info.output_shape),
                 format_count(info.total_params)))  # fmt: skip
    return Table(
        f"model {info.name}: {model_line(info, loss)}",
        LAYER_HEADERS,
        tuple(rows),
        total,
        tuple(facts),
        frozenset({3}),
    )


def metrics_fact(metrics: dict[str, float], steps: int) -> tuple[str, str] | None:
    """``last metrics: loss 0.1234  accuracy 0.9500 after 30 steps`` (None before training)."""
    keys = ("loss", "accuracy", "val_loss", "val_accuracy")
    parts = [f"{k} {metrics[k]:.4f}" for k in keys if k in metrics]
    if not parts:
        return None
    return "last metrics", f"{'  '.join(parts)} after {plural(steps, 'step')}"
