"""The language reference (``docs/reference.md``), generated from the schemas
and the keyword docs (the text hover shows), so that it cannot drift from what
the checker accepts."""

from __future__ import annotations

from volta_core.check import schema as S
from volta_core.check.describe import KEYWORD_DOCS
from volta_core.syntax.tokens import KEYWORDS, STATEMENT_KEYWORDS


def _values(spec: S.PropertySpec) -> str:
    parts = []
    for v in spec.values:
        text = v.describe()
        parts.append(f"{v.name}: {text}" + (" (optional)" if v.optional else ""))
    if spec.variadic:
        parts[-1] += f", repeated (at least {spec.min_values})"
    return "; ".join(parts)


def _option(o: S.ValueSpec) -> str:
    default = f", default {o.literal(o.default)}" if o.default is not None else ""
    return f"option `{o.name}`: {o.describe()}{default} ({o.doc})"


def _cell(text: str) -> str:
    """Text for a Markdown table cell (a `|` would end the cell, even in code)."""
    return text.replace("|", "\\|")


def render_reference() -> str:
    """Markdown for every block key, value kind, range, allowed value and layer kind."""
    out = [
        "# Volta language reference",
        "",
        "<!-- generated from volta_core/check/schema.py and check/describe.py by volta_core.check.reference; do not edit -->",
        "",
        "Keywords: " + ", ".join(f"`{k}`" for k in sorted(KEYWORDS)) + ".",
        "Property keys are not keywords and may be used as names.",
        "",
        "## Statements",
        "",
        "Besides declarations (`NAME EXPR`) and assignments (`NAME = EXPR`):",
        "",
        "| statement | what it does |",
        "|---|---|",
    ]
    for keyword in STATEMENT_KEYWORDS:
        syntax, _, what = KEYWORD_DOCS[keyword].partition(" — ")
        out.append(f"| {syntax} | {what or '—'} |")
    out.append("")
    for block in S.BLOCKS.values():
        out += [f"## `{block.name}` properties", "", block.doc, "", "| key | values | default | description | example |", "|---|---|---|---|---|"]
        for spec in block.properties.values():
            note = spec.doc
            if spec.only_for:
                note += f" Only for: {', '.join(spec.only_for)}."
            if spec.block:
                note += " Opens an indented block of `layer` lines (blocks nest)."
            if spec.repeatable:
                note += " May be repeated."
            default = spec.default_doc or "—"
            out.append(
                f"| `{spec.key}` | {_values(spec)} | {default} | {note} | `{spec.example}` |"
            )
        out.append("")
    out += ["## Layer kinds", "", "| layer | arguments | parameters | description | example |", "|---|---|---|---|---|"]
    for layer in S.LAYERS.values():
        args = "; ".join(
            [f"{a.name}: {a.describe()}" + (" (optional)" if a.optional else "") for a in layer.args]
            + [_option(o) for o in layer.options]
        ) or "—"
        cells = (f"`{layer.signature()}`", args, layer.params_doc or "—", layer.doc, f"`{layer.example}`")
        out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    out += ["", "## Members", "", "| member | of | description |", "|---|---|---|"]
    out += [f"| `.{k}` | model | {v} |" for k, v in S.MODEL_MEMBERS.items()]
    out += [f"| `.{k}` | dataset | {v} |" for k, v in S.DATASET_MEMBERS.items()]
    out.append("")
    return "\n".join(out)
