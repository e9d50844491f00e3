"""The pygls server: LSP requests → volta_core analysis → LSP responses.

No analysis logic lives here. Analysis runs off the event loop: each edit
schedules one (debounced) in a worker thread, at most one per document at a
time; an analysis superseded by a newer version is cancelled between its
phases (parse, check) and its result dropped, so diagnostics are published
only for the latest version the client sent. Requests (hover, completion, …)
never wait for it: a document of at most :data:`SYNC_ANALYSIS_CHARS` is
analysed on the spot when its text changed (milliseconds); a larger one is
answered from its latest finished analysis (or not at all until the first
finishes). Documents over :data:`MAX_DOCUMENT_CHARS` are not analysed; one
warning says so (docs/editors.md).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Callable
from typing import Any, Final, TypeVar

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer

from volta_core import __version__
from volta_core.analysis import Analysis, AnalysisCancelled, analyze
from volta_core.syntax.formatter import format_source
from volta_core.syntax.source import Span, normalise_newlines
from volta_core.syntax.tokens import KEYWORDS
from volta_lsp import completion, features
from volta_lsp.convert import fix_to_edit, to_lsp_diagnostic
from volta_lsp.positions import PositionMap
from volta_lsp.transport import VoltaProtocol

log = logging.getLogger("volta_lsp")
DEBOUNCE_S = 0.15
#: Documents up to this many characters are analysed when a request needs it.
SYNC_ANALYSIS_CHARS: Final = 20_000
#: Documents over this many characters get no live analysis (docs/editors.md).
MAX_DOCUMENT_CHARS: Final = 2_000_000
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
F = TypeVar("F", bound=Callable[..., Any])


def _empty_analysis(path: str) -> tuple[Analysis, PositionMap]:
    result = analyze("", path)
    return result, PositionMap("")


class VoltaServer(LanguageServer):
    """Keeps the latest analysis per document and its diagnostics work."""

    def __init__(self) -> None:
        super().__init__("volta-lsp", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Full,
                         protocol_cls=VoltaProtocol)
        self.analyses: dict[str, tuple[str, Analysis, PositionMap]] = {}
        self.versions: dict[str, int | None] = {}
        self.pending: dict[str, asyncio.Task[None]] = {}
        #: Documents whose analysis is running in a worker thread (their task is not cancelled:
        #: a thread cannot be stopped, so the analysis is asked to cancel itself instead).
        self.analysing: set[str] = set()

    def _document(self, uri: str) -> tuple[str, str]:
        doc = self.workspace.get_text_document(uri)
        return normalise_newlines(doc.source), doc.path or uri

    def analysis(self, uri: str) -> tuple[Analysis, PositionMap]:
        """The analysis a request reads: of the current text when it is small or
        already analysed, else the latest finished one (never waiting for one)."""
        text, path = self._document(uri)
        cached = self.analyses.get(uri)
        if cached is not None and cached[0] == text:
            return cached[1], cached[2]
        if len(text) <= SYNC_ANALYSIS_CHARS:
            result = analyze(text, path)
            pos = PositionMap(result.source.text)
            self.analyses[uri] = (text, result, pos)
            return result, pos
        return (cached[1], cached[2]) if cached is not None else _empty_analysis(path)

    def schedule_diagnostics(self, uri: str, version: int | None) -> None:
        self.versions[uri] = version
        old = self.pending.pop(uri, None)
        if old is not None and uri not in self.analysing:
            old.cancel()  # still waiting: never started
        self.pending[uri] = asyncio.ensure_future(self._publish_later(uri, version))

    async def _publish_later(self, uri: str, version: int | None) -> None:
        def superseded() -> bool:  # asked from the worker thread too
            return uri not in self.versions or self.versions[uri] != version

        try:
            await asyncio.sleep(DEBOUNCE_S)
            while uri in self.analysing:  # one analysis per document at a time
                await asyncio.sleep(DEBOUNCE_S)
            if superseded():
                return
            text, path = self._document(uri)
            if len(text) > MAX_DOCUMENT_CHARS:
                self._publish(uri, version, [_too_large(text)])
                return
            self.analysing.add(uri)
            try:
                result = await asyncio.to_thread(analyze, text, path, None, superseded)
            finally:
                self.analysing.discard(uri)
            if superseded():
                return  # a newer edit arrived while analysing: drop this result
            pos = PositionMap(result.source.text)
            self.analyses[uri] = (text, result, pos)
            self._publish(uri, version, [to_lsp_diagnostic(d, uri, pos) for d in result.diagnostics])
        except (asyncio.CancelledError, AnalysisCancelled):
            return
        except Exception:
            report_exception(self, "diagnostics")
        finally:
            if self.pending.get(uri) is asyncio.current_task():
                del self.pending[uri]

    def _publish(self, uri: str, version: int | None, diagnostics: list[lsp.Diagnostic]) -> None:
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
        )


def _too_large(text: str) -> lsp.Diagnostic:
    return lsp.Diagnostic(
        range=lsp.Range(start=lsp.Position(line=0, character=0), end=lsp.Position(line=0, character=0)),
        message=(f"this document has {len(text):,} characters; live analysis stops at {MAX_DOCUMENT_CHARS:,} "
                 "(run `volta check` on the file for its diagnostics)"),
        severity=lsp.DiagnosticSeverity.Warning,
        source="volta",
    )


def report_exception(server: LanguageServer, what: str) -> None:
    log.exception("volta-lsp: %s failed", what)
    try:
        server.window_log_message(
            lsp.LogMessageParams(type=lsp.MessageType.Error, message=f"volta-lsp: {what} failed; see the server log")
        )
    except Exception:
        log.exception("volta-lsp: could not log to the client")


def safe(default: Callable[[], Any]) -> Callable[[F], F]:
    """Log any exception of a handler and answer ``default()`` instead: the server never dies."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def handler(server: VoltaServer, params: Any) -> Any:
            try:
                return fn(server, params)
            except JsonRpcInvalidParams:
                raise
            except Exception:
                report_exception(server, fn.__name__)
                return default()

        return handler  # type: ignore[return-value]

    return wrap


def _kind(kind: lsp.CodeActionKind | str) -> str:
    return kind.value if isinstance(kind, lsp.CodeActionKind) else kind


def _none() -> None:
    return None


def _empty() -> list[Any]:
    return []


def create_server() -> VoltaServer:
    server = VoltaServer()

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    @safe(_none)
    def did_open(ls: VoltaServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.schedule_diagnostics(params.text_document.uri, params.text_document.version)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    @safe(_none)
    def did_change(ls: VoltaServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.schedule_diagnostics(params.text_document.uri, params.text_document.version)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    @safe(_none)
    def did_save(ls: VoltaServer, params: lsp.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.schedule_diagnostics(uri, ls.versions.get(uri))

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    @safe(_none)
    def did_close(ls: VoltaServer, params: lsp.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        task = ls.pending.pop(uri, None)
        if task is not None and uri not in ls.analysing:
            task.cancel()
        ls.versions.pop(uri, None)  # an analysis still running drops its result
        ls.analyses.pop(uri, None)
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(
        lsp.TEXT_DOCUMENT_CODE_ACTION,
        lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix, lsp.CodeActionKind.Source]),
    )
    @safe(_empty)
    def code_action(ls: VoltaServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        uri = params.text_document.uri
        analysis, pos = ls.analysis(uri)
        lo, hi = pos.offset(params.range.start), pos.offset(params.range.end)
        only = params.context.only
        actions: list[lsp.CodeAction] = []
        if not only or any(_kind(k).startswith("quickfix") for k in only):
            for diag in analysis.diagnostics:
                if diag.span.start > hi or diag.span.end < lo:
                    continue
                lsp_diag = to_lsp_diagnostic(diag, uri, pos)
                for i, fix in enumerate(diag.fixes):
                    actions.append(
                        lsp.CodeAction(
                            title=fix.title,
                            kind=lsp.CodeActionKind.QuickFix,
                            diagnostics=[lsp_diag],
                            edit=fix_to_edit(fix, uri, pos),
                            is_preferred=i == 0,
                        )
                    )
        if not only or any(_kind(k).startswith("source") for k in only):
            edits = _format_edits(analysis, pos)
            if edits:
                actions.append(
                    lsp.CodeAction(
                        title="Format document",
                        kind=lsp.CodeActionKind.Source,
                        edit=lsp.WorkspaceEdit(changes={uri: edits}),
                    )
                )
        return actions

    @server.feature(
        lsp.TEXT_DOCUMENT_COMPLETION,
        lsp.CompletionOptions(trigger_characters=[".", " "]),
    )
    @safe(_none)
    def complete(ls: VoltaServer, params: lsp.CompletionParams) -> lsp.CompletionList:
        analysis, pos = ls.analysis(params.text_document.uri)
        items = completion.complete(analysis, pos.offset(params.position))
        return lsp.CompletionList(is_incomplete=False, items=items)

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    @safe(_none)
    def hover(ls: VoltaServer, params: lsp.HoverParams) -> lsp.Hover | None:
        analysis, pos = ls.analysis(params.text_document.uri)
        found = features.hover_markdown(analysis, pos.offset(params.position))
        if found is None:
            return None
        text, span = found
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text), range=pos.range(span))

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    @safe(_none)
    def definition(ls: VoltaServer, params: lsp.DefinitionParams) -> lsp.Location | None:
        uri = params.text_document.uri
        analysis, pos = ls.analysis(uri)
        sym = features.symbol_at(analysis, pos.offset(params.position))
        if sym is None or sym.span is None:
            return None
        return lsp.Location(uri=uri, range=pos.range(sym.span))

    @server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
    @safe(_empty)
    def references(ls: VoltaServer, params: lsp.ReferenceParams) -> list[lsp.Location]:
        uri = params.text_document.uri
        analysis, pos = ls.analysis(uri)
        sym = features.symbol_at(analysis, pos.offset(params.position))
        if sym is None:
            return []
        spans = features.occurrences(sym, params.context.include_declaration)
        return [lsp.Location(uri=uri, range=pos.range(s)) for s in spans]

    @server.feature(lsp.TEXT_DOCUMENT_PREPARE_RENAME)
    @safe(_none)
    def prepare_rename(ls: VoltaServer, params: lsp.PrepareRenameParams) -> lsp.Range | None:
        analysis, pos = ls.analysis(params.text_document.uri)
        offset = pos.offset(params.position)
        sym = features.symbol_at(analysis, offset)
        if sym is None or sym.span is None:
            return None  # keywords, literals, property keys, names from elsewhere
        for span in features.occurrences(sym):
            if span.start <= offset <= span.end:
                return pos.range(span)
        return None

    @server.feature(lsp.TEXT_DOCUMENT_RENAME, lsp.RenameOptions(prepare_provider=True))
    @safe(_none)
    def rename(ls: VoltaServer, params: lsp.RenameParams) -> lsp.WorkspaceEdit | None:
        uri = params.text_document.uri
        name = params.new_name
        if not _IDENT.match(name) or name in KEYWORDS:
            raise JsonRpcInvalidParams(f"`{name}` is not a valid Volta name")
        analysis, pos = ls.analysis(uri)
        sym = features.symbol_at(analysis, pos.offset(params.position))
        if sym is None or sym.span is None:
            return None
        edits = [lsp.TextEdit(range=pos.range(s), new_text=name) for s in features.occurrences(sym)]
        return lsp.WorkspaceEdit(changes={uri: edits})

    @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    @safe(_empty)
    def document_symbols(ls: VoltaServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
        analysis, pos = ls.analysis(params.text_document.uri)
        return features.document_symbols(analysis, pos)

    @server.feature(
        lsp.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL,
        lsp.SemanticTokensLegend(token_types=features.TOKEN_TYPES, token_modifiers=features.TOKEN_MODIFIERS),
    )
    @safe(lambda: lsp.SemanticTokens(data=[]))
    def semantic_tokens(ls: VoltaServer, params: lsp.SemanticTokensParams) -> lsp.SemanticTokens:
        analysis, pos = ls.analysis(params.text_document.uri)
        return lsp.SemanticTokens(data=features.semantic_tokens(analysis, pos))

    @server.feature(lsp.WORKSPACE_SYMBOL)
    @safe(_empty)
    def workspace_symbols(ls: VoltaServer, params: lsp.WorkspaceSymbolParams) -> list[lsp.WorkspaceSymbol]:
        found: list[lsp.WorkspaceSymbol] = []
        for uri in sorted(ls.workspace.text_documents):
            analysis, pos = ls.analysis(uri)
            found += features.workspace_symbols(analysis, pos, uri, params.query)
        return found

    @server.feature(
        lsp.TEXT_DOCUMENT_SIGNATURE_HELP,
        lsp.SignatureHelpOptions(trigger_characters=["(", ","], retrigger_characters=[")"]),
    )
    @safe(_none)
    def signature_help(ls: VoltaServer, params: lsp.SignatureHelpParams) -> lsp.SignatureHelp | None:
        analysis, pos = ls.analysis(params.text_document.uri)
        return completion.signature_help(analysis, pos.offset(params.position))

    @server.feature(lsp.TEXT_DOCUMENT_FOLDING_RANGE)
    @safe(_empty)
    def folding(ls: VoltaServer, params: lsp.FoldingRangeParams) -> list[lsp.FoldingRange]:
        text, _ = ls._document(params.text_document.uri)
        return features.folding_ranges(text)

    @server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
    @safe(_empty)
    def formatting(ls: VoltaServer, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit]:
        analysis, pos = ls.analysis(params.text_document.uri)
        return _format_edits(analysis, pos)

    return server


def _format_edits(analysis: Analysis, pos: PositionMap) -> list[lsp.TextEdit]:
    """One whole-document edit, or none when formatted already or not parseable."""
    text = analysis.source.text
    formatted = format_source(text)
    if formatted is None or formatted == text:
        return []
    return [lsp.TextEdit(range=pos.range(Span(0, len(text))), new_text=formatted)]
