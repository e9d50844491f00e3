"""Passes: unit tests per rewrite, and the property that every pass ordering keeps results.

Property: random graphs (ops drawn from the registry, random valid shapes)
go through a permutation of [fold, simplify, cse, dce, fuse]; the result
must verify and give the same outputs as the original graph: bit for bit
(equal values, equal sign of zero, NaN where NaN) when ``simplify`` is not in
the ordering, and within ``rtol=atol=1e-6`` otherwise (removing ``x+0``
keeps a ``-0.0``; nothing else changes numerics).
"""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from volta_core.ir import Graph, IRError, graph_fingerprint, run_passes, training_graph, verify
from volta_core.ir.ops import all_ops
from volta_core.ir.passes import (
    PASSES,
    dead_code_elimination,
    fold_constants,
    fuse_elementwise,
    simplify,
)

from .helpers import mlp, mlp_feeds, run_graph
from .random_graphs import GENERATORS, NOT_GENERATED, build_random_graph, feeds_for

ORDER = ("fold", "simplify", "cse", "dce", "fuse")


def _assert_same(before: list[np.ndarray], after: list[np.ndarray], bitwise: bool) -> None:
    assert len(before) == len(after)
    for a, b in zip(before, after, strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        if bitwise:
            np.testing.assert_array_equal(a, b)
            finite = ~np.isnan(a)
            np.testing.assert_array_equal(np.signbit(a[finite]), np.signbit(b[finite]))
        else:
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def _check_ordering(g: Graph, order: tuple[str, ...], seed: int = 0) -> None:
    feeds = feeds_for(g, seed)
    with np.errstate(all="ignore"):
        expected = run_graph(g, feeds)
        before = graph_fingerprint(g)
        out = run_passes(g, order)
        verify(out)
        assert graph_fingerprint(g) == before  # passes never mutate their input
        got = run_graph(out, feeds)
    _assert_same(expected, got, bitwise="simplify" not in order)


def test_every_registry_op_is_generated_or_excused():
    names = {op.name for op in all_ops()}
    assert names == set(GENERATORS) | set(NOT_GENERATED)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), order=st.permutations(ORDER))
def test_random_graphs_any_pass_order_same_outputs(data: st.DataObject, order: list[str]):
    g = build_random_graph(lambda n: data.draw(st.integers(0, n - 1)))
    _check_ordering(g, tuple(order))


@pytest.mark.parametrize("seed", range(4))
def test_all_120_orderings_on_fixed_random_graphs(seed: int):
    rnd = random.Random(seed)
    g = build_random_graph(lambda n: rnd.randrange(n), max_ops=14)
    for order in itertools.permutations(ORDER):
        _check_ordering(g, order, seed)


def test_passes_on_training_graph_match_bitwise_without_simplify():
    g, loss, params = mlp(layers=3, width=16, batch=8)
    tg, _ = training_graph(g, loss, params)
    feeds = mlp_feeds(tg)
    expected = run_graph(tg, feeds)
    out = run_passes(tg, ("fold", "cse", "dce", "fuse"))
    assert len(out) < len(tg)
    _assert_same(expected, run_graph(out, feeds), bitwise=True)
    _assert_same(expected, run_graph(run_passes(tg), feeds), bitwise=False)


def test_fold_computes_constant_subgraphs_and_respects_limit():
    g = Graph()
    x = g.input("x", (3,))
    c = g.op("exp", g.op("add", g.constant([1.0, 2.0, 3.0]), g.constant(1.0)))
    g.set_outputs([g.op("mul", x, c)])
    folded = fold_constants(g)
    node = folded.node(c)
    assert node.op == "constant"
    np.testing.assert_array_equal(node.attr("value"), np.exp(np.float32([2, 3, 4])))
    assert fold_constants(g, limit=2).node(c).op == "exp"
    assert [n.op for n in dead_code_elimination(folded).nodes] == ["input", "constant", "mul"]


def test_simplify_identities():
    g = Graph()
    x = g.input("x", (2, 3))
    one, zero = g.constant(1.0), g.constant(0.0)
    y = g.op("div", g.op("sub", g.op("add", g.op("mul", one, x), zero), zero), one)
    y = g.op("neg", g.op("neg", y))
    t = g.op("transpose", g.op("transpose", g.op("unsqueeze", y, axes=(0,)), perm=(1, 2, 0)), perm=(0, 2, 1))
    r = g.op("reshape", g.op("reshape", y, shape=(3, 2)), shape=(6,))
    back = g.op("transpose", g.op("transpose", y, perm=(1, 0)), perm=(1, 0))
    widened = g.op("mul", x, g.constant(np.ones((4, 2, 3))))  # shape changes: must stay
    g.set_outputs([t, r, back, widened])
    s = dead_code_elimination(simplify(g))
    ops = [n.op for n in s.nodes]
    assert ops.count("transpose") == 1 and s.node(t).attr("perm") == (1, 0, 2)
    assert s.node(r).op == "reshape" and s.node(r).inputs == (x,)
    assert s.outputs[2] == x
    assert s.node(widened).op == "mul"
    assert "neg" not in ops and "add" not in ops and "div" not in ops and "sub" not in ops
    xv = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    for a, b in zip(run_graph(g, {"x": xv}), run_graph(s, {"x": xv}), strict=True):
        np.testing.assert_array_equal(a, b)


def test_fuse_builds_one_kernel_per_chain_and_keeps_shared_values():
    g = Graph()
    x = g.input("x", (4, 5))
    b = g.input("b", (5,))
    h = g.op("relu", g.op("add", g.op("exp", x), b))
    shared = g.op("tanh", h)  # h has two users: the chain breaks at h
    out1 = g.op("mul", g.op("neg", shared), shared)
    out2 = g.op("sigmoid", h)
    g.set_outputs([out1, out2])
    f = fuse_elementwise(g)
    fused = [n for n in f.nodes if n.op == "fused_elementwise"]
    assert [n.attr("program") for n in fused] == ["exp:$0;add:@,$1;relu:@", "neg:$0;mul:@,$0"]
    assert f.node(h).op == "fused_elementwise"
    feeds = {"x": np.random.default_rng(1).standard_normal((4, 5)).astype(np.float32),
             "b": np.ones(5, np.float32)}
    _assert_same(run_graph(g, feeds), run_graph(f, feeds), bitwise=True)


def test_fused_op_rejects_bad_programs_and_autograd():
    g = Graph()
    x = g.input("x", (3,))
    with pytest.raises(IRError, match="bad argument"):
        g.op("fused_elementwise", x, program="exp:@")
    with pytest.raises(IRError, match="bad step"):
        g.op("fused_elementwise", x, program="matmul:$0,$0")
    y = g.op("fused_elementwise", x, program="exp:$0;neg:@")
    loss = g.op("reduce_sum", y, axes=(0,))
    with pytest.raises(IRError, match="after autograd"):
        training_graph(g, loss, [x])


def test_unknown_pass_name():
    g, _, _ = mlp(layers=1, width=4, batch=2)
    with pytest.raises(IRError, match="unknown pass 'nope'"):
        run_passes(g, ("dce", "nope"))
    assert set(PASSES) == set(ORDER)


def _plan_without_views(g: Graph):
    from dataclasses import replace

    from volta_core.ir import compile_plan, plan_memory

    plan = compile_plan(g)
    return replace(plan, memory=plan_memory(g, list(plan.order), views=False))


@pytest.mark.parametrize("seed", range(40))
def test_executor_views_match_copies_on_random_graphs(seed: int):
    from volta_core.backends.cpu import CpuExecutor
    from volta_core.ir import compile_plan

    rnd = random.Random(1000 + seed)
    g = build_random_graph(lambda n: rnd.randrange(n), max_ops=14)
    feeds = feeds_for(g, seed)
    with np.errstate(all="ignore"):
        viewed = CpuExecutor(compile_plan(g))
        copied = CpuExecutor(_plan_without_views(g))
        for _ in range(2):  # buffers are reused across runs
            _assert_same(copied.run(feeds), viewed.run(feeds), bitwise=True)


def test_views_take_no_buffer_and_keep_their_source_alive():
    from volta_core.backends.cpu import CpuExecutor
    from volta_core.ir import compile_plan

    g = Graph()
    x = g.input("x", (64, 32))
    e = g.op("exp", x)
    t = g.op("transpose", e, perm=(1, 0))  # view of e's buffer
    r = g.op("reshape", t, shape=(-1,))  # not contiguous: must be a real copy
    f = g.op("reshape", e, shape=(32, 64))  # contiguous: a view
    late = g.op("reshape", g.op("tanh", g.op("neg", x)), shape=(32, 64))  # would reuse e's buffer otherwise
    out = g.op("add", g.op("add", g.op("reshape", r, shape=(32, 64)), f), late)
    g.set_outputs([out])
    plan = compile_plan(g)
    assert plan.memory.views == {t: e, f: e, late: late - 1, late + 1: r}
    assert t not in plan.memory.assignment and r in plan.memory.assignment
    # e's buffer is still live when neg/tanh run, so they must not be given it.
    assert plan.memory.assignment[e] not in {plan.memory.assignment[late - 1], plan.memory.assignment[late - 2]}
    ex = CpuExecutor(plan)
    assert len(ex.steps) == len(plan.order) - 1 - len(plan.memory.views)
    xv = np.random.default_rng(0).standard_normal((64, 32)).astype(np.float32)
    ev = np.exp(xv)
    expected = ev.T.reshape(32, 64) + ev.reshape(32, 64) + np.tanh(-xv).reshape(32, 64)
    for _ in range(2):
        np.testing.assert_allclose(ex.run({"x": xv})[0], expected, rtol=1e-6)
