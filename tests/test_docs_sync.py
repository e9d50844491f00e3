"""The documentation agrees with the code.

- every ```volta block in README.md and docs/**/*.md checks without errors
  (``volta_core.analysis.analyze``); a ```volta-error block shows an error on
  purpose and must produce at least one;
- every ```sh block right after a ``<!-- runnable -->`` line runs, in a fresh
  temporary directory per document (blocks of one page in order, sharing
  it), with this environment's ``volta`` on PATH, and exits 0;
- every relative link in README.md, CONTRIBUTING.md and docs/**/*.md points to
  an existing file, and docs/index.md links every page in docs/.

``tests/cli/test_docs.py`` keeps its README-specific checks (the two opening
commands, CI's test command, generated pages); this module covers all pages.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from volta_core.analysis import analyze

ROOT = Path(__file__).resolve().parents[1]
# `tools` is repository tooling, not an installed package: import it from the checkout.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
markdown = importlib.import_module("tools.markdown")
if TYPE_CHECKING:
    from tools.markdown import Block

DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted(DOCS.rglob("*.md"))]
SNIPPET_PAGES = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _blocks(info: str) -> list[Block]:
    return [b for page in SNIPPET_PAGES for b in markdown.fenced_blocks(page) if b.info == info]


def _id(block: Block) -> str:
    return f"{_rel(block.path)}:{block.line}"


VOLTA_BLOCKS = _blocks("volta")
ERROR_BLOCKS = _blocks("volta-error")
RUNNABLE_PAGES = [p for p in SNIPPET_PAGES if any(b.runnable for b in markdown.fenced_blocks(p))]


def test_the_docs_have_volta_snippets_and_runnable_pages() -> None:
    # Guards the collection itself: a broken parser would otherwise pass vacuously.
    assert len(VOLTA_BLOCKS) >= 3
    assert DOCS / "quickstart.md" in RUNNABLE_PAGES


@pytest.mark.parametrize("block", VOLTA_BLOCKS, ids=_id)
def test_volta_snippet_checks_clean(block: Block) -> None:
    errors = analyze(block.text, _rel(block.path)).errors
    assert errors == [], f"{block.where()}: the ```volta block has errors (use ```volta-error if intended):\n" + \
        "\n".join(f"  {d.code}: {d.message}" for d in errors)


@pytest.mark.parametrize("block", ERROR_BLOCKS, ids=_id)
def test_volta_error_snippet_has_an_error(block: Block) -> None:
    assert analyze(block.text, _rel(block.path)).errors, f"{block.where()}: a ```volta-error block without errors"


def _runnable_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    scripts = Path(sys.executable).parent  # the environment running the tests, holding `volta`
    env["PATH"] = os.pathsep.join([str(scripts), env.get("PATH", "")])
    env["NO_COLOR"] = "1"
    env["HOME"] = str(tmp_path / "home")  # nothing a block does may touch the real home
    (tmp_path / "home").mkdir()
    return env


@pytest.mark.skipif(shutil.which("sh") is None, reason="runnable blocks are POSIX shell")
@pytest.mark.parametrize("page", RUNNABLE_PAGES, ids=_rel)
def test_runnable_blocks_exit_zero(page: Path, tmp_path: Path) -> None:
    env = _runnable_env(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    blocks = [b for b in markdown.fenced_blocks(page) if b.runnable]
    for block in blocks:
        assert block.info == "sh", f"{block.where()}: only ```sh blocks can be runnable"
        proc = subprocess.run(["sh", "-e", "-c", block.text], cwd=work, env=env, capture_output=True,
                              text=True, timeout=120, check=False)
        assert proc.returncode == 0, (
            f"{block.where()}: runnable block exited {proc.returncode}\n{block.text}"
            f"--- stdout\n{proc.stdout}--- stderr\n{proc.stderr}"
        )


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_relative_links_resolve(page: Path) -> None:
    assert markdown.broken_links(page) == []


def test_index_links_every_page() -> None:
    index = DOCS / "index.md"
    linked = {(index.parent / target.split("#", 1)[0]).resolve() for _, target in markdown.relative_links(index)}
    missing = [_rel(p) for p in sorted(DOCS.rglob("*.md")) if p != index and p.resolve() not in linked]
    assert missing == [], f"add these pages to docs/index.md: {', '.join(missing)}"


def test_markdown_parser_on_tricky_input(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "See [a](a.md), `[not](code.md)`, [web](https://x.org), [top](#top) and ![img](pic.png).\n"
        "<!-- runnable -->\n````sh\necho ```\n````\n"
        "```volta-error\nx = \n```\n"
        "~~~\n[inside](fence.md)\n~~~\n",
        encoding="utf-8",
    )
    blocks = markdown.fenced_blocks(page)
    assert [(b.line, b.info, b.runnable, b.text) for b in blocks] == [
        (3, "sh", True, "echo ```\n"), (6, "volta-error", False, "x = \n"), (9, "", False, "[inside](fence.md)\n"),
    ]
    assert markdown.relative_links(page) == [(1, "a.md")]
    assert markdown.broken_links(page) == [f"{page}:1: a.md"]
