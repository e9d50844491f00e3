"""Time and peak memory of reading and writing user files: a 1M-row CSV dataset and
a 100 MB checkpoint.

Usage::

    python benchmarks/bench_files.py [--rows 1000000] [--mb 100] [--runs 3]

Every measurement runs in a fresh process (``python benchmarks/bench_files.py
--one KIND``), so one does not inherit another's memory. Peak memory is Linux's
``VmHWM`` (the high-water mark of resident memory), reset through
``/proc/self/clear_refs`` just before the measured call, minus the resident
memory at that moment: what the call itself needed on top of its inputs.

- ``csv``: ``load_dataset`` of a ``type csv`` dataset (8 float features with 6
  significant digits and an integer label, about 76 bytes per row), as a
  classification model would load it;
- ``save``: ``save_checkpoint`` of 100 MB of float32 weights (four tensors);
- ``load``: ``load_checkpoint`` of that file.

Prints median time and peak memory per kind and writes
``benchmarks/results/files.json``. Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "files.json"
ROOT = Path(__file__).resolve().parent.parent


def _status(key: str) -> int:
    """A ``/proc/self/status`` memory field in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {key} in /proc/self/status")


def _measure(fn: Any) -> tuple[float, int]:
    """Seconds and peak extra resident bytes of ``fn()``."""
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = _status("VmRSS")
    t0 = time.perf_counter()
    fn()
    seconds = time.perf_counter() - t0
    return seconds, _status("VmHWM") - before


def _csv_path(work: Path, rows: int) -> Path:
    path = work / f"rows{rows}.csv"
    if not path.exists():
        rng = np.random.Generator(np.random.PCG64(0))
        x = rng.standard_normal((rows, 8))
        y = rng.integers(0, 3, rows)
        with path.open("w", encoding="utf-8", newline="") as handle:
            handle.write(",".join(f"f{i}" for i in range(8)) + ",label\n")
            for start in range(0, rows, 100_000):
                chunk = x[start : start + 100_000]
                labels = y[start : start + 100_000]
                handle.write("".join(
                    ",".join(f"{v:.6g}" for v in row) + f",{label}\n" for row, label in zip(chunk, labels, strict=True)
                ))
    return path


def _weights(mb: int) -> dict[str, np.ndarray]:
    n = mb * 1024 * 1024 // 4 // 4
    rng = np.random.Generator(np.random.PCG64(1))
    return {f"{i}.dense.weight": rng.standard_normal(n, dtype=np.float32) for i in range(4)}


def one(kind: str, work: Path, rows: int, mb: int) -> dict[str, float]:
    """One measurement in this process."""
    if kind == "csv":
        from volta_core.train.data import ModelShape, load_dataset

        path = _csv_path(work, rows)
        shape = ModelShape(8, 3, token_input=False, classification=True)
        props = {"type": "csv", "source": str(path), "target": "label"}
        seconds, peak = _measure(lambda: load_dataset("d", props, None, shape))
        return {"seconds": seconds, "peak_mb": peak / 2**20, "file_mb": path.stat().st_size / 2**20}
    from volta_core.train.checkpoint import load_checkpoint, save_checkpoint

    path = work / f"w{mb}.safetensors"
    if kind == "save":
        params = _weights(mb)
        seconds, peak = _measure(lambda: save_checkpoint(path, params, {"steps": "1"}))
    else:
        if not path.exists():
            save_checkpoint(path, _weights(mb), {"steps": "1"})
        seconds, peak = _measure(lambda: load_checkpoint(path))
    return {"seconds": seconds, "peak_mb": peak / 2**20, "file_mb": path.stat().st_size / 2**20}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--kinds", default="csv,save,load")
    ap.add_argument("--work", type=Path, default=Path("/tmp/volta-bench-files"))
    ap.add_argument("--output", type=Path, default=RESULTS)
    ap.add_argument("--one", metavar="KIND", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    if args.one:
        print(json.dumps(one(args.one, args.work, args.rows, args.mb)))
        return 0
    results: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform()}
    for kind in args.kinds.split(","):
        samples = []
        for _ in range(args.runs):
            cmd = [sys.executable, __file__, "--one", kind, "--rows", str(args.rows), "--mb", str(args.mb),
                   "--work", str(args.work)]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
            samples.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        secs = sorted(s["seconds"] for s in samples)
        peaks = sorted(s["peak_mb"] for s in samples)
        results[kind] = {
            "file_mb": round(samples[0]["file_mb"], 1),
            "median_s": round(statistics.median(secs), 3), "min_s": round(secs[0], 3), "max_s": round(secs[-1], 3),
            "median_peak_mb": round(statistics.median(peaks), 1), "max_peak_mb": round(peaks[-1], 1),
        }
        r = results[kind]
        print(f"{kind}: {r['file_mb']} MB file, {r['median_s']} s (min {r['min_s']}, max {r['max_s']}), "
              f"peak +{r['median_peak_mb']} MB (max {r['max_peak_mb']})", flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
