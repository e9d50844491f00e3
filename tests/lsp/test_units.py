"""In-process checks of the pure helpers behind the server (no subprocess)."""

from __future__ import annotations

from volta_core.analysis import analyze
from volta_lsp import completion, features
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
