"""Every diagnostic code written in the source is registered in ``diagnostic_codes.CODES``.

The scan reads Python tokens (``tokenize``), not lines: it looks at every
string literal — code passed to a ``Diagnostic``, messages, docstrings,
f-string text — and every comment. Prose that names a code is held to the
same rule as code that emits one, since a reader follows the name to
``volta explain``; prose that names no code cannot match. A whole literal
that looks like a code with the wrong number of digits (``"E081"``) is
reported too: it would reach a user as an unknown code.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

import pytest

from volta_core.diagnostic_codes import CODES

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("volta_core", "volta_lsp", "volta_kernel")

#: A code anywhere in a string or comment.
CODE = re.compile(r"\b[EW]\d{4}\b")
#: A string literal that is nothing but a code with 3 to 5 digits (``"E08"`` is a prefix, not a code).
CODE_SHAPED = re.compile(r"""[rRbBuUfF]*(['"])([EW]\d{3,5})\1""")
#: Tokens whose text is a literal or a comment (Python 3.12 splits f-strings into parts).
_TEXT_TOKENS = {tokenize.STRING, tokenize.COMMENT} | (
    {tokenize.FSTRING_MIDDLE} if hasattr(tokenize, "FSTRING_MIDDLE") else set()
)


def code_mentions(source: str) -> Iterator[tuple[int, str]]:
    """``(line, code)`` for every code-like text in the literals and comments of ``source``."""
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in _TEXT_TOKENS:
            continue
        shaped = CODE_SHAPED.fullmatch(tok.string)
        if shaped:
            yield tok.start[0], shaped.group(2)
            continue
        for match in CODE.finditer(tok.string):
            yield tok.start[0], match.group()


def _sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_the_scanner_finds_codes_in_literals_comments_and_docstrings() -> None:
    source = '''"""Reports E1234."""
def f(n):
    fail("E2345", f"see W3456 for {n}")  # like E4567
    return "E081", "E0105x", "no code here", 5
'''
    assert list(code_mentions(source)) == [(1, "E1234"), (3, "E2345"), (3, "W3456"), (3, "E4567"), (4, "E081")]


def test_the_scan_covers_the_packages() -> None:
    mentions = [code for path in _sources() for _, code in code_mentions(path.read_text(encoding="utf-8"))]
    # The tree names a few hundred codes; far fewer means the scan stopped seeing them.
    assert len(mentions) > 200
    assert {"E0001", "E0803", "W0101"} <= set(mentions)


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_code_in_the_source_is_registered(path: Path) -> None:
    unknown = [(line, code) for line, code in code_mentions(path.read_text(encoding="utf-8")) if code not in CODES]
    assert unknown == [], f"{path.relative_to(ROOT)}: register these in volta_core/diagnostic_codes.py"
