"""The CUDA backend without a GPU: kernel source, launch geometry, and plan preparation.

These run everywhere (CI has no GPU). ``test_cuda_gpu.py`` runs the kernels for real.
"""

from __future__ import annotations

import ctypes
import math
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from ir.test_ops import CASES, CPU_ONLY_OPS, GPU_CASES, _build, _values

from volta_core.backends.cuda import launch as L
from volta_core.backends.cuda.driver import NVCC_OPTIONS, kernel_source
from volta_core.backends.cuda.executor import CudaExecutor
from volta_core.ir import compile_plan, training_graph
from volta_core.ir.ops import IRError, all_ops

from .fake import FakeDevice, kernel_names

NAMES = kernel_names()
NVCC = shutil.which("nvcc") or next((str(p) for p in Path("/usr/local").glob("cuda*/bin/nvcc")), None)


@pytest.mark.skipif(NVCC is None, reason="nvcc (the CUDA toolkit) is not installed here")
def test_kernel_source_compiles_for_hopper(tmp_path: Path):
    src = tmp_path / "volta.cu"
    src.write_text(kernel_source())
    proc = subprocess.run([str(NVCC), *NVCC_OPTIONS, "-arch=sm_90", "-cubin", "-o", str(tmp_path / "v.cubin"), str(src)],
                          capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr


def _emulate_copy(meta: np.ndarray, src: np.ndarray, dst: np.ndarray, src_base: int = 0, dst_base: int = 0) -> None:
    """What copy_<size> does, element by element."""
    rank = int(meta[0])
    shape = meta[1 : 1 + rank]
    s_str, d_str = meta[1 + rank : 1 + 2 * rank], meta[1 + 2 * rank : 1 + 3 * rank]
    for i in range(math.prod(int(d) for d in shape)):
        so = do = 0
        q = i
        for d in range(rank - 1, -1, -1):
            r = q % shape[d]
            q //= shape[d]
            so += r * s_str[d]
            do += r * d_str[d]
        dst[dst_base + do] = src[src_base + so]


@pytest.mark.parametrize("view", [
    lambda a: a.transpose(1, 2, 0),
    lambda a: a[1:3, ::2, ::-1],
    lambda a: a[::-1, 1:2, 1:4:2],
    lambda a: np.broadcast_to(a[:, :1, :], (2, 3, 3, 4)),
], ids=["transpose", "slice", "slice_negative", "broadcast"])
def test_view_geometry_drives_the_copy_kernel_to_numpy_results(view):
    x = np.arange(3 * 4 * 5, dtype=np.float32).reshape(3, 4, 5)[:, :, :4].copy()
    offset, strides, shape = L.view_geometry(x.shape, view)
    out = np.zeros(math.prod(shape), np.float32)
    _emulate_copy(L.copy_meta(shape, strides, L.contiguous_strides(shape)), x.reshape(-1), out, src_base=offset)
    np.testing.assert_array_equal(out.reshape(shape), view(x))


def test_broadcast_meta_strides_follow_numpy():
    assert L.broadcast_meta((2, 3), [(2, 3), (2, 3)]) is None
    meta = L.broadcast_meta((3, 2, 4), [(3, 1, 4), (2, 4)])
    assert meta is not None
    assert list(meta) == [3, 3, 2, 4, 4, 0, 1, 0, 4, 1]
    a = np.arange(12.0).reshape(3, 1, 4)
    b = np.arange(8.0).reshape(2, 4)
    got = np.empty((3, 2, 4))
    for i in range(got.size):
        idx = np.unravel_index(i, got.shape)
        oa = sum(int(k) * int(s) for k, s in zip(idx, meta[4:7], strict=True))
        ob = sum(int(k) * int(s) for k, s in zip(idx, meta[7:10], strict=True))
        got.reshape(-1)[i] = a.reshape(-1)[oa] + b.reshape(-1)[ob]
    np.testing.assert_array_equal(got, a + b)


@pytest.mark.parametrize("axes", [None, (0, 2), (1,), (-1,), (0, 1, 2)])
def test_reduce_meta_covers_each_output_once(axes):
    shape = (3, 4, 5)
    x = np.random.default_rng(0).standard_normal(shape)
    meta, n_out, count = L.reduce_meta(shape, axes)
    nk = int(meta[0])
    kshape, kstr = meta[1 : 1 + nk], meta[1 + nk : 1 + 2 * nk]
    nr = int(meta[1 + 2 * nk])
    rshape, rstr = meta[2 + 2 * nk : 2 + 2 * nk + nr], meta[2 + 2 * nk + nr :]

    def off(i: int, shp: np.ndarray, st: np.ndarray) -> int:
        return sum(int(k) * int(s) for k, s in zip(np.unravel_index(i, tuple(int(d) for d in shp)) if len(shp) else (), st, strict=True))

    sums = [sum(x.reshape(-1)[off(o, kshape, kstr) + off(r, rshape, rstr)] for r in range(count)) for o in range(n_out)]
    np.testing.assert_allclose(np.array(sums).reshape(-1), x.sum(axis=axes).reshape(-1))


def test_block_sizes_and_arena_layout():
    assert [L.tree_block(n) for n in (1, 32, 33, 200, 256, 10_000)] == [32, 32, 64, 256, 256, 256]
    offsets, total = L.arena_layout([1, 256, 257, 0])
    assert offsets == [0, 256, 512, 1024] and total == 1280
    assert all(o % L.ALIGN == 0 for o in offsets)
    for lead, trail, size in [(1, 64, 128), (1, 1, 3), (4, 512, 50_000), (2, 1, 1)]:
        jb = L.scatter_jblocks(lead, trail, size)
        bounds = [(b * size // jb, (b + 1) * size // jb) for b in range(jb)]
        assert bounds[0][0] == 0 and bounds[-1][1] == size
        assert all(lo <= hi for lo, hi in bounds) and all(bounds[k][1] == bounds[k + 1][0] for k in range(jb - 1))


def _prepare(graph, determinism: str = "strict") -> FakeDevice:
    dev = FakeDevice(NAMES)
    CudaExecutor(compile_plan(graph, "cuda", determinism), dev=dev)  # type: ignore[arg-type]
    return dev


@pytest.mark.parametrize("case", GPU_CASES, ids=lambda c: c.id)
def test_every_case_prepares_with_kernels_volta_cu_defines(case):
    values = _values(case, np.float32)
    g, _, loss, floats = _build(case, values, "f32")
    graphs = [g]
    if case.differentiable:
        graphs.append(training_graph(g, loss, floats)[0])
    for graph in graphs:
        dev = _prepare(graph)
        assert any(entry[0] == "launch" or entry[0].startswith(("cublas", "memset", "memcpy")) for entry in dev.log)


@pytest.mark.parametrize("case", [c for c in CASES if c.op in CPU_ONLY_OPS], ids=lambda c: c.id)
def test_cpu_only_ops_are_refused_on_the_gpu_with_a_reason(case):
    g, _, _, _ = _build(case, _values(case, np.float32), "f32")
    with pytest.raises(IRError, match="data-parallel job, which trains on the CPU"):
        _prepare(g)


def test_every_registry_op_has_a_cuda_builder():
    from volta_core.backends.cuda.kernels import BUILDERS

    assert sorted(op.name for op in all_ops() if not op.source and op.name not in BUILDERS) == []


def test_balanced_scatter_add_uses_atomics_and_strict_does_not():
    case = next(c for c in CASES if c.id == "scatter_add")
    g, _, _, _ = _build(case, _values(case, np.float32), "f32")
    assert any(n.startswith("scatter_add_atomic") for n in _prepare(g, "balanced").requested)
    strict = _prepare(g, "strict").requested
    assert any(n.startswith("scatter_add_f32") for n in strict) and not any("atomic" in n for n in strict)


def test_network_plans_prepare_and_keep_reshapes_as_views(tmp_path):
    from volta_core.lang import Session

    out: list[str] = []
    s = Session(stdout=out.append, base_dir=tmp_path)
    s.run("model m\n    input tokens 6\n    layer embedding 20 8\n    layer positional 6\n    layer transformer 2 16\n"
          "    layer layernorm\n    layer mean_pool\n    layer dense 3\n    layer softmax\n    seed 1\n"
          "model p\n    input 4\n    layer dense 8 relu\n    layer dropout 0.3\n    layer dense 2\n    seed 2\n", "t.vt")
    for name in ("m", "p"):
        net = s.globals[name].net  # type: ignore[attr-defined]
        for mode in ("train", "eval", "infer"):
            plan = net.plan(4, mode, "cuda")
            assert not any(plan.graph.node(v).op in ("transpose", "broadcast_to") for v in plan.memory.views)
            _prepare(plan.graph)


def test_fused_elementwise_prepares(monkeypatch):
    from volta_core.ir import Graph

    g = Graph()
    a = g.input("a", (4, 3))
    b = g.input("b", (3,))
    y = g.op("fused_elementwise", a, b, program="mul:$0,$1;relu:@;pow[2.0]:@;add:@,$1")
    g.set_outputs([y])
    dev = _prepare(g)
    assert "fused_f32" in dev.requested


def test_no_gpu_means_tests_skip_with_a_reason():
    from volta_core.backends.cuda.driver import cuda_status

    if os.environ.get("VOLTA_EXPECT_GPU") == "1":
        assert cuda_status() is None
    else:
        assert cuda_status() is None or "PyCUDA" in cuda_status() or "CUDA" in cuda_status()  # type: ignore[operator]


XOR_GPU = "model m\n    layers 2 4 2\n    loss cross_entropy\n    seed 1\ndataset d\n    type xor\ntrain m on d\n    epochs 2\n"


def test_device_auto_picks_the_gpu_when_one_is_usable(monkeypatch):
    from volta_core.train import autopilot

    monkeypatch.setattr(autopilot, "cuda_status", lambda: None)
    cfg = autopilot.resolve({}, widths=3, model_optimizer=None, dataset_batch=None)
    assert (cfg["device"], cfg.get("precision")) == ("gpu", "fp32")
    assert "device = gpu (auto: CUDA device found)" in cfg.table()
    monkeypatch.setattr(autopilot, "cuda_status", lambda: "CUDA found no GPU")
    cfg = autopilot.resolve({"device": "auto"}, widths=3, model_optimizer=None, dataset_batch=None)
    assert "device = cpu (auto: no CUDA device)" in cfg.table()
    with pytest.raises(autopilot.DeviceError, match="CUDA found no GPU"):
        autopilot.resolve({"device": "gpu"}, widths=3, model_optimizer=None, dataset_batch=None)


def test_a_gpu_failure_during_training_is_e0624_and_the_session_stays_usable(monkeypatch, tmp_path):
    from volta_core.backends.cuda.cublas import CublasError
    from volta_core.lang import Session
    from volta_core.train import autopilot, gpu

    def broken(*args, **kwargs):
        raise CublasError("cuBLAS could not be loaded (no libcublas.so found)")

    monkeypatch.setattr(autopilot, "cuda_status", lambda: None)
    monkeypatch.setattr(gpu.GpuRunner, "__init__", broken)
    out: list[str] = []
    s = Session(stdout=out.append, base_dir=tmp_path)
    result = s.run(XOR_GPU + "    device gpu\n", "t.vt")
    codes = [d.code for d in result.diagnostics]
    assert codes == ["E0624"], codes
    assert "cuBLAS could not be loaded" in result.diagnostics[0].message
    assert s.run("print 1 + 1", "u.vt").diagnostics == []
    assert "2" in "".join(out)


def test_balanced_on_the_gpu_says_it_is_not_reproducible(monkeypatch, tmp_path):
    from volta_core.lang import Session
    from volta_core.train import autopilot, gpu

    seen: list[str] = []

    def fake_init(self, net, opt, determinism="strict"):  # type: ignore[no-untyped-def]
        seen.append(determinism)
        raise gpu.CudaUnavailable("stop here")

    monkeypatch.setattr(autopilot, "cuda_status", lambda: None)
    monkeypatch.setattr(gpu.GpuRunner, "__init__", fake_init)
    out: list[str] = []
    result = Session(stdout=out.append, base_dir=tmp_path).run(XOR_GPU + "    determinism balanced\n", "t.vt")
    assert seen == ["balanced"]
    assert "not bit-reproducible" in "".join(out)
    assert [d.code for d in result.diagnostics] == ["E0624"]


# ------------------------------------------------------------------ optimizers
_C_TYPES = {"i64": "q", "int": "i", "float": "f", "double": "d"}


def _c_signature(name: str) -> str:
    """The struct format of kernel ``name``'s parameter list, read from volta.cu."""
    match = re.search(r'extern "C" __global__ void ' + name + r"\(([^)]*)\)", kernel_source())
    assert match is not None, f"volta.cu defines no kernel {name}"
    params = [" ".join(p.split()) for p in match.group(1).split(",")]
    return "".join("P" if "*" in p else _C_TYPES[p.rsplit(" ", 1)[0].removeprefix("const ")] for p in params)


def _host_optimizer_kernels(tmp_path: Path) -> ctypes.CDLL | None:
    """volta.cu's optimizer kernels compiled for the host (one thread runs the grid-stride loop),
    with no contraction into fused multiply-adds, as nvcc compiles them (-fmad=false)."""
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        return None
    src = kernel_source()
    start = src.index("// ------------------------------------------------------------ optimizers")
    end = src.index("// gradient clipping")
    prelude = ("#include <cmath>\nusing std::sqrt;\ntypedef long long i64;\n#define __global__\n#define __device__\n"
               "#define __forceinline__ inline\n#define GRID_STRIDE(i, n) for (i64 i = 0; i < (n); ++i)\n")
    (tmp_path / "opt.cpp").write_text(prelude + src[start:end])
    lib = tmp_path / "libopt.so"
    subprocess.run([cxx, "-std=c++17", "-O2", "-ffp-contract=off", "-shared", "-fPIC", "-o", str(lib),
                    str(tmp_path / "opt.cpp")], check=True, capture_output=True, timeout=120)  # fmt: skip
    return ctypes.CDLL(str(lib))


_CTYPE = {"q": ctypes.c_int64, "i": ctypes.c_int, "f": ctypes.c_float, "d": ctypes.c_double, "P": ctypes.c_void_p}


@pytest.mark.parametrize(("name", "kw"), [
    ("sgd", {"weight_decay": 0.1}), ("momentum", {"momentum": 0.9}), ("adam", {}), ("adamw", {"weight_decay": 0.1}),
    ("rmsprop", {"momentum": 0.9, "weight_decay": 0.01}), ("rmsprop", {}), ("adagrad", {}),
    ("adagrad", {"weight_decay": 0.1}),
])
def test_optimizer_launches_match_the_kernels_and_update_as_the_cpu_does(tmp_path: Path, name: str, kw: dict) -> None:
    """DeviceOptimizer's launches without a GPU: each kernel exists in volta.cu, its packed
    arguments follow the kernel's C parameter list, one grid-stride launch covers each
    tensor, and the kernels — compiled for the host — update bitwise as the CPU optimizer."""
    from volta_core.backends.cuda.executor import DeviceTensors
    from volta_core.backends.cuda.kernels import SIGNATURES
    from volta_core.train.gpu import DeviceOptimizer
    from volta_core.train.optim import Optimizer

    rng = np.random.default_rng(0)
    shapes = {"a": (3, 5), "b": (5,), "empty": (0,)}
    start = {n: rng.standard_normal(s).astype(np.float32) for n, s in shapes.items()}
    dev = FakeDevice(NAMES)
    params = DeviceTensors(shapes, dev)  # type: ignore[arg-type]
    device_opt = DeviceOptimizer(dev, Optimizer(name, **kw), params)  # type: ignore[arg-type]
    # host memory behind each fake device address: the weights and every state slot
    memory = {params.address[n]: start[n].copy() for n in shapes}
    for tensors in device_opt.state.values():
        memory.update({tensors.address[n]: np.zeros(shapes[n], np.float32) for n in shapes})
    kernels = _host_optimizer_kernels(tmp_path)
    cpu_params = {n: a.copy() for n, a in start.items()}
    cpu = Optimizer(name, **kw)
    for step in range(4):
        grads = {n: rng.standard_normal(s).astype(np.float32) for n, s in shapes.items()}
        dev.log.clear()
        device_opt.step({n: g.ctypes.data for n, g in grads.items()}, 0.05)
        cpu.step(cpu_params, grads, 0.05)
        launches = [entry for entry in dev.log if entry[0] == "launch"]
        assert len(launches) == 2  # one per non-empty tensor, none for the empty one
        for (_, kernel, grid, block, buf, shared), tensor in zip(launches, ("a", "b"), strict=True):
            fmt = "@" + SIGNATURES[kernel]
            assert SIGNATURES[kernel] == _c_signature(kernel)
            assert len(buf) == struct.calcsize(fmt) and shared == 0
            assert (grid, block) == L.grid_1d(math.prod(shapes[tensor]))
            if kernels is not None:
                args = [memory[v].ctypes.data if c == "P" and v in memory else v
                        for c, v in zip(SIGNATURES[kernel], struct.unpack(fmt, buf), strict=True)]
                getattr(kernels, kernel)(*(_CTYPE[c](v) for c, v in zip(SIGNATURES[kernel], args, strict=True)))
        if kernels is not None:
            for n in ("a", "b"):
                assert memory[params.address[n]].tobytes() == cpu_params[n].tobytes(), (name, step, n)
