"""Token kinds, the keyword set and the :class:`Token` record."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

KEYWORDS: Final = frozenset(
    ["model", "dataset", "train", "evaluate", "infer", "save", "load", "import", "export", "inspect", "print", "fn", "return", "loop", "for", "in", "if", "elif", "else", "on", "as", "from", "and", "or", "not", "true", "false"]
)

#: Keywords that may start a statement (used for did-you-mean on unknown lines).
STATEMENT_KEYWORDS: Final = (
    "model", "dataset", "train", "evaluate", "infer", "save", "load", "import",
    "export", "inspect", "print", "fn", "return", "loop", "for", "if", "elif", "else",
)

#: Statement keywords whose header line opens an indented block. The block is
#: required (E0102 when missing) except for OPTIONAL_BLOCK_KEYWORDS, and a
#: header in a one-line form (ONE_LINE_FORMS) opens none. Every other
#: statement (``import`` included: its options follow ``with`` on the same
#: line) never opens one; an indented line after it is E0003. The parser's
#: grammar, the kernel's is-complete and the VS Code indentation rules are
#: all checked against these three declarations (tests/syntax/test_block_keywords.py).
BLOCK_KEYWORDS: Final = frozenset({"model", "dataset", "train", "infer", "fn", "loop", "for", "if", "elif", "else"})
#: Of BLOCK_KEYWORDS, those whose block may be left out: ``train M on D`` runs
#: with autopilot's settings, or with those of its block.
OPTIONAL_BLOCK_KEYWORDS: Final = frozenset({"train"})
#: Of BLOCK_KEYWORDS, those with a one-line form, and the keyword that marks it
#: in the header: ``infer M`` takes a block of input rows, ``infer M on "in.csv"
#: as "out.csv"`` reads and writes files instead.
ONE_LINE_FORMS: Final = {"infer": "on"}


#: Property keys whose line opens an indented block of ``layer`` lines inside a
#: ``model`` (``residual``, ``repeat 2``): they are not keywords, so only an
#: indented line (a line of a model block) counts. ``check/schema.py`` marks
#: the same keys ``block=True`` (tests/syntax/test_block_keywords.py).
BLOCK_PROPERTY_KEYS: Final = frozenset({"residual", "repeat"})


def header_opens_block(words: Sequence[str], indented: bool = False) -> bool:
    """True when a line split into ``words`` (comment removed) opens a block;
    ``indented``: the line is indented (a property line of a block)."""
    if indented and words and words[0] in BLOCK_PROPERTY_KEYS:
        return True
    if not words or words[0] not in BLOCK_KEYWORDS:
        return False
    marker = ONE_LINE_FORMS.get(words[0])
    return marker is None or marker not in words[1:]


# Token kinds are interned strings so comparisons are cheap and reprs readable.
NAME: Final = "NAME"
KEYWORD: Final = "KEYWORD"
INT: Final = "INT"
FLOAT: Final = "FLOAT"
STRING: Final = "STRING"
OP: Final = "OP"
NEWLINE: Final = "NEWLINE"
INDENT: Final = "INDENT"
DEDENT: Final = "DEDENT"
EOF: Final = "EOF"
#: A token the lexer could not make sense of (already reported).
ERROR: Final = "ERROR"


class Token:
    """One token: ``kind``, exact source ``text``, offsets and a decoded ``value``.

    ``value`` is the int/float for numbers, the unescaped text for strings,
    and the text itself otherwise.
    """

    __slots__ = ("end", "kind", "start", "text", "value")

    def __init__(self, kind: str, text: str, start: int, end: int, value: object = None) -> None:
        self.kind = kind
        self.text = text
        self.start = start
        self.end = end
        self.value = text if value is None else value

    def __repr__(self) -> str:
        return f"Token({self.kind}, {self.text!r}, {self.start}, {self.end})"

    def is_op(self, text: str) -> bool:
        return self.kind == OP and self.text == text

    def is_keyword(self, text: str) -> bool:
        return self.kind == KEYWORD and self.text == text
