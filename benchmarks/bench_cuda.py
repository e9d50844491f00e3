"""GPU training steps, Volta (PyCUDA backend) against PyTorch eager CUDA, in one process on one GPU.

    python -m benchmarks.bench_cuda [--rounds N] [--json PATH]

Each step is what a training loop does: the batch copied from the host, forward,
backward, the optimizer update, and the loss read back (Volta's loop reads it to
stop on a non-finite loss; the PyTorch step calls ``loss.item()`` for the same
reason), so both sides synchronise once per step. Volta and PyTorch blocks are
interleaved; the ratio is the median of per-round ratios.

Where Volta's time goes is measured separately for each workload: launches per
step, host time to issue them (``execute()`` without waiting), GPU time of the
kernels (CUDA events around the same launches), and the batch/loss copies.
Also measured: cuBLAS SGEMM against the tiled SGEMM kernel in ``cu/volta.cu`` on
the MLPs' shapes (why the executor calls cuBLAS).
"""

from __future__ import annotations

import argparse
import json
import statistics
import struct
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.workloads import LR, TEXT_SRC, _data, _mlp_network, _torch_mlp

MLPS = [((256, 512, 512, 256, 1), 64), ((512, 2048, 2048, 512, 1), 64), ((512, 2048, 2048, 512, 1), 256)]


def _time(fn: Callable[[], object], steps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - t0) / steps * 1e3


def _pair(volta: Callable[[], object], peer: Callable[[], object], rounds: int, steps: int) -> dict[str, object]:
    for _ in range(10):
        volta()
        peer()
    tv, tp = [], []
    for r in range(rounds):
        order = (volta, peer) if r % 2 == 0 else (peer, volta)
        for fn in order:
            (tv if fn is volta else tp).append(_time(fn, steps))
    ratios = sorted(a / b for a, b in zip(tv, tp, strict=True))
    return {"volta_ms": statistics.median(tv), "torch_ms": statistics.median(tp), "ratio": statistics.median(ratios),
            "ratio_range": [ratios[0], ratios[-1]]}


def _breakdown(runner, x: np.ndarray, y: np.ndarray, reps: int = 50) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Launch count, host issue time, GPU kernel time and copy time of one training step."""
    dev = runner.dev
    drv = dev.drv
    net = runner.net
    runner.forward_backward(x, y, 1, 0)
    ex, _ = runner._executor(net.mode(True, True), len(x))
    feeds = net.feeds(x, y, 1, 0)
    dev.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        ex.execute()
    host = (time.perf_counter() - t0) / reps * 1e3
    dev.synchronize()
    start, end = drv.Event(), drv.Event()
    start.record(dev.stream)
    for _ in range(reps):
        ex.execute()
    end.record(dev.stream)
    end.synchronize()
    gpu = end.time_since(start) / reps
    t0 = time.perf_counter()
    for _ in range(reps):
        ex.feed(feeds)
        ex.read(0)
        ex.read(1)
    copies = (time.perf_counter() - t0) / reps * 1e3
    return {"launches": len(ex.steps), "host_issue_ms": host, "gpu_kernels_ms": gpu, "copies_ms": copies}


def bench_mlp(widths: tuple[int, ...], batch: int, optimizer: str, rounds: int) -> dict[str, object]:
    import torch

    from volta_core.train.gpu import GpuRunner
    from volta_core.train.optim import Optimizer

    net = _mlp_network(widths)
    x, y = _data(widths, batch)
    runner = GpuRunner(net, Optimizer(optimizer))

    def volta() -> None:
        runner.forward_backward(x, y, 1, 0)
        runner.update(LR, None)

    tp, _ = _torch_mlp(torch, net.params, len(widths) - 1)
    ordered = [torch.nn.Parameter(tp[k].detach().cuda()) for k in sorted(tp)]
    names = sorted(tp)
    on_gpu = dict(zip(names, ordered, strict=True))
    layers = [(on_gpu[f"{2 * i}.dense.weight"], on_gpu[f"{2 * i}.dense.bias"]) for i in range(len(widths) - 1)]
    topt = torch.optim.SGD(ordered, lr=LR) if optimizer == "sgd" else torch.optim.Adam(ordered, lr=LR)

    def peer() -> None:
        tx, ty = torch.from_numpy(x).cuda(), torch.from_numpy(y).cuda()
        h = tx
        for i, (w, b) in enumerate(layers):
            h = torch.addmm(b, h, w)
            if i < len(layers) - 1:
                h = torch.relu(h)
        loss = torch.nn.functional.mse_loss(h, ty)
        topt.zero_grad()
        loss.backward()
        topt.step()
        loss.item()

    steps = 20 if batch * max(widths) > 100_000 else 50
    out = _pair(volta, peer, rounds, steps)
    out["breakdown"] = _breakdown(runner, x, y)
    runner.finish()
    return out


def bench_text(rounds: int) -> dict[str, object]:
    import torch

    from volta_core.analysis import analyze
    from volta_core.nn.network import Network, init_params
    from volta_core.train.gpu import GpuRunner
    from volta_core.train.optim import Optimizer

    analysis = analyze(TEXT_SRC, "bench.vt")
    info = analysis.symbols.models["m" if "m" in analysis.symbols.models else "sentiment"]
    net = Network(info, "cross_entropy", init_params(info, 7))
    batch, length, vocab, dim, heads, ff = 32, 12, 128, 32, 4, 64
    rng = np.random.default_rng(0)
    x = rng.integers(1, vocab, (batch, length))
    for row in range(0, batch, 3):
        x[row, length - 1 - row % 5 :] = 0
    y = rng.integers(0, 2, batch)
    runner = GpuRunner(net, Optimizer("adam"))

    def volta() -> None:
        runner.forward_backward(x, y, 1, 0)
        runner.update(LR, None)

    dev = torch.device("cuda")
    layer = torch.nn.TransformerEncoderLayer(dim, heads, ff, dropout=0.0, activation="gelu", batch_first=True,
                                             norm_first=True, layer_norm_eps=1e-5).to(dev)
    emb = torch.nn.Parameter(torch.randn(vocab, dim, device=dev) * 0.02)
    pos = torch.nn.Parameter(torch.randn(length, dim, device=dev) * 0.02)
    ln = torch.nn.LayerNorm(dim).to(dev)
    head = torch.nn.Linear(dim, 2).to(dev)
    params = [*layer.parameters(), emb, pos, *ln.parameters(), *head.parameters()]
    topt = torch.optim.Adam(params, lr=LR)
    F = torch.nn.functional

    def peer() -> None:
        tx, ty = torch.from_numpy(x).to(dev), torch.from_numpy(y).to(dev)
        mask = (tx > 0).to(torch.float32)
        count = mask.sum(1, keepdim=True).clamp(min=1.0)
        h = ln(layer(emb[tx] + pos))
        pooled = (h * mask[:, :, None]).sum(1) / count
        loss = F.cross_entropy(head(pooled), ty)
        topt.zero_grad()
        loss.backward()
        topt.step()
        loss.item()

    out = _pair(volta, peer, rounds, 50)
    out["breakdown"] = _breakdown(runner, x, y)
    runner.finish()
    return out


def bench_gemm() -> list[dict[str, object]]:
    """cuBLAS SGEMM vs the tiled kernel on the MLPs' forward shapes (GPU time, CUDA events)."""
    from volta_core.backends.cuda.driver import device
    from volta_core.backends.cuda.kernels import Builder, Ref, gemm_call

    dev = device()
    drv = dev.drv
    rows = []
    for m, k, n in [(64, 512, 512), (64, 2048, 2048), (256, 2048, 2048), (256, 512, 2048)]:
        a = drv.mem_alloc(4 * m * k)
        b = drv.mem_alloc(4 * k * n)
        c = drv.mem_alloc(4 * m * n)
        drv.memcpy_htod(a, np.random.default_rng(0).standard_normal(m * k).astype(np.float32))
        drv.memcpy_htod(b, np.random.default_rng(1).standard_normal(k * n).astype(np.float32))
        at = {("a",): int(a), ("b",): int(b), ("c",): int(c)}
        bld = Builder(dev, lambda nid: Ref(("a",)))
        gemm_call(bld, "f32", m, n, k, Ref(("a",)), False, Ref(("b",)), False, Ref(("c",)))
        cublas_step = bld.recipes[0](lambda r, at=at: at[r.region] + r.offset)
        fn = dev.function("sgemm_tiled")
        args = struct.pack("@iiiPPP", m, n, k, int(a), int(b), int(c))
        grid = ((n + 31) // 32, (m + 31) // 32, 1)
        tiled = partial(fn._launch_kernel, grid, (32, 32, 1), args, 0, dev.stream)

        res: dict[str, object] = {"shape": [m, k, n]}
        for name, call in (("cublas_ms", cublas_step), ("tiled_ms", tiled)):
            call()
            start, end = drv.Event(), drv.Event()
            start.record(dev.stream)
            for _ in range(100):
                call()
            end.record(dev.stream)
            end.synchronize()
            res[name] = end.time_since(start) / 100
        out = np.empty(m * n, np.float32)
        drv.memcpy_dtoh(out, c)
        res["gflops_cublas"] = 2 * m * n * k / (res["cublas_ms"] * 1e6)  # type: ignore[operator]
        rows.append(res)
        for buf in (a, b, c):
            buf.free()
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    from volta_core.backends.cuda.driver import cuda_status, device

    missing = cuda_status()
    if missing:
        print(f"no GPU benchmark: {missing}")
        return 1
    import torch

    results: dict[str, object] = {"device": device().name, "torch": torch.__version__, "rows": []}
    rows: list[dict[str, object]] = results["rows"]  # type: ignore[assignment]
    for widths, batch in MLPS:
        for opt in ("sgd", "adam"):
            name = f"MLP {'-'.join(map(str, widths))} b{batch} {opt}"
            rows.append({"name": name, **bench_mlp(widths, batch, opt, args.rounds)})
            print(_line(rows[-1]), flush=True)
    rows.append({"name": "text-classifier transformer b32 adam", **bench_text(args.rounds)})
    print(_line(rows[-1]), flush=True)
    results["gemm"] = bench_gemm()
    for g in results["gemm"]:  # type: ignore[attr-defined]
        print(f"GEMM {g['shape']}: cuBLAS {g['cublas_ms']:.4f} ms ({g['gflops_cublas']:.0f} GFLOP/s), "
              f"tiled {g['tiled_ms']:.4f} ms", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def _line(r: dict[str, object]) -> str:
    b = r["breakdown"]
    return (f"{r['name']}: Volta {r['volta_ms']:.3f} ms, PyTorch {r['torch_ms']:.3f} ms, ratio {r['ratio']:.2f} "
            f"[{r['ratio_range'][0]:.2f}-{r['ratio_range'][1]:.2f}] | {b['launches']} launches, "  # type: ignore[index]
            f"issue {b['host_issue_ms']:.3f} ms, kernels {b['gpu_kernels_ms']:.3f} ms, "  # type: ignore[index]
            f"copies {b['copies_ms']:.3f} ms")  # type: ignore[index]


if __name__ == "__main__":
    raise SystemExit(main())
