"""The op registry rendered as Markdown (``docs/ir.md`` is generated from it)."""

from __future__ import annotations

from volta_core.ir.ops import _REQUIRED, Attr, all_ops, missing_kernels

BEGIN = "<!-- BEGIN GENERATED OP TABLE (volta_core.ir.op_table.registry_markdown) -->"
END = "<!-- END GENERATED OP TABLE -->"


def _attr_text(a: Attr) -> str:
    text = f"`{a.name}`: {a.kind}"
    if a.choices:
        text += " (" + "/".join(map(str, a.choices)) + ")"
    if a.default is not _REQUIRED:
        text += f" = `{a.default!r}`"
    return text


def registry_markdown(backend: str = "cpu") -> str:
    """One row per registered op: name, inputs, attributes, gradient, kernel, meaning."""
    missing = set(missing_kernels(backend))
    rows = [
        f"| op | inputs | attributes | gradient | {backend} kernel | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for op in all_ops():
        attrs = "<br>".join(_attr_text(a) for a in op.attrs) or "–"
        kernel = "source" if op.source else ("no" if op.name in missing else "yes")
        grad = "–" if op.source else ("yes" if op.grad is not None else "no")
        rows.append(f"| `{op.name}` | {op.arity_text()} | {attrs} | {grad} | {kernel} | {op.doc} |")
    return "\n".join([BEGIN, *rows, END])


def render_docs(text: str) -> str:
    """``text`` with the generated table replaced (or appended when it has none)."""
    table = registry_markdown()
    if BEGIN in text and END in text:
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        return head + table + tail
    return text.rstrip("\n") + "\n\n" + table + "\n"


def write_docs(path: str = "docs/ir.md") -> None:
    """Regenerate the op table in ``docs/ir.md`` (needs the CPU backend imported for the kernel column)."""
    import volta_core.backends.cpu  # noqa: F401  (registers kernels for the kernel column)

    with open(path, encoding="utf-8") as f:
        text = f.read()
    with open(path, "w", encoding="utf-8") as f:
        f.write(render_docs(text))
