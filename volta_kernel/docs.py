"""Rich text for the kernel: runtime value previews and the ``%who`` table.

Everything the analysis knows (keywords, block keys, layer kinds, a model's
layer table, declared names) comes from ``volta_core.check.describe``, shared
with the language server; only runtime values are described here. Each
function returns a ``(text/plain, text/html)`` pair for a Jupyter mime bundle.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from volta_core.check.symbols import SymbolKind
from volta_core.lang.values import Function, format_value, type_name
from volta_core.present import simple_table

Rich = tuple[str, str]


def doc_html(title: str, lines: Sequence[str]) -> Rich:
    text = "\n".join([title, *lines])
    markup = f"<p><b><code>{html.escape(title)}</code></b></p>" + "".join(
        f"<p>{html.escape(line)}</p>" for line in lines
    )
    return text, markup


def value_doc(name: str, value: object) -> Rich:
    """Type and value of a session global."""
    if type(value) is Function:
        assert isinstance(value, Function)
        return doc_html(value.signature, [f"function defined in {value.source.path}"])
    return doc_html(f"{name}: {type_name(value)}", [f"= {preview(value)}"])


def preview(value: object, limit: int = 60) -> str:
    """``print``'s form of ``value`` (strings quoted), shortened to ``limit`` characters."""
    text = format_value(value)
    if type(value) is str:
        text = '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text if len(text) <= limit else text[: limit - 1] + "…"


def who_table(globals_: dict[str, object]) -> Rich:
    """The session's globals: name, kind, type, value preview."""
    rows = []
    for name in sorted(globals_):
        value = globals_[name]
        if type(value) is Function:
            assert isinstance(value, Function)
            rows.append([name, SymbolKind.FUNCTION.value, "fn", value.signature])
        else:
            rows.append([name, SymbolKind.VARIABLE.value, type_name(value), preview(value)])
    if not rows:
        return "no globals", "<p>no globals</p>"
    table = simple_table(("name", "kind", "type", "value"), rows)
    return table.text(indent=""), table.html()
