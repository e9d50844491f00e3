"""Rich text for the kernel: layer tables, schema docs, keyword docs, value previews.

Each function returns a ``(text/plain, text/html)`` pair, or None when it has
nothing to say, so the kernel can send them as a Jupyter mime bundle.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Final

from volta_core.check import schema
from volta_core.check.symbols import ModelInfo, Symbol, SymbolKind
from volta_core.lang.values import Function, format_value, type_name

Rich = tuple[str, str]

#: One line per statement keyword (Shift-Tab on a keyword).
KEYWORD_DOCS: Final = {
    "model": "model NAME — declares a network in an indented property block (`layers` shorthand or `input` + `layer` stack).",
    "dataset": "dataset NAME — declares a data source in an indented property block (`type`, `source`, `batch`, …).",
    "train": "train MODEL on DATASET — mini-batch training; optional block of training keys, the rest resolved by autopilot.",
    "evaluate": "evaluate MODEL on DATASET — prints loss/accuracy on the validation split (or all data).",
    "infer": "infer MODEL — a block of `input v1 v2 …` rows; or `infer MODEL on \"in.csv\" as \"out.csv\"`.",
    "save": 'save MODEL as "path" [with optimizer] — writes a safetensors checkpoint atomically.',
    "load": 'load MODEL from "path" — reads a checkpoint into a model of the same architecture.',
    "import": 'import "file.onnx" as NAME — an ONNX model becomes a Volta model.',
    "export": 'export MODEL as "file.onnx" — writes a standard ONNX model.',
    "inspect": "inspect MODEL — layer table: output shapes, parameter counts and totals.",
    "print": "print EXPR, … — prints the values separated by spaces.",
    "fn": "fn NAME(PARAMS) — defines a function; the indented body may `return` a value.",
    "return": "return [EXPR] — leaves the enclosing function.",
    "loop": "loop N — runs the indented block N times.",
    "for": "for NAME in A..B — runs the block for each integer of the half-open range (`for i in 3` means 0..3).",
    "if": "if COND — runs the block when COND is true; may be followed by `elif COND` and `else`.",
    "elif": "elif COND — an alternative branch of the preceding `if`.",
    "else": "else — the branch taken when no `if`/`elif` condition held.",
}


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], footer: str = "") -> Rich:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    if footer:
        lines.append(footer)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td><code>{html.escape(c)}</code></td>" for c in r) + "</tr>" for r in rows
    )
    foot = f"<p>{html.escape(footer)}</p>" if footer else ""
    return "\n".join(lines), f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{foot}"


def _shape(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def model_table(info: ModelInfo) -> Rich:
    """Layer, kind, output shape (batch excluded) and parameters, with totals."""
    rows = [["input", "tokens" if info.token_input else "features", _shape(info.input_shape), "0"]]
    for layer in info.layers:
        args = " ".join(str(a) for a in layer.args)
        rows.append([str(layer.index), f"{layer.kind} {args}".strip(), _shape(layer.output_shape), f"{layer.params:,}"])
    footer = f"model {info.name}: {len(info.layers)} layers, {info.total_params:,} parameters"
    if info.loss:
        footer += f", loss {info.loss}"
    text, markup = _table(("layer", "kind", "output shape", "params"), rows, footer)
    return text, markup


def _doc_html(title: str, lines: Sequence[str]) -> Rich:
    text = "\n".join([title, *lines])
    markup = f"<p><b><code>{html.escape(title)}</code></b></p>" + "".join(
        f"<p>{html.escape(line)}</p>" for line in lines
    )
    return text, markup


def key_doc(block: str, key: str) -> Rich | None:
    """Docs of property ``key`` of ``block`` (``model``, ``dataset``, ``train``)."""
    spec = schema.BLOCKS[block].properties.get(key) if block in schema.BLOCKS else None
    if spec is None:
        return None
    lines = [spec.doc]
    for value in spec.values:
        lines.append(f"{value.name}: {value.describe()}" + (f" — {value.doc}" if value.doc else ""))
    if spec.default_doc:
        lines.append(f"default: {spec.default_doc}")
    lines.append(f"example: {spec.example}")
    return _doc_html(f"{block} · {key}", lines)


def layer_doc(kind: str) -> Rich | None:
    spec = schema.LAYERS.get(kind)
    if spec is None:
        return None
    lines = [spec.doc]
    if spec.params_doc:
        lines.append(f"parameters: {spec.params_doc}")
    lines.append(f"example: {spec.example}")
    return _doc_html(f"layer {spec.signature()}", lines)


def keyword_doc(word: str) -> Rich | None:
    doc = KEYWORD_DOCS.get(word)
    return None if doc is None else _doc_html(word, [doc])


def value_doc(name: str, value: object) -> Rich:
    """Type and value of a session global."""
    if type(value) is Function:
        assert isinstance(value, Function)
        return _doc_html(value.signature, [f"function defined in {value.source.path}"])
    return _doc_html(f"{name}: {type_name(value)}", [f"= {preview(value)}"])


def symbol_doc(symbol: Symbol) -> Rich:
    """What the analysis knows of a name not (yet) in the session."""
    return _doc_html(symbol.detail or f"{symbol.name}: {symbol.type}", [f"{symbol.kind.value}"])


def preview(value: object, limit: int = 60) -> str:
    """``print``'s form of ``value`` (strings quoted), shortened to ``limit`` characters."""
    text = format_value(value)
    if type(value) is str:
        text = '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text if len(text) <= limit else text[: limit - 1] + "…"


def who_table(globals_: dict[str, object]) -> Rich:
    """The session's globals: name, kind, type, value preview."""
    rows = []
    for name in sorted(globals_):
        value = globals_[name]
        if type(value) is Function:
            assert isinstance(value, Function)
            rows.append([name, SymbolKind.FUNCTION.value, "fn", value.signature])
        else:
            rows.append([name, SymbolKind.VARIABLE.value, type_name(value), preview(value)])
    if not rows:
        return "no globals", "<p>no globals</p>"
    return _table(("name", "kind", "type", "value"), rows)
