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
from volta_core.present import Table, describe_value, simple_table
from volta_core.train.runtime import DatasetHandle, ModelHandle

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
            rows.append([name, value_kind(value).value, type_name(value), preview(value)])
    if not rows:
        return "no globals", "<p>no globals</p>"
    table = simple_table(("name", "kind", "type", "value"), rows)
    return table.text(indent=""), table.html()


def value_kind(value: object) -> SymbolKind:
    """What ``%who`` calls a global: a model, a dataset, a function or a variable."""
    if isinstance(value, ModelHandle):
        return SymbolKind.MODEL
    if isinstance(value, DatasetHandle):
        return SymbolKind.DATASET
    return SymbolKind.FUNCTION if type(value) is Function else SymbolKind.VARIABLE


def _prop_text(value: object) -> str:
    if isinstance(value, list | tuple):
        return " ".join(_prop_text(v) for v in value)
    return value if isinstance(value, str) else describe_value(value)  # words and paths as written


def dataset_table(data: DatasetHandle) -> Table:
    """A dataset global's properties as written, then its split sizes once it was read."""
    rows = [[key, _prop_text(value)] for key, value in data.props.items()]
    table = simple_table(("property", "value"), rows, title=f"dataset {data.name}")
    if data.loaded is None:
        return table.with_facts(("examples", "not read yet (read on first use)"))
    val = len(data.loaded.val) if data.loaded.val is not None else 0
    return table.with_facts(("examples", f"{len(data.loaded.train):,} train, {val:,} validation"))


def warnings_bundle(rendered: str) -> dict[str, str]:
    """Warnings of a cell that ran: a display (ANSI text), not stderr, which notebooks
    paint as an error."""
    return {"text/plain": rendered}


def progress_bundle(line: str) -> dict[str, str]:
    """One progress line; in HTML each ``name value`` field (fields are separated by
    two spaces) is kept on one line, so a narrow output wraps between fields, never
    inside a number."""
    fields = [f for f in line.split("  ") if f]
    markup = " ".join(f'<span style="white-space:nowrap">{html.escape(f)}</span>' for f in fields)
    return {"text/plain": line, "text/html": f'<pre style="white-space:pre-wrap">{markup}</pre>'}

