"""Token kinds, the keyword set and the :class:`Token` record."""

from __future__ import annotations

from typing import Final

KEYWORDS: Final = frozenset(
    ["model", "dataset", "train", "evaluate", "infer", "save", "load", "import", "export", "inspect", "print", "fn", "return", "loop", "for", "in", "if", "elif", "else", "on", "as", "from", "and", "or", "not", "true", "false"]
)

#: Keywords that may start a statement (used for did-you-mean on unknown lines).
STATEMENT_KEYWORDS: Final = (
    "model", "dataset", "train", "evaluate", "infer", "save", "load", "import",
    "export", "inspect", "print", "fn", "return", "loop", "for", "if", "elif", "else",
)

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
