"""The kernel's cursor logic without a kernel process."""

from __future__ import annotations

import pytest

from volta_core.check.symbols import Symbol, SymbolKind
from volta_kernel.complete import completions, context_at, is_complete
from volta_kernel.magics import MagicError, parse_magic_cell


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("", ("complete", "")),
        ("x 1\n", ("complete", "")),
        ("if x\n    print 1\nelse", ("incomplete", "    ")),
        ("infer m", ("incomplete", "    ")),
        ('infer m on "a.csv" as "b.csv"', ("complete", "")),
        ("dataset d\n    type xor", ("incomplete", "    ")),
        ('print "a # b"  # comment', ("complete", "")),
        ('loop 2  // "not a string', ("incomplete", "    ")),
        ('x "a\\"', ("invalid", "")),
    ],
)
def test_is_complete(code: str, expected: tuple[str, str]) -> None:
    assert is_complete(code) == expected


def test_context_finds_block_word_and_member() -> None:
    code = "model m\n    loss cr"
    ctx = context_at(code, len(code))
    assert (ctx.word, ctx.block, ctx.before) == ("cr", "model", ("loss",))
    ctx = context_at("print net.lo", 12)
    assert (ctx.member_of, ctx.word) == ("net", "lo")
    assert context_at("x 1  # pr", 9).before == ("#",)


def test_completions_by_context() -> None:
    symbols = {
        "net": Symbol("net", SymbolKind.MODEL, None, type="model"),
        "data": Symbol("data", SymbolKind.DATASET, None, type="dataset"),
        "n": Symbol("n", SymbolKind.VARIABLE, None, type="int"),
    }
    names = lambda code: [t for t, _ in completions(code, len(code), symbols)[1]]  # noqa: E731
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
