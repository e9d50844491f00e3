"""Incremental text sync: random range edits (UTF-16 ranges, astral-plane
characters included) applied by a client model and by the server's workspace
(what pygls does for each ``didChange``/``notebookDocument/didChange``) leave
the same text, and the server's position maps agree with the client's."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types as lsp
from pygls.workspace import Workspace

from volta_lsp.documents import Kind
from volta_lsp.server import VoltaServer

ALPHABET = st.sampled_from(["a", "b", " ", "\n", "é", "😀", "𝔘", "x 1", "print y\n", "%who\n"])
URI = "file:///tmp/edited.vt"
NOTEBOOK = "file:///tmp/edited.ipynb"
CELL = "vscode-notebook-cell:/tmp/edited.ipynb#c1"


def _units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _position(text: str, offset: int) -> lsp.Position:
    """The client's UTF-16 position of ``offset`` (never inside a surrogate pair)."""
    line_start = text.rfind("\n", 0, offset) + 1
    return lsp.Position(line=text.count("\n", 0, offset), character=sum(map(_units, text[line_start:offset])))


@st.composite
def _edits(draw: st.DrawFn) -> tuple[str, list[tuple[int, int, str]]]:
    text = "".join(draw(st.lists(ALPHABET, max_size=12)))
    edits = []
    current = text
    for _ in range(draw(st.integers(1, 8))):
        a = draw(st.integers(0, len(current)))
        b = draw(st.integers(a, len(current)))
        new = "".join(draw(st.lists(ALPHABET, max_size=4)))
        edits.append((a, b, new))
        current = current[:a] + new + current[b:]
    return text, edits


def _server() -> VoltaServer:
    server = VoltaServer()
    server.protocol._workspace = Workspace(None, lsp.TextDocumentSyncKind.Incremental)
    return server


@settings(max_examples=150, deadline=None)
@given(_edits())
def test_random_range_edits_leave_the_clients_text_in_a_file_and_a_cell(case: tuple[str, list[tuple[int, int, str]]]) -> None:
    text, edits = case
    server = _server()
    ws = server.workspace
    ws.put_text_document(lsp.TextDocumentItem(uri=URI, language_id="volta", version=1, text=text))
    ws.put_notebook_document(lsp.DidOpenNotebookDocumentParams(
        notebook_document=lsp.NotebookDocument(
            uri=NOTEBOOK, notebook_type="jupyter-notebook", version=1,
            cells=[lsp.NotebookCell(kind=lsp.NotebookCellKind.Code, document=CELL)]),
        cell_text_documents=[lsp.TextDocumentItem(uri=CELL, language_id="volta", version=1, text=text)],
    ))
    client = text
    for version, (a, b, new) in enumerate(edits, 2):
        rng = lsp.Range(start=_position(client, a), end=_position(client, b))
        change = lsp.TextDocumentContentChangePartial(range=rng, text=new)
        ws.update_text_document(lsp.VersionedTextDocumentIdentifier(uri=URI, version=version), change)
        ws.update_notebook_document(lsp.DidChangeNotebookDocumentParams(
            notebook_document=lsp.VersionedNotebookDocumentIdentifier(uri=NOTEBOOK, version=version),
            change=lsp.NotebookDocumentChangeEvent(cells=lsp.NotebookDocumentCellChanges(text_content=[
                lsp.NotebookDocumentCellContentChanges(
                    document=lsp.VersionedTextDocumentIdentifier(uri=CELL, version=version), changes=[change])
            ])),
        ))
        client = client[:a] + new + client[b:]
        file_unit, notebook_unit = server.unit(URI), server.unit(NOTEBOOK)
        assert file_unit.texts == (client,)
        assert notebook_unit.kind is Kind.NOTEBOOK and notebook_unit.texts == (client,)
        # the server reads the client's positions as the same offsets
        _, layout, pos = server.view(CELL)
        assert layout.parts[0][0] == CELL
        for offset in {0, a, a + len(new), len(client)}:
            assert pos.offset(_position(client, offset)) == offset


def test_a_cell_that_is_not_volta_answers_from_nothing() -> None:
    server = _server()
    markdown = "vscode-notebook-cell:/tmp/edited.ipynb#md"
    server.workspace.put_notebook_document(lsp.DidOpenNotebookDocumentParams(
        notebook_document=lsp.NotebookDocument(
            uri=NOTEBOOK, notebook_type="jupyter-notebook", version=1,
            cells=[lsp.NotebookCell(kind=lsp.NotebookCellKind.Code, document=CELL),
                   lsp.NotebookCell(kind=lsp.NotebookCellKind.Markup, document=markdown)]),
        cell_text_documents=[
            lsp.TextDocumentItem(uri=CELL, language_id="volta", version=1, text="rate 0.5\nprint rate"),
            lsp.TextDocumentItem(uri=markdown, language_id="markdown", version=1, text="rate here"),
        ],
    ))
    assert server.unit(NOTEBOOK).uris == (CELL,)
    analysis, layout, pos = server.view(markdown)
    assert analysis.source.text == "" and layout.parts == ((markdown, pos),)
    assert server.view(CELL)[0].source.text == "rate 0.5\nprint rate"
