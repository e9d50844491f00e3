"""JupyterLab in a real browser (headless Chromium through selenium): a notebook
with the Volta kernel shows highlighted Volta (the prebuilt lab extension) and,
through jupyterlab-lsp and the ``volta-lsp`` entry point, an LSP diagnostic for
a broken cell but none for a magic cell or a name declared again in a later
cell. A screenshot is kept in ``$VOLTA_TEST_ARTIFACTS`` (default
``.test-artifacts/``). Skips, with the reason, where Chromium, chromedriver,
selenium, JupyterLab or jupyterlab-lsp is missing."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
MISSING = [name for name, ok in (
    ("chromium (apt install chromium)", CHROMIUM),
    ("chromedriver (apt install chromium-driver)", CHROMEDRIVER),
    ("selenium (pip install selenium)", importlib.util.find_spec("selenium")),
    ("jupyterlab (pip install jupyterlab)", importlib.util.find_spec("jupyterlab")),
    ("jupyterlab-lsp (pip install jupyterlab-lsp)", importlib.util.find_spec("jupyterlab_lsp")),
) if not ok]
pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"needs a browser setup: missing {', '.join(MISSING)}")

CELLS = [
    "model m\n    layers 2 3\nprint m.params",
    "%who",
    "x 1\nprint x",
    "x 2\nprint x",
    "print (1 +",
]
#: Per cell: its highlighted spans (text, colour), its line colour and its lint marks.
PROBE = """
const cells = [...document.querySelectorAll('.jp-Notebook .jp-Cell')];
if (cells.length < arguments[0]) return null;
return cells.map(c => {
  const line = c.querySelector('.cm-line');
  return {
    line: line ? getComputedStyle(line).color : null,
    spans: [...c.querySelectorAll('.cm-content span')].map(s => [s.textContent, getComputedStyle(s).color]),
    lint: [...c.querySelectorAll('[class*="cm-lint"]')].map(e => e.className),
  };
});
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _notebook(path: Path) -> None:
    nb = {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "volta", "display_name": "Volta", "language": "volta"}},
        "cells": [
            {"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": text, "outputs": [], "execution_count": None}
            for i, text in enumerate(CELLS)
        ],
    }
    path.write_text(json.dumps(nb), encoding="utf-8")


def test_jupyterlab_highlights_volta_and_shows_lsp_diagnostics(tmp_path: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    prefix = tmp_path / "prefix"
    subprocess.run([sys.executable, "-m", "volta_kernel", "install", "--prefix", str(prefix)],
                   check=True, capture_output=True, timeout=120)
    share = prefix / "share" / "jupyter"
    shutil.copytree(ROOT / "volta_kernel" / "labextension", share / "labextensions" / "@volta-lang" / "jupyterlab-volta")
    work = tmp_path / "work"
    work.mkdir()
    _notebook(work / "volta.ipynb")
    port = _free_port()
    env = dict(
        os.environ, JUPYTER_PATH=str(share), JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), JUPYTER_DATA_DIR=str(tmp_path / "data"),
        JUPYTER_PLATFORM_DIRS="1", HOME=str(tmp_path),
    )
    args = [
        sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
        "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={work}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.news_url=None",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    log = (tmp_path / "lab.log").open("w")
    lab = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    artifacts = Path(os.environ.get("VOLTA_TEST_ARTIFACTS", ROOT / ".test-artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = artifacts / "jupyterlab-volta-notebook.png"
    found: list[dict[str, Any]] | None = None
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "lab.log").read_text()
                time.sleep(0.3)
        options = webdriver.ChromeOptions()
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
            options.add_argument(arg)
        options.binary_location = str(CHROMIUM)
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        try:
            driver.get(f"http://127.0.0.1:{port}/lab/tree/volta.ipynb")
            deadline = time.monotonic() + 150
            while time.monotonic() < deadline:
                found = driver.execute_script(PROBE, len(CELLS))
                if found and found[-1]["lint"]:
                    break
                time.sleep(1)
            time.sleep(1)  # let the diagnostics of every cell settle
            found = driver.execute_script(PROBE, len(CELLS))
            driver.save_screenshot(str(shot))
        finally:
            driver.quit()
    finally:
        lab.terminate()
        lab.wait(30)
        log.close()
    where = f"(screenshot: {shot}; server log: {tmp_path / 'lab.log'})"
    assert found is not None, where
    model, magic, first, again, broken = found
    # the LSP diagnostic of the broken cell is shown; the magic and the re-declaration have none
    assert any("error" in c for c in broken["lint"]), where
    assert model["lint"] == magic["lint"] == first["lint"] == again["lint"] == [], where
    # highlighted: the keyword, the number and the magic are coloured, differently from plain text
    colours = dict(model["spans"])
    assert colours.get("model") not in (None, model["line"]) and colours.get("2") not in (None, model["line"]), where
    assert dict(magic["spans"]).get("%who") not in (None, magic["line"]), where
