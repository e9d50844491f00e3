"""Benchmark ``volta_core.analyze`` on a realistic generated 5,000-line program.

Usage::

    python benchmarks/bench_analyze.py [--lines 5000] [--runs 20] [--profile]

Prints median / min / p90 milliseconds and lines per second and writes
``benchmarks/results/analyze.json``. ``--profile`` also prints the top
functions by cumulative and internal time (cProfile) for one run.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import platform
import pstats
import statistics
import sys
import time
from pathlib import Path

from volta_core.analysis import analyze

RESULTS = Path(__file__).resolve().parent / "results" / "analyze.json"


def _chunk(i: int) -> list[str]:
    """About 50 lines exercising every construct, with names unique to chunk ``i``."""
    return [
        f"# ---- section {i}: helpers, a model, a dataset and a training run",
        f"rate_{i} 0.001 * {i + 1}",
        f"steps_{i} {i % 7 + 3}",
        f'label_{i} "section {i}"',
        f"quick_{i} {'true' if i % 2 else 'false'}",
        "",
        f"fn scale_{i}(x, factor)",
        "    if factor > 1.5 and not (x < 0)",
        "        return x * factor",
        "    elif factor == 0",
        "        return 0.0",
        "    else",
        "        return x / (factor + 1.0)",
        "",
        f"fn count_{i}(n)",
        "    total 0",
        "    for k in 0..n",
        "        if k % 3 == 0",
        "            total = total + k",
        "    return total",
        "",
        f"model net_{i}",
        f"    layers 2 32 16 {2 + i % 3}",
        "    activation relu",
        "    output softmax",
        "    loss cross_entropy",
        f"    seed {i}",
        "",
        f"model lm_{i}",
        "    input tokens 16",
        "    layer embedding 256 32",
        "    layer positional 16",
        "    layer transformer 4 64 causal",
        "    layer layernorm",
        "    layer mean_pool",
        "    layer dense 4",
        "    loss cross_entropy",
        "",
        f"dataset data_{i}",
        "    type blobs",
        "    samples 128",
        f"    classes {2 + i % 3}",
        "    batch 16",
        "    split 0.8",
        f"    seed {i + 1}",
        "",
        f"train net_{i} on data_{i}",
        f"    epochs {1 + i % 4}",
        "    optimizer adam",
        f"    lr rate_{i}",
        "",
        f"loop steps_{i}",
        f"    rate_{i} = scale_{i}(rate_{i}, 0.5)",
        f"if quick_{i} or rate_{i} > 0.01",
        f'    print label_{i}, "rate", rate_{i}, count_{i}(steps_{i}), lm_{i}.params, net_{i}.loss',
        "",
    ]


def generate(lines: int = 5000) -> str:
    out: list[str] = []
    i = 0
    while len(out) < lines:
        out.extend(_chunk(i))
        i += 1
    return "\n".join(out[:lines]) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="print cProfile hot spots of one run")
    ap.add_argument("--output", type=Path, default=RESULTS)
    args = ap.parse_args(argv)

    text = generate(args.lines)
    n_lines = text.count("\n")
    analysis = analyze(text, path="bench.vt")
    errors = [d for d in analysis.diagnostics if d.is_error]
    if errors:
        print(f"warning: generated program has {len(errors)} errors, first: {errors[0].code} {errors[0].message}")

    for _ in range(args.warmup):
        analyze(text, path="bench.vt")
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        analyze(text, path="bench.vt")
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    median = statistics.median(times)
    p90 = times[min(len(times) - 1, round(0.9 * (len(times) - 1)))]
    result = {
        "benchmark": "analyze",
        "lines": n_lines,
        "chars": len(text),
        "runs": args.runs,
        "median_ms": round(median, 3),
        "min_ms": round(times[0], 3),
        "p90_ms": round(p90, 3),
        "lines_per_s": round(n_lines / (median / 1000)),
        "diagnostics": len(analysis.diagnostics),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "platform": platform.platform(),
    }
    print(
        f"analyze {n_lines} lines: median {median:.1f} ms, min {times[0]:.1f} ms, p90 {p90:.1f} ms, "
        f"{result['lines_per_s']:,} lines/s ({len(analysis.diagnostics)} diagnostics)"
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.output}")

    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        analyze(text, path="bench.vt")
        prof.disable()
        for key in ("tottime", "cumulative"):
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).sort_stats(key).print_stats(15)
            print(f"\n--- top 15 by {key}\n" + buf.getvalue().split("\n\n", 2)[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
