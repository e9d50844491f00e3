"""The block-opening keywords are declared once (``syntax/tokens.py``); the
parser's grammar, the kernel's is-complete and the VS Code indentation rules
are each checked against that declaration."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from volta_core.syntax.tokens import (
    BLOCK_KEYWORDS,
    BLOCK_PROPERTY_KEYS,
    KEYWORDS,
    ONE_LINE_FORMS,
    OPTIONAL_BLOCK_KEYWORDS,
    STATEMENT_KEYWORDS,
    header_opens_block,
)
from volta_kernel.complete import is_complete

from .helpers import codes

#: For each statement keyword: the lines before its header, the header, and a valid body line.
HEADERS: dict[str, tuple[str, str, str]] = {
    "model": ("", "model m", "layers 2 1"),
    "dataset": ("", "dataset d", "type xor"),
    "train": ("", "train m on d", "epochs 1"),
    "infer": ("", "infer m", "input 1 2"),
    "fn": ("", "fn f(x)", "return x"),
    "loop": ("", "loop 2", "print 1"),
    "for": ("", "for i in 3", "print i"),
    "if": ("", "if true", "print 1"),
    "elif": ("if false\n    print 0\n", "elif true", "print 1"),
    "else": ("if false\n    print 0\n", "else", "print 1"),
    "evaluate": ("", "evaluate m on d", "print 1"),
    "save": ("", 'save m as "m.safetensors"', "print 1"),
    "load": ("", 'load m from "m.safetensors"', "print 1"),
    "import": ("", 'import "m.onnx" as n with batch 1', "batch 1"),
    "export": ("", 'export m as "m.onnx"', "print 1"),
    "inspect": ("", "inspect m", "print 1"),
    "print": ("", "print 1", "print 2"),
    "return": ("fn f(x)\n", "    return x", "print 1"),
}
#: Each one-line form (ONE_LINE_FORMS), written out.
ONE_LINE = {"infer": 'infer m on "in.csv" as "out.csv"'}


def test_the_tables_cover_every_statement_and_form() -> None:
    assert set(HEADERS) == set(STATEMENT_KEYWORDS)
    assert set(ONE_LINE) == set(ONE_LINE_FORMS)
    assert OPTIONAL_BLOCK_KEYWORDS <= BLOCK_KEYWORDS and set(ONE_LINE_FORMS) <= BLOCK_KEYWORDS
    assert BLOCK_KEYWORDS.issubset(STATEMENT_KEYWORDS)


def _indent_of(header: str) -> str:
    return header[: len(header) - len(header.lstrip())]


@pytest.mark.parametrize("keyword", sorted(HEADERS))
def test_the_parser_agrees(keyword: str) -> None:
    before, header, body = HEADERS[keyword]
    with_body = f"{before}{header}\n{_indent_of(header)}    {body}\n"
    without_body = f"{before}{header}\n"
    if keyword in BLOCK_KEYWORDS:
        assert not {"E0003", "E0102"} & set(codes(with_body))
        expected = [] if keyword in OPTIONAL_BLOCK_KEYWORDS else ["E0102"]
        assert [c for c in codes(without_body) if c == "E0102"] == expected
    else:
        assert "E0003" in codes(with_body)


@pytest.mark.parametrize("keyword", sorted(ONE_LINE))
def test_a_one_line_form_opens_no_block(keyword: str) -> None:
    line = ONE_LINE[keyword]
    assert not header_opens_block(line.split())
    assert "E0003" in codes(f"{line}\n    print 1\n")


@pytest.mark.parametrize("keyword", sorted(HEADERS))
def test_the_kernel_agrees(keyword: str) -> None:
    before, header, _ = HEADERS[keyword]
    cell = f"{before}{header}"
    indent = _indent_of(header)
    if keyword not in BLOCK_KEYWORDS:
        # The newline ends `fn`'s block around `return`.
        assert is_complete(cell + "\n") == ("complete", "")
        return
    assert is_complete(cell) == ("incomplete", indent + "    ")
    # A blank line after the header leaves out an optional block; a required one still waits.
    after_blank = is_complete(f"{cell}\n{indent}    ")
    assert after_blank == (("complete", "") if keyword in OPTIONAL_BLOCK_KEYWORDS else ("incomplete", indent + "    "))
    for form in ONE_LINE.values():
        assert is_complete(form) == ("complete", "")


# ------------------------------------------------------------------ VS Code

CONFIG = Path(__file__).resolve().parents[2] / "vscode-extension" / "language-configuration.json"


def _indent_patterns() -> list[re.Pattern[str]]:
    """Every regex of the configuration that indents the line after a match.

    The patterns use the subset of JavaScript regex syntax that Python reads
    the same way (groups, lookahead, ``\\b``, ``\\s``).
    """
    config = json.loads(CONFIG.read_text(encoding="utf-8"))
    patterns = [config["indentationRules"]["increaseIndentPattern"]]
    patterns += [r["beforeText"] for r in config["onEnterRules"] if r["action"].get("indent") == "indent"]
    return [re.compile(p) for p in patterns]


def _sample_lines() -> list[str]:
    """Header lines of every keyword, plain, indented and with a comment, and non-keyword lines."""
    base = [header for _, header, _ in HEADERS.values()]
    base += list(ONE_LINE.values())
    base += [f"{k} x" for k in sorted(KEYWORDS - set(STATEMENT_KEYWORDS))]
    base += ["x 1", "model_x 1", "iffy 2", "infer on_model", "else_branch 1"]
    base += ["residual", "residual project", "repeat 2", "residuals 1", "repeater 2"]
    lines = []
    for line in base:
        lines += [line, f"    {line.strip()}", f"{line}  # a comment", f"{line}  // on"]
    return lines


def test_vscode_has_indent_patterns() -> None:
    assert len(_indent_patterns()) == 2


@pytest.mark.parametrize("line", _sample_lines())
def test_vscode_indents_after_exactly_the_block_headers(line: str) -> None:
    words = re.split(r"\s*(?:#|//)", line, maxsplit=1)[0].split()
    expected = header_opens_block(words, indented=line.startswith(" "))
    for pattern in _indent_patterns():
        assert bool(pattern.match(line)) == expected, (pattern.pattern, line)


def _named_in(text: str, start: str, end: str) -> set[str]:
    """The backticked words of ``text`` between ``start`` and the next ``end``."""
    head = text.index(start) + len(start)
    return set(re.findall(r"`(\w+)`", text[head : text.index(end, head)]))


def test_block_property_keys_are_the_schemas_block_keys_and_the_kernel_indents_under_them() -> None:
    from volta_core.check.schema import MODEL

    assert {key for key, spec in MODEL.properties.items() if spec.block} == BLOCK_PROPERTY_KEYS
    for key in sorted(BLOCK_PROPERTY_KEYS):
        cell = f"model m\n    input image 1 8 8\n    {key}{' 2' if key == 'repeat' else ''}"
        assert is_complete(cell) == ("incomplete", " " * 8)
        assert not header_opens_block([key])  # at top level it is a variable named `{key}`


def test_the_explanations_name_the_declared_keywords() -> None:
    from volta_core.diagnostic_codes import CODES

    assert _named_in(CODES["E0003"].explanation, "(only", "open blocks)") == BLOCK_KEYWORDS
    # E0102 also names each one-line form's marker (`infer` without `on`).
    required = _named_in(CODES["E0102"].explanation, "A block header (", ")") - set(ONE_LINE_FORMS.values())
    assert required == BLOCK_KEYWORDS - OPTIONAL_BLOCK_KEYWORDS
