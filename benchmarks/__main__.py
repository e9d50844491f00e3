"""``python -m benchmarks run [--quick] [--only NAME]``, ``gate [--threshold 0.10] [--baseline PATH]``
and ``baseline`` (make benchmarks/baseline.json from the latest full run)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks import gate, suite


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run the suite; writes benchmarks/results/latest.{json,md}")
    r.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run, not for baselines)")
    r.add_argument("--only", action="append", metavar="NAME", help="benchmarks whose name contains NAME")
    r.add_argument("--threads", type=int, default=None, help="BLAS/PyTorch threads (default: all cores)")
    r.add_argument("--out", type=Path, default=suite.RESULTS_DIR)
    g = sub.add_parser("gate", help="compare the latest results' ratios with the baseline")
    g.add_argument("--threshold", type=float, default=gate.DEFAULT_THRESHOLD)
    g.add_argument("--baseline", type=Path, default=Path(__file__).resolve().parent / "baseline.json")
    g.add_argument("--results", type=Path, default=suite.RESULTS_DIR / "latest.json")
    g.add_argument("--incidents", type=Path, default=None, help="where incident files go (default: next to results)")
    g.add_argument("--allow-missing", action="store_true", help="do not fail on benchmarks that did not run")
    b = sub.add_parser("baseline", help="make the baseline from a full run's results (deliberately)")
    b.add_argument("--results", type=Path, default=suite.RESULTS_DIR / "latest.json")
    b.add_argument("--baseline", type=Path, default=Path(__file__).resolve().parent / "baseline.json")
    args = ap.parse_args(argv)
    if args.cmd == "baseline":
        results = gate.load(args.results)
        if results.get("quick"):
            print("refusing to make a baseline from a --quick run", file=sys.stderr)
            return 2
        args.baseline.write_text(json.dumps(gate.make_baseline(results), indent=2) + "\n")
        print(f"wrote {args.baseline}")
        return 0
    if args.cmd == "run":
        doc = suite.run(args.only, args.quick, args.threads, args.out)
        print()
        print(suite.markdown(doc))
        return 0
    results = gate.load(args.results)
    report = gate.compare(gate.load(args.baseline), results, args.threshold, args.incidents or args.results.parent)
    print(gate.format_report(report, args.threshold))
    return 0 if report.ok(args.allow_missing) else 1


if __name__ == "__main__":
    sys.exit(main())
