"""Analysis runs off the event loop, superseded versions are cancelled, and
documents over the size limit degrade to one warning (issue 24, item 14).

The server is ``tests/lsp/slow_server.py``: an analysis of a text containing
``# slow`` waits until the test creates a file, so requests can be sent while
it is held (a real client over stdio: pytest-lsp)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from volta_lsp.server import MAX_DOCUMENT_CHARS, SYNC_ANALYSIS_CHARS

pytestmark = pytest.mark.asyncio(loop_scope="module")

FOLDER = Path(tempfile.mkdtemp(prefix="volta-slow-lsp-"))
SERVER = Path(__file__).with_name("slow_server.py")
# Larger than what a request analyses on the spot, so only the worker thread analyses it.
FILLER = "".join(f"v{i} {i}\nprint v{i}\n" for i in range(SYNC_ANALYSIS_CHARS // 10))


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, str(SERVER), str(FOLDER)]),
    scope="module",
)
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(lsp.InitializeParams(capabilities=lsp.ClientCapabilities()))
    yield
    (FOLDER / "go").touch()
    await lsp_client.shutdown_session()


def _open(client: LanguageClient, uri: str, text: str, version: int = 1) -> None:
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="volta", version=version, text=text)))


def _change(client: LanguageClient, uri: str, version: int, text: str) -> None:
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)]))


async def _diagnostics(client: LanguageClient, uri: str, timeout: float = 60.0) -> list[lsp.Diagnostic]:
    async def wait() -> None:
        while uri not in client.diagnostics:
            await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

    await asyncio.wait_for(wait(), timeout)
    return list(client.diagnostics.pop(uri))


async def test_requests_are_answered_while_a_document_is_analysed(client: LanguageClient) -> None:
    (FOLDER / "go").unlink(missing_ok=True)
    big = "file:///tmp/big.vt"
    _open(client, big, "# slow v1\n" + FILLER + "print nope\n")
    _open(client, "file:///tmp/small.vt", "rate 0.5\nprint ra\n")
    await asyncio.sleep(0.5)  # the analysis of `big` has started and is held
    # Neither request waits for it (before this issue, the hover analysed `big` on the event loop).
    hover = client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=big), position=lsp.Position(line=1, character=0)))
    done = client.text_document_completion_async(lsp.CompletionParams(
        text_document=lsp.TextDocumentIdentifier(uri="file:///tmp/small.vt"),
        position=lsp.Position(line=1, character=8)))
    assert await asyncio.wait_for(hover, 30) is None
    items = await asyncio.wait_for(done, 30)
    assert items is not None and "rate" in {i.label for i in (items.items if isinstance(items, lsp.CompletionList)
                                                              else items)}
    assert not (FOLDER / "log").exists() or "v1" not in (FOLDER / "log").read_text()
    # Two newer versions while the first is held: the held one is cancelled, the newest published.
    _change(client, big, 2, "# slow v2\n" + FILLER + "print nope\n")
    _change(client, big, 3, "# slow v3\n" + FILLER + "print v3_unknown\n")
    (FOLDER / "go").touch()
    diags = await _diagnostics(client, big)
    assert [d.code for d in diags] == ["E0301"] and "v3_unknown" in diags[0].message
    log = (FOLDER / "log").read_text().splitlines()
    assert "cancelled # slow v1" in log and "finished # slow v3" in log and "finished # slow v2" not in log


async def test_a_document_over_the_limit_gets_one_warning(client: LanguageClient) -> None:
    uri = "file:///tmp/huge.vt"
    text = "x 1\n" * (MAX_DOCUMENT_CHARS // 4 + 1)
    _open(client, uri, text)
    [diag] = await _diagnostics(client, uri)
    assert diag.severity == lsp.DiagnosticSeverity.Warning
    assert f"live analysis stops at {MAX_DOCUMENT_CHARS:,}" in diag.message and "volta check" in diag.message
    hover = await asyncio.wait_for(client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), position=lsp.Position(line=0, character=0))), 30)
    assert hover is None
