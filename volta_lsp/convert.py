"""volta_core diagnostics and fixes → LSP objects."""

from __future__ import annotations

import re

from lsprotocol import types as lsp

from volta_core.diagnostics import CODES, Diagnostic, Fix, Severity, Tag
from volta_lsp.documents import Layout
from volta_lsp.positions import PositionMap

#: Every diagnostic code links to its entry in the diagnostics index.
DOCS_URL = "https://github.com/volta-lang/volta/blob/main/docs/diagnostics.md"


def docs_href(code: str) -> str:
    """The diagnostics index entry of ``code``: GitHub's anchor for `### CODE: title`."""
    info = CODES.get(code)
    heading = f"{code}: {info.title}" if info is not None else code
    slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
    return f"{DOCS_URL}#{slug}"


def diagnostic_message(diag: Diagnostic) -> str:
    """The message, then the label, helps and notes, one per line."""
    lines = [diag.message]
    if diag.label and diag.label != diag.message:
        lines.append(diag.label)
    lines += [f"help: {h}" for h in diag.helps]
    lines += [f"note: {n}" for n in diag.notes]
    return "\n".join(lines)


def to_lsp_diagnostic(diag: Diagnostic, layout: Layout, pos: PositionMap) -> lsp.Diagnostic:
    """``diag`` in the document of ``pos``; its labels may point into other cells of ``layout``."""
    related = [
        lsp.DiagnosticRelatedInformation(location=layout.location(label.span), message=label.message)
        for label in diag.labels
    ]
    tags = [lsp.DiagnosticTag.Unnecessary] if Tag.UNNECESSARY in diag.tags else None
    return lsp.Diagnostic(
        range=pos.range(diag.span),
        message=diagnostic_message(diag),
        severity=lsp.DiagnosticSeverity.Error
        if diag.severity == Severity.ERROR
        else lsp.DiagnosticSeverity.Warning,
        code=diag.code,
        code_description=lsp.CodeDescription(href=docs_href(diag.code)),
        source="volta",
        related_information=related or None,
        tags=tags,
    )


def fix_to_edit(fix: Fix, layout: Layout) -> lsp.WorkspaceEdit:
    return layout.edit((e.span, e.new_text) for e in fix.edits)
