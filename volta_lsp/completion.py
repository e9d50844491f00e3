"""``volta_core.check.complete`` items → LSP completion items and signature help."""

from __future__ import annotations

from lsprotocol import types as lsp

from volta_core.analysis import Analysis
from volta_core.check import complete as C
from volta_core.check.describe import symbol_signature

_KINDS = {
    "keyword": lsp.CompletionItemKind.Keyword,
    "property": lsp.CompletionItemKind.Property,
    "value": lsp.CompletionItemKind.EnumMember,
    "layer": lsp.CompletionItemKind.EnumMember,
    "variable": lsp.CompletionItemKind.Variable,
    "function": lsp.CompletionItemKind.Function,
    "model": lsp.CompletionItemKind.Class,
    "dataset": lsp.CompletionItemKind.Struct,
    "member": lsp.CompletionItemKind.Field,
    "snippet": lsp.CompletionItemKind.Snippet,
}


def to_lsp_item(item: C.CompletionItem) -> lsp.CompletionItem:
    return lsp.CompletionItem(
        label=item.label,
        kind=_KINDS.get(item.kind),
        detail=item.detail or None,
        documentation=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=item.documentation)
        if item.documentation
        else None,
        insert_text=item.insert_text,
        insert_text_format=lsp.InsertTextFormat.Snippet if item.is_snippet else None,
        sort_text=item.sort_text,
    )


def complete(analysis: Analysis, offset: int) -> list[lsp.CompletionItem]:
    """Completion items for the cursor at character ``offset``."""
    return [to_lsp_item(item) for item in C.complete(analysis, offset)]


def signature_help(analysis: Analysis, offset: int) -> lsp.SignatureHelp | None:
    """The signature of the function whose call encloses ``offset``, its parameters as label ranges."""
    found = C.call_at(analysis, offset)
    if found is None:
        return None
    sym, active = found
    label = symbol_signature(sym)
    params: list[lsp.ParameterInformation] = []
    at = len(f"fn {sym.name}(")
    for name in sym.params:
        params.append(lsp.ParameterInformation(label=(at, at + len(name))))
        at += len(name) + 2
    info = lsp.SignatureInformation(
        label=label,
        documentation=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=sym.detail) if sym.detail and sym.detail != label else None,
        parameters=params,
    )
    return lsp.SignatureHelp(signatures=[info], active_signature=0, active_parameter=min(active, max(len(params) - 1, 0)))
