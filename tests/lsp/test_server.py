"""End to end: a real pytest-lsp client talks to ``python -m volta_lsp`` over stdio."""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import Sequence

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")

_counter = itertools.count()
SERVER_CAPABILITIES: list[lsp.ServerCapabilities] = []


def _legend() -> lsp.SemanticTokensLegend:
    provider = SERVER_CAPABILITIES[-1].semantic_tokens_provider
    assert isinstance(provider, lsp.SemanticTokensOptions)
    return provider.legend

PROGRAM = """\
# a model and its data
model brain
    layers 2 8 3
    activation relu
    loss cross_entropy

dataset data
    type blobs
    classes 3

rate 0.5
fn double(x)
    return x * 2
print double(rate), brain.loss
train brain on data
"""


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "volta_lsp"]),
    scope="module",
)
async def client(lsp_client: LanguageClient):
    result = await lsp_client.initialize_session(
        lsp.InitializeParams(capabilities=lsp.ClientCapabilities(), root_uri="file:///tmp")
    )
    SERVER_CAPABILITIES.append(result.capabilities)
    yield
    await lsp_client.shutdown_session()


def _uri() -> str:
    return f"file:///tmp/doc{next(_counter)}.vt"


async def _diagnostics(client: LanguageClient, uri: str, timeout: float = 10.0) -> list[lsp.Diagnostic]:
    """Wait until diagnostics for ``uri`` arrive (they are debounced)."""
    async def wait() -> None:
        while uri not in client.diagnostics:
            await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

    await asyncio.wait_for(wait(), timeout)
    return list(client.diagnostics.pop(uri))


async def _open(client: LanguageClient, text: str) -> tuple[str, list[lsp.Diagnostic]]:
    uri = _uri()
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=uri, language_id="volta", version=1, text=text)
        )
    )
    return uri, await _diagnostics(client, uri)


def _change(client: LanguageClient, uri: str, version: int, text: str) -> None:
    client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def _where(d: lsp.Diagnostic) -> tuple[int, int, int, int]:
    r = d.range
    return (r.start.line, r.start.character, r.end.line, r.end.character)


def _doc(uri: str) -> lsp.TextDocumentIdentifier:
    return lsp.TextDocumentIdentifier(uri=uri)


def _apply(text: str, edits: list[lsp.TextEdit]) -> str:
    lines = text.split("\n")

    def offset(p: lsp.Position) -> int:
        return sum(len(line) + 1 for line in lines[: p.line]) + p.character

    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[: offset(e.range.start)] + e.new_text + text[offset(e.range.end) :]
    return text


async def test_clean_program_then_related_information(client: LanguageClient) -> None:
    _, diags = await _open(client, PROGRAM)
    assert diags == []
    _, [diag] = await _open(client, PROGRAM.replace("layers 2 8 3", "layers 4 8 3"))
    assert "features" in diag.message and diag.related_information
    assert diag.related_information[0].location.range.start.line == 14


async def test_diagnostic_fields_and_quick_fix(client: LanguageClient) -> None:
    text = "model m\n    layers 2 4 2\n    activation reluu\n"
    uri, diags = await _open(client, text)
    [diag] = diags
    assert diag.code == "E0203"
    assert diag.severity == lsp.DiagnosticSeverity.Error
    assert diag.source == "volta"
    assert diag.code_description is not None and diag.code_description.href.endswith("diagnostics.md#e0203-unknown-value-for-a-property")
    assert "did you mean `relu`" in diag.message
    assert diag.range == lsp.Range(start=lsp.Position(line=2, character=15), end=lsp.Position(line=2, character=20))
    actions = await client.text_document_code_action_async(
        lsp.CodeActionParams(
            text_document=_doc(uri), range=diag.range, context=lsp.CodeActionContext(diagnostics=[diag])
        )
    )
    assert actions
    fix = next(a for a in actions if isinstance(a, lsp.CodeAction) and a.kind == lsp.CodeActionKind.QuickFix)
    assert fix.is_preferred and fix.diagnostics and fix.diagnostics[0].code == "E0203"
    assert fix.edit is not None and fix.edit.changes is not None
    assert _apply(text, list(fix.edit.changes[uri])) == "model m\n    layers 2 4 2\n    activation relu\n"


async def test_tab_quick_fix(client: LanguageClient) -> None:
    text = "fn f(x)\n\treturn x\n"
    uri, diags = await _open(client, text)
    tab = next(d for d in diags if d.code == "E0001")
    actions = await client.text_document_code_action_async(
        lsp.CodeActionParams(text_document=_doc(uri), range=tab.range, context=lsp.CodeActionContext(diagnostics=[tab]))
    )
    fix = next(a for a in actions or [] if isinstance(a, lsp.CodeAction) and a.kind == lsp.CodeActionKind.QuickFix)
    assert fix.edit is not None and fix.edit.changes is not None
    assert _apply(text, list(fix.edit.changes[uri])) == "fn f(x)\n    return x\n"


async def _apply_fix(client: LanguageClient, text: str, code: str, title_start: str) -> str:
    uri, diags = await _open(client, text)
    diag = next(d for d in diags if d.code == code)
    actions = await client.text_document_code_action_async(
        lsp.CodeActionParams(text_document=_doc(uri), range=diag.range, context=lsp.CodeActionContext(diagnostics=[diag]))
    )
    fix = next(
        a for a in actions or []
        if isinstance(a, lsp.CodeAction) and a.kind == lsp.CodeActionKind.QuickFix and a.title.startswith(title_start)
    )
    assert fix.edit is not None and fix.edit.changes is not None
    return _apply(text, list(fix.edit.changes[uri]))


async def test_declare_variable_and_missing_on_quick_fixes(client: LanguageClient) -> None:
    fixed = await _apply_fix(client, "flag true\nif flag\n    print total + 1\n", "E0301", "Declare")
    assert fixed == "flag true\nif flag\n    total 0\n    print total + 1\n"
    program = "model m\n    layers 2 4 2\n    loss cross_entropy\ndataset xs\n    type xor\n"
    assert await _apply_fix(client, program + "train m\n", "E0105", "Add `on") == program + "train m on xs\n"
    assert await _apply_fix(client, program + "train m xs\n", "E0105", "Insert `on`") == program + "train m on xs\n"


async def test_partial_documents_while_typing(client: LanguageClient) -> None:
    uri, diags = await _open(client, "model m\n    layers 2 ")
    assert [(d.code, _where(d)) for d in diags] == [("E0207", (1, 4, 1, 12))]
    assert diags[0].message.startswith("`layers` takes at least 2 values, got 1\n")
    _change(client, uri, 2, "model m\n    layers 2 4\ndataset d\n    type xor\ntrain m o")
    diags = await _diagnostics(client, uri)
    # the half-typed `on` is both a missing `on` and an unknown dataset `o`
    assert [(d.code, _where(d)) for d in diags] == [("E0105", (4, 8, 4, 9)), ("E0309", (4, 8, 4, 9))]
    assert diags[1].message.startswith("undefined dataset `o`")


async def test_stale_versions_dropped(client: LanguageClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Edits in quick succession publish only the latest version. (The server's
    version gate itself is tested in-process: tests/lsp/test_units.py.)"""
    published: list[tuple[str, int | None, int]] = []
    features = client.protocol.fm.features
    original = features[lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]

    def recording(params: lsp.PublishDiagnosticsParams) -> None:
        published.append((params.uri, params.version, len(params.diagnostics)))
        original(params)

    monkeypatch.setitem(features, lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS, recording)
    async def published_for(version: int) -> int:
        async def wait() -> None:
            while not any(u == uri and v == version for u, v, _ in published):
                await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

        await asyncio.wait_for(wait(), 10)
        return next(n for u, v, n in published if u == uri and v == version)

    uri, _ = await _open(client, "x 1\n")
    _change(client, uri, 2, "x 1\nprint y\n")
    _change(client, uri, 3, "x 1\nprint x\n")
    assert await published_for(3) == 0
    # A later edit as a barrier: its result comes after anything still pending for 2 or 3.
    _change(client, uri, 4, "x 1\nprint x, z\n")
    assert await published_for(4) == 1
    mine = [(v, n) for u, v, n in published if u == uri]
    # Versions only ever increase (2 is analysed at once, as the first edit after a quiet
    # spell, and normally dropped when 3 arrives; it may be published, but never after 3).
    versions = [v or 0 for v, _ in mine]
    assert versions == sorted(set(versions)), mine
    assert mine[0] == (1, 1) and mine[-2:] == [(3, 0), (4, 1)]


async def test_utf16_positions_after_emoji(client: LanguageClient) -> None:
    _, diags = await _open(client, 'print "😀😀", nope\n')
    [diag] = diags
    # `nope` starts at character 12 (code points); emoji are 2 UTF-16 units each
    assert diag.range.start == lsp.Position(line=0, character=14)
    assert diag.range.end == lsp.Position(line=0, character=18)


async def _labels(client: LanguageClient, uri: str, line: int, character: int) -> list[str]:
    result = await client.text_document_completion_async(
        lsp.CompletionParams(text_document=_doc(uri), position=lsp.Position(line=line, character=character))
    )
    assert result is not None
    items = result.items if isinstance(result, lsp.CompletionList) else result
    return [item.label for item in items]


async def test_completion_contexts(client: LanguageClient) -> None:
    text = PROGRAM + "\nmodel other\n    \n    layer \n    activation \nprint brain.\nx \n"
    uri, _ = await _open(client, text)
    base = PROGRAM.count("\n")
    top = await _labels(client, uri, base + 7, 0)
    assert {"model", "train", "print", "rate", "double"} <= set(top)
    keys = await _labels(client, uri, base + 2, 4)
    assert {"layers", "activation", "loss", "input", "layer"} <= set(keys)
    assert "model" not in keys
    assert {"dense", "embedding", "transformer"} <= set(await _labels(client, uri, base + 3, 10))
    assert {"relu", "tanh"} <= set(await _labels(client, uri, base + 4, 15))
    assert set(await _labels(client, uri, base + 5, 12)) >= {"loss", "accuracy", "steps"}
    train = await _labels(client, uri, 14, 6)
    assert "brain" in train and "data" not in train
    fn_body = await _labels(client, uri, 12, 4)
    assert "return" in fn_body and "model" not in fn_body and "x" in fn_body


async def _hover(client: LanguageClient, uri: str, line: int, character: int) -> str:
    result = await client.text_document_hover_async(
        lsp.HoverParams(text_document=_doc(uri), position=lsp.Position(line=line, character=character))
    )
    assert result is not None and isinstance(result.contents, lsp.MarkupContent)
    return result.contents.value


async def test_hover(client: LanguageClient) -> None:
    uri, _ = await _open(client, PROGRAM)
    assert "relu" in await _hover(client, uri, 3, 6)  # key `activation`
    table = await _hover(client, uri, 1, 7)  # model name
    assert "| # | layer |" in table and "dense" in table and "total" in table
    var = await _hover(client, uri, 10, 1)
    assert "float" in var and "0.5" in var
    assert "fn double(x)" in await _hover(client, uri, 11, 4)
    assert "train" in await _hover(client, uri, 14, 2)


async def test_definition_references_rename(client: LanguageClient) -> None:
    uri, _ = await _open(client, PROGRAM)
    at = lsp.Position(line=13, character=14)  # `rate` in the print line
    loc = await client.text_document_definition_async(lsp.DefinitionParams(text_document=_doc(uri), position=at))
    assert isinstance(loc, lsp.Location) and loc.range.start == lsp.Position(line=10, character=0)
    refs = await client.text_document_references_async(
        lsp.ReferenceParams(text_document=_doc(uri), position=at, context=lsp.ReferenceContext(include_declaration=True))
    )
    assert refs is not None and sorted(r.range.start.line for r in refs) == [10, 13]
    prep = await client.text_document_prepare_rename_async(lsp.PrepareRenameParams(text_document=_doc(uri), position=at))
    assert prep is not None
    keyword = await client.text_document_prepare_rename_async(
        lsp.PrepareRenameParams(text_document=_doc(uri), position=lsp.Position(line=14, character=1))
    )
    assert keyword is None
    edit = await client.text_document_rename_async(lsp.RenameParams(text_document=_doc(uri), position=at, new_name="speed"))
    assert edit is not None and edit.changes is not None
    renamed = _apply(PROGRAM, list(edit.changes[uri]))
    assert "speed 0.5" in renamed and "double(speed)" in renamed and "rate" not in renamed


async def test_document_symbols_semantic_tokens_folding(client: LanguageClient) -> None:
    uri, _ = await _open(client, PROGRAM)
    symbols = await client.text_document_document_symbol_async(lsp.DocumentSymbolParams(text_document=_doc(uri)))
    assert symbols is not None
    by_name = {s.name: s for s in symbols if isinstance(s, lsp.DocumentSymbol)}
    assert set(by_name) >= {"brain", "data", "rate", "double"}
    assert [c.name for c in by_name["brain"].children or []] == ["layers", "activation", "loss"]
    tokens = await client.text_document_semantic_tokens_full_async(lsp.SemanticTokensParams(text_document=_doc(uri)))
    assert tokens is not None and tokens.data and len(tokens.data) % 5 == 0
    found = _tokens(tokens.data, PROGRAM, list(_legend().token_types))
    # every token is a piece of the text, in order and without overlaps
    assert all(word.strip() == word != "" for _, _, word, _ in found)
    assert all(a[:2] < b[:2] and (a[0] < b[0] or a[1] + len(a[2]) <= b[1]) for a, b in itertools.pairwise(found))
    assert [t for t in found if t[0] in (1, 3, 11, 13)] == [
        (1, 0, "model", "keyword"), (1, 6, "brain", "type"),
        (3, 4, "activation", "property"), (3, 15, "relu", "enumMember"),
        (11, 0, "fn", "keyword"), (11, 3, "double", "function"), (11, 9, "(", "operator"),
        (11, 10, "x", "parameter"), (11, 11, ")", "operator"),
        (13, 0, "print", "keyword"), (13, 6, "double", "function"), (13, 12, "(", "operator"),
        (13, 13, "rate", "variable"), (13, 17, ")", "operator"), (13, 18, ",", "operator"),
        (13, 20, "brain", "type"), (13, 25, ".", "operator"),
    ]
    assert found[0] == (0, 0, "# a model and its data", "comment")
    assert found[-3:] == [(14, 6, "brain", "type"), (14, 12, "on", "keyword"), (14, 15, "data", "type")]
    folds = await client.text_document_folding_range_async(lsp.FoldingRangeParams(text_document=_doc(uri)))
    assert folds is not None
    assert {(f.start_line, f.end_line) for f in folds} >= {(1, 4), (6, 8), (11, 12)}


async def test_formatting(client: LanguageClient) -> None:
    text = "x=-1\nfn  f( a,b )\n    return a*b   # product\n\n\n\nprint f(x,2)\n"
    uri, _ = await _open(client, text)
    opts = lsp.FormattingOptions(tab_size=4, insert_spaces=True)
    edits = await client.text_document_formatting_async(lsp.DocumentFormattingParams(text_document=_doc(uri), options=opts))
    assert edits
    formatted = _apply(text, list(edits))
    assert formatted == "x = -1\nfn f(a, b)\n    return a * b  # product\n\nprint f(x, 2)\n"
    _change(client, uri, 2, formatted)
    await _diagnostics(client, uri)
    again = await client.text_document_formatting_async(lsp.DocumentFormattingParams(text_document=_doc(uri), options=opts))
    assert not again
    broken, _ = await _open(client, "fn f(\n")
    none = await client.text_document_formatting_async(lsp.DocumentFormattingParams(text_document=_doc(broken), options=opts))
    assert not none


async def test_workspace_symbols_across_open_documents(client: LanguageClient) -> None:
    first, _ = await _open(client, PROGRAM)
    second, _ = await _open(client, "model branch\n    layers 2 2\nbrand 1\n")
    found = await client.workspace_symbol_async(lsp.WorkspaceSymbolParams(query="bra"))
    assert found is not None
    hits = {(s.name, s.location.uri) for s in found if isinstance(s.location, lsp.Location)}
    assert {("brain", first), ("branch", second), ("brand", second)} <= hits
    assert all(s.name != "data" for s in found)
    brain = next(s for s in found if s.name == "brain" and isinstance(s.location, lsp.Location) and s.location.uri == first)
    assert brain.kind == lsp.SymbolKind.Class and isinstance(brain.location, lsp.Location)
    assert brain.location.range.start == lsp.Position(line=1, character=6)
    everything = await client.workspace_symbol_async(lsp.WorkspaceSymbolParams(query=""))
    assert everything is not None and {"rate", "double", "data"} <= {s.name for s in everything}
    client.text_document_did_close(lsp.DidCloseTextDocumentParams(text_document=_doc(second)))
    await _diagnostics(client, second)
    after = await client.workspace_symbol_async(lsp.WorkspaceSymbolParams(query="bran"))
    assert after is not None and not any(isinstance(s.location, lsp.Location) and s.location.uri == second for s in after)


def _tokens(data: Sequence[int], text: str, legend: list[str]) -> list[tuple[int, int, str, str]]:
    """``(line, character, text, token type)`` of each token, from the relative encoding."""
    lines = text.split("\n")
    out = []
    line = char = 0
    for i in range(0, len(data), 5):
        dl, dc, length, kind, _ = data[i : i + 5]
        line, char = line + dl, (char + dc if dl == 0 else dc)
        out.append((line, char, lines[line][char : char + length], legend[kind]))
    return out


def _decode(data: Sequence[int], text: str, legend: list[str]) -> dict[str, tuple[str, int]]:
    """``word → (token type, modifiers)`` from the relative encoding."""
    lines = text.split("\n")
    out: dict[str, tuple[str, int]] = {}
    line = char = 0
    for i in range(0, len(data), 5):
        dl, dc, length, kind, mods = data[i : i + 5]
        line, char = line + dl, (char + dc if dl == 0 else dc)
        out.setdefault(lines[line][char : char + length], (legend[kind], mods))
    return out


async def test_semantic_tokens_for_property_values(client: LanguageClient) -> None:
    text = (
        "model seq\n    input tokens 8\n    layer embedding 50 16\n    layer attention 4 causal\n"
        "    layer mean_pool\n    layer dense 2 relu\n    loss cross_entropy\n"
        'dataset rows\n    type csv\n    source "a.csv"\n    target "y"\n'
    )
    uri, _ = await _open(client, text)
    tokens = await client.text_document_semantic_tokens_full_async(lsp.SemanticTokensParams(text_document=_doc(uri)))
    assert tokens is not None
    legend = _legend()
    assert "enumMember" in legend.token_types and list(legend.token_modifiers) == ["defaultLibrary"]
    words = _decode(tokens.data, text, list(legend.token_types))
    assert words["csv"] == ("enumMember", 0) and words["cross_entropy"] == ("enumMember", 0)
    assert words["causal"] == ("enumMember", 0) and words["relu"] == ("enumMember", 0)
    assert words["embedding"] == ("function", 1) and words["mean_pool"] == ("function", 1)
    assert words["tokens"] == ("keyword", 1)
    assert words["type"] == ("property", 0) and words["seq"] == ("type", 0)


async def test_signature_help(client: LanguageClient) -> None:
    text = "fn area(width, height)\n    return width * height\nprint area(2, (1 + 2), \nprint 1\n"
    uri, _ = await _open(client, text)

    async def help_at(line: int, character: int) -> lsp.SignatureHelp | None:
        return await client.text_document_signature_help_async(
            lsp.SignatureHelpParams(text_document=_doc(uri), position=lsp.Position(line=line, character=character))
        )

    first = await help_at(2, 11)
    assert first is not None and first.active_parameter == 0
    [sig] = first.signatures
    assert sig.label == "fn area(width, height)"
    assert [sig.label[p.label[0] : p.label[1]] for p in sig.parameters or [] if isinstance(p.label, tuple)] == ["width", "height"]
    second = await help_at(2, 14)
    assert second is not None and second.active_parameter == 1
    assert await help_at(3, 7) is None  # not inside a call
