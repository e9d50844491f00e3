"""Fenced code blocks and relative links of Markdown files, for the docs tests.

A block is *runnable* when the line right before its opening fence is the
HTML comment ``<!-- runnable -->``. Links inside code (fenced blocks and
inline code spans) are not links.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

RUNNABLE_MARKER = "<!-- runnable -->"
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$")
_LINK = re.compile(r"(?<!!)\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_INLINE_CODE = re.compile(r"(`+).*?\1")
_EXTERNAL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//|#)")


@dataclass(frozen=True, slots=True)
class Block:
    """One fenced block: its file, the 1-based line of the opening fence, info word and body."""

    path: Path
    line: int
    info: str
    text: str
    runnable: bool

    def where(self) -> str:
        return f"{self.path}:{self.line}"


def fenced_blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        fence, info = match[1], match[2]
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not re.match(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$", lines[j]):
            body.append(lines[j])
            j += 1
        runnable = i > 0 and lines[i - 1].strip() == RUNNABLE_MARKER
        blocks.append(Block(path, i + 1, info, "\n".join(body) + "\n" if body else "", runnable))
        i = j + 1
    return blocks


def relative_links(path: Path) -> list[tuple[int, str]]:
    """``(line, target)`` of every link that points inside the repository."""
    links: list[tuple[int, str]] = []
    inside: str | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fence = _FENCE.match(line)
        if inside is None and fence:
            inside = fence[1]
            continue
        if inside is not None:
            if re.match(rf"^ {{0,3}}{re.escape(inside[0])}{{{len(inside)},}}\s*$", line):
                inside = None
            continue
        for match in _LINK.finditer(_INLINE_CODE.sub("", line)):
            target = match[1]
            if not _EXTERNAL.match(target):
                links.append((number, target))
    return links


def broken_links(path: Path) -> list[str]:
    """``file:line: target`` for each relative link whose file does not exist (anchors ignored)."""
    broken = []
    for number, target in relative_links(path):
        file_part = target.split("#", 1)[0].split("?", 1)[0]
        if file_part and not (path.parent / file_part).exists():
            broken.append(f"{path}:{number}: {target}")
    return broken
