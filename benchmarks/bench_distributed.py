"""Data-parallel training throughput (docs/distributed.md): the large MLP
(512-2048-2048-512-1, mse, Adam, global batch 256) on

- **1 rank × 2 BLAS threads**: one process, no MPI (the single-process path);
- **2 ranks × 1 BLAS thread**: ``mpiexec -n 2``, each rank on its half of every batch,
- and, as a control, 1 rank × 1 thread (does the second BLAS thread help at all?),

interleaved (A, B, A, B, …) so that load from other processes hits both alike.
Reports samples/s, the per-step split into forward+backward, gradient exchange
(reduce-scatter in rank order + allgather, :mod:`volta_core.train.distributed`)
and optimizer step, a microbenchmark of the exchange alone, and a projection
for 8 nodes from the measured costs.

    python benchmarks/bench_distributed.py [--rounds 3] [--steps 20] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
WIDTHS = (512, 2048, 2048, 512, 1)
BATCH = 256
LR = 1e-4
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def worker(steps: int) -> None:
    """One configuration (under mpiexec when ``PMI_SIZE`` says so); rank 0 prints a JSON line."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.workloads import _data, _mlp_network
    from volta_core.train import distributed
    from volta_core.train.optim import Optimizer

    net = _mlp_network(WIDTHS)
    x, y = _data(WIDTHS, BATCH)
    opt = Optimizer("adam")
    w = distributed.world() if distributed.launched_size() > 1 else None
    exchange = None if w is None else distributed.Exchange(w, {n: p.shape for n, p in net.params.items()})
    lo, hi = (0, BATCH) if w is None else distributed.shard(BATCH, w.rank, w.size)
    times = {"compute": 0.0, "exchange": 0.0, "optimizer": 0.0}

    def step(i: int, timed: bool) -> None:
        t0 = time.perf_counter()
        loss, _, grads = net.train_step(x[lo:hi], y[lo:hi], i, 0, copy_grads=False)
        t1 = time.perf_counter()
        if exchange is not None:
            exchange.step(grads, hi - lo, BATCH, loss, 0.0, [], False, i)
        t2 = time.perf_counter()
        opt.step(net.params, grads, LR)
        t3 = time.perf_counter()
        if timed:
            times["compute"] += t1 - t0
            times["exchange"] += t2 - t1
            times["optimizer"] += t3 - t2

    for i in range(3):
        step(i, False)
    if w is not None:
        w.allgather(np.zeros(1, np.int8), "starting")  # start the timed steps together
    start = time.perf_counter()
    for i in range(steps):
        step(3 + i, True)
    wall = time.perf_counter() - start
    out: dict[str, object] = {
        "ranks": 1 if w is None else w.size,
        "steps": steps,
        "wall_s": wall,
        "samples_per_s": steps * BATCH / wall,
        "per_step_ms": {k: 1000 * v / steps for k, v in times.items()},
        "grad_bytes": int(sum(p.nbytes for p in net.params.values())),
    }
    if w is not None:  # the exchange alone: the cost a projection scales
        flat = np.ones(sum(p.size for p in net.params.values()), np.float32)
        for _ in range(2):
            w.sum_in_rank_order(flat, "warm-up")
        reps = 10
        t0 = time.perf_counter()
        for _ in range(reps):
            w.sum_in_rank_order(flat, "microbenchmark")
        out["exchange_alone_ms"] = 1000 * (time.perf_counter() - t0) / reps
        parts = np.ones((w.size, flat.size // w.size), np.float32)
        t0 = time.perf_counter()
        for _ in range(reps):
            total = parts[0].copy()
            for r in range(1, w.size):
                total += parts[r]
        out["local_adds_ms"] = 1000 * (time.perf_counter() - t0) / reps
        out["mpi"] = w.library
    if w is None or w.rank == 0:
        print("RESULT " + json.dumps(out), flush=True)


def _run(ranks: int, threads: int, steps: int) -> dict[str, object]:
    env = {**os.environ, **{v: str(threads) for v in THREAD_VARS}}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--steps", str(steps)]
    if ranks > 1:
        from volta_core.train.distributed import find_mpiexec

        mpiexec = find_mpiexec()
        if mpiexec is None:
            raise SystemExit("bench_distributed: no mpiexec (pip install 'volta-lang[mpi]')")
        cmd = [mpiexec, "-n", str(ranks), *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900, cwd=ROOT)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"bench_distributed: worker failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(lines[0][7:])


def _median(values: list[float]) -> float:
    return float(np.median(values))


def project(double: dict[str, object], nodes: int, ranks_per_node: int = 2) -> dict[str, object]:
    """Step time on ``nodes`` machines like this one (``ranks_per_node`` ranks × 1
    thread each) from the 2-rank measurement: forward+backward per row as measured
    (linear in the shard: optimistic for small shards), the optimizer step as
    measured (every rank updates every weight: it does not shrink), and the
    exchange's traffic, 2(N-1)/N gradient buffers per rank, over the network
    link, plus (N-1)/N buffers of local adds. Strong scaling keeps the global
    batch at 256; weak scaling keeps each rank's shard as measured."""
    m = double["per_step_ms"]
    assert isinstance(m, dict)
    ranks = nodes * ranks_per_node
    rows = BATCH // int(double["ranks"])  # type: ignore[call-overload]
    per_row_ms = m["compute"] / rows
    grad_bytes = float(double["grad_bytes"])  # type: ignore[arg-type]
    adds_ms = float(double["local_adds_ms"]) * 2 * (ranks - 1) / ranks  # type: ignore[arg-type]
    node_rate = float(double["samples_per_s"])  # type: ignore[arg-type]  # measured, this machine
    result: dict[str, object] = {"nodes": nodes, "ranks": ranks, "one_node_samples_per_s": node_rate}
    for name, gbit in (("10GbE", 10.0), ("100Gb", 100.0)):
        exchange_ms = 1000 * 2 * (ranks - 1) / ranks * grad_bytes / (gbit * 1e9 / 8) + adds_ms
        strong_ms = per_row_ms * BATCH / ranks + m["optimizer"] + exchange_ms
        weak_ms = per_row_ms * rows + m["optimizer"] + exchange_ms
        result[name] = {
            "exchange_ms": exchange_ms,
            "strong_batch_256": {"step_ms": strong_ms, "samples_per_s": BATCH / strong_ms * 1000,
                                 "speedup_vs_1_node": BATCH / strong_ms * 1000 / node_rate},
            f"weak_batch_{rows * ranks}": {"step_ms": weak_ms, "samples_per_s": rows * ranks / weak_ms * 1000,
                                           "speedup_vs_1_node": rows * ranks / weak_ms * 1000 / node_rate},
        }
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    if args.worker:
        worker(args.steps)
        return 0
    singles, doubles, controls = [], [], []
    for _ in range(args.rounds):
        singles.append(_run(1, 2, args.steps))
        doubles.append(_run(2, 1, args.steps))
        controls.append(_run(1, 1, args.steps))  # what one thread does alone (is the second thread used?)
    a = min(singles, key=lambda r: float(r["wall_s"]))  # type: ignore[arg-type]
    b = min(doubles, key=lambda r: float(r["wall_s"]))  # type: ignore[arg-type]
    report = {
        "model": "-".join(map(str, WIDTHS)), "batch": BATCH, "optimizer": "adam",
        "cpus": os.cpu_count(),
        "1_rank_x_2_threads": {"samples_per_s_runs": [r["samples_per_s"] for r in singles], "best": a},
        "2_ranks_x_1_thread": {"samples_per_s_runs": [r["samples_per_s"] for r in doubles], "best": b},
        "control_1_rank_x_1_thread": {"samples_per_s_runs": [r["samples_per_s"] for r in controls]},
        "load_average": os.getloadavg(),
        "projection_8_nodes": project(b, 8),
    }
    print(json.dumps(report, indent=2))
    sa, sb = a["per_step_ms"], b["per_step_ms"]
    assert isinstance(sa, dict) and isinstance(sb, dict)
    print(f"\n1 rank x 2 threads: {_median([float(r['samples_per_s']) for r in singles]):.0f} samples/s (median of "  # type: ignore[arg-type]
          f"{args.rounds}); per step: fwd+bwd {sa['compute']:.1f} ms, optimizer {sa['optimizer']:.1f} ms")
    print(f"2 ranks x 1 thread: {_median([float(r['samples_per_s']) for r in doubles]):.0f} samples/s (median); "  # type: ignore[arg-type]
          f"per step: fwd+bwd {sb['compute']:.1f} ms, exchange {sb['exchange']:.1f} ms, "
          f"optimizer {sb['optimizer']:.1f} ms; exchange alone {float(b['exchange_alone_ms']):.1f} ms "  # type: ignore[arg-type]
          f"({int(b['grad_bytes']) / 1e6:.1f} MB of gradients), of which local adds "  # type: ignore[call-overload]
          f"{float(b['local_adds_ms']):.1f} ms")  # type: ignore[arg-type]
    print(f"control, 1 rank x 1 thread: {_median([float(r['samples_per_s']) for r in controls]):.0f} samples/s "  # type: ignore[arg-type]
          f"(median); load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
