"""The benchmark workloads, each run in its own process by :mod:`benchmarks.suite`.

``python -m benchmarks.workloads NAME [--quick]`` measures one benchmark and
prints one JSON object on stdout. The parent sets the BLAS thread count in the
environment (``OPENBLAS_NUM_THREADS`` and friends) before this process imports
NumPy; PyTorch gets the same count through ``torch.set_num_threads``.

Side-by-side pairs are *interleaved*: every round times a block of Volta steps
and a block of PyTorch steps (alternating which goes first), so machine noise
hits both sides alike. A block is a few steps long (about 50 ms) so the timer's
resolution never matters; its mean is one sample.

PyTorch is the comparison peer only, imported here and nowhere in
``volta_core``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.cnn import BENCHMARKS as CNN_BENCHMARKS
from benchmarks.cnn_train import BENCHMARKS as CNN_TRAIN_BENCHMARKS
from benchmarks.onnx_infer import BENCHMARKS as ONNX_BENCHMARKS

SMALL = (256, 512, 512, 256, 1)
LARGE = (512, 2048, 2048, 512, 1)
LR = 1e-3
TEXT_SRC = """model sentiment
    input tokens 12
    layer embedding 128 32
    layer positional 12
    layer transformer 4 64
    layer layernorm
    layer mean_pool
    layer dense 2
    layer softmax
    seed 7
"""


@dataclass(frozen=True)
class Spec:
    name: str
    kind: str  # train | infer | train_text | analyze | compile | cnn | cnn_train | onnx
    widths: tuple[int, ...] = ()
    batch: int = 0
    optimizer: str = ""


def _mlp_name(widths: tuple[int, ...]) -> str:
    return "small" if widths == SMALL else "large"


SPECS: dict[str, Spec] = {}
for _w in (SMALL, LARGE):
    for _b in ((64,) if _w == SMALL else (64, 256)):
        for _o in ("sgd", "adam"):
            _n = f"train_mlp_{_mlp_name(_w)}_b{_b}_{_o}"
            SPECS[_n] = Spec(_n, "train", _w, _b, _o)
for _w, _b in ((SMALL, 64), (LARGE, 256)):
    _n = f"infer_mlp_{_mlp_name(_w)}_b{_b}"
    SPECS[_n] = Spec(_n, "infer", _w, _b)
SPECS["train_text_classifier_b32_adam"] = Spec("train_text_classifier_b32_adam", "train_text", (), 32, "adam")
SPECS["analyze_5000_lines"] = Spec("analyze_5000_lines", "analyze")
for _w in (SMALL, LARGE):
    _n = f"compile_mlp_{_mlp_name(_w)}"
    SPECS[_n] = Spec(_n, "compile", _w, 64)
for _n in CNN_BENCHMARKS:
    SPECS[_n] = Spec(_n, "cnn")
for _n in CNN_TRAIN_BENCHMARKS:
    SPECS[_n] = Spec(_n, "cnn_train")
for _n in ONNX_BENCHMARKS:
    SPECS[_n] = Spec(_n, "onnx")


# ----------------------------------------------------------------- timing
def stats(samples: list[float]) -> dict[str, float]:
    """Median, quartiles and range of per-step times, in milliseconds."""
    ms = sorted(s * 1e3 for s in samples)
    q = statistics.quantiles(ms, n=4, method="inclusive") if len(ms) > 1 else [ms[0]] * 3
    return {"median": statistics.median(ms), "q1": q[0], "q3": q[2], "min": ms[0], "max": ms[-1], "n": len(ms)}


def _block(fn: Callable[[], object], inner: int) -> float:
    t0 = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - t0) / inner


def _inner_for(fn: Callable[[], object], target_s: float) -> int:
    time.sleep(GAP_S)
    one = _block(fn, 3)
    return max(1, min(200, round(target_s / max(one, 1e-6))))


#: Pause between blocks. Both thread pools busy-wait for a while after their last
#: call (OpenBLAS up to ~2^28 cycles, OpenMP a spin count) before sleeping; on a
#: machine with few cores a pool still spinning from the other side's block steals
#: the cores (measured: 100x slower steps on 2 cores). The pause lets them sleep.
GAP_S = 0.2


def _settled(fn: Callable[[], object], inner: int) -> float:
    time.sleep(GAP_S)
    return _block(fn, inner)


def interleaved(volta: Callable[[], object], peer: Callable[[], object], rounds: int,
                warmup: int = 3, target_s: float = 0.1) -> tuple[list[float], list[float]]:
    _settled(volta, warmup)
    _settled(peer, warmup)
    inner = max(_inner_for(volta, target_s), _inner_for(peer, target_s))
    tv: list[float] = []
    tp: list[float] = []
    for r in range(rounds):
        if r % 2 == 0:
            tv.append(_settled(volta, inner))
            tp.append(_settled(peer, inner))
        else:
            tp.append(_settled(peer, inner))
            tv.append(_settled(volta, inner))
    return tv, tp


def pair_result(tv: list[float], tp: list[float], flops: float | None, peak_gflops: float | None) -> dict[str, object]:
    v, p = stats(tv), stats(tp)
    # The ratio is the median of per-round ratios: each round's blocks ran back to back,
    # so load that drifts during the run cancels out (the ratio of medians is kept too).
    paired = sorted(a / b for a, b in zip(tv, tp, strict=True))
    out: dict[str, object] = {
        "unit": "ms", "volta": v, "peer": p, "ratio": statistics.median(paired),
        "ratio_spread": [paired[0], paired[-1]], "ratio_of_medians": v["median"] / p["median"],
    }
    if flops:
        out["gflop_per_step"] = flops / 1e9  # the runner turns this into peak fractions
    return out


# ------------------------------------------------------------ MLP helpers
def _mlp_network(widths: tuple[int, ...]):  # type: ignore[no-untyped-def]
    from volta_core.analysis import analyze
    from volta_core.nn import Network, init_params

    src = "model m\n    layers " + " ".join(map(str, widths)) + "\n    activation relu\n    loss mse\n    seed 0\n"
    analysis = analyze(src, "bench.vt")
    assert not analysis.errors, analysis.errors
    info = analysis.symbols.models["m"]
    return Network(info, "mse", init_params(info, 0))


def _data(widths: tuple[int, ...], batch: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return (rng.standard_normal((batch, widths[0])).astype(np.float32),
            rng.standard_normal((batch, widths[-1])).astype(np.float32))


def _torch_mlp(torch, params: dict[str, np.ndarray], n_layers: int):  # type: ignore[no-untyped-def]
    tp = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    layers = [(tp[f"{2 * i}.dense.weight"], tp[f"{2 * i}.dense.bias"]) for i in range(n_layers)]

    def forward(x):  # type: ignore[no-untyped-def]
        h = x
        for i, (w, b) in enumerate(layers):
            h = torch.addmm(b, h, w)  # x @ W + b, what nn.Linear does (with W stored transposed)
            if i < n_layers - 1:
                h = torch.relu(h)
        return h

    return tp, forward


def mlp_flops(widths: tuple[int, ...], batch: int, training: bool) -> float:
    macs = batch * sum(a * b for a, b in itertools.pairwise(widths))
    return (6.0 if training else 2.0) * macs  # forward 2, backward 4 (dX and dW) flops per MAC


def bench_train(spec: Spec, rounds: int, peak: float | None) -> dict[str, object]:
    import torch

    from volta_core.train.optim import Optimizer

    net = _mlp_network(spec.widths)
    x, y = _data(spec.widths, spec.batch)
    opt = Optimizer(spec.optimizer)

    def volta() -> None:  # what the training loop does per step
        _, _, grads = net.train_step(x, y, copy_grads=False)
        opt.step(net.params, grads, LR)

    tp, forward = _torch_mlp(torch, net.params, len(spec.widths) - 1)
    ordered = [tp[k] for k in sorted(tp)]
    topt = torch.optim.SGD(ordered, lr=LR) if spec.optimizer == "sgd" else torch.optim.Adam(ordered, lr=LR)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    mse = torch.nn.functional.mse_loss

    def peer() -> None:
        loss = mse(forward(tx), ty)
        topt.zero_grad()
        loss.backward()
        topt.step()

    tv, tpr = interleaved(volta, peer, rounds)
    return pair_result(tv, tpr, mlp_flops(spec.widths, spec.batch, True), peak)


def bench_infer(spec: Spec, rounds: int, peak: float | None) -> dict[str, object]:
    import torch

    net = _mlp_network(spec.widths)
    x, _ = _data(spec.widths, spec.batch)
    _, forward = _torch_mlp(torch, net.params, len(spec.widths) - 1)
    tx = torch.from_numpy(x)

    def peer() -> None:
        with torch.no_grad():
            forward(tx)

    tv, tpr = interleaved(lambda: net.predict(x), peer, rounds)
    out = pair_result(tv, tpr, mlp_flops(spec.widths, spec.batch, False), peak)
    out["throughput_samples_per_s"] = {
        "volta": spec.batch / (out["volta"]["median"] / 1e3),  # type: ignore[index]
        "peer": spec.batch / (out["peer"]["median"] / 1e3),  # type: ignore[index]
    }
    return out


def bench_text(spec: Spec, rounds: int, peak: float | None) -> dict[str, object]:
    """embedding → positional → pre-norm transformer block → layernorm → masked mean → dense,
    cross-entropy, Adam; PyTorch runs the same math (``TransformerEncoderLayer`` with
    ``norm_first``, exact GELU, no dropout) from the same initial weights."""
    from volta_core.analysis import analyze
    from volta_core.nn.network import Network, UnsupportedLayer, init_params
    from volta_core.train.optim import Optimizer

    analysis = analyze(TEXT_SRC, "bench.vt")
    if analysis.errors:
        return {"status": "pending", "why": "; ".join(str(e) for e in analysis.errors)[:200]}
    info = analysis.symbols.models["m" if "m" in analysis.symbols.models else "sentiment"]
    net = Network(info, "cross_entropy", init_params(info, 7))
    try:
        net.check_supported()
    except UnsupportedLayer as exc:
        return {"status": "pending", "why": str(exc)}
    import torch

    batch, length, vocab, dim, heads, ff = spec.batch, 12, 128, 32, 4, 64
    rng = np.random.default_rng(0)
    x = rng.integers(1, vocab, (batch, length))
    for row in range(0, batch, 3):  # some padding at the ends of sequences
        x[row, length - 1 - row % 5 :] = 0
    y = rng.integers(0, 2, batch)
    opt = Optimizer("adam")

    def volta() -> None:
        _, _, grads = net.train_step(x, y, copy_grads=False)
        opt.step(net.params, grads, LR)

    t = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in net.params.items()}
    names = sorted(net.params)
    emb, pos = (t[n] for n in names if n.endswith("embedding.table")), (t[n] for n in names if n.endswith("positional.table"))
    emb_t, pos_t = next(emb), next(pos)
    p = next(n for n in names if ".transformer." in n).split(".transformer.")[0] + ".transformer"
    layer = torch.nn.TransformerEncoderLayer(dim, heads, ff, dropout=0.0, activation="gelu",
                                             batch_first=True, norm_first=True, layer_norm_eps=1e-5)
    with torch.no_grad():
        layer.self_attn.in_proj_weight.copy_(torch.cat([t[f"{p}.{w}"].T for w in ("query", "key", "value")]))
        layer.self_attn.in_proj_bias.copy_(torch.cat([t[f"{p}.{w}_bias"] for w in ("query", "key", "value")]))
        layer.self_attn.out_proj.weight.copy_(t[f"{p}.out"].T)
        layer.self_attn.out_proj.bias.copy_(t[f"{p}.out_bias"])
        for mine, theirs in (("ln1", layer.norm1), ("ln2", layer.norm2)):
            theirs.weight.copy_(t[f"{p}.{mine}.scale"])
            theirs.bias.copy_(t[f"{p}.{mine}.shift"])
        layer.linear1.weight.copy_(t[f"{p}.ff1.weight"].T)
        layer.linear1.bias.copy_(t[f"{p}.ff1.bias"])
        layer.linear2.weight.copy_(t[f"{p}.ff2.weight"].T)
        layer.linear2.bias.copy_(t[f"{p}.ff2.bias"])
    layer.train()
    ln_s = next(t[n] for n in names if n.endswith("layernorm.scale") and ".transformer." not in n)
    ln_b = next(t[n] for n in names if n.endswith("layernorm.shift") and ".transformer." not in n)
    dense_w = next(t[n] for n in names if n.endswith("dense.weight"))
    dense_b = next(t[n] for n in names if n.endswith("dense.bias"))
    params = [*layer.parameters(), emb_t, pos_t, ln_s, ln_b, dense_w, dense_b]
    topt = torch.optim.Adam(params, lr=LR)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    mask = (tx > 0).to(torch.float32)
    count = mask.sum(1, keepdim=True).clamp(min=1.0)
    F = torch.nn.functional

    def peer() -> None:
        h = layer(emb_t[tx] + pos_t)
        h = F.layer_norm(h, (dim,), ln_s, ln_b, 1e-5)
        pooled = (h * mask[:, :, None]).sum(1) / count
        loss = F.cross_entropy(pooled @ dense_w + dense_b, ty)
        topt.zero_grad()
        loss.backward()
        topt.step()

    # Same math check (first step from identical weights): the losses agree.
    v_loss, _, _ = net.train_step(x, y)
    with torch.no_grad():
        h = F.layer_norm(layer(emb_t[tx] + pos_t), (dim,), ln_s, ln_b, 1e-5)
        p_loss = float(F.cross_entropy(((h * mask[:, :, None]).sum(1) / count) @ dense_w + dense_b, ty))
    tv, tpr = interleaved(volta, peer, rounds)
    out = pair_result(tv, tpr, None, None)
    out["first_loss"] = {"volta": v_loss, "peer": p_loss}
    return out


def bench_analyze(rounds: int) -> dict[str, object]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_analyze import generate

    from volta_core.analysis import analyze

    text = generate(5000)
    for _ in range(2):
        analyze(text, "bench.vt")
    times = []
    for _ in range(max(5, rounds)):
        t0 = time.perf_counter()
        analyze(text, "bench.vt")
        times.append(time.perf_counter() - t0)
    return {"unit": "ms", "volta": stats(times), "peer": None, "ratio": None, "lines": text.count("\n")}


def bench_compile(spec: Spec, rounds: int) -> dict[str, object]:
    """Cold: a fresh network's first training executor (build the graph, autograd,
    verify, schedule, memory plan, fingerprint, executor preparation). Cached: the
    same for a network sharing the plan cache (graph build + fingerprint + hit).
    ``compile_plan`` alone is reported too."""
    from volta_core.ir import compile_plan, training_graph

    _mlp_network(spec.widths).executor(spec.batch, True)  # imports and kernel registration
    cold, cached, plan_only = [], [], []
    for _ in range(max(5, rounds)):
        net = _mlp_network(spec.widths)
        t0 = time.perf_counter()
        net.executor(spec.batch, True)
        cold.append(time.perf_counter() - t0)
        twin = _mlp_network(spec.widths)
        twin._cache = net._cache
        t0 = time.perf_counter()
        twin.executor(spec.batch, True)
        cached.append(time.perf_counter() - t0)
        graph, _, loss = net.build(spec.batch, True)
        graph, _ = training_graph(graph, loss, list(graph.params))
        t0 = time.perf_counter()
        compile_plan(graph)
        plan_only.append(time.perf_counter() - t0)
    return {"unit": "ms", "volta": stats(cold), "cached": stats(cached), "compile_plan": stats(plan_only),
            "peer": None, "ratio": None}


def bench_cnn(spec: Spec, rounds: int) -> dict[str, object]:
    """One layer (or conv stack) of issue 18's speed nets, forward and backward (``benchmarks/cnn.py``)."""
    from benchmarks.cnn import build

    built = build(spec.name)
    tv, tp = interleaved(built.volta, built.peer, rounds)
    out = pair_result(tv, tp, built.flops or None, None)
    out["max_diff"] = built.max_diff  # Volta and PyTorch computed the same values before timing
    return out


def bench_cnn_train(spec: Spec, rounds: int) -> dict[str, object]:
    """A whole training step of one of issue 18's speed nets, written in `.vt` (``benchmarks/cnn_train.py``)."""
    from benchmarks.cnn_train import build

    built = build(spec.name)
    tv, tp = interleaved(built.volta, built.peer, rounds)
    out = pair_result(tv, tp, built.flops, None)
    out["first_loss"] = {"volta": built.first_loss[0], "peer": built.first_loss[1]}
    return out


def bench_onnx(spec: Spec, rounds: int) -> dict[str, object]:
    """``infer`` of an imported ONNX model next to onnxruntime (``benchmarks/onnx_infer.py``)."""
    from benchmarks.onnx_infer import build

    built = build(spec.name)
    tv, tp = interleaved(built.volta, built.peer, rounds)
    out = pair_result(tv, tp, None, None)
    out["peer_name"] = f"onnxruntime CPU ({built.threads} intra-op threads)"
    out["max_diff"] = built.max_diff  # same outputs before timing
    return out


def run_one(name: str, quick: bool, peak: float | None) -> dict[str, object]:
    spec = SPECS[name]
    rounds = 5 if quick else 15
    np.seterr(over="ignore", invalid="ignore")
    if spec.kind == "train":
        out = bench_train(spec, rounds, peak)
    elif spec.kind == "infer":
        out = bench_infer(spec, rounds, peak)
    elif spec.kind == "train_text":
        out = bench_text(spec, rounds, peak)
    elif spec.kind == "analyze":
        out = bench_analyze(rounds)
    elif spec.kind == "cnn":
        out = bench_cnn(spec, rounds)
    elif spec.kind == "cnn_train":
        out = bench_cnn_train(spec, rounds)
    elif spec.kind == "onnx":
        out = bench_onnx(spec, rounds)
    else:
        out = bench_compile(spec, rounds)
    out.setdefault("status", "ok")
    out["kind"] = spec.kind
    return out


def matmul_peak(quick: bool) -> dict[str, object]:
    """The machine's float32 matmul rate: best of a few large square ``np.matmul``."""
    n = 2048 if quick else 4096
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    out = np.empty((n, n), np.float32)
    np.matmul(a, b, out=out)
    best = min(_block(lambda: np.matmul(a, b, out=out), 1) for _ in range(3 if quick else 8))
    from volta_core.backends.cpu.blas import openblas_kernels

    # The kernel set this worker's OpenBLAS runs (every worker gets the same environment).
    return {"n": n, "gflops": 2.0 * n**3 / best / 1e9, "blas_kernels": openblas_kernels()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("name")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--peak", type=float, default=None)
    args = ap.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(args.threads)
        torch_threads = torch.get_num_threads()
    except ImportError:
        torch_threads = None
    if args.name == "matmul_peak":
        out = matmul_peak(args.quick)
    else:
        out = run_one(args.name, args.quick, args.peak)
    out["threads"] = {"blas_env": os.environ.get("OPENBLAS_NUM_THREADS"), "torch": torch_threads}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
