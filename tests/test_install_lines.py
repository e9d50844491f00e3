"""Every install line names Volta's distribution, `volta-lang`.

On the public package index `volta` is an unrelated project: an install line
naming it (with or without extras) installs that project, and with `-U` would
replace Volta. The import packages and the `volta` command keep their names.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DISTRIBUTION = "volta-lang"
#: Folders that are not the project's own text (dependencies, build output, caches).
SKIP_DIRS = frozenset({".git", "node_modules", "out", "dist", "build", ".venv", "venv", "__pycache__",
                       ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis"})
TEXT_SUFFIXES = frozenset({".md", ".py", ".ts", ".toml", ".ipynb", ".json", ".txt", ".vt", ".cfg", ".yml", ".yaml", ""})
# `volta[extra]` and a bare `pip install volta` both name the unrelated distribution.
WRONG = re.compile(r"(?<![\w.-])volta\[|pip install (?:-U |--upgrade )?['\"]?volta(?![\w-])")


def _text_files() -> list[Path]:
    """The project's text files, except this test (its examples name the wrong line on purpose)."""
    out = []
    for folder, dirs, names in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info") and d != "golden"]
        for name in names:
            path = Path(folder) / name
            if path.suffix in TEXT_SUFFIXES and path != Path(__file__).resolve():
                out.append(path)
    return out


def test_the_distribution_is_volta_lang() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == DISTRIBUTION
    assert project["scripts"]["volta"] == "volta_core.cli:main"


def test_no_install_line_names_the_unrelated_volta_distribution() -> None:
    files = _text_files()
    assert any(p.name == "README.md" for p in files) and any(p.suffix == ".ts" for p in files)
    bad = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if WRONG.search(line):
                bad.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert bad == [], "install lines must name `volta-lang` (or `.` from a checkout):\n" + "\n".join(bad)


def test_the_pattern_catches_what_it_should() -> None:
    assert WRONG.search("pip install 'volta[lsp]'")
    assert WRONG.search("pip install -U volta")
    assert WRONG.search("a Python with `volta[kernel]` installed")
    assert not WRONG.search("pip install 'volta-lang[lsp]'")
    assert not WRONG.search("pip install '.[lsp]'")
    assert not WRONG.search("pip install volta-lang")
