"""Generated docs are current; the README's commands and ``.ci/run`` agree."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from volta_core.docs_gen import PAGES, render_diagnostics_index, render_ir_page, render_op_table
from volta_core.ir.ops import all_ops

from .helpers import ROOT

TEST_COMMAND = "pip install -e '.[test]' && python -m pytest -n 2"


def test_diagnostics_index_is_current() -> None:
    committed = (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    assert committed == render_diagnostics_index(), (
        "docs/diagnostics.md is stale: run `python -m volta_core.docs_gen docs/diagnostics.md`"
    )


def test_diagnostics_index_lists_every_code() -> None:
    from volta_core.diagnostic_codes import CODES

    text = render_diagnostics_index()
    assert set(re.findall(r"^### ([EW]\d{4}):", text, re.M)) == set(CODES)


def test_ir_op_table_is_current() -> None:
    committed = (ROOT / "docs" / "ir.md").read_text(encoding="utf-8")
    assert render_op_table() in committed
    assert render_ir_page(committed) == committed, "docs/ir.md is stale: run `python -m volta_core.docs_gen docs/ir.md`"


def test_every_op_row_has_its_doc() -> None:
    table = render_op_table()
    for op in all_ops():
        assert op.doc, op.name
        assert f"| `{op.name}` |" in table and f" {op.doc} |" in table


@pytest.mark.parametrize("page", sorted(PAGES))
def test_docs_gen_regenerates_a_page(tmp_path: Path, page: str) -> None:
    committed = (ROOT / "docs" / page).read_text(encoding="utf-8")
    stale = tmp_path / page
    stale.write_text(committed.replace("| `add` |", "| `plus` |").replace("### E0001", "### E0000"), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "volta_core.docs_gen", str(stale)], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert stale.read_text(encoding="utf-8") == committed


def test_docs_gen_refuses_other_pages(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "volta_core.docs_gen", str(tmp_path / "cli.md")], capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    assert proc.returncode == 2 and "not a generated page" in proc.stderr


def test_readme_opens_with_exactly_two_commands() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# Volta"
    start = lines.index("```sh")
    end = lines.index("```", start + 1)
    assert all(not line.strip() or line.startswith("<!--") for line in lines[2:start][1:])
    assert lines[start + 1 : end] == [
        "pip install . && volta run examples/quickstart.vt",
        TEST_COMMAND,
    ]


def test_readme_quickstart_output_is_what_the_quickstart_prints() -> None:
    """The README's excerpt of the first command's output is the golden output of
    examples/quickstart.vt (checked by tests/test_examples.py), trimmed: every
    line it shows is there, in order; `…` marks what it leaves out."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    excerpt = text.split("<!-- quickstart output -->\n```\n", 1)[1].split("```\n<!-- /quickstart output -->", 1)[0]
    golden = (ROOT / "tests" / "golden" / "examples" / "quickstart.out").read_text(encoding="utf-8").splitlines()
    shown = [line for line in excerpt.splitlines() if line.strip() != "…"]
    assert len(shown) >= 15
    position = 0
    for line in shown:
        assert line in golden[position:], f"not in the quickstart's output (in order): {line!r}"
        position = golden.index(line, position) + 1


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = ROOT / ".ci" / "run"
    assert ci.stat().st_mode & 0o111, ".ci/run must be executable"
    proc = subprocess.run(
        ["bash", str(ci), "--print-test-command"], capture_output=True, text=True, timeout=30, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == TEST_COMMAND + "\n"
    text = ci.read_text(encoding="utf-8")
    assert "set -euo pipefail" in text and "ruff check ." in text and "\nmypy\n" in text


def test_cli_doc_mentions_every_command() -> None:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for command in ("run", "check", "info", "inspect", "verify", "explain", "init", "doctor", "version"):
        assert f"### `volta {command}" in text


def test_readme_volta_snippets_check_clean() -> None:
    from volta_core.analysis import analyze

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    snippets = re.findall(r"^```volta\n(.*?)^```$", text, re.M | re.S)
    assert len(snippets) >= 2
    for snippet in snippets:
        assert analyze(snippet, "README.md").errors == [], snippet
