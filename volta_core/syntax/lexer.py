"""The lexer: text → tokens with INDENT/DEDENT/NEWLINE (SPEC §1).

The lexer never raises: problems become diagnostics and lexing continues, so
the parser always receives a complete, well-nested token stream (every INDENT
has its DEDENT, the stream ends with EOF).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from volta_core.diagnostics import Diagnostic, Fix, TextEdit
from volta_core.syntax import tokens as T
from volta_core.syntax.source import Source, Span
from volta_core.syntax.tokens import KEYWORDS, Token

INDENT_WIDTH = 4
INT_MAX = 2**63 - 1

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>[ \t]+)
  | (?P<comment>(?:\#|//).*)
  | (?P<badnum>\d+\.(?![.\d])|\d+(?:\.\d+)?[eE](?>[+-]?)(?!\d)|(?>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)[A-Za-z_][A-Za-z0-9_]*)
  | (?P<float>\d+\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)
  | (?P<int>\d+)
  | (?P<name>[^\W\d]\w*)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<openstring>"(?:[^"\\\n]|\\.)*\\?)
  | (?P<op>==|!=|<=|>=|\.\.|[-+*/%<>=(),.])
  | (?P<bad>[^ \t#/"A-Za-z0-9_=!<>.()+*%,-]+|.)
    """,
    re.VERBOSE,
)

_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}
_ESCAPE_RE = re.compile(r"\\(.?)")


@dataclass(slots=True)
class LexResult:
    tokens: list[Token]
    comments: list[Span]
    diagnostics: list[Diagnostic]
    #: Magic lines (``%plot m``) of notebook content (``tokenize(..., magics=True)``).
    magics: list[Span] = field(default_factory=list)


def _unescape(body: str, body_start: int, diags: list[Diagnostic]) -> str:
    if "\\" not in body:
        return body

    def repl(m: re.Match[str]) -> str:
        ch = m.group(1)
        if ch in _ESCAPES:
            return _ESCAPES[ch]
        span = Span(body_start + m.start(), body_start + m.end())
        diags.append(
            Diagnostic(
                "E0005",
                f"unknown escape sequence `\\{ch}`",
                span,
                label="not a valid escape",
                helps=(
                    'valid escapes are \\" \\\\ \\n \\t \\r; write `\\\\` for a literal backslash',
                ),
                fixes=(Fix.replace("Escape the backslash", Span(span.start, span.start + 1), "\\\\"),),
            )
        )
        return m.group(0)

    return _ESCAPE_RE.sub(repl, body)


def tokenize(source: Source, magics: bool = False) -> LexResult:
    """Split ``source`` into tokens; never raises.

    With ``magics`` (notebook content), a line starting with ``%`` in column 0
    is a kernel magic: like a comment it produces no tokens, and its span is
    kept in :attr:`LexResult.magics`. (``%`` never starts Volta code.)
    """
    text = source.text
    toks: list[Token] = []
    comments: list[Span] = []
    magic_lines: list[Span] = []
    diags: list[Diagnostic] = []
    append = toks.append
    levels = 0
    match_iter = _TOKEN_RE.finditer
    pos = 0
    n = len(text)
    while pos <= n:
        nl = text.find("\n", pos)
        end = n if nl == -1 else nl
        # -- indentation
        i = pos
        while i < end and text[i] in " \t":
            i += 1
        rest_start = i
        magic = magics and rest_start == pos < end and text[pos] == "%"
        content_empty = (
            rest_start == end
            or text[rest_start] == "#"
            or text.startswith("//", rest_start)
            or magic
        )
        indent_text = text[pos:rest_start]
        if "\t" in indent_text:
            diags.append(
                Diagnostic(
                    "E0001",
                    "tab character in indentation",
                    Span(pos + indent_text.index("\t"), rest_start),
                    label="tab used here",
                    helps=("indent with 4 spaces per level",),
                    fixes=(
                        Fix.replace(
                            "Convert tabs to spaces",
                            Span(pos, rest_start),
                            indent_text.expandtabs(INDENT_WIDTH),
                        ),
                    ),
                )
            )
        if not content_empty:
            width = len(indent_text.expandtabs(INDENT_WIDTH))
            level, extra = divmod(width, INDENT_WIDTH)
            if extra:
                # Round to the nearest level; a tie (2 spaces) rounds towards one
                # level deeper when that is a legal indent, as after a block header.
                up = extra * 2 > INDENT_WIDTH or (extra * 2 == INDENT_WIDTH and level + 1 <= levels + 1)
                rounded = level + (1 if up else 0)
                diags.append(
                    Diagnostic(
                        "E0002",
                        f"indentation of {width} spaces is not a multiple of {INDENT_WIDTH}",
                        Span(pos, rest_start),
                        label=f"{width} spaces",
                        helps=(f"indent with {INDENT_WIDTH} spaces per level",),
                        fixes=(
                            Fix.replace(
                                f"Indent with {rounded * INDENT_WIDTH} spaces",
                                Span(pos, rest_start),
                                " " * (rounded * INDENT_WIDTH),
                            ),
                        ),
                    )
                )
                level = rounded
            if level > levels:
                if level > levels + 1:
                    diags.append(
                        Diagnostic(
                            "E0003",
                            "indented more than one level at once",
                            Span(pos, rest_start),
                            label=f"{level - levels} levels deeper than the line before",
                            helps=("each block is indented exactly 4 spaces more than its header",),
                        )
                    )
                append(Token(T.INDENT, "", rest_start, rest_start))
                levels += 1
            else:
                while levels > level:
                    append(Token(T.DEDENT, "", rest_start, rest_start))
                    levels -= 1
            _lex_line_cached(text, rest_start, end, toks, comments, diags, match_iter)
            append(Token(T.NEWLINE, "\n", end, end + 1 if nl != -1 else end))
        else:
            # blank, comment-only or a magic: never opens or closes a block
            if magic:
                magic_lines.append(Span(pos, end))
            elif rest_start < end:
                comments.append(Span(rest_start, end))
        if nl == -1:
            break
        pos = nl + 1
    while levels > 0:
        append(Token(T.DEDENT, "", n, n))
        levels -= 1
    append(Token(T.EOF, "", n, n))
    return LexResult(toks, comments, diags, magic_lines)


#: Tokens and comments of lines lexed before, by the line's text (indentation left out), as
#: offsets from the line's start: an editor re-analyses a whole document on every edit, and all
#: but the edited lines come from here. Lines with a diagnostic are not kept. Bounded: cleared
#: when full (an entry is ~0.8 KB: the 5,000-line benchmark file has 1,467 distinct lines, 1.1 MB).
_LINES: dict[str, tuple[tuple[tuple[str, str, int, int, object], ...], tuple[tuple[int, int], ...]]] = {}
LINE_CACHE_SIZE = 16_384


def _lex_line_cached(
    text: str,
    start: int,
    end: int,
    toks: list[Token],
    comments: list[Span],
    diags: list[Diagnostic],
    match_iter: Callable[[str, int, int], Iterator[re.Match[str]]],
) -> None:
    """:func:`_lex_line`, from :data:`_LINES` when the same text was lexed before (a line's
    tokens depend on its text alone: matches never look past its end)."""
    line = text[start:end]
    hit = _LINES.get(line)
    if hit is not None:
        append = toks.append
        for kind, word, s, e, value in hit[0]:
            append(Token(kind, word, start + s, start + e, value))
        for s, e in hit[1]:
            comments.append(Span(start + s, start + e))
        return
    first_token, first_comment, first_diag = len(toks), len(comments), len(diags)
    _lex_line(text, start, end, toks, comments, diags, match_iter)
    if len(diags) == first_diag:
        if len(_LINES) >= LINE_CACHE_SIZE:
            _LINES.clear()
        _LINES[line] = (
            tuple((t.kind, t.text, t.start - start, t.end - start, t.value) for t in toks[first_token:]),
            tuple((c.start - start, c.end - start) for c in comments[first_comment:]),
        )


def _lex_line(
    text: str,
    start: int,
    end: int,
    toks: list[Token],
    comments: list[Span],
    diags: list[Diagnostic],
    match_iter: Callable[[str, int, int], Iterator[re.Match[str]]],
) -> None:
    append = toks.append
    helps: tuple[str, ...]
    for m in match_iter(text, start, end):
        kind = m.lastgroup
        s, e = m.span()
        if kind == "name":
            word = m.group()
            if word.isascii():
                append(Token(T.KEYWORD if word in KEYWORDS else T.NAME, word, s, e))
            else:
                diags.append(
                    Diagnostic(
                        "E0006",
                        f"identifier `{word}` contains non-ASCII characters",
                        Span(s, e),
                        label="not a valid name",
                        helps=("identifiers use ASCII letters, digits and `_`; non-ASCII text belongs in strings",),
                    )
                )
                append(Token(T.ERROR, word, s, e))
        elif kind == "op":
            append(Token(T.OP, m.group(), s, e))
        elif kind == "ws":
            if "\t" in m.group():
                t = s + m.group().index("\t")
                diags.append(
                    Diagnostic(
                        "E0001",
                        "tab character outside a string",
                        Span(t, t + 1),
                        label="tab used here",
                        helps=("use spaces; tabs are only allowed inside strings",),
                        fixes=(Fix.replace("Replace tab with a space", Span(s, e), " "),),
                    )
                )
        elif kind == "int":
            digits = m.group().lstrip("0") or "0"
            # Compare by length first: int() refuses strings over 4300 digits and
            # `{value:e}` overflows for huge ints, so never convert those.
            if len(digits) > len(str(INT_MAX + 1)) or int(digits) > INT_MAX + 1:
                approx = f"{digits[0]}.{digits[1:4].ljust(3, '0')}e+{len(digits) - 1:02d}"
                diags.append(
                    Diagnostic(
                        "E0007",
                        "integer literal out of range",
                        Span(s, e),
                        label="does not fit in a 64-bit integer",
                        helps=(f"integers range from {-INT_MAX - 1} to {INT_MAX}; write a float such as `{approx}` for large values",),
                    )
                )
                append(Token(T.ERROR, m.group(), s, e))
            else:
                append(Token(T.INT, m.group(), s, e, int(digits)))
        elif kind == "float":
            value = float(m.group())
            if value == float("inf"):
                diags.append(
                    Diagnostic(
                        "E0007",
                        "float literal out of range",
                        Span(s, e),
                        label="larger than the largest float (about 1.8e308)",
                        helps=("floats are 64-bit IEEE numbers; no literal may overflow to infinity",),
                    )
                )
                append(Token(T.ERROR, m.group(), s, e))
            else:
                append(Token(T.FLOAT, m.group(), s, e, value))
        elif kind == "string":
            body = m.group()[1:-1]
            append(Token(T.STRING, m.group(), s, e, _unescape(body, s + 1, diags)))
        elif kind == "comment":
            comments.append(Span(s, e))
        elif kind == "openstring":
            diags.append(
                Diagnostic(
                    "E0004",
                    "unterminated string",
                    Span(s, e),
                    label="string starts here and is not closed on this line",
                    helps=("add the closing `\"`; use `\\n` for a newline inside a string",),
                    fixes=(Fix("Close the string", (TextEdit(Span(e, e), '"'),)),),
                )
            )
            append(Token(T.STRING, m.group(), s, e, _unescape(m.group()[1:].rstrip("\\"), s + 1, [])))
        elif kind == "badnum":
            word = m.group()
            helps = ("numbers look like `123`, `1.5`, `1e-3` or `2.5E+4`",)
            fixes: tuple[Fix, ...] = ()
            if word.endswith(".") and word[:-1].isdigit():
                helps = (f"write `{word}0` for a float",)
                fixes = (Fix.replace(f"Write `{word}0`", Span(s, e), word + "0"),)
            diags.append(
                Diagnostic("E0008", f"malformed number `{word}`", Span(s, e), label="not a number", helps=helps, fixes=fixes)
            )
            append(Token(T.ERROR, word, s, e))
        else:  # bad
            bad = m.group()
            if bad == "!":
                msg, helps = "unexpected character `!`", ("use `not` for negation and `!=` for inequality",)
            else:
                msg = f"unexpected character{'s' if len(bad) > 1 else ''} `{bad}`"
                helps = ()
                if any(not c.isascii() for c in bad):
                    helps = ("identifiers use ASCII letters, digits and `_`; non-ASCII text belongs in strings",)
                elif bad in ("'", "`"):
                    helps = ('strings use double quotes: "text"',)
                elif bad in ("[", "]", "{", "}"):
                    helps = ("Volta has no list or dict literals; property values are separated by spaces",)
                elif bad == "&" or bad == "|":
                    helps = ("use `and` / `or`",)
            diags.append(Diagnostic("E0006", msg, Span(s, e), label="not valid here", helps=helps))
            append(Token(T.ERROR, bad, s, e))
