from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from lsprotocol import types as lsp

from volta_core.syntax.source import Span
from volta_lsp.positions import PositionMap


def test_ascii_and_lines() -> None:
    pos = PositionMap("ab\ncd\n")
    assert pos.position(4) == lsp.Position(line=1, character=1)
    assert pos.offset(lsp.Position(line=1, character=1)) == 4
    assert pos.position(99) == lsp.Position(line=2, character=0)
    assert pos.offset(lsp.Position(line=0, character=50)) == 2  # clamped to the line
    assert pos.offset(lsp.Position(line=9, character=0)) == 6


def test_astral_characters_count_two_units() -> None:
    text = 'x "😀é" # 🎉 y\nz'
    pos = PositionMap(text)
    y = text.index("y")
    assert pos.position(y) == lsp.Position(line=0, character=y + 2)
    assert pos.offset(lsp.Position(line=0, character=y + 2)) == y
    assert pos.range(Span(y, y + 1)).end.character == y + 3
    # a position inside a surrogate pair snaps to the character after it
    emoji = text.index("😀")
    assert pos.offset(lsp.Position(line=0, character=emoji + 1)) == emoji + 1


@given(st.text(alphabet=st.sampled_from(["a", "\n", "é", "😀", " ", "𝔘"]), max_size=40))
def test_round_trip(text: str) -> None:
    pos = PositionMap(text)
    for offset in range(len(text) + 1):
        assert pos.offset(pos.position(offset)) == offset


@given(st.text(alphabet=st.sampled_from(["a", "\n", "é", "😀", " ", "𝔘"]), max_size=30),
       st.sampled_from(["utf-8", "utf-16", "utf-32"]), st.integers(0, 5))
def test_round_trip_in_every_encoding_and_cell_base(text: str, encoding: str, base: int) -> None:
    pos = PositionMap(text, base, encoding)
    width = {"utf-8": lambda ch: len(ch.encode()), "utf-16": lambda ch: 2 if ord(ch) > 0xFFFF else 1,
             "utf-32": lambda ch: 1}[encoding]
    for offset in range(len(text) + 1):
        line_start = text.rfind("\n", 0, offset) + 1
        expected = lsp.Position(line=text.count("\n", 0, offset), character=sum(map(width, text[line_start:offset])))
        assert pos.position(base + offset) == expected
        assert pos.offset(expected) == base + offset
