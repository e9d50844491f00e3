"""The pygls server: LSP requests → volta_core analysis → LSP responses.

No analysis logic lives here. What is analysed as one program is a *unit*
(``volta_lsp.documents``): a ``.vt`` file, jupyterlab-lsp's virtual document
of a notebook, or an LSP notebook document's Volta cells in cell order
(diagnostics are published per cell, with the cell's own positions). Text
documents are synchronised incrementally. Analysis runs off the event loop: each edit
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
import gc
import logging
import re
import time
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
from volta_lsp.documents import Kind, Layout, Unit, is_virtual_notebook
from volta_lsp.positions import UTF16, PositionMap
from volta_lsp.transport import VoltaProtocol

log = logging.getLogger("volta_lsp")
DEBOUNCE_S = 0.15
#: With :meth:`VoltaServer.collect_when_idle`: the cyclic garbage collector runs once no
#: document was edited for this long and nothing is being analysed …
IDLE_GC_S = 1.0
#: … or at the latest this long after it last ran.
MAX_GC_GAP_S = 30.0
#: Documents up to this many characters are analysed when a request needs it.
SYNC_ANALYSIS_CHARS: Final = 20_000
#: Documents over this many characters get no live analysis (docs/editors.md).
MAX_DOCUMENT_CHARS: Final = 2_000_000
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
F = TypeVar("F", bound=Callable[..., Any])
#: The language ids of Volta cells.
VOLTA_LANGUAGES: Final = frozenset({"volta"})
#: Jupyter notebooks' Volta cells are synchronised as notebook documents (LSP 3.17).
NOTEBOOK_SYNC: Final = lsp.NotebookDocumentSyncOptions(
    notebook_selector=[
        lsp.NotebookDocumentFilterWithNotebook(
            notebook="jupyter-notebook", cells=[lsp.NotebookCellLanguage(language="volta")]
        )
    ],
    save=True,
)


class VoltaServer(LanguageServer):
    """Keeps the latest analysis per unit (a file, or a notebook's cells) and its diagnostics work."""

    def __init__(self) -> None:
        super().__init__(
            "volta-lsp", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental,
            notebook_document_sync=NOTEBOOK_SYNC, protocol_cls=VoltaProtocol,
        )
        #: unit key → (the texts analysed, their analysis, its layout)
        self.analyses: dict[str, tuple[tuple[str, ...], Analysis, Layout]] = {}
        self.versions: dict[str, int | None] = {}
        self.pending: dict[str, asyncio.Task[None]] = {}
        #: Units whose analysis is running in a worker thread (their task is not cancelled:
        #: a thread cannot be stopped, so the analysis is asked to cancel itself instead).
        self.analysing: set[str] = set()
        #: When each unit was last edited (time.monotonic), for the debounce.
        self.last_edit: dict[str, float] = {}
        #: The documents each unit last published diagnostics for (a notebook's cells).
        self.published_uris: dict[str, set[str]] = {}
        #: Whether this server runs the cyclic garbage collector itself (:meth:`collect_when_idle`).
        self.idle_gc = False
        self._gc_task: asyncio.Task[None] | None = None

    # ---------------------------------------------------- memory
    def collect_when_idle(self) -> None:
        """Run Python's cyclic garbage collector only while the user is idle (the server process's policy).

        An analysis of a large document makes tens of thousands of objects; with
        automatic collection, the first allocation after it traverses all of
        them (20–40 ms of a 5,000-line file's ~110 ms), delaying its diagnostics.
        Nearly all of an analysis is freed by reference counting (one leaves
        about 20 objects in reference cycles), so the collector is switched off
        and run when no document was edited for :data:`IDLE_GC_S` and no
        analysis is running, and at least every :data:`MAX_GC_GAP_S`.
        """
        self.idle_gc = True
        gc.disable()

    def _start_collector(self) -> None:
        if self.idle_gc and self._gc_task is None:
            self._gc_task = asyncio.ensure_future(self._collector())

    async def _collector(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(IDLE_GC_S / 4)
            now = time.monotonic()
            quiet = not self.analysing and now - max(self.last_edit.values(), default=0.0) >= IDLE_GC_S
            if (quiet and gc.get_count()[0] > 0) or now - last >= MAX_GC_GAP_S:
                gc.collect()
                last = time.monotonic()

    # ------------------------------------------------------------ units
    def unit_key(self, uri: str) -> str:
        """The unit a document belongs to: its notebook's URI for a cell, else its own."""
        notebook = self.workspace.get_notebook_document(cell_uri=uri)
        return notebook.uri if notebook is not None else uri

    def unit(self, key: str) -> Unit:
        notebook = self.workspace.get_notebook_document(notebook_uri=key)
        if notebook is not None:
            uris, texts = [], []
            for cell in notebook.cells:
                doc = self.workspace.text_documents.get(cell.document)
                if cell.kind == lsp.NotebookCellKind.Code and doc is not None and doc.language_id in VOLTA_LANGUAGES:
                    uris.append(cell.document)
                    texts.append(normalise_newlines(doc.source))
            return Unit(key, Kind.NOTEBOOK, key, tuple(uris), tuple(texts))
        doc = self.workspace.get_text_document(key)
        path = doc.path or key
        kind = Kind.VIRTUAL_NOTEBOOK if is_virtual_notebook(path) else Kind.FILE
        return Unit(key, kind, path, (key,), (normalise_newlines(doc.source),))

    def _encoding(self) -> str:
        return str(self.workspace.position_encoding or UTF16)

    def view(self, uri: str) -> tuple[Analysis, Layout, PositionMap]:
        """The analysis a request on document ``uri`` reads, its layout and ``uri``'s map:
        of the current texts when small or already analysed, else the latest
        finished one (never waiting for one)."""
        unit = self.unit(self.unit_key(uri))
        analysis, layout = self._analysis(unit)
        pos = layout.part(uri)
        if pos is None:  # a notebook's cell that is not Volta (markdown, another language)
            empty = Layout(((uri, PositionMap("", 0, self._encoding())),))
            return analyze("", uri), empty, empty.parts[0][1]
        return analysis, layout, pos

    def _analysis(self, unit: Unit) -> tuple[Analysis, Layout]:
        cached = self.analyses.get(unit.key)
        if cached is not None and cached[0] == unit.texts:
            return cached[1], cached[2]
        if unit.size <= SYNC_ANALYSIS_CHARS:
            result, layout = unit.analyze(), unit.layout(self._encoding())
            self.analyses[unit.key] = (unit.texts, result, layout)
            return result, layout
        if cached is not None:
            return cached[1], cached[2]
        return analyze("", unit.path), unit.layout(self._encoding())

    # ------------------------------------------------------ diagnostics
    def schedule_diagnostics(self, key: str, version: int | None) -> None:
        """Analyse ``key`` for ``version``: at once after a quiet spell (an edit more
        than :data:`DEBOUNCE_S` after the previous one), else when the burst of
        edits pauses for :data:`DEBOUNCE_S` (typing is analysed once per pause)."""
        self._start_collector()
        self.versions[key] = version
        now = time.monotonic()
        quiet = now - self.last_edit.get(key, -DEBOUNCE_S) >= DEBOUNCE_S
        self.last_edit[key] = now
        old = self.pending.pop(key, None)
        if old is not None and key not in self.analysing:
            old.cancel()  # still waiting: never started
        delay = 0.0 if quiet and old is None else DEBOUNCE_S
        self.pending[key] = asyncio.ensure_future(self._publish_later(key, version, delay))

    async def _publish_later(self, key: str, version: int | None, delay: float = DEBOUNCE_S) -> None:
        def superseded() -> bool:  # asked from the worker thread too
            return key not in self.versions or self.versions[key] != version

        try:
            await asyncio.sleep(delay)
            while key in self.analysing:  # one analysis per unit at a time
                await asyncio.sleep(DEBOUNCE_S)
            if superseded():
                return
            unit = self.unit(key)
            if unit.size > MAX_DOCUMENT_CHARS:
                self._publish(key, version, {uri: [_too_large(unit.size)] for uri in unit.uris})
                return
            layout = unit.layout(self._encoding())
            self.analysing.add(key)
            try:
                result = await asyncio.to_thread(unit.analyze, superseded)
            finally:
                self.analysing.discard(key)
            if superseded():
                return  # a newer edit arrived while analysing: drop this result
            # The previous analysis (a large tree of small objects) is freed once the diagnostics
            # are out: freeing it first would delay them by a good part of an analysis.
            previous = self.analyses.get(key)
            self.analyses[key] = (unit.texts, result, layout)
            by_uri: dict[str, list[lsp.Diagnostic]] = {uri: [] for uri in unit.uris}
            for diag in result.diagnostics:
                uri, pos = layout.at(diag.span.start)
                by_uri[uri].append(to_lsp_diagnostic(diag, layout, pos))
            self._publish(key, version, by_uri)
            del previous
        except (asyncio.CancelledError, AnalysisCancelled):
            return
        except Exception:
            report_exception(self, "diagnostics")
        finally:
            if self.pending.get(key) is asyncio.current_task():
                del self.pending[key]

    def _publish(self, key: str, version: int | None, by_uri: dict[str, list[lsp.Diagnostic]]) -> None:
        """Diagnostics of each document of a unit; a document no longer in it gets none."""
        for gone in self.published_uris.get(key, set()) - set(by_uri):
            self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=gone, diagnostics=[]))
        for uri, diagnostics in by_uri.items():
            self.text_document_publish_diagnostics(
                lsp.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version if uri == key else None)
            )
        self.published_uris[key] = set(by_uri)

    def forget(self, key: str) -> None:
        """A closed unit: no analysis, no pending work, its diagnostics cleared."""
        task = self.pending.pop(key, None)
        if task is not None and key not in self.analysing:
            task.cancel()
        self.versions.pop(key, None)  # an analysis still running drops its result
        self.last_edit.pop(key, None)
        self.analyses.pop(key, None)
        for uri in self.published_uris.pop(key, {key}):
            self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


def _too_large(size: int) -> lsp.Diagnostic:
    return lsp.Diagnostic(
        range=lsp.Range(start=lsp.Position(line=0, character=0), end=lsp.Position(line=0, character=0)),
        message=(f"this document has {size:,} characters; live analysis stops at {MAX_DOCUMENT_CHARS:,} "
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


def _analyse_on(server: VoltaServer, method: str, versioned: Callable[[Any], tuple[str, int | None]]) -> None:
    """On notification ``method``, analyse the unit ``versioned(params)`` names, at its version."""

    @server.feature(method)
    @safe(_none)
    def handler(ls: VoltaServer, params: Any) -> None:
        ls.schedule_diagnostics(*versioned(params))


def create_server() -> VoltaServer:
    server = VoltaServer()

    # An opened or edited document or notebook (cells inserted, deleted, moved or
    # edited: the workspace already holds the new notebook) is analysed again.
    _analyse_on(server, lsp.TEXT_DOCUMENT_DID_OPEN, lambda p: (p.text_document.uri, p.text_document.version))
    _analyse_on(server, lsp.TEXT_DOCUMENT_DID_CHANGE, lambda p: (p.text_document.uri, p.text_document.version))
    _analyse_on(server, lsp.NOTEBOOK_DOCUMENT_DID_OPEN,
                lambda p: (p.notebook_document.uri, p.notebook_document.version))
    _analyse_on(server, lsp.NOTEBOOK_DOCUMENT_DID_CHANGE,
                lambda p: (p.notebook_document.uri, p.notebook_document.version))

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    @safe(_none)
    def did_save(ls: VoltaServer, params: lsp.DidSaveTextDocumentParams) -> None:
        key = ls.unit_key(params.text_document.uri)
        ls.schedule_diagnostics(key, ls.versions.get(key))

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    @safe(_none)
    def did_close(ls: VoltaServer, params: lsp.DidCloseTextDocumentParams) -> None:
        ls.forget(params.text_document.uri)

    @server.feature(lsp.NOTEBOOK_DOCUMENT_DID_SAVE)
    @safe(_none)
    def notebook_did_save(ls: VoltaServer, params: lsp.DidSaveNotebookDocumentParams) -> None:
        key = params.notebook_document.uri
        ls.schedule_diagnostics(key, ls.versions.get(key))

    @server.feature(lsp.NOTEBOOK_DOCUMENT_DID_CLOSE)
    @safe(_none)
    def notebook_did_close(ls: VoltaServer, params: lsp.DidCloseNotebookDocumentParams) -> None:
        ls.forget(params.notebook_document.uri)

    @server.feature(
        lsp.TEXT_DOCUMENT_CODE_ACTION,
        lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix, lsp.CodeActionKind.Source]),
    )
    @safe(_empty)
    def code_action(ls: VoltaServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        uri = params.text_document.uri
        analysis, layout, pos = ls.view(uri)
        lo, hi = pos.offset(params.range.start), pos.offset(params.range.end)
        only = params.context.only
        actions: list[lsp.CodeAction] = []
        if not only or any(_kind(k).startswith("quickfix") for k in only):
            for diag in analysis.diagnostics:
                if diag.span.start > hi or diag.span.end < lo or layout.at(diag.span.start)[0] != uri:
                    continue
                lsp_diag = to_lsp_diagnostic(diag, layout, pos)
                for i, fix in enumerate(diag.fixes):
                    actions.append(
                        lsp.CodeAction(
                            title=fix.title,
                            kind=lsp.CodeActionKind.QuickFix,
                            diagnostics=[lsp_diag],
                            edit=fix_to_edit(fix, layout),
                            is_preferred=i == 0,
                        )
                    )
        if not only or any(_kind(k).startswith("source") for k in only):
            edits = _format_edits(ls, uri, pos)
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
        analysis, _, pos = ls.view(params.text_document.uri)
        items = completion.complete(analysis, pos.offset(params.position))
        return lsp.CompletionList(is_incomplete=False, items=items)

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    @safe(_none)
    def hover(ls: VoltaServer, params: lsp.HoverParams) -> lsp.Hover | None:
        analysis, _, pos = ls.view(params.text_document.uri)
        found = features.hover_markdown(analysis, pos.offset(params.position))
        if found is None:
            return None
        text, span = found
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text), range=pos.range(span))

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    @safe(_none)
    def definition(ls: VoltaServer, params: lsp.DefinitionParams) -> lsp.Location | None:
        analysis, layout, pos = ls.view(params.text_document.uri)
        sym = features.symbol_at(analysis, pos.offset(params.position))
        if sym is None or sym.span is None:
            return None
        return layout.location(sym.span)

    @server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
    @safe(_empty)
    def references(ls: VoltaServer, params: lsp.ReferenceParams) -> list[lsp.Location]:
        analysis, layout, pos = ls.view(params.text_document.uri)
        sym = features.symbol_at(analysis, pos.offset(params.position))
        if sym is None:
            return []
        return [layout.location(s) for s in features.occurrences(sym, params.context.include_declaration)]

    @server.feature(lsp.TEXT_DOCUMENT_PREPARE_RENAME)
    @safe(_none)
    def prepare_rename(ls: VoltaServer, params: lsp.PrepareRenameParams) -> lsp.Range | None:
        analysis, _, pos = ls.view(params.text_document.uri)
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
        name = params.new_name
        if not _IDENT.match(name) or name in KEYWORDS:
            raise JsonRpcInvalidParams(f"`{name}` is not a valid Volta name")
        analysis, layout, pos = ls.view(params.text_document.uri)
        sym = features.symbol_at(analysis, pos.offset(params.position))
        if sym is None or sym.span is None:
            return None
        return layout.edit((s, name) for s in features.occurrences(sym))

    @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    @safe(_empty)
    def document_symbols(ls: VoltaServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
        analysis, _, pos = ls.view(params.text_document.uri)
        return features.document_symbols(analysis, pos)

    @server.feature(
        lsp.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL,
        lsp.SemanticTokensLegend(token_types=features.TOKEN_TYPES, token_modifiers=features.TOKEN_MODIFIERS),
    )
    @safe(lambda: lsp.SemanticTokens(data=[]))
    def semantic_tokens(ls: VoltaServer, params: lsp.SemanticTokensParams) -> lsp.SemanticTokens:
        analysis, _, pos = ls.view(params.text_document.uri)
        return lsp.SemanticTokens(data=features.semantic_tokens(analysis, pos))

    @server.feature(lsp.WORKSPACE_SYMBOL)
    @safe(_empty)
    def workspace_symbols(ls: VoltaServer, params: lsp.WorkspaceSymbolParams) -> list[lsp.WorkspaceSymbol]:
        found: list[lsp.WorkspaceSymbol] = []
        for uri in sorted(ls.workspace.text_documents):
            analysis, _, pos = ls.view(uri)
            found += features.workspace_symbols(analysis, pos, uri, params.query)
        return found

    @server.feature(
        lsp.TEXT_DOCUMENT_SIGNATURE_HELP,
        lsp.SignatureHelpOptions(trigger_characters=["(", ","], retrigger_characters=[")"]),
    )
    @safe(_none)
    def signature_help(ls: VoltaServer, params: lsp.SignatureHelpParams) -> lsp.SignatureHelp | None:
        analysis, _, pos = ls.view(params.text_document.uri)
        return completion.signature_help(analysis, pos.offset(params.position))

    @server.feature(lsp.TEXT_DOCUMENT_FOLDING_RANGE)
    @safe(_empty)
    def folding(ls: VoltaServer, params: lsp.FoldingRangeParams) -> list[lsp.FoldingRange]:
        # Folding reads the document's own text (a cell's, for a notebook): no analysis needed.
        return features.folding_ranges(normalise_newlines(ls.workspace.get_text_document(params.text_document.uri).source))

    @server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
    @safe(_empty)
    def formatting(ls: VoltaServer, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit]:
        uri = params.text_document.uri
        _, _, pos = ls.view(uri)
        return _format_edits(ls, uri, pos)

    return server


def _format_edits(ls: VoltaServer, uri: str, pos: PositionMap) -> list[lsp.TextEdit]:
    """One whole-document edit, or none when formatted already or not parseable.

    A notebook cell is formatted on its own; jupyterlab-lsp's virtual document
    (cells concatenated) is not formatted: its text is not what the cells hold."""
    if ls.unit(ls.unit_key(uri)).kind is Kind.VIRTUAL_NOTEBOOK:
        return []
    text = pos.text
    formatted = format_source(text)
    if formatted is None or formatted == text:
        return []
    local = PositionMap(text, 0, pos.encoding)
    return [lsp.TextEdit(range=local.range(Span(0, len(text))), new_text=formatted)]
