"""JupyterLab's jupyterlab-lsp finds the Volta language server through
jupyter-lsp's ``jupyter_lsp_spec_v1`` entry point (volta_lsp/jupyter.py)."""

from __future__ import annotations

import subprocess
from importlib.metadata import entry_points

import pytest

from volta_lsp.jupyter import KEY, spec


def test_the_entry_point_names_the_spec() -> None:
    [ep] = [ep for ep in entry_points(group="jupyter_lsp_spec_v1") if ep.name == KEY]
    assert ep.value == "volta_lsp.jupyter:spec"
    assert ep.load() is spec


def test_the_spec_starts_this_interpreters_server_for_volta() -> None:
    found = spec(None)[KEY]
    assert found["languages"] == ["volta"] and found["mime_types"] == ["text/x-volta"]
    assert found["requires_documents_on_disk"] is False
    proc = subprocess.run([*found["argv"], "--check"], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr


def test_jupyter_lsp_finds_and_validates_the_server() -> None:
    jupyter_lsp = pytest.importorskip("jupyter_lsp", reason="jupyter-lsp is not installed (pip install jupyter-lsp)")
    from jupyter_lsp.schema import LANGUAGE_SERVER_SPEC_MAP

    assert list(LANGUAGE_SERVER_SPEC_MAP.iter_errors(spec(None))) == []
    manager = jupyter_lsp.LanguageServerManager()
    manager.initialize()
    assert manager.language_servers[KEY]["argv"] == spec(None)[KEY]["argv"]
    assert manager.language_servers[KEY]["languages"] == ["volta"]
