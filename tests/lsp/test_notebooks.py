"""LSP 3.17 notebook documents end to end: a pytest-lsp client syncs a Jupyter
notebook's Volta cells with ``python -m volta_lsp``; the cells are analysed as
one program in cell order, diagnostics arrive per cell with the cell's own
positions, and navigation and rename cross cells."""

from __future__ import annotations

import asyncio
import itertools
import sys

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")

_counter = itertools.count()
CAPABILITIES: list[lsp.ServerCapabilities] = []
#: Every publishDiagnostics received, by (uri, version).
RECEIVED: dict[tuple[str, int | None], list[lsp.Diagnostic]] = {}
MODEL = "model brain\n    layers 2 8 3\n    loss cross_entropy"


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "volta_lsp"]),
    scope="module",
)
async def client(lsp_client: LanguageClient):
    capabilities = lsp.ClientCapabilities(
        notebook_document=lsp.NotebookDocumentClientCapabilities(
            synchronization=lsp.NotebookDocumentSyncClientCapabilities()
        )
    )
    result = await lsp_client.initialize_session(lsp.InitializeParams(capabilities=capabilities))
    CAPABILITIES.append(result.capabilities)
    features = lsp_client.protocol.fm.features
    original = features[lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]

    def recording(params: lsp.PublishDiagnosticsParams) -> None:
        RECEIVED[(params.uri, params.version)] = list(params.diagnostics)
        original(params)

    features[lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = recording
    yield
    await lsp_client.shutdown_session()


class Notebook:
    """The client's copy of a notebook: cell URIs in order and their texts."""

    def __init__(self, client: LanguageClient, texts: list[str]) -> None:
        n = next(_counter)
        self.client = client
        self.uri = f"file:///tmp/nb{n}.ipynb"
        self.version = 1
        self.cells = [f"vscode-notebook-cell:/tmp/nb{n}.ipynb#c{i}" for i in range(len(texts))]
        self.texts = dict(zip(self.cells, texts, strict=True))
        self._new = itertools.count(len(texts))
        client.notebook_document_did_open(lsp.DidOpenNotebookDocumentParams(
            notebook_document=lsp.NotebookDocument(
                uri=self.uri, notebook_type="jupyter-notebook", version=1,
                cells=[lsp.NotebookCell(kind=lsp.NotebookCellKind.Code, document=c) for c in self.cells],
            ),
            cell_text_documents=[self._item(c) for c in self.cells],
        ))

    def _item(self, cell: str) -> lsp.TextDocumentItem:
        return lsp.TextDocumentItem(uri=cell, language_id="volta", version=1, text=self.texts[cell])

    def _change(self, change: lsp.NotebookDocumentChangeEvent) -> None:
        self.version += 1
        self.client.notebook_document_did_change(lsp.DidChangeNotebookDocumentParams(
            notebook_document=lsp.VersionedNotebookDocumentIdentifier(uri=self.uri, version=self.version),
            change=change,
        ))

    def edit(self, index: int, line: int, start: int, end: int, text: str) -> None:
        """Replace characters ``start:end`` of one line of cell ``index`` (an incremental change)."""
        cell = self.cells[index]
        lines = self.texts[cell].split("\n")
        lines[line] = lines[line][:start] + text + lines[line][end:]
        self.texts[cell] = "\n".join(lines)
        rng = lsp.Range(start=lsp.Position(line=line, character=start), end=lsp.Position(line=line, character=end))
        self._change(lsp.NotebookDocumentChangeEvent(cells=lsp.NotebookDocumentCellChanges(
            text_content=[lsp.NotebookDocumentCellContentChanges(
                document=lsp.VersionedTextDocumentIdentifier(uri=cell, version=self.version),
                changes=[lsp.TextDocumentContentChangePartial(range=rng, text=text)],
            )],
        )))

    def _structure(self, start: int, delete: int, cells: list[str], opened: list[str], closed: list[str]) -> None:
        self._change(lsp.NotebookDocumentChangeEvent(cells=lsp.NotebookDocumentCellChanges(
            structure=lsp.NotebookDocumentCellChangeStructure(
                array=lsp.NotebookCellArrayChange(
                    start=start, delete_count=delete,
                    cells=[lsp.NotebookCell(kind=lsp.NotebookCellKind.Code, document=c) for c in cells],
                ),
                did_open=[self._item(c) for c in opened],
                did_close=[lsp.TextDocumentIdentifier(uri=c) for c in closed],
            ),
        )))

    def move(self, old: int, new: int) -> None:
        order = list(self.cells)
        order.insert(new, order.pop(old))
        self.cells = order
        self._structure(0, len(order), order, [], [])

    def delete(self, index: int) -> str:
        cell = self.cells.pop(index)
        self._structure(index, 1, [], [], [cell])
        return cell

    def insert(self, index: int, text: str) -> str:
        cell = f"{self.uri.replace('file:', 'vscode-notebook-cell:')}#c{next(self._new)}"
        self.texts[cell] = text
        self.cells.insert(index, cell)
        self._structure(index, 0, [cell], [cell], [])
        return cell

    async def diagnostics(self, *cells: str, timeout: float = 10.0) -> dict[str, list[lsp.Diagnostic]]:
        """Wait for the next diagnostics of each of ``cells`` (default: all)."""
        wanted = cells or tuple(self.cells)

        async def wait() -> None:
            while any(c not in self.client.diagnostics for c in wanted):
                await self.client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

        await asyncio.wait_for(wait(), timeout)
        return {c: list(self.client.diagnostics.pop(c)) for c in wanted}


def _codes(found: dict[str, list[lsp.Diagnostic]]) -> list[list[tuple[str, int, int]]]:
    """Per cell: (code, line, character) of each diagnostic."""
    return [
        [(str(d.code), d.range.start.line, d.range.start.character) for d in diags] for diags in found.values()
    ]


def _pos(line: int, character: int) -> lsp.Position:
    return lsp.Position(line=line, character=character)


def _doc(uri: str) -> lsp.TextDocumentIdentifier:
    return lsp.TextDocumentIdentifier(uri=uri)


async def test_notebook_sync_is_advertised_for_volta_cells_of_jupyter_notebooks(client: LanguageClient) -> None:
    sync = CAPABILITIES[-1].notebook_document_sync
    assert isinstance(sync, lsp.NotebookDocumentSyncOptions)
    [selector] = sync.notebook_selector
    assert isinstance(selector, lsp.NotebookDocumentFilterWithNotebook)
    assert selector.notebook == "jupyter-notebook" and [c.language for c in selector.cells] == ["volta"]
    text_sync = CAPABILITIES[-1].text_document_sync
    assert isinstance(text_sync, lsp.TextDocumentSyncOptions)
    assert text_sync.change == lsp.TextDocumentSyncKind.Incremental


async def test_open_cross_cell_diagnostics_with_cell_positions(client: LanguageClient) -> None:
    nb = Notebook(client, [
        MODEL + "\nrate 0.5\nprint rate",
        "%plot brain\n%who",  # a magic cell: valid lines
        "rate 0.1  # declared again in a later cell, as the kernel allows",
        "print brain.params, rate\nprint nope",
    ])
    found = await nb.diagnostics()
    assert _codes(found) == [[], [], [], [("E0301", 1, 6)]]


async def test_an_edit_in_cell_1_changes_the_diagnostics_of_cell_3(client: LanguageClient) -> None:
    nb = Notebook(client, [MODEL, "steps 10", "print brain.loss, steps"])
    assert _codes(await nb.diagnostics()) == [[], [], []]
    nb.edit(0, 0, 6, 11, "mind")  # `model brain` → `model mind`
    found = await nb.diagnostics()
    [[], [], [(code, line, character)]] = _codes(found)
    assert (code, line, character) == ("E0301", 0, 6)
    assert found[nb.cells[2]][0].message.startswith("undefined variable `brain`")
    nb.edit(0, 0, 6, 10, "brain")
    assert _codes(await nb.diagnostics()) == [[], [], []]


async def test_reorder_insert_and_delete_cells(client: LanguageClient) -> None:
    nb = Notebook(client, ["k 2", "print k * 3"])
    assert _codes(await nb.diagnostics()) == [[], []]
    nb.move(1, 0)  # the use now runs before the declaration
    found = await nb.diagnostics()
    assert _codes(found) == [[("E0314", 0, 6)], [("W0101", 0, 0)]]
    nb.move(0, 1)
    assert _codes(await nb.diagnostics()) == [[], []]
    inserted = nb.insert(1, "print k\nprint kk")
    found = await nb.diagnostics()
    assert _codes(found) == [[], [("E0301", 1, 6)], []]
    assert list(found) == [nb.cells[0], inserted, nb.cells[2]]
    declaring = nb.delete(0)
    found = await nb.diagnostics(declaring, *nb.cells)
    assert _codes(found) == [[], [("E0301", 0, 6), ("E0301", 1, 6)], [("E0301", 0, 6)]]  # the deleted cell: cleared
    nb.delete(0)  # the inserted cell
    found = await nb.diagnostics(inserted, *nb.cells)
    assert _codes(found) == [[], [("E0301", 0, 6)]]


async def test_completion_hover_definition_references_and_rename_across_cells(client: LanguageClient) -> None:
    nb = Notebook(client, [MODEL, "rate 0.5", "print brain.loss, rate\nprint ra"])
    await nb.diagnostics()
    last = nb.cells[2]
    result = await client.text_document_completion_async(
        lsp.CompletionParams(text_document=_doc(last), position=_pos(1, 8)))
    assert result is not None
    labels = {i.label for i in (result.items if isinstance(result, lsp.CompletionList) else result)}
    assert {"rate", "brain"} <= labels
    hover = await client.text_document_hover_async(lsp.HoverParams(text_document=_doc(last), position=_pos(0, 8)))
    assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
    assert "dense" in hover.contents.value and hover.range == lsp.Range(start=_pos(0, 6), end=_pos(0, 11))
    loc = await client.text_document_definition_async(
        lsp.DefinitionParams(text_document=_doc(last), position=_pos(0, 20)))
    assert loc == lsp.Location(uri=nb.cells[1], range=lsp.Range(start=_pos(0, 0), end=_pos(0, 4)))
    refs = await client.text_document_references_async(lsp.ReferenceParams(
        text_document=_doc(last), position=_pos(0, 20), context=lsp.ReferenceContext(include_declaration=True)))
    assert refs is not None and [(r.uri, r.range.start.line, r.range.start.character) for r in refs] == [
        (nb.cells[1], 0, 0), (last, 0, 18)]
    edit = await client.text_document_rename_async(
        lsp.RenameParams(text_document=_doc(nb.cells[1]), position=_pos(0, 1), new_name="speed"))
    assert edit is not None and edit.changes is not None
    assert {uri: [(e.range.start.line, e.range.start.character, e.new_text) for e in edits]
            for uri, edits in edit.changes.items()} == {nb.cells[1]: [(0, 0, "speed")], last: [(0, 18, "speed")]}
    symbols = await client.text_document_document_symbol_async(lsp.DocumentSymbolParams(text_document=_doc(last)))
    assert symbols == []  # a cell lists only its own declarations
    first = await client.text_document_document_symbol_async(lsp.DocumentSymbolParams(text_document=_doc(nb.cells[0])))
    assert [s.name for s in first or []] == ["brain"]


async def test_related_information_points_into_the_other_cell(client: LanguageClient) -> None:
    nb = Notebook(client, ["dataset data\n    type blobs\n    classes 3", "inspect data"])
    found = await nb.diagnostics()
    [[], [diag]] = [found[c] for c in nb.cells]
    assert diag.code == "E0310" and diag.range == lsp.Range(start=_pos(0, 8), end=_pos(0, 12))
    assert diag.related_information and diag.related_information[0].location == lsp.Location(
        uri=nb.cells[0], range=lsp.Range(start=_pos(0, 8), end=_pos(0, 12)))  # declared here, in cell 1


async def test_jupyterlab_lsp_virtual_document_follows_the_kernels_rules(client: LanguageClient) -> None:
    """jupyterlab-lsp sends a notebook as one text document named after it
    (``.virtual_documents/name.ipynb``): the cells, two blank lines after each."""
    cells = [MODEL + "\nrate 0.5\nprint rate", "%plot brain", "rate 0.1\nprint rate", "print (1 +", "unused 3"]
    uri = f"file:///tmp/.virtual_documents/lab{next(_counter)}.ipynb"
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=lsp.TextDocumentItem(
        uri=uri, language_id="volta", version=1, text="\n\n\n".join(cells) + "\n")))

    async def wait() -> None:
        while uri not in client.diagnostics:
            await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

    await asyncio.wait_for(wait(), 10)
    found = [(str(d.code), d.range.start.line) for d in client.diagnostics.pop(uri)]
    # the magic and the re-declaration are fine; the broken cell does not hide the unused name after it
    assert found == [("E0111", 14), ("W0101", 17)]
    # the same text as a file is not notebook content
    as_file = f"file:///tmp/lab{next(_counter)}.vt"
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=lsp.TextDocumentItem(
        uri=as_file, language_id="volta", version=1, text="\n\n\n".join(cells) + "\n")))
    uri = as_file
    await asyncio.wait_for(wait(), 10)
    assert {"E0100", "E0303"} <= {str(d.code) for d in client.diagnostics.pop(as_file)}


async def test_semantic_tokens_of_a_cell_are_its_own(client: LanguageClient) -> None:
    nb = Notebook(client, ["rate 0.5", "%who\n%plot m", "print rate"])
    await nb.diagnostics()
    legend = CAPABILITIES[-1].semantic_tokens_provider
    assert isinstance(legend, lsp.SemanticTokensOptions)
    types = list(legend.legend.token_types)
    magic = await client.text_document_semantic_tokens_full_async(lsp.SemanticTokensParams(text_document=_doc(nb.cells[1])))
    assert magic is not None and list(magic.data) == [0, 0, 4, types.index("macro"), 0, 1, 0, 7, types.index("macro"), 0]
    last = await client.text_document_semantic_tokens_full_async(lsp.SemanticTokensParams(text_document=_doc(nb.cells[2])))
    assert last is not None and list(last.data) == [0, 0, 5, types.index("keyword"), 0, 0, 6, 4, types.index("variable"), 0]


async def test_incremental_edits_of_a_file_with_astral_characters(client: LanguageClient) -> None:
    uri = f"file:///tmp/inc{next(_counter)}.vt"
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=lsp.TextDocumentItem(
        uri=uri, language_id="volta", version=1, text='label "😀"\nprint label\n')))

    async def diagnostics(version: int) -> list[tuple[str, int, int]]:
        async def wait() -> None:  # (an earlier version may be published too: edits analysed at once)
            while (uri, version) not in RECEIVED:
                await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

        await asyncio.wait_for(wait(), 10)
        return [(str(d.code), d.range.start.line, d.range.start.character) for d in RECEIVED[(uri, version)]]

    assert await diagnostics(1) == []

    def change(version: int, line: int, start: int, end: int, text: str) -> None:
        rng = lsp.Range(start=_pos(line, start), end=_pos(line, end))
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[lsp.TextDocumentContentChangePartial(range=rng, text=text)]))

    change(2, 0, 8, 8, "🎉, nope")  # after the emoji (2 UTF-16 units): `label "😀🎉, nope"`
    change(3, 1, 11, 11, ", lbl")  # `print label, lbl`
    assert await diagnostics(3) == [("E0301", 1, 13)]
    change(4, 0, 0, 5, "lbl")  # `lbl "😀🎉, nope"`: now `label` is the undefined one
    assert await diagnostics(4) == [("E0301", 1, 6)]
