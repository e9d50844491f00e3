"""Hover and completion documentation: keyword table plus Markdown from the schemas."""

from __future__ import annotations

from volta_core.check.schema import LayerSpec, PropertySpec
from volta_core.check.symbols import ModelInfo

KEYWORD_DOCS: dict[str, str] = {
    "model": "`model NAME` — declares a network (property block: `layers`, `input`, `layer`, `loss`, …).",
    "dataset": "`dataset NAME` — declares a dataset (property block: `type`, `source`, `batch`, …).",
    "train": "`train MODEL on DATASET` — trains; an optional block overrides autopilot settings.",
    "evaluate": "`evaluate MODEL on DATASET` — prints loss/accuracy and sets the model's metrics.",
    "infer": '`infer MODEL` with `input …` rows, or `infer MODEL on "in.csv" as "out.csv"`.',
    "save": '`save MODEL as "path"` — writes a safetensors checkpoint.',
    "load": '`load MODEL from "path"` — reads a checkpoint into a model of the same architecture.',
    "import": '`import "file.onnx" as NAME` — an ONNX graph becomes a Volta model.',
    "export": '`export MODEL as "file.onnx"` — writes a standard ONNX model.',
    "inspect": "`inspect MODEL` — prints the layer table, parameter counts and graph facts.",
    "print": "`print EXPR, …` — prints values separated by spaces.",
    "fn": "`fn NAME(PARAMS)` — declares a function; its body sees globals and its parameters.",
    "return": "`return [EXPR]` — returns from the enclosing function.",
    "loop": "`loop N` — runs the indented block N times.",
    "for": "`for NAME in A..B` — loops over the half-open range; `for i in N` means `0..N`.",
    "in": "Part of `for NAME in RANGE`.",
    "if": "`if COND` — runs the block when COND is true; followed by `elif`/`else`.",
    "elif": "`elif COND` — another branch of an `if`.",
    "else": "`else` — the branch taken when no `if`/`elif` condition held.",
    "on": "Names the dataset in `train`/`evaluate`, or the input file in `infer`.",
    "as": "Names the target in `save`, `export`, `import` and `infer … on … as`.",
    "from": '`load MODEL from "path"`.',
    "and": "Logical and (short-circuit).",
    "or": "Logical or (short-circuit).",
    "not": "Logical negation.",
    "true": "The boolean true.",
    "false": "The boolean false.",
}


def property_markdown(block: str, spec: PropertySpec) -> str:
    values = " ".join(f"[{v.name}]" if v.optional else v.name for v in spec.values)
    if spec.variadic:
        values += " …"
    lines = [f"**{block}** `{spec.key} {values}`".rstrip(), "", spec.doc, ""]
    for v in spec.values:
        lines.append(f"- `{v.name}`: {v.describe()}" + (f" — {v.doc}" if v.doc else ""))
    if spec.default_doc:
        lines.append(f"\nDefault: {spec.default_doc}")
    if spec.only_for:
        lines.append(f"\nOnly for `type` {', '.join(spec.only_for)}.")
    lines.append(f"\nExample: `{spec.example}`")
    return "\n".join(lines)


def layer_markdown(spec: LayerSpec) -> str:
    lines = [f"**layer** `{spec.signature()}`", "", spec.doc]
    if spec.args:
        lines.append("")
        lines += [f"- `{a.name}`: {a.describe()}" + (f" — {a.doc}" if a.doc else "") for a in spec.args]
    if spec.params_doc:
        lines.append(f"\nParameters: {spec.params_doc}")
    lines.append(f"\nExample: `{spec.example}`")
    return "\n".join(lines)


def _shape(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def model_markdown(info: ModelInfo) -> str:
    kind = "tokens " if info.token_input else ""
    lines = [
        f"**model** `{info.name}` — input {kind}{_shape(info.input_shape)} → output {_shape(info.output_shape)}",
        "",
        "| # | layer | output shape | params |",
        "|---:|---|---|---:|",
    ]
    for layer in info.layers:
        args = " ".join(str(a) for a in layer.args)
        lines.append(f"| {layer.index} | {layer.kind} {args} | {_shape(layer.output_shape)} | {layer.params:,} |".replace("  |", " |"))
    lines.append(f"| | **total** | | **{info.total_params:,}** |")
    if info.loss:
        lines.append(f"\nloss: `{info.loss}`")
    return "\n".join(lines)
