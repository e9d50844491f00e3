"""The one rule for golden files: compare exactly, or rewrite them on request.

Set ``VOLTA_UPDATE_GOLDEN=1`` to rewrite every expected file a test compares
(then review the diff before committing).
"""

from __future__ import annotations

import os
from pathlib import Path

UPDATE = os.environ.get("VOLTA_UPDATE_GOLDEN") == "1"


def check_golden(path: Path, actual: str) -> None:
    """Assert ``actual`` equals the file at ``path`` (or write it when updating)."""
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"missing golden file {path.name} (run with VOLTA_UPDATE_GOLDEN=1)"
    assert actual == path.read_text(encoding="utf-8")
