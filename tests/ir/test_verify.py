"""One test per verifier rule; every message shows the offending node."""

from __future__ import annotations

import pytest

from volta_core.ir import Graph, Node, VerifyError, verify


def _base() -> Graph:
    g = Graph()
    a = g.input("a", (2, 3))
    b = g.input("b", (3,))
    g.set_outputs([g.op("add", a, b)])
    return g


def _with(node: Node) -> Graph:
    g = _base()
    g.append(node)
    return g


def test_valid_graph_passes():
    verify(_base())


def test_duplicate_id_is_ssa_violation():
    g = _base()
    g.nodes.append(Node(2, "neg", (0,), (), (2, 3), "f32"))
    with pytest.raises(VerifyError, match=r"defined twice\n  at: %2 = neg %0 : f32\[2, 3\]"):
        verify(g)


def test_use_before_def():
    g = Graph()
    g.append(Node(0, "input", (), (("dtype", "f32"), ("name", "a"), ("shape", (2,))), (2,), "f32"))
    g.append(Node(1, "neg", (2,), (), (2,), "f32"))
    g.append(Node(2, "neg", (0,), (), (2,), "f32"))
    with pytest.raises(VerifyError, match=r"input %2 is used before its definition\n  at: %1 = neg %2"):
        verify(g)


def test_undefined_input():
    with pytest.raises(VerifyError, match="input %9 is never defined"):
        verify(_with(Node(3, "neg", (9,), (), (2, 3), "f32")))


def test_unknown_op():
    with pytest.raises(VerifyError, match="unknown op 'frobnicate'"):
        verify(_with(Node(3, "frobnicate", (2,), (), (2, 3), "f32")))


def test_arity():
    with pytest.raises(VerifyError, match=r"add takes 2 input\(s\), got 1\n  at: %3 = add %2"):
        verify(_with(Node(3, "add", (2,), (), (2, 3), "f32")))


def test_invalid_attribute_value():
    with pytest.raises(VerifyError, match="invalid attributes: leaky_relu: attribute 'alpha' must be a number"):
        verify(_with(Node(3, "leaky_relu", (2,), (("alpha", "x"),), (2, 3), "f32")))


def test_unknown_attribute():
    with pytest.raises(VerifyError, match="unknown attribute"):
        verify(_with(Node(3, "relu", (2,), (("alpha", 1.0),), (2, 3), "f32")))


def test_non_canonical_attributes():
    node = Node(3, "reduce_sum", (2,), (("keepdims", False), ("axes", (0,))), (3,), "f32")
    with pytest.raises(VerifyError, match="canonical"):
        verify(_with(node))


def test_shape_mismatch():
    with pytest.raises(VerifyError, match=r"recorded type f32\[3, 2\] differs from inferred f32\[2, 3\]"):
        verify(_with(Node(3, "neg", (2,), (), (3, 2), "f32")))


def test_dtype_mismatch():
    with pytest.raises(VerifyError, match=r"recorded type f64\[2, 3\] differs from inferred f32"):
        verify(_with(Node(3, "neg", (2,), (), (2, 3), "f64")))


def test_shape_rule_failure():
    g = _base()
    g.append(Node(3, "input", (), (("dtype", "f32"), ("name", "c"), ("shape", (4,))), (4,), "f32"))
    g.append(Node(4, "add", (2, 3), (), (2, 4), "f32"))
    with pytest.raises(VerifyError, match=r"shape rule failed: add: cannot broadcast shapes \[2, 3\] and \[4\]"):
        verify(g)


def test_undefined_output():
    g = _base()
    g.outputs = [42]
    with pytest.raises(VerifyError, match="graph output %42 is not defined"):
        verify(g)


def test_duplicate_input_names():
    g = _base()
    g.input("a", (1,))
    with pytest.raises(VerifyError, match="duplicate input/parameter names: a"):
        verify(g)
