"""The CUDA backend's kernels and builders executed on the host (see ``host.py``), against the CPU backend.

Runs everywhere: every op case of the table, forward and backward, goes through
:class:`CudaExecutor` (plan preparation, argument packing, workspaces, GEMM
calls) with volta.cu compiled for the CPU. Ops the GPU computes with the CPU
backend's exact operations in the same order must match bit for bit; the rest
within 1e-5. A real GPU is exercised by ``test_cuda_gpu.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from ir.test_ops import GPU_CASES as CASES
from ir.test_ops import _build, _feeds, _forward_ops, _values

from volta_core.backends.cpu import CpuExecutor
from volta_core.backends.cuda.executor import CudaExecutor
from volta_core.ir import compile_plan, training_graph

from .host import HostDevice, build_library

# the image ops whose forward is the CPU backend's arithmetic, step for step (and the plumbing around them)
EXACT = {"max_pool2d", "max_pool2d_select", "avg_pool2d", "batchnorm", "pad", "max_pool2d_grad", "avg_pool2d_grad",
         "resize2d", "input", "reshape", "slice"}


@pytest.fixture(scope="session")
def host_lib(tmp_path_factory: pytest.TempPathFactory):
    lib = build_library(tmp_path_factory.mktemp("volta_host"))
    if lib is None:
        pytest.skip("no C++ compiler (g++) to build volta.cu for the host")
    return lib


def _run_both(graph, feeds, lib):
    cpu = CpuExecutor(compile_plan(graph)).run(feeds)
    dev = HostDevice(lib)
    host = CudaExecutor(compile_plan(graph, "cuda"), dev=dev).run(feeds)  # type: ignore[arg-type]
    return cpu, host, dev


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_every_case_on_the_host_built_kernels_matches_the_cpu_backend(case, dtype, host_lib):
    name = "f64" if dtype == np.float64 else "f32"
    values = _values(case, dtype)
    g, y, loss, floats = _build(case, values, name)
    if case.differentiable:
        cot = np.random.default_rng(1).standard_normal(g.node(y).shape).astype(dtype)
        graph, feeds = training_graph(g, loss, floats)[0], _feeds(values, cot)
    else:
        graph, feeds = g, _feeds(values, None)
    cpu, host, _ = _run_both(graph, feeds, host_lib)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for k, (c, d) in enumerate(zip(cpu, host, strict=True)):
        assert c.shape == d.shape and c.dtype == d.dtype, f"output {k}"
        if k == 0 and _forward_ops(g, y) <= EXACT:
            np.testing.assert_array_equal(d, c, err_msg=f"{case.id}: forward must be bit-identical")
        else:
            np.testing.assert_allclose(d, c, rtol=tol, atol=tol, err_msg=f"{case.id}: output {k}")


def test_max_pool_routing_for_any_y_on_the_host_built_kernels(host_lib):
    from volta_core.ir import Graph

    x = np.array([[[[1.0, 5.0, 2.0, 2.0], [4.0, 0.0, 1.0, 3.0]]]], np.float32)
    g = Graph()
    ids = [g.input("x", x.shape), g.input("y", (1, 1, 1, 2)), g.input("g", (1, 1, 1, 2)), g.input("v", x.shape)]
    pool = {"kernel": (2, 2), "strides": (2, 2)}
    g.set_outputs([g.op("max_pool2d_grad", *ids[:3], **pool), g.op("max_pool2d_select", ids[0], ids[1], ids[3], **pool)])
    feeds = {"x": x, "y": np.array([[[[3.0, 9.0]]]], np.float32), "g": np.array([[[[7.0, 8.0]]]], np.float32),
             "v": x * 10}
    _, (dx, picked), _ = _run_both(g, feeds, host_lib)
    assert dx.tolist() == [[[[0, 7, 0, 0], [0, 0, 0, 0]]]]
    assert picked.tolist() == [[[[50, 0]]]]


def test_a_small_cnn_training_step_on_the_host_built_kernels(host_lib):
    from ir.test_image_ops import _cnn, _cnn_feeds

    g, loss, params, _ = _cnn(batch=3)
    graph = training_graph(g, loss, params)[0]
    cpu, host, dev = _run_both(graph, _cnn_feeds(g), host_lib)
    for c, d in zip(cpu, host, strict=True):
        np.testing.assert_allclose(d, c, rtol=1e-5, atol=1e-6)
    for kernel in ("im2col_f32", "col2im_f32", "maxpool_f32", "maxpool_grad_f32", "avgpool_f32", "avgpool_grad_f32",
                   "moments_f32", "batchnorm_f32", "pad_f32", "pad_fold_f32"):
        assert kernel in dev.launched
