"""The Pygments lexer used for exported notebooks: registered, and it colours
each token class like the editor grammar does."""

from __future__ import annotations

from pygments import lex
from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
from pygments.token import Comment, Keyword, Name, Number, Operator, String, Token

SOURCE = (
    "model brain\n"
    "    layers 2 4 1\n"
    "    layer dense 3 relu\n"
    "    lr -1e-3  // trailing comment\n"
    'print "a // not a comment \\n", brain.loss and true\n'
    "%step brain on xs 5\n"
)


def tokens() -> list[tuple[object, str]]:
    return [(t, v) for t, v in lex(SOURCE, get_lexer_by_name("volta")) if v.strip()]


def test_lexer_is_registered_by_alias_and_file_name() -> None:
    assert get_lexer_by_name("volta").name == "Volta"
    assert get_lexer_for_filename("model.vt").name == "Volta"


def test_token_classes() -> None:
    found = tokens()
    assert (Keyword, "model") in found and (Name.Class, "brain") in found
    assert (Name.Attribute, "layers") in found and (Name.Attribute, "lr") in found
    assert (Name.Builtin, "dense") in found
    assert (Number.Float, "1e-3") in found and (Number.Integer, "4") in found
    assert (Comment.Single, "// trailing comment") in found
    assert (String.Escape, "\\n") in found
    assert not any(t in Comment for t, v in found if "not a comment" in v)
    assert (Operator.Word, "and") in found and (Keyword.Constant, "true") in found
    assert (Name.Decorator, "%step") in found
    assert all(t is not Token.Error for t, _ in found)


def test_kernel_declares_the_lexer() -> None:
    from volta_kernel.kernel import VoltaKernel

    assert VoltaKernel.language_info["pygments_lexer"] == "volta"
