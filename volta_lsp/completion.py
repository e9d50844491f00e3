"""Completion from the cursor's context, the schemas and the symbol table."""

from __future__ import annotations

import re

from lsprotocol import types as lsp

from volta_core.analysis import Analysis
from volta_core.check import schema
from volta_core.check.schema import PropertySpec, ValueSpec
from volta_core.check.symbols import Symbol, SymbolKind
from volta_core.syntax.tokens import STATEMENT_KEYWORDS
from volta_lsp.context import line_context
from volta_lsp.docs import KEYWORD_DOCS, layer_markdown, property_markdown

TOP_LEVEL_ONLY = ("model", "dataset", "fn", "import")
EXPRESSION_KEYWORDS = ("and", "or", "not", "true", "false")

SNIPPETS: dict[str, tuple[str, str]] = {
    "model": ("model block (layers shorthand)", "model ${1:name}\n    layers ${2:2} ${3:8} ${4:2}\n    activation ${5:relu}\n    loss ${6:cross_entropy}\n    seed ${7:1}"),
    "dataset": ("dataset block", "dataset ${1:name}\n    type ${2:xor}\n    batch ${3:32}"),
    "train": ("train block", "train ${1:model} on ${2:dataset}\n    epochs ${3:10}"),
    "fn": ("function", "fn ${1:name}(${2:x})\n    return ${3:x}"),
    "if": ("if block", "if ${1:condition}\n    $0"),
    "for": ("for loop over a range", "for ${1:i} in ${2:0}..${3:10}\n    $0"),
}

_SYMBOL_KINDS = {
    SymbolKind.VARIABLE: lsp.CompletionItemKind.Variable,
    SymbolKind.PARAMETER: lsp.CompletionItemKind.Variable,
    SymbolKind.LOOP_VARIABLE: lsp.CompletionItemKind.Variable,
    SymbolKind.FUNCTION: lsp.CompletionItemKind.Function,
    SymbolKind.MODEL: lsp.CompletionItemKind.Class,
    SymbolKind.DATASET: lsp.CompletionItemKind.Struct,
}
_MEMBER_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\.[A-Za-z0-9_]*$")


def _md(text: str) -> lsp.MarkupContent:
    return lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text)


def symbol_detail(sym: Symbol) -> str:
    if sym.kind == SymbolKind.FUNCTION:
        return f"fn {sym.name}({', '.join(sym.params)})"
    if sym.kind in (SymbolKind.MODEL, SymbolKind.DATASET):
        return f"{sym.kind} {sym.name}"
    return f"{sym.kind} {sym.name}: {sym.type}"


def _symbols(analysis: Analysis, offset: int, kinds: tuple[SymbolKind, ...] | None = None) -> list[lsp.CompletionItem]:
    """Globals declared anywhere, plus locals whose function encloses ``offset``."""
    items: dict[str, lsp.CompletionItem] = {}
    scope_range = _enclosing_function(analysis, offset)
    for sym in analysis.symbols.symbols:
        if kinds is not None and sym.kind not in kinds:
            continue
        if sym.scope != 0 and not (
            scope_range and sym.span and scope_range[0] <= sym.span.start <= scope_range[1]
        ):
            continue
        item = lsp.CompletionItem(label=sym.name, kind=_SYMBOL_KINDS.get(sym.kind), detail=symbol_detail(sym))
        if sym.kind == SymbolKind.FUNCTION:
            params = ", ".join(f"${{{i + 1}:{p}}}" for i, p in enumerate(sym.params))
            item.insert_text = f"{sym.name}({params})"
            item.insert_text_format = lsp.InsertTextFormat.Snippet
        items.setdefault(sym.name, item)
    return list(items.values())


def _enclosing_function(analysis: Analysis, offset: int) -> tuple[int, int] | None:
    from volta_core.syntax.ast import FnDef

    body = analysis.program.body
    for i, stmt in enumerate(body):
        if isinstance(stmt, FnDef):
            end = body[i + 1].span.start if i + 1 < len(body) else len(analysis.source.text)
            if stmt.span.start <= offset <= end:
                return stmt.span.start, end
    return None


def _keyword_items(words: tuple[str, ...]) -> list[lsp.CompletionItem]:
    return [
        lsp.CompletionItem(
            label=w,
            kind=lsp.CompletionItemKind.Keyword,
            documentation=_md(KEYWORD_DOCS[w]) if w in KEYWORD_DOCS else None,
        )
        for w in words
    ]


def _snippet_items(names: tuple[str, ...]) -> list[lsp.CompletionItem]:
    return [
        lsp.CompletionItem(
            label=name,
            kind=lsp.CompletionItemKind.Snippet,
            detail=SNIPPETS[name][0],
            insert_text=SNIPPETS[name][1],
            insert_text_format=lsp.InsertTextFormat.Snippet,
            sort_text=f"~{name}",  # after the plain keyword
        )
        for name in names
        if name in SNIPPETS
    ]


def _value_items(spec: ValueSpec) -> list[lsp.CompletionItem]:
    if spec.kind == "choice":
        return [lsp.CompletionItem(label=c, kind=lsp.CompletionItemKind.EnumMember, detail=spec.doc or None) for c in spec.choices]
    if spec.kind == "bool":
        return _keyword_items(("true", "false"))
    return []


def _value_spec(prop: PropertySpec, index: int) -> ValueSpec | None:
    if not prop.values:
        return None
    if index < len(prop.values):
        return prop.values[index]
    return prop.values[-1] if prop.variadic else None


def _property_completion(analysis: Analysis, block: str, words: list[str], offset: int) -> list[lsp.CompletionItem]:
    props = schema.BLOCKS[block].properties
    if len(words) <= 1:
        return [
            lsp.CompletionItem(
                label=key,
                kind=lsp.CompletionItemKind.Property,
                detail=spec.example,
                documentation=_md(property_markdown(block, spec)),
            )
            for key, spec in props.items()
        ]
    key, index = words[0], len(words) - 2
    if block == "model" and key == "layer":
        if index == 0:
            return [
                lsp.CompletionItem(
                    label=kind,
                    kind=lsp.CompletionItemKind.EnumMember,
                    detail=spec.signature(),
                    documentation=_md(layer_markdown(spec)),
                )
                for kind, spec in schema.LAYERS.items()
            ]
        layer = schema.LAYERS.get(words[1])
        if layer is not None and index - 1 < len(layer.args):
            return _value_items(layer.args[index - 1])
        return []
    prop = props.get(key)
    if prop is None:
        return []
    spec = _value_spec(prop, index)
    if spec is None:
        return []
    if spec.kind == "choice":
        return _value_items(spec)
    return _value_items(spec) + _symbols(analysis, offset, (SymbolKind.VARIABLE,))


def complete(analysis: Analysis, offset: int) -> list[lsp.CompletionItem]:
    """Completion items for the cursor at character ``offset``."""
    ctx = line_context(analysis.source.text, offset)
    prefix = ctx.prefix
    member = _MEMBER_RE.search(prefix)
    if member:
        sym = analysis.symbols.globals().get(member.group(1))
        members = schema.DATASET_MEMBERS if sym is not None and sym.kind == SymbolKind.DATASET else schema.MODEL_MEMBERS
        return [
            lsp.CompletionItem(
                label=name,
                kind=lsp.CompletionItemKind.Field,
                detail=schema.MEMBER_TYPES.get(name),
                documentation=_md(doc),
            )
            for name, doc in members.items()
        ]
    if "#" in prefix or "//" in prefix or prefix.count('"') % 2:
        return []  # in a comment or a string
    words = prefix.split()
    if prefix.endswith((" ", "\t")) or not words:
        words.append("")  # the word being typed is empty
    if ctx.block in ("model", "dataset", "train"):
        return _property_completion(analysis, ctx.block, words, offset)
    first = words[0]
    if len(words) == 1:
        keywords = tuple(k for k in STATEMENT_KEYWORDS if ctx.block is None or k not in TOP_LEVEL_ONLY)
        snippets = tuple(k for k in SNIPPETS if ctx.block is None or k not in TOP_LEVEL_ONLY)
        return _keyword_items(keywords) + _snippet_items(snippets) + _symbols(analysis, offset)
    models = (SymbolKind.MODEL,)
    if first in ("train", "evaluate") and len(words) == 2:
        return _symbols(analysis, offset, models)
    if first in ("train", "evaluate") and len(words) == 3:
        return _keyword_items(("on",))
    if first in ("train", "evaluate") and len(words) == 4 and words[2] == "on":
        return _symbols(analysis, offset, (SymbolKind.DATASET,))
    if first in ("infer", "save", "load", "export", "inspect") and len(words) == 2:
        return _symbols(analysis, offset, models)
    return _symbols(analysis, offset) + _keyword_items(EXPRESSION_KEYWORDS)
