"""A Pygments lexer for `.vt` sources, so notebook exports (nbconvert), Sphinx
and anything else that highlights with Pygments colour Volta cells.

Registered under the alias ``volta`` through the ``pygments.lexers`` entry
point; the token classes mirror the TextMate grammar of the VS Code extension.
The keyword list and the layer kinds come from ``volta_core`` so they cannot
drift from the language.
"""

from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Text, Whitespace

from volta_core.check.schema import LAYER_KINDS
from volta_core.syntax.tokens import KEYWORDS

_WORD_OPERATORS = ("and", "or", "not", "in", "on", "as", "from")
_CONSTANTS = ("true", "false")
_STATEMENTS = tuple(sorted(k for k in KEYWORDS if k not in _WORD_OPERATORS + _CONSTANTS))


class VoltaLexer(RegexLexer):
    name = "Volta"
    aliases = ["volta", "vt"]  # noqa: RUF012 - Pygments reads these class attributes
    filenames = ["*.vt"]  # noqa: RUF012
    mimetypes = ["text/x-volta"]  # noqa: RUF012

    tokens = {  # noqa: RUF012
        "root": [
            (r"\n", Whitespace),
            (r"[ \t]+", Whitespace),
            (r"(#|//).*$", Comment.Single),
            (r'"', String.Double, "string"),
            (r"(model|dataset|fn)(\s+)([A-Za-z_]\w*)", bygroups(Keyword, Whitespace, Name.Class)),
            (r"(layer)(\s+)" + "(" + "|".join(LAYER_KINDS) + r")\b", bygroups(Name.Attribute, Whitespace, Name.Builtin)),
            (words(_CONSTANTS, suffix=r"\b"), Keyword.Constant),
            (words(_WORD_OPERATORS, suffix=r"\b"), Operator.Word),
            (words(_STATEMENTS, suffix=r"\b"), Keyword),
            (r"\d+\.\d+([eE][+-]?\d+)?|\d+[eE][+-]?\d+", Number.Float),
            (r"\d+", Number.Integer),
            (r"%[A-Za-z_]+", Name.Decorator),  # kernel magics
            (r"(?<=^    )[A-Za-z_]\w*", Name.Attribute),  # a property key at the start of a block line
            (r"[A-Za-z_]\w*", Name),
            (r"==|!=|<=|>=|\.\.|[-+*/%<>=.]", Operator),
            (r"[(),]", Punctuation),
            (r".", Text),
        ],
        "string": [
            (r'\\["\\ntr]', String.Escape),
            (r"\\.", String.Escape),
            (r'"', String.Double, "#pop"),
            (r'[^"\\\n]+', String.Double),
            (r"\n", String.Double, "#pop"),
        ],
    }
