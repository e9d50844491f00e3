"""In-process checks of the pure helpers behind the server (no subprocess)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from lsprotocol import types as lsp

from volta_core.analysis import Analysis, analyze
from volta_lsp import completion, documents, features
from volta_lsp import server as server_module
from volta_lsp.documents import Kind, Unit
from volta_lsp.server import VoltaServer, safe


def _labels(text: str) -> set[str]:
    return {item.label for item in completion.complete(analyze(text), len(text))}


def test_completion_values_and_statements() -> None:
    assert {"xor", "csv", "text"} <= _labels("dataset d\n    type ")
    assert {"true", "false"} <= _labels("dataset d\n    shuffle ")
    assert {"adam", "sgd"} <= _labels("train m on d\n    optimizer ")
    assert {"causal"} <= _labels("model m\n    layer attention 4 ")
    assert {"size", "batch"} <= _labels("dataset d\n    type xor\nprint d.")
    assert _labels('print "abc ') == set()
    assert _labels("x 1 # comment ") == set()
    assert {"on"} <= _labels("model m\n    layers 2 2\ntrain m ")


def test_snippets_are_snippets() -> None:
    items = completion.complete(analyze(""), 0)
    snippet = next(i for i in items if i.label == "model" and i.insert_text)
    assert "${1:name}" in (snippet.insert_text or "")


def test_folding_comment_runs() -> None:
    folds = features.folding_ranges("# a\n# b\nx 1\nif x\n    print x\n\n    print x\ny 2\n")
    assert {(f.start_line, f.end_line) for f in folds} == {(0, 1), (3, 6)}


def test_handlers_never_raise() -> None:
    @safe(list)
    def broken(server: VoltaServer, params: object) -> list[int]:
        raise RuntimeError("boom")

    class Quiet(VoltaServer):
        def window_log_message(self, params: object) -> None:  # type: ignore[override]
            raise RuntimeError("no client attached")

    assert broken(Quiet(), None) == []


class _Recording(VoltaServer):
    """A server without a client: a fixed document, published diagnostics recorded."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.published: list[lsp.PublishDiagnosticsParams] = []

    def unit(self, key: str) -> Unit:
        return Unit(key, Kind.FILE, "doc.vt", (key,), (self.text,))

    def _encoding(self) -> str:
        return "utf-16"

    def text_document_publish_diagnostics(self, params: lsp.PublishDiagnosticsParams) -> None:
        self.published.append(params)


URI = "file:///doc.vt"


def _publish(server: _Recording, version: int, during_analysis: Callable[[], None] | None = None) -> None:
    """Run the diagnostics task of ``version`` to its end (no debounce wait);
    ``during_analysis`` runs inside the analysis, as a concurrent edit would."""

    def analysing(text: str, path: str, *rest: object) -> Analysis:
        if during_analysis is not None:
            during_analysis()
        return analyze(text, path)

    async def go() -> None:
        server.versions[URI] = version
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(server_module, "DEBOUNCE_S", 0.0)
            mp.setattr(documents, "analyze", analysing)
            await server._publish_later(URI, version)

    asyncio.run(go())


def test_the_latest_version_is_published_with_its_number() -> None:
    server = _Recording("print y\n")
    _publish(server, 3)
    [params] = server.published
    assert params.version == 3 and [d.code for d in params.diagnostics] == ["E0301"]
    assert URI in server.analyses


def test_a_result_is_dropped_when_a_newer_version_arrives_during_the_analysis() -> None:
    # The newer edit's own task would publish its result; this one must not.
    server = _Recording("print y\n")

    def newer_edit() -> None:
        server.versions[URI] = 4

    _publish(server, 3, during_analysis=newer_edit)
    assert server.published == []
    assert URI not in server.analyses  # the stale analysis is not cached either


def test_a_task_whose_version_is_outdated_before_it_starts_does_not_analyse() -> None:
    server = _Recording("print y\n")

    async def go() -> None:
        server.versions[URI] = 5
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(server_module, "DEBOUNCE_S", 0.0)
            mp.setattr(documents, "analyze", lambda *args: pytest.fail("analysed a stale version"))
            await server._publish_later(URI, 4)

    asyncio.run(go())
    assert server.published == []


def test_a_misspelt_property_key_is_published_as_an_error() -> None:
    server = _Recording("model m\n    layers 2 1\ndataset d\n    type xor\ntrain m on d\n    epoch 100\n")
    _publish(server, 1)
    [params] = server.published
    [diagnostic] = params.diagnostics
    assert (diagnostic.code, diagnostic.severity) == ("E0201", lsp.DiagnosticSeverity.Error)
    assert "help: did you mean `epochs`?" in diagnostic.message


def test_an_edit_after_a_quiet_spell_is_analysed_at_once_a_burst_after_a_pause() -> None:
    server = _Recording("x 1\n")
    delays: list[float] = []

    async def record(key: str, version: int | None, delay: float = server_module.DEBOUNCE_S) -> None:
        delays.append(delay)

    async def go() -> None:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(server, "_publish_later", record)
            server.schedule_diagnostics(URI, 1)  # the first edit: at once
            await asyncio.sleep(0)
            server.pending.clear()
            server.schedule_diagnostics(URI, 2)  # right after it: part of a burst
            server.last_edit[URI] -= server_module.DEBOUNCE_S  # a quiet spell passes
            await asyncio.sleep(0)
            server.pending.clear()
            server.schedule_diagnostics(URI, 3)

    asyncio.run(go())
    assert delays == [0.0, server_module.DEBOUNCE_S, 0.0]
