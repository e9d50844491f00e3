"""Lexer tests (SPEC §1): token classes, numbers, strings, comments, layout."""

from __future__ import annotations

import pytest

from volta_core.syntax import tokens as T
from volta_core.syntax.source import Source, Span, normalise_newlines
from volta_core.syntax.tokens import KEYWORDS

from .helpers import apply_fix, kinds, lex, lex_codes, only, snippet

# ------------------------------------------------------------- token classes


@pytest.mark.parametrize("word", sorted(KEYWORDS))
def test_every_keyword_is_a_keyword_token(word: str) -> None:
    assert kinds(word) == [(T.KEYWORD, word)]


def test_keyword_set_matches_the_spec() -> None:
    spec = (
        "model dataset train evaluate infer save load import export inspect print fn return "
        "loop for in if elif else on as from and or not true false"
    )
    assert set(spec.split()) == KEYWORDS


@pytest.mark.parametrize("word", ["layers", "lr", "batch", "epochs", "activation", "input", "layer", "with"])
def test_property_keys_are_names(word: str) -> None:
    assert kinds(word) == [(T.NAME, word)]


@pytest.mark.parametrize("word", ["x", "_", "_x1", "Model", "TRAIN", "printx", "x_y_9", "if_"])
def test_identifiers(word: str) -> None:
    assert kinds(word) == [(T.NAME, word)]


def test_identifiers_are_case_sensitive() -> None:
    assert kinds("Print print") == [(T.NAME, "Print"), (T.KEYWORD, "print")]


@pytest.mark.parametrize(
    "op", ["+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "=", "(", ")", ",", ".", ".."]
)
def test_every_operator(op: str) -> None:
    assert kinds(op) == [(T.OP, op)]


def test_operators_are_maximal_munch() -> None:
    assert kinds("a<=b==c!=d>=e..f") == [
        (T.NAME, "a"), (T.OP, "<="), (T.NAME, "b"), (T.OP, "=="), (T.NAME, "c"),
        (T.OP, "!="), (T.NAME, "d"), (T.OP, ">="), (T.NAME, "e"), (T.OP, ".."), (T.NAME, "f"),
    ]


def test_range_is_not_a_float() -> None:
    assert kinds("0..3") == [(T.INT, "0"), (T.OP, ".."), (T.INT, "3")]
    assert kinds("0.5..3") == [(T.FLOAT, "0.5"), (T.OP, ".."), (T.INT, "3")]


def test_stream_ends_with_newline_and_eof() -> None:
    toks = lex("x 1").tokens
    assert [t.kind for t in toks] == [T.NAME, T.INT, T.NEWLINE, T.EOF]
    assert toks[-1].start == toks[-1].end == 3


def test_empty_input_is_just_eof() -> None:
    res = lex("")
    assert [t.kind for t in res.tokens] == [T.EOF]
    assert res.diagnostics == []


# ------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("0", T.INT, 0),
        ("123", T.INT, 123),
        ("007", T.INT, 7),
        ("1.5", T.FLOAT, 1.5),
        ("0.001", T.FLOAT, 0.001),
        ("1e-3", T.FLOAT, 1e-3),
        ("1e3", T.FLOAT, 1000.0),
        ("2.5E+4", T.FLOAT, 25000.0),
        ("2.5e4", T.FLOAT, 25000.0),
        ("6E-01", T.FLOAT, 0.6),
    ],
)
def test_numbers(text: str, kind: str, value: object) -> None:
    (tok, *_) = lex(text).tokens
    assert (tok.kind, tok.text, tok.value) == (kind, text, value)
    assert type(tok.value) is type(value)
    assert lex_codes(text) == []


def test_minus_is_an_operator_not_part_of_the_number() -> None:
    assert kinds("-1") == [(T.OP, "-"), (T.INT, "1")]
    assert kinds("1e-3-2") == [(T.FLOAT, "1e-3"), (T.OP, "-"), (T.INT, "2")]


@pytest.mark.parametrize("text", ["1.", "1e", "1e+", "2.5E-", "12abc", "1.5x", "1e3y", "3_000"])
def test_malformed_numbers(text: str) -> None:
    res = lex(f"x {text}")
    d = only(res.diagnostics, "E0008")
    assert snippet(f"x {text}", d) == text
    assert f"`{text}`" in d.message
    assert [t.kind for t in res.tokens][:2] == [T.NAME, T.ERROR]


def test_trailing_dot_number_has_a_fix() -> None:
    d = only(lex("x 1.").diagnostics, "E0008")
    assert apply_fix("x 1.", d) == "x 1.0"


def test_int_range_boundaries() -> None:
    assert lex_codes("x 9223372036854775807") == []
    # 2**63 lexes (it is valid after unary minus); the parser rejects it alone
    assert lex_codes("x 9223372036854775808") == []
    d = only(lex("x 9223372036854775809").diagnostics, "E0007")
    assert snippet("x 9223372036854775809", d) == "9223372036854775809"


@pytest.mark.parametrize("digits", [30, 400, 5000])
def test_huge_int_literal_is_a_diagnostic_not_a_crash(digits: int) -> None:
    # int() refuses > 4300 digits and float formatting overflows past ~308
    text = "x 1" + "0" * digits
    d = only(lex(text).diagnostics, "E0007")
    assert d.span.start == 2 and d.span.end == len(text)
    assert f"1.000e+{digits}" in d.helps[0]


# ------------------------------------------------------------------- strings


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (r'"plain"', "plain"),
        (r'""', ""),
        (r'"a\"b"', 'a"b'),
        (r'"a\\b"', "a\\b"),
        (r'"a\nb"', "a\nb"),
        (r'"a\tb"', "a\tb"),
        (r'"a\rb"', "a\rb"),
        (r'"\\n"', "\\n"),
        ('"tab\there"', "tab\there"),
        ('"# not a comment"', "# not a comment"),
        ('"// not a comment"', "// not a comment"),
        ('"héllo wörld ✓"', "héllo wörld ✓"),
    ],
)
def test_string_escapes(literal: str, value: str) -> None:
    res = lex(literal)
    assert res.diagnostics == []
    assert res.comments == []
    tok = res.tokens[0]
    assert (tok.kind, tok.text, tok.value) == (T.STRING, literal, value)


def test_unknown_escape_is_e0005_on_the_escape() -> None:
    text = r'x "ab\qc"'
    d = only(lex(text).diagnostics, "E0005")
    assert snippet(text, d) == r"\q"
    assert d.span.start == text.index("\\")
    assert d.helps and "\\\\" in d.helps[0]
    assert apply_fix(text, d) == r'x "ab\\qc"'


def test_each_unknown_escape_is_reported() -> None:
    text = r'x "\a \b \n \z"'
    diags = lex(text).diagnostics
    assert [snippet(text, d) for d in diags] == [r"\a", r"\b", r"\z"]


def test_unterminated_string() -> None:
    text = 'x "abc\ny 1'
    res = lex(text)
    d = only(res.diagnostics, "E0004")
    assert snippet(text, d) == '"abc'
    assert apply_fix(text, d) == 'x "abc"\ny 1'
    # the next line is lexed normally
    assert (T.NAME, "y") in [(t.kind, t.text) for t in res.tokens]


def test_unterminated_string_ending_in_backslash() -> None:
    text = 'x "abc\\'
    assert lex_codes(text) == ["E0004"]


def test_string_does_not_span_lines() -> None:
    assert lex_codes('x "a\nb"') == ["E0004", "E0004"]


# ------------------------------------------------------------------ comments


@pytest.mark.parametrize("marker", ["#", "//"])
def test_comments(marker: str) -> None:
    text = f"x 1 {marker} comment x 2\n{marker} whole line\ny 2"
    res = lex(text)
    assert res.diagnostics == []
    assert kinds(text) == [(T.NAME, "x"), (T.INT, "1"), (T.NAME, "y"), (T.INT, "2")]
    assert [Source(text).snippet(c) for c in res.comments] == [f"{marker} comment x 2", f"{marker} whole line"]


def test_slash_slash_inside_string_is_not_a_comment() -> None:
    text = 'print "http://x.org" // real comment'
    res = lex(text)
    assert [t.value for t in res.tokens if t.kind == T.STRING] == ["http://x.org"]
    assert [Source(text).snippet(c) for c in res.comments] == ["// real comment"]


def test_single_slash_is_division() -> None:
    assert kinds("a / b") == [(T.NAME, "a"), (T.OP, "/"), (T.NAME, "b")]


def test_comment_only_and_blank_lines_do_not_change_blocks() -> None:
    text = "if true\n    x 1\n# dedented comment\n\n        // deep comment\n    y 2\nz 3"
    toks = [t.kind for t in lex(text).tokens]
    assert toks.count(T.INDENT) == 1 and toks.count(T.DEDENT) == 1
    assert lex_codes(text) == []


# ---------------------------------------------------------------- indentation


def test_indent_and_dedent_are_balanced() -> None:
    text = "fn f(a)\n    if a\n        return 1\n    return 2\nprint f(1)"
    toks = [t.kind for t in lex(text).tokens]
    assert toks.count(T.INDENT) == 2 and toks.count(T.DEDENT) == 2


def test_dedent_at_end_of_file() -> None:
    toks = [t.kind for t in lex("loop 2\n    loop 2\n        print 1").tokens]
    assert toks[-3:] == [T.DEDENT, T.DEDENT, T.EOF]


def test_tab_indentation_is_e0001_with_a_fix_to_spaces() -> None:
    text = "loop 2\n\tprint 1"
    d = only(lex(text).diagnostics, "E0001")
    assert snippet(text, d) == "\t"
    fixed = apply_fix(text, d)
    assert fixed == "loop 2\n    print 1"
    assert lex_codes(fixed) == []


def test_mixed_tab_and_spaces_indentation_fix() -> None:
    text = "loop 2\n    loop 2\n  \t  print 1"
    d = only(lex(text).diagnostics, "E0001")
    fixed = apply_fix(text, d)
    # the fix keeps the visual width (tab stops every 4 columns): "  \t  " is 6 columns
    assert fixed.splitlines()[-1] == "      print 1"
    assert lex_codes(fixed) == ["E0002"]


def test_tab_between_tokens_is_e0001() -> None:
    text = "x\t1"
    d = only(lex(text).diagnostics, "E0001")
    assert d.span.start == 1 and d.span.end == 2
    assert apply_fix(text, d) == "x 1"


def test_tab_inside_string_is_fine() -> None:
    assert lex_codes('x "a\tb"') == []


@pytest.mark.parametrize("width", [1, 2, 3, 5, 6, 7])
def test_indentation_not_a_multiple_of_four_is_e0002(width: int) -> None:
    text = "loop 2\n" + " " * width + "print 1"
    d = only(lex(text).diagnostics, "E0002")
    assert snippet(text, d) == " " * width
    assert str(width) in d.message
    fixed = apply_fix(text, d)
    assert "E0002" not in lex_codes(fixed)


def test_indenting_two_levels_at_once_is_e0003() -> None:
    assert "E0003" in lex_codes("loop 2\n        print 1")


# ----------------------------------------------------------------- newlines


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_crlf_and_lone_cr_are_normalised(newline: str) -> None:
    text = newline.join(["loop 2", "    print 1", "print 2"])
    src = Source(text)
    assert src.text == "loop 2\n    print 1\nprint 2"
    toks = [t.kind for t in lex(text).tokens]
    assert toks == [t.kind for t in lex(src.text).tokens]
    assert lex_codes(text) == []
    assert src.position(src.text.index("print 2")).line == 3


def test_mixed_newlines() -> None:
    assert normalise_newlines("a\r\nb\rc\nd\r\r\n") == "a\nb\nc\nd\n\n"


# ----------------------------------------------------------------- positions


def test_positions_are_one_based() -> None:
    src = Source("x 1\n  yy")
    assert src.position(0) == (src.position(0).__class__(1, 1))
    p = src.position(src.text.index("yy"))
    assert (p.line, p.column) == (2, 3)


def test_positions_count_characters_not_bytes() -> None:
    text = 'print "日本語 ✓ é" # ünïcode 😀\nx $'
    src = Source(text)
    res = lex(text)
    d = only(res.diagnostics, "E0006")
    p = src.position(d.span.start)
    assert (p.line, p.column) == (2, 3)
    string = next(t for t in res.tokens if t.kind == T.STRING)
    assert src.position(string.end).column == len('print "日本語 ✓ é"') + 1


def test_positions_after_non_ascii_on_same_line() -> None:
    text = 'x "😀😀" $'
    d = only(lex(text).diagnostics, "E0006")
    assert Source(text).position(d.span.start).column == 8


def test_token_offsets_slice_the_source() -> None:
    text = 'model m\n    layers 2 4 1\nprint "é", m.loss == 1.5e-3 // c'
    src = Source(text)
    for tok in lex(text).tokens:
        if tok.kind not in (T.NEWLINE, T.INDENT, T.DEDENT, T.EOF):
            assert src.snippet(Span(tok.start, tok.end)) == tok.text


# ------------------------------------------------------------ bad characters


@pytest.mark.parametrize(
    ("char", "hint"),
    [("!", "not"), ("'", "double quotes"), ("`", "double quotes"), ("[", "list"), ("&", "and"), ("é", "ASCII")],
)
def test_unexpected_characters(char: str, hint: str) -> None:
    text = f"x 1 {char}"
    d = only(lex(text).diagnostics, "E0006")
    assert snippet(text, d).startswith(char)
    assert any(hint in h for h in d.helps)


def test_lexing_continues_after_errors() -> None:
    text = 'a $\nb "x\\q"\nc 1.\nd "open\ne 1'
    assert lex_codes(text) == ["E0006", "E0005", "E0008", "E0004"]
    assert (T.NAME, "e") in kinds(text)


def test_float_literal_overflowing_to_inf_is_a_diagnostic() -> None:
    assert lex_codes("x 1e999") == ["E0007"]


def test_non_ascii_identifier_is_one_error_over_the_whole_word() -> None:
    from volta_core.syntax.lexer import tokenize
    from volta_core.syntax.source import Source

    result = tokenize(Source("größe 1\n"))
    assert [d.code for d in result.diagnostics] == ["E0006"]
    assert (result.diagnostics[0].span.start, result.diagnostics[0].span.end) == (0, 5)


# ------------------------------------------------------------- the line cache


def _tokens(text: str) -> tuple[list[tuple[object, ...]], list[Span], list[tuple[str, Span]]]:
    from volta_core.syntax.lexer import tokenize

    out = tokenize(Source(text, "t.vt"))
    return ([(t.kind, t.text, t.start, t.end, t.value) for t in out.tokens], out.comments,
            [(d.code, d.span) for d in out.diagnostics])


LINES = [
    'x = 1.5e3 + 2 // note', '    print "a\\tb", x  # c', "model m", "    layer dense 4 relu",
    'y = "unterminated', "z = 3. + 1x", "if a != b and c <= 0x", '    s = "\\q"', "w = 99999999999999999999",
]


def test_lines_from_the_cache_are_the_lines_lexed_afresh_at_any_offset() -> None:
    """A line's tokens are cached by its text: the same line at another offset, indent or
    neighbourhood gets the tokens lexing it from scratch gives; lines with a diagnostic
    are never served from the cache (their diagnostics are made every time)."""
    from volta_core.syntax import lexer

    texts = ["\n".join(LINES), "\n\n" + "\n".join(reversed(LINES)), "# lead\n" + "\n".join(LINES[::2] + LINES)]
    for text in texts:
        lexer._LINES.clear()
        fresh = _tokens(text)
        assert lexer._LINES  # warm now
        assert _tokens(text) == fresh
    lexer._LINES.clear()
    _tokens(texts[0])
    assert not any("unterminated" in line or "\\q" in line or "99999" in line for line in lexer._LINES)
    assert "model m" in lexer._LINES


def test_the_line_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from volta_core.syntax import lexer

    monkeypatch.setattr(lexer, "LINE_CACHE_SIZE", 8)
    lexer._LINES.clear()
    text = "\n".join(f"v{i} = {i}" for i in range(30))
    first = _tokens(text)
    assert 0 < len(lexer._LINES) <= 8
    assert _tokens(text) == first
