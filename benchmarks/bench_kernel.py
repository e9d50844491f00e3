"""Benchmark the Volta Jupyter kernel: start to first result, and a trivial
cell's round trip.

Usage::

    python benchmarks/bench_kernel.py [--starts 5] [--cells 200]

Installs the kernelspec into a temporary prefix (JUPYTER_PATH and the
runtime/data/config directories are temporary too), then

- **start**: ``KernelManager.start_kernel`` → ``execute('print 1')`` reply with
  its output received, over ``--starts`` fresh kernels (target < 1.5 s);
- **round trip**: ``execute_interactive('x = x + 1')`` on a warm kernel, over
  ``--cells`` cells after 20 warm-up cells (target < 20 ms).

Prints median / min / p90 and writes ``benchmarks/results/kernel.json``.
Numbers are per machine; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "kernel.json"
START_TARGET_S = 1.5
ROUND_TRIP_TARGET_MS = 20.0


def _isolate(tmp: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "volta_kernel", "install", "--prefix", str(tmp / "prefix")],
        check=True, capture_output=True,
    )
    os.environ["JUPYTER_PATH"] = str(tmp / "prefix" / "share" / "jupyter")
    os.environ["JUPYTER_PLATFORM_DIRS"] = "1"
    for name in ("RUNTIME", "DATA", "CONFIG"):
        (tmp / name.lower()).mkdir()
        os.environ[f"JUPYTER_{name}_DIR"] = str(tmp / name.lower())


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": statistics.median(ordered),
        "min": ordered[0],
        "p90": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))],
    }


def _start_once(cwd: str) -> float:
    from jupyter_client.manager import KernelManager

    t0 = time.perf_counter()
    manager = KernelManager(kernel_name="volta")
    manager.start_kernel(cwd=cwd)
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        seen: list[str] = []
        reply = client.execute_interactive(
            "print 1", timeout=60,
            output_hook=lambda m: seen.append(m["content"].get("text", "")) if m["header"]["msg_type"] == "stream" else None,
        )
        elapsed = time.perf_counter() - t0
        assert reply["content"]["status"] == "ok" and "".join(seen) == "1\n", (reply, seen)
        return elapsed
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def _round_trips(cwd: str, cells: int) -> list[float]:
    from jupyter_client.manager import KernelManager

    manager = KernelManager(kernel_name="volta")
    manager.start_kernel(cwd=cwd)
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        client.execute_interactive("x 0", timeout=30)

        def hook(msg: dict[str, Any]) -> None:
            pass

        for _ in range(20):
            client.execute_interactive("x = x + 1", timeout=30, output_hook=hook)
        times = []
        for _ in range(cells):
            t0 = time.perf_counter()
            reply = client.execute_interactive("x = x + 1", timeout=30, output_hook=hook)
            times.append((time.perf_counter() - t0) * 1000)
            assert reply["content"]["status"] == "ok"
        return times
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--cells", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        _isolate(tmp)
        starts = [_start_once(tmp_name) for _ in range(args.starts)]
        trips = _round_trips(tmp_name, args.cells)
    start, trip = _stats(starts), _stats(trips)
    print(
        f"kernel start to first result: median {start['median']:.3f} s  min {start['min']:.3f} s  "
        f"p90 {start['p90']:.3f} s  ({args.starts} starts; target < {START_TARGET_S} s)"
    )
    print(
        f"trivial cell round trip:      median {trip['median']:.2f} ms  min {trip['min']:.2f} ms  "
        f"p90 {trip['p90']:.2f} ms  ({args.cells} cells; target < {ROUND_TRIP_TARGET_MS} ms)"
    )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "start_s": start, "round_trip_ms": trip, "starts": args.starts, "cells": args.cells,
                "python": sys.version.split()[0], "platform": platform.platform(),
            },
            indent=1,
        ) + "\n",
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
