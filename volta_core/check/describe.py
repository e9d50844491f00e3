"""Documentation text for every front door: keywords, block keys, layer kinds
and symbols — rendered from the schemas and the analysis, written once.

The LSP shows the Markdown (hover, completion docs); the kernel shows it in
inspection. A model's layer table comes from :mod:`volta_core.present`.
Nothing here imports an editor or notebook protocol.
"""

from __future__ import annotations

from typing import Final

from volta_core.check import schema
from volta_core.check.symbols import ModelInfo, Symbol, SymbolKind
from volta_core.present import layer_table

#: One line per keyword: hover, completion docs and kernel inspection.
KEYWORD_DOCS: Final[dict[str, str]] = {
    "model": "`model NAME` — declares a network in an indented property block (`layers` shorthand or `input` + `layer` stack; `loss`, …).",
    "dataset": "`dataset NAME` — declares a dataset in an indented property block (`type`, `source`, `batch`, …).",
    "train": "`train MODEL on DATASET` — mini-batch training; an optional block overrides the settings autopilot resolves.",
    "evaluate": "`evaluate MODEL on DATASET` — prints loss/accuracy on the validation split (or all data) and sets the model's metrics.",
    "infer": '`infer MODEL` — prints one prediction per `input v1 v2 …` row of its indented block; `infer MODEL on "in.csv" as "out.csv"` writes a prediction per row of a CSV file instead.',
    "save": '`save MODEL as "path" [with optimizer]` — writes a safetensors checkpoint atomically (with the optimizer state when asked).',
    "load": '`load MODEL from "path"` — reads a checkpoint into a model of the same architecture (else names the first parameter that differs).',
    "import": '`import "file.onnx" as NAME` — an ONNX graph becomes a Volta model.',
    "export": '`export MODEL as "file.onnx"` — writes a standard ONNX model.',
    "inspect": "`inspect MODEL` — prints the layer table: output shapes, parameter counts and totals.",
    "print": "`print EXPR, …` — prints the values separated by spaces.",
    "fn": "`fn NAME(PARAMS)` — declares a function; its indented body sees globals and its parameters and may `return` a value.",
    "return": "`return [EXPR]` — returns from the enclosing function.",
    "loop": "`loop N` — runs the indented block N times.",
    "for": "`for NAME in A..B` — runs the block for each integer of the half-open range; `for i in N` means `0..N`.",
    "in": "Part of `for NAME in RANGE`.",
    "if": "`if COND` — runs the block when COND is true; may be followed by `elif COND` and `else`.",
    "elif": "`elif COND` — another branch of the preceding `if`.",
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


def describe_keyword(word: str) -> str | None:
    return KEYWORD_DOCS.get(word)


def _value_line(v: schema.ValueSpec) -> str:
    return f"- `{v.name}`: {v.describe()}" + (f" — {v.doc}" if v.doc else "")


def describe_property(block: str, spec: schema.PropertySpec) -> str:
    """Markdown for one ``KEY value…`` line of ``block``."""
    values = " ".join(f"[{v.name}]" if v.optional else v.name for v in spec.values)
    if spec.variadic:
        values += " …"
    lines = [f"**{block}** `{spec.key} {values}`".rstrip(), "", spec.doc, ""]
    lines += [_value_line(v) for v in spec.values]
    if spec.default_doc:
        lines.append(f"\nDefault: {spec.default_doc}")
    if spec.only_for:
        lines.append(f"\nOnly for `type` {', '.join(spec.only_for)}.")
    lines.append(f"\nExample: `{spec.example}`")
    return "\n".join(lines)


def describe_key(block: str, key: str) -> str | None:
    """Markdown for property ``key`` of ``block`` (``model``, ``dataset``, ``train``, ``import``)."""
    spec = schema.BLOCKS[block].properties.get(key) if block in schema.BLOCKS else None
    return None if spec is None else describe_property(block, spec)


def describe_value(block: str, key: str, word: str) -> str | None:
    """Markdown for the word ``word`` used as a value of ``key``."""
    doc = describe_key(block, key)
    return None if doc is None else f"`{word}` — value of `{key}`\n\n{doc}"


def describe_layer(kind: str) -> str | None:
    """Markdown for a layer kind: signature, docs, arguments, parameters, example."""
    spec = schema.LAYERS.get(kind)
    if spec is None:
        return None
    lines = [f"**layer** `{spec.signature()}`", "", spec.doc]
    if spec.args or spec.options:
        lines.append("")
        lines += [_value_line(a) for a in spec.args]
        lines += [_value_line(o) + (f" (default {o.literal(o.default)})" if o.default is not None else "")
                  for o in spec.options]  # fmt: skip
    if spec.params_doc:
        lines.append(f"\nParameters: {spec.params_doc}")
    lines.append(f"\nExample: `{spec.example}`")
    return "\n".join(lines)


def describe_member(owner: SymbolKind | None, name: str) -> str | None:
    """Docs of ``.name`` on a model or dataset."""
    members = schema.DATASET_MEMBERS if owner == SymbolKind.DATASET else schema.MODEL_MEMBERS
    return members.get(name)


def symbol_signature(sym: Symbol) -> str:
    """One line: ``fn f(a, b)``, ``model m``, ``variable x: int``."""
    if sym.kind == SymbolKind.FUNCTION:
        return f"fn {sym.name}({', '.join(sym.params)})"
    if sym.kind in (SymbolKind.MODEL, SymbolKind.DATASET):
        return f"{sym.kind} {sym.name}"
    return f"{sym.kind} {sym.name}: {sym.type}"


def _constant(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else str(value)


def describe_symbol(sym: Symbol, model: ModelInfo | None = None) -> str:
    """Markdown for a declared name; a model with known shapes gets its layer table."""
    if sym.kind == SymbolKind.MODEL and model is not None:
        return layer_table(model).markdown()
    text = f"```volta\n{symbol_signature(sym)}\n```"
    variable = (SymbolKind.VARIABLE, SymbolKind.LOOP_VARIABLE, SymbolKind.PARAMETER)
    if sym.kind in variable and sym.constant is not None:
        text += f"\n\nvalue: `{_constant(sym.constant)}`"
    if sym.detail:
        text += f"\n\n{sym.detail}"
    return text
