"""Volta Jupyter kernel (ipykernel) — not part of this release yet.

``python -m volta_kernel`` (including ``install``) says so and exits with
status 2. The package imports no Jupyter framework.
"""

from __future__ import annotations

import sys

MESSAGE = (
    "volta_kernel: the Volta Jupyter kernel arrives in a later release; "
    "use `volta run FILE` meanwhile"
)


def main() -> int:
    """Report that the kernel is not available yet; exit status 2."""
    sys.stderr.write(MESSAGE + "\n")
    return 2
