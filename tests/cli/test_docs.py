"""Generated docs are current; the README's commands and ``.ci/run`` agree."""

from __future__ import annotations

import re
import subprocess

from volta_core.docs_gen import render_diagnostics_index

from .helpers import ROOT

TEST_COMMAND = "pip install '.[test]' && python -m pytest -n 2"


def test_diagnostics_index_is_current() -> None:
    committed = (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    assert committed == render_diagnostics_index(), (
        "docs/diagnostics.md is stale: run `python -m volta_core.docs_gen docs/diagnostics.md`"
    )


def test_diagnostics_index_lists_every_code() -> None:
    from volta_core.diagnostic_codes import CODES

    text = render_diagnostics_index()
    assert set(re.findall(r"^### ([EW]\d{4}):", text, re.M)) == set(CODES)


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
