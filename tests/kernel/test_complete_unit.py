"""The kernel's cursor logic without a kernel process."""

from __future__ import annotations

import pytest

from volta_core.check.symbols import Symbol, SymbolKind
from volta_kernel.complete import completions, is_complete
from volta_kernel.magics import MagicError, parse_magic_cell


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("", ("complete", "")),
        ("x 1\n", ("complete", "")),
        ("if x\n    print 1\nelse", ("incomplete", "    ")),
        ("infer m", ("incomplete", "    ")),
        ('infer m on "a.csv" as "b.csv"', ("complete", "")),
        # `train` may take a block of settings: a blank line after it leaves the block out.
        ("train m on d", ("incomplete", "    ")),
        ("train m on d\n", ("complete", "")),
        ("train m on d\n    epochs 2", ("incomplete", "    ")),
        ("loop 2\n", ("incomplete", "    ")),
        # `import` takes its options on the header line and never opens a block.
        ('import "m.onnx" as n with batch 1', ("complete", "")),
        ("dataset d\n    type xor", ("incomplete", "    ")),
        ('print "a # b"  # comment', ("complete", "")),
        ('loop 2  // "not a string', ("incomplete", "    ")),
        ('x "a\\"', ("invalid", "")),
    ],
)
def test_is_complete(code: str, expected: tuple[str, str]) -> None:
    assert is_complete(code) == expected


def test_completion_span_and_magics() -> None:
    code = "model m\n    loss cr"
    found = completions(code, len(code), {})
    assert (found.start, found.end, found.matches) == (len(code) - 2, len(code), [("cross_entropy", "keyword")])
    found = completions("print net.lo", 12, {"net": Symbol("net", SymbolKind.MODEL, None, type="model")})
    assert (found.start, [t for t, _ in found.matches]) == (10, ["loss"])
    magic = completions("%re", 3, {}, ("reset", "replay", "who"))
    assert magic.magic and (magic.start, magic.matches) == (1, [("replay", "magic"), ("reset", "magic")])
    assert completions("x 1  # pr", 9, {}).matches == []


def test_completions_by_context() -> None:
    symbols = {
        "net": Symbol("net", SymbolKind.MODEL, None, type="model"),
        "data": Symbol("data", SymbolKind.DATASET, None, type="dataset"),
        "n": Symbol("n", SymbolKind.VARIABLE, None, type="int"),
    }
    names = lambda code: [t for t, _ in completions(code, len(code), symbols).matches]  # noqa: E731
    assert names("train ") == ["net"]
    assert names("train net on ") == ["data"]
    assert names("print net.") == ["accuracy", "epochs", "loss", "params", "steps", "val_accuracy", "val_loss"]
    assert names("dataset d\n    shuffle ") == ["false", "true"]
    assert names("x 1  # ") == []
    assert "not" in names("print ")


def test_magic_cells() -> None:
    assert parse_magic_cell("print 1") is None
    calls = parse_magic_cell("# check\n%who\n\n%step m on d 5")
    assert calls is not None and [(c.name, c.args, c.line) for c in calls] == [
        ("who", (), 2), ("step", ("m", "on", "d", "5"), 4)
    ]
    with pytest.raises(MagicError):
        parse_magic_cell("%who\nx 1")
