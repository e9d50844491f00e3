"""Shape inference edge cases for NumPy broadcasting (rules in docs/broadcasting.md)."""

from __future__ import annotations

import numpy as np
import pytest

from volta_core.ir import Graph, ShapeError, broadcast_shapes

OK = [
    ((), (), ()),
    ((), (3,), (3,)),
    ((3,), (), (3,)),
    ((1,), (5,), (5,)),
    ((4, 3), (3,), (4, 3)),
    ((4, 1), (3,), (4, 3)),
    ((2, 1, 4), (3, 1), (2, 3, 4)),
    ((1, 1, 1), (2, 3), (1, 2, 3)),
    ((0,), (1,), (0,)),
    ((0, 3), (3,), (0, 3)),
    ((2, 0), (1, 1), (2, 0)),
    ((5, 1, 1), (1, 6, 1), (5, 6, 1)),
    ((1,), (1,), (1,)),
    ((8, 1, 6, 1), (7, 1, 5), (8, 7, 6, 5)),
    ((3, 4), (3, 4), (3, 4)),
]

BAD = [
    ((3,), (4,), "axis -1 has sizes 3 and 4"),
    ((2, 3), (3, 2), "axis -1 has sizes 2 and 3"),
    ((4, 3), (4,), "axis -1 has sizes 3 and 4"),
    ((0,), (2,), "axis -1 has sizes 0 and 2"),
    ((2, 2, 3), (4, 3), "axis -2 has sizes 2 and 4"),
    ((5, 2), (3, 5, 3), "axis -1 has sizes 2 and 3"),
    ((-1, 2), (2,), "invalid shape [-1, 2]"),
]


@pytest.mark.parametrize(("a", "b", "want"), OK, ids=lambda v: str(v))
def test_broadcast_ok_and_agrees_with_numpy(a, b, want):
    assert broadcast_shapes(a, b) == want
    assert np.broadcast_shapes(a, b) == want
    g = Graph()
    assert g.node(g.op("add", g.input("a", a), g.input("b", b))).shape == want


@pytest.mark.parametrize(("a", "b", "fragment"), BAD, ids=lambda v: str(v))
def test_broadcast_errors_name_both_shapes(a, b, fragment):
    with pytest.raises(ShapeError) as err:
        broadcast_shapes(a, b)
    msg = str(err.value)
    assert fragment in msg
    if "invalid" not in fragment:
        assert f"[{', '.join(map(str, a))}]" in msg and f"[{', '.join(map(str, b))}]" in msg
        with pytest.raises(ValueError):
            np.broadcast_shapes(a, b)


def test_error_through_graph_names_op_and_shapes():
    g = Graph()
    with pytest.raises(ShapeError, match=r"mul: cannot broadcast shapes \[2, 3\] and \[4\]"):
        g.op("mul", g.input("a", (2, 3)), g.input("b", (4,)))


def test_three_way_broadcast_in_where_names_all_shapes():
    g = Graph()
    c = g.input("c", (2, 1), "bool")
    with pytest.raises(ShapeError, match=r"\[2, 1\] and \[3\] and \[4\]"):
        g.op("where", c, g.input("a", (3,)), g.input("b", (4,)))


@pytest.mark.parametrize(
    ("op", "shape", "attrs", "fragment"),
    [
        ("reshape", (2, 6), {"shape": (5, -1)}, "reshape [2, 6] to [5, -1]"),
        ("reshape", (2, 6), {"shape": (-1, -1)}, "at most one -1"),
        ("reshape", (2, 6), {"shape": (4, 4)}, "element counts differ (12 vs 16)"),
        ("broadcast_to", (3, 2), {"shape": (3, 4)}, "cannot broadcast [3, 2] to [3, 4]"),
        ("broadcast_to", (2, 3), {"shape": (3,)}, "cannot broadcast [2, 3] to [3]"),
        ("transpose", (2, 3), {"perm": (0, 0)}, "not a permutation of the axes of [2, 3]"),
        ("reduce_sum", (2, 3), {"axes": (2,)}, "axis 2 is out of range for shape [2, 3]"),
        ("reduce_sum", (2, 3), {"axes": (0, -2)}, "repeated axis"),
        ("reduce_max", (0, 3), {"axes": (0,)}, "empty axis 0"),
        ("softmax", (), {}, "out of range for shape []"),
    ],
)
def test_other_shape_rules_name_shapes(op, shape, attrs, fragment):
    g = Graph()
    with pytest.raises(ShapeError) as err:
        g.op(op, g.input("x", shape), **attrs)
    assert fragment in str(err.value)


def test_reshape_infers_minus_one_and_matmul_batches():
    g = Graph()
    assert g.node(g.op("reshape", g.input("x", (2, 3, 4)), shape=(-1, 4))).shape == (6, 4)
    m = g.op("matmul", g.input("a", (5, 1, 2, 3)), g.input("b", (4, 3, 7)))
    assert g.node(m).shape == (5, 4, 2, 7)
    with pytest.raises(ShapeError, match=r"matmul: inner dimensions differ: \[2, 3\] @ \[2, 3\]"):
        g.op("matmul", g.input("c", (2, 3)), g.input("d", (2, 3)))
    with pytest.raises(ShapeError, match=r"rank >= 2, got \[3\] and \[3, 2\]"):
        g.op("matmul", g.input("e", (3,)), g.input("f", (3, 2)))
