"""ONNX conformance per op, when a conformance run has left its results.

The scorecard runs no conformance suite; it reads
``benchmarks/results/onnx-conformance.json`` when it exists:

    {"created": "…", "command": "…",
     "ops": {"Conv": {"tests": 12, "passed": 10, "rejected": 2, "failed": 0}, …}}

Counts a file does not give are shown as "—"; without the file the scorecard says so.
"""

from __future__ import annotations

import json
from pathlib import Path

from tools.scorecard.kpi import ROOT, cell, shown

RESULTS = ROOT / "benchmarks" / "results" / "onnx-conformance.json"
COLUMNS = ("tests", "passed", "rejected", "failed")


def section(path: Path = RESULTS) -> list[str]:
    """The Markdown lines of the conformance section."""
    where = shown(path)
    if not path.is_file():
        return [f"No ONNX conformance results: `{where}` does not exist, so no per-op counts are reported."]
    doc = json.loads(path.read_text(encoding="utf-8"))
    ops = doc.get("ops")
    if not isinstance(ops, dict) or not ops:
        return [f"No ONNX conformance results: `{where}` holds no `ops` table."]
    lines = [f"From `{where}` ({cell(str(doc.get('created', 'date not recorded')))}"
             + (f"; `{cell(str(doc['command']))}`" if doc.get("command") else "") + ").", ""]
    lines += ["| op | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    totals = dict.fromkeys(COLUMNS, 0)
    for op in sorted(ops):
        counts = ops[op] if isinstance(ops[op], dict) else {}
        row = []
        for column in COLUMNS:
            value = counts.get(column)
            if isinstance(value, int):
                totals[column] += value
            row.append(str(value) if isinstance(value, int) else "—")
        lines.append(f"| {cell(op)} | " + " | ".join(row) + " |")
    lines.append("| **total** | " + " | ".join(str(totals[c]) for c in COLUMNS) + " |")
    return lines
