"""Volta language server (pygls) — not part of this release yet.

``python -m volta_lsp`` says so and exits with status 2. The package exists so
that editors and ``volta doctor`` can find it; it imports no LSP framework.
"""

from __future__ import annotations

import sys

MESSAGE = (
    "volta_lsp: the Volta language server arrives in a later release; "
    "use `volta check FILE` for diagnostics meanwhile"
)


def main() -> int:
    """Report that the server is not available yet; exit status 2."""
    sys.stderr.write(MESSAGE + "\n")
    return 2
