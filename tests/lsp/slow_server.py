"""``python tests/lsp/slow_server.py DIR``: the Volta language server, except that
analysing a text containing ``# slow`` waits until ``DIR/go`` exists, and every
analysis appends how it ended (``finished``/``cancelled`` and the text's first
line) to ``DIR/log``. Tests use it to hold an analysis running while they send
requests (tests/lsp/test_large_documents.py)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from volta_core.analysis import AnalysisCancelled
from volta_lsp import documents, main

FOLDER = Path(sys.argv[1])
_real = documents.analyze


def _slow(text: str, path: str = "<input>", predeclared: Any = None, cancelled: Any = None) -> Any:
    first = text.split("\n", 1)[0]
    if "# slow" in text:
        while not (FOLDER / "go").exists():
            time.sleep(0.01)
    try:
        result = _real(text, path, predeclared, cancelled)
    except AnalysisCancelled:
        with (FOLDER / "log").open("a", encoding="utf-8") as log:
            log.write(f"cancelled {first}\n")
        raise
    with (FOLDER / "log").open("a", encoding="utf-8") as log:
        log.write(f"finished {first}\n")
    return result


documents.analyze = _slow  # type: ignore[assignment]
sys.exit(main([]))
