"""Nothing promises a change that already happened (issue 19, item 9).

Phrases like "until the CUDA backend lands" or "once the training engine
lands" go stale silently the day the thing lands. Such a phrase — in the
docs, the starter project, the notebooks, the extension or a message in the
source — is allowed only in a paragraph that refers to an open item of
``docs/roadmap.md`` (``roadmap: KEY``), and every such reference must name an
item that is still listed there: removing a finished item flags each line
that still promises it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROADMAP = ROOT / "docs" / "roadmap.md"
#: Where promises can be read by users: documentation, templates, notebooks, the
#: extension, and the sources whose strings become messages.
SCANNED = ("README.md", "CONTRIBUTING.md", "docs", "notebooks", "volta_core", "volta_lsp", "volta_kernel", "tools",
           "vscode-extension/README.md", "vscode-extension/src", "vscode-extension/package.json")
SUFFIXES = frozenset({".md", ".py", ".ts", ".ipynb", ".json", ".vt", ".cu"})
SKIP_DIRS = frozenset({"node_modules", "out", "__pycache__"})
#: A promise of a change: once/until/when/after … lands/arrives, "arrives with",
#: "not (yet) in this build", "still to come", "coming soon".
PROMISE = re.compile(
    r"\b(?:once|until|when|after)\b[^.;:\n]{0,80}?\b(?:lands?|landed|arrives?|ships?|is merged)\b"
    r"|\barrives? with\b|\bnot (?:yet )?(?:in|part of) this build\b|\bstill to come\b|\bcoming soon\b",
    re.IGNORECASE,
)
REFERENCE = re.compile(r"roadmap: ([a-z0-9-]+)")


def _files() -> list[Path]:
    out: list[Path] = []
    for name in SCANNED:
        base = ROOT / name
        if base.is_file():
            out.append(base)
            continue
        for folder, dirs, files in os.walk(base):
            dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
            out += [Path(folder) / f for f in files if Path(f).suffix in SUFFIXES]
    return [p for p in out if p != ROADMAP]


def _paragraphs(text: str) -> list[tuple[int, str]]:
    """(first line number, text) of each run of non-blank lines."""
    out: list[tuple[int, str]] = []
    start, lines = 0, []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            if not lines:
                start = number
            lines.append(line)
        elif lines:
            out.append((start, "\n".join(lines)))
            lines = []
    if lines:
        out.append((start, "\n".join(lines)))
    return out


def _text(path: Path) -> str:
    """The file's text; a notebook's cells, each its own paragraph."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".ipynb":
        return text
    return "\n\n".join("".join(cell["source"]) for cell in json.loads(text)["cells"])


def open_items() -> set[str]:
    return set(re.findall(r"^## ([a-z0-9-]+)$", ROADMAP.read_text(encoding="utf-8"), re.MULTILINE))


def test_the_roadmap_lists_open_items() -> None:
    assert open_items(), "docs/roadmap.md lists its items as `## key` headings"


def test_promises_of_a_change_refer_to_an_open_item() -> None:
    files = _files()
    assert any(p.suffix == ".ipynb" for p in files) and any(p.suffix == ".ts" for p in files)
    bad = []
    for path in files:
        for line, paragraph in _paragraphs(_text(path)):
            for promise in PROMISE.finditer(paragraph):
                if not REFERENCE.search(paragraph):
                    bad.append(f"{path.relative_to(ROOT)}:{line}: “{promise.group(0)}”")
    assert bad == [], (
        "say what is true now, or refer to the open item in docs/roadmap.md (`roadmap: KEY`):\n" + "\n".join(bad)
    )


def test_every_roadmap_reference_names_an_open_item() -> None:
    items = open_items()
    stale = [
        f"{path.relative_to(ROOT)}: roadmap: {key}"
        for path in _files()
        for key in REFERENCE.findall(_text(path))
        if key not in items
    ]
    assert stale == [], "these refer to items that are no longer open (update the text):\n" + "\n".join(stale)


def test_the_pattern_catches_the_promises_that_went_stale() -> None:
    for stale in ("`gpu` is an error naming what is missing until the CUDA backend lands.",
                  "Training runs once the training engine lands.",
                  "cannot read `m.onnx`: ONNX support arrives with the interop issue",
                  "the training engine, which is not part of this build yet",
                  "What works in this build, and what is still to come:"):
        assert PROMISE.search(stale), stale
    for fine in ("names declared inside a block", "a file that does not exist yet", "once the checker resolves them"):
        assert not PROMISE.search(fine), fine
