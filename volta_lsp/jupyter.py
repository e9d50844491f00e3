"""The Volta language server for jupyter-lsp (JupyterLab's jupyterlab-lsp).

Registered through the ``jupyter_lsp_spec_v1`` entry point (pyproject.toml):
jupyter-lsp finds it when ``volta-lang[lsp]`` is installed next to
JupyterLab, and starts ``python -m volta_lsp`` for notebooks whose kernel
language is ``volta`` (the Volta kernel's ``language_info``) and ``.vt``
files. No jupyter-lsp import here: it calls :data:`spec` with its manager.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

KEY = "volta-lsp"


class VoltaSpec:
    """jupyter-lsp's spec finder: ``spec(manager) -> {key: spec}``."""

    def is_installed(self, manager: object = None) -> bool:
        """True when the server's framework (pygls, the ``lsp`` extra) is importable."""
        return importlib.util.find_spec("pygls") is not None

    def __call__(self, manager: object = None) -> dict[str, dict[str, Any]]:
        return {
            KEY: {
                "argv": [sys.executable, "-m", "volta_lsp"] if self.is_installed(manager) else [],
                "languages": ["volta"],
                "version": 2,
                "display_name": "Volta language server",
                "mime_types": ["text/x-volta"],
                # The server reads the documents the editor sends, never the disk.
                "requires_documents_on_disk": False,
                "urls": {
                    "home": "https://github.com/volta-lang/volta",
                    "issues": "https://github.com/volta-lang/volta/issues",
                },
                "install": {"pip": "pip install 'volta-lang[lsp]'"},
            }
        }


spec = VoltaSpec()
