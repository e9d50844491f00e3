"""Autograd structure, fingerprints/schedules across processes, memory planner, executor, plan cache."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from volta_core.backends.cpu import CpuExecutor
from volta_core.ir import (
    Graph,
    IRError,
    PlanCache,
    compile_plan,
    grad,
    graph_fingerprint,
    schedule,
    training_graph,
    verify,
)

from .helpers import mlp, mlp_feeds, run_graph

ROOT = Path(__file__).resolve().parents[2]


def test_grad_builds_separate_graph_and_leaves_forward_untouched():
    g, loss, params = mlp(layers=3, width=8, batch=4)
    before = graph_fingerprint(g)
    nodes_before = list(g.nodes)
    backward, mapping = grad(g, loss, params)
    verify(backward)
    assert graph_fingerprint(g) == before and g.nodes == nodes_before
    assert set(mapping.grads) == set(params)
    assert all(backward.node(b).op == "input" and backward.name_of(b) == f"fwd.%{f}" for f, b in mapping.saved.items()
               if g.node(f).op != "constant")


def test_unbroadcast_reduces_and_reshapes_to_operand_shape():
    g = Graph()
    a = g.parameter("a", (3, 1))
    b = g.parameter("b", (4,))
    loss = g.op("reduce_sum", g.op("mul", a, b), axes=(0, 1))
    backward, mapping = grad(g, loss, [a, b])
    assert backward.node(mapping.grads[a]).shape == (3, 1)
    assert backward.node(mapping.grads[b]).shape == (4,)
    ops = {n.op for n in backward.nodes}
    assert {"reduce_sum", "reshape"} <= ops
    tg, _gids = training_graph(g, loss, [a, b])
    av, bv = np.arange(3.0).reshape(3, 1).astype(np.float32), np.arange(4.0).astype(np.float32)
    out = run_graph(tg, {"a": av, "b": bv})
    np.testing.assert_allclose(out[-2], np.full((3, 1), bv.sum()))
    np.testing.assert_allclose(out[-1], np.full(4, av.sum()))


def test_fan_out_accumulates_and_unused_param_gets_zeros():
    g = Graph()
    x = g.parameter("x", (2,))
    unused = g.parameter("u", (3,))
    loss = g.op("reduce_sum", g.op("mul", x, x), axes=(0,))
    tg, _ = training_graph(g, loss, [x, unused])
    out = run_graph(tg, {"x": np.array([1.0, -2.0], np.float32), "u": np.zeros(3, np.float32)})
    np.testing.assert_allclose(out[-2], [2.0, -4.0])
    np.testing.assert_array_equal(out[-1], np.zeros(3))


def test_cannot_differentiate_wrt_integer():
    g = Graph()
    t = g.input("t", (2,), "i64")
    loss = g.op("reduce_sum", g.op("cast", t, dtype="f32"), axes=(0,))
    with pytest.raises(IRError, match="non-float"):
        grad(g, loss, [t])


_PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[2])
from helpers_probe import probe
print(json.dumps(probe()))
"""


def _probe_result() -> dict[str, object]:
    g, loss, params = mlp(layers=3, width=16, batch=8)
    tg, _ = training_graph(g, loss, params)
    plan = compile_plan(tg)
    return {"graph": graph_fingerprint(tg), "schedule": plan.schedule_fingerprint(),
            "memory": plan.memory.fingerprint(), "order": list(plan.order)}


def test_fingerprints_schedules_and_plans_identical_across_hash_seeds(tmp_path):
    (tmp_path / "helpers_probe.py").write_text(
        "from tests.ir.helpers import mlp\n"
        "from volta_core.ir import compile_plan, graph_fingerprint, training_graph\n"
        "def probe():\n"
        "    g, loss, params = mlp(layers=3, width=16, batch=8)\n"
        "    tg, _ = training_graph(g, loss, params)\n"
        "    plan = compile_plan(tg)\n"
        "    return {'graph': graph_fingerprint(tg), 'schedule': plan.schedule_fingerprint(),\n"
        "            'memory': plan.memory.fingerprint(), 'order': list(plan.order)}\n"
    )
    results = []
    for seed in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        proc = subprocess.run([sys.executable, "-c", _PROBE, str(ROOT), str(tmp_path)], env=env,
                              capture_output=True, text=True, check=True, timeout=60)
        results.append(json.loads(proc.stdout))
    assert results[0] == results[1] == results[2] == _probe_result()


def test_fingerprint_is_sensitive_to_attrs_and_ignores_id_numbering():
    def build(alpha: float, offset: int) -> Graph:
        g = Graph()
        g._next_id = offset
        g.set_outputs([g.op("leaky_relu", g.input("x", (2,)), alpha=alpha)])
        return g

    assert graph_fingerprint(build(0.1, 0)) == graph_fingerprint(build(0.1, 7))
    assert graph_fingerprint(build(0.1, 0)) != graph_fingerprint(build(0.2, 0))


def test_schedule_is_topological_and_skips_dead_nodes():
    g = Graph()
    x = g.input("x", (2,))
    dead = g.op("exp", x)
    y = g.op("neg", x)
    g.set_outputs([g.op("add", y, x)])
    order = schedule(g)
    assert dead not in order and order.index(x) < order.index(y) < order.index(g.outputs[0])


def test_memory_plan_six_layer_mlp_training_step_reuses_buffers(capsys):
    g, loss, params = mlp(layers=6, width=64, batch=32)
    tg, _ = training_graph(g, loss, params)
    plan = compile_plan(tg)
    mem = plan.memory
    ratio = mem.peak_bytes / mem.no_reuse_bytes
    with capsys.disabled():
        print(f"\n[memory] 6-layer MLP step: peak {mem.peak_bytes} B, no-reuse {mem.no_reuse_bytes} B, "
              f"ratio {ratio:.3f}")
    assert ratio <= 0.60
    # No kernel writes into a buffer holding a value it reads or another value still live.
    position = {nid: i for i, nid in enumerate(plan.order)}
    last = {nid: i for i, nid in enumerate(plan.order)}
    for i, nid in enumerate(plan.order):
        for src in tg.node(nid).inputs:
            last[src] = max(last[src], i)
    for o in tg.outputs:
        last[o] = len(plan.order)
    owners: dict[int, list[int]] = {}
    for nid, buf in mem.assignment.items():
        owners.setdefault(buf, []).append(nid)
    for nids in owners.values():
        spans = sorted((position[n], last[n]) for n in nids)
        for (_s0, e0), (s1, _) in itertools.pairwise(spans):
            assert e0 < s1, "two values share a buffer while both are live"


def test_executor_matches_direct_numpy_for_training_step():
    g, loss, params = mlp(layers=3, width=16, batch=8, dtype="f64")
    tg, grad_ids = training_graph(g, loss, params)
    feeds = mlp_feeds(tg, seed=3, dtype=np.float64)
    got = CpuExecutor(compile_plan(tg)).run(feeds)

    x, t = feeds["x"], feeds["t"]
    acts, pre = [x], []
    for i in range(3):
        z = acts[-1] @ feeds[f"{i}.dense.weight"] + feeds[f"{i}.dense.bias"]
        pre.append(z)
        acts.append(np.maximum(z, 0) if i < 2 else z)
    logits = acts[-1]
    shifted = logits - logits.max(1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    expected_loss = -logp[np.arange(len(t)), t].mean()
    np.testing.assert_allclose(got[0], expected_loss, rtol=1e-12)
    d = (np.exp(logp) - np.eye(10)[t]) / len(t)
    expected = {}
    for i in reversed(range(3)):
        expected[f"{i}.dense.weight"] = acts[i].T @ d
        expected[f"{i}.dense.bias"] = d.sum(0)
        d = (d @ feeds[f"{i}.dense.weight"].T) * (pre[i - 1] > 0) if i else d
    for pid, gid in zip(params, grad_ids, strict=True):
        np.testing.assert_allclose(got[tg.outputs.index(gid)], expected[tg.name_of(pid)], rtol=1e-10, atol=1e-12)


def test_executor_runs_repeatedly_and_checks_feeds():
    g, _loss, _params = mlp(layers=2, width=8, batch=4)
    ex = CpuExecutor(compile_plan(g))
    feeds = mlp_feeds(g)
    first = ex.run(feeds)[0]
    assert ex.run(feeds)[0] == first  # bit-identical (strict determinism)
    with pytest.raises(IRError, match="missing value for input/parameter 'x'"):
        ex.run({k: v for k, v in feeds.items() if k != "x"})
    with pytest.raises(IRError, match=r"expected shape \[4,8\]|expected shape \[4, 8\]"):
        ex.run({**feeds, "x": np.zeros((5, 8), np.float32)})


def test_plan_cache_keys_on_fingerprint_backend_and_determinism():
    cache = PlanCache()
    g1, _, _ = mlp(layers=2, width=8, batch=4)
    g2, _, _ = mlp(layers=2, width=8, batch=4)
    assert cache.get(g1) is cache.get(g2)
    assert cache.get(g1, determinism="balanced") is not cache.get(g1)
    g3, _, _ = mlp(layers=2, width=8, batch=5)
    cache.get(g3)
    assert len(cache) == 3 and cache.hits == 2
    with pytest.raises(IRError, match="determinism"):
        compile_plan(g1, determinism="fast")


def test_dce_and_cse_preserve_results_and_verify():
    from volta_core.ir.passes import common_subexpression_elimination, dead_code_elimination

    g = Graph()
    x = g.input("x", (3,))
    a = g.op("exp", x)
    b = g.op("exp", x)  # duplicate of a
    g.op("log", x)  # dead
    g.set_outputs([g.op("add", a, b)])
    before = graph_fingerprint(g)
    cse = common_subexpression_elimination(g)
    dce = dead_code_elimination(cse)
    assert graph_fingerprint(g) == before
    assert [n.op for n in dce.nodes] == ["input", "exp", "add"]
    xv = np.array([0.0, 1.0, -1.0], np.float32)
    np.testing.assert_array_equal(run_graph(dce, {"x": xv})[0], run_graph(g, {"x": xv})[0])
