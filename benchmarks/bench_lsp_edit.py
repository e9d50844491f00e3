"""Benchmark: a one-line edit in a 5,000-line file → its diagnostics published.

Usage::

    python benchmarks/bench_lsp_edit.py [--lines 5000] [--edits 15]

Starts ``python -m volta_lsp`` over stdio (a pygls client), opens the
generated program of ``bench_analyze.py`` and, alternately, breaks and
repairs one line near its middle (so each edit changes the diagnostics).
Each edit is timed from sending ``didChange`` to receiving the
``publishDiagnostics`` of that version — the server's debounce included —
twice side by side: sent as an incremental change (the changed line only)
and, as the peer, as the whole document (full sync, what the server
advertised before); then ``analyze()`` of the same text alone in this
process, where Python's garbage collector runs automatically (the server
runs it between edits: ``VoltaServer.collect_when_idle``), so it can take
longer than the server's whole round trip (numbers vary with the machine's
load: compare them within one run). The
edits are isolated (the previous one's diagnostics arrived, and it was
sent over ``DEBOUNCE_S`` earlier), so the server's debounce starts them at once; a burst of edits waits for a pause
of ``DEBOUNCE_S``. Prints median / min / p90 milliseconds and writes
``benchmarks/results/lsp_edit.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_analyze import generate

RESULTS = Path(__file__).resolve().parent / "results" / "lsp_edit.json"
URI = "file:///tmp/bench-edit.vt"


def _stats(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    p90 = times[min(len(times) - 1, round(0.9 * (len(times) - 1)))]
    return {"median_ms": round(statistics.median(times), 1), "min_ms": round(times[0], 1), "p90_ms": round(p90, 1)}


async def _run(lines: int, edits: int) -> dict[str, object]:
    from volta_lsp.server import DEBOUNCE_S

    text = generate(lines)
    rows = text.split("\n")
    target = len(rows) // 2
    while not rows[target].startswith("print ") and not rows[target].startswith("    print "):
        target += 1
    good = rows[target]
    bad = good.replace("print ", "print undefined_name, ", 1)
    client = LanguageClient("bench", "1")
    published: dict[int, asyncio.Future[int]] = {}

    @client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(params: lsp.PublishDiagnosticsParams) -> None:
        future = published.get(params.version or 0)
        if future is not None and not future.done():
            future.set_result(len(params.diagnostics))

    await client.start_io(sys.executable, "-m", "volta_lsp")
    await client.initialize_async(lsp.InitializeParams(capabilities=lsp.ClientCapabilities()))
    client.initialized(lsp.InitializedParams())
    loop = asyncio.get_running_loop()
    published[1] = loop.create_future()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=URI, language_id="volta", version=1, text=text)))
    baseline = await asyncio.wait_for(published[1], 60)
    version = 1
    results: dict[str, list[float]] = {"incremental": [], "full": []}
    counts: set[int] = set()
    for i in range(edits * 2):
        mode = "incremental" if i % 2 == 0 else "full"
        version += 1
        rows[target] = bad if version % 2 == 0 else good
        if mode == "incremental":
            line_range = lsp.Range(start=lsp.Position(line=target, character=0),
                                   end=lsp.Position(line=target + 1, character=0))
            change: lsp.TextDocumentContentChangeEvent = lsp.TextDocumentContentChangePartial(
                range=line_range, text=rows[target] + "\n")
        else:
            change = lsp.TextDocumentContentChangeWholeDocument(text="\n".join(rows))
        published[version] = loop.create_future()
        start = time.perf_counter()
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=URI, version=version), content_changes=[change]))
        counts.add(await asyncio.wait_for(published[version], 60))
        elapsed = time.perf_counter() - start
        results[mode].append(elapsed * 1000)
        # The next edit comes after a quiet spell (≥ DEBOUNCE_S after this one), so it is isolated.
        await asyncio.sleep(max(0.05, DEBOUNCE_S - elapsed + 0.05))
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    # `analyze` of the edited text alone, in this process (automatic garbage collection), right after.
    from volta_core.analysis import analyze

    analysis_only = []
    for _ in range(edits):
        start = time.perf_counter()
        analyze("\n".join(rows), "bench.vt")
        analysis_only.append((time.perf_counter() - start) * 1000)
    assert counts == {baseline, baseline + 1}, (counts, baseline)  # each edit changed the diagnostics
    return {
        "benchmark": "lsp_edit",
        "lines": lines,
        "chars": len(text),
        "edits": edits,
        "debounce_ms": DEBOUNCE_S * 1000,
        "incremental": _stats(results["incremental"]),
        "full_sync_peer": _stats(results["full"]),
        "analyze_only": _stats(analysis_only),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=5000)
    ap.add_argument("--edits", type=int, default=15)
    ap.add_argument("--output", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    result = asyncio.run(_run(args.lines, args.edits))
    for mode in ("incremental", "full_sync_peer", "analyze_only"):
        s = result[mode]
        assert isinstance(s, dict)
        what = "analyze() alone" if mode == "analyze_only" else "edit → diagnostics"
        print(f"{mode:>15}: {what} median {s['median_ms']} ms, min {s['min_ms']} ms, p90 {s['p90_ms']} ms")
    print(f"({args.lines} lines; an edit after a quiet spell is analysed at once, a burst waits for a "
          f"{result['debounce_ms']:.0f} ms pause)")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
