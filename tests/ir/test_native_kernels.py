"""The CPU backend's native kernels (``backends/cpu/_native.c``, chosen by ``native.py``).

Convolutions are checked against PyTorch (an oracle nobody here wrote) and against the
NumPy im2col path they replace, over the geometries the ops allow: padding (also
asymmetric), stride, dilation, groups, inputs with fewer channels than a tile has rows,
output channels that are not a multiple of 16, conv_transpose2d's output_padding, and
the weight-stationary form for few positions and many channels. Max pooling must equal
the NumPy kernels bit for bit. Results must not depend on the thread count.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from volta_core.backends.cpu import native, spatial
from volta_core.ir.graph import Node
from volta_core.ir.ops import conv_geometry, get_op, pool_geometry

ROOT = Path(__file__).resolve().parents[2]
torch = pytest.importorskip("torch")

needs_native = pytest.mark.skipif(
    native._MODULE is None, reason=f"the native kernels cannot run here: {native._WHY_NOT}"
)


class _In:
    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape


def _node(op: str, shape: tuple[int, ...], **attrs: object) -> Node:
    return Node(0, op, (), tuple(sorted(attrs.items())), shape, "f32")


@pytest.fixture
def kernels(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(native.CHOICE_VARIABLE, raising=False)
    yield


def _run(factory: object, node: Node, arrays: list[np.ndarray], mode: str, monkeypatch: pytest.MonkeyPatch) -> np.ndarray:
    monkeypatch.setenv(native.CHOICE_VARIABLE, mode)
    k = factory(node, [_In(a.shape) for a in arrays])  # type: ignore[operator]
    out = np.full(node.shape, np.nan, np.float32)  # every element must be written
    k(tuple(arrays), out)
    return out


# (n, c, h, w, o, kernel, stride, pads (top, left, bottom, right), dilation, groups)
CONVS = [
    (4, 8, 9, 11, 20, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    (3, 1, 12, 12, 17, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),  # one input channel, 17 outputs
    (2, 3, 13, 10, 16, (5, 3), (2, 1), (2, 0, 1, 2), (1, 1), 1),  # asymmetric pads
    (2, 12, 8, 8, 12, (3, 3), (2, 2), (1, 1, 1, 1), (2, 2), 3),  # dilation and groups
    (5, 7, 6, 9, 33, (1, 1), (2, 2), (0, 0, 0, 0), (1, 1), 1),  # 1x1 projection, stride 2
    (2, 40, 2, 2, 70, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),  # few positions: weights stationary
    (1, 64, 3, 3, 96, (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 1),
]


def _torch_conv(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride, pads, dilation, groups):  # type: ignore[no-untyped-def]
    top, left, bottom, right = pads
    xp = torch.nn.functional.pad(torch.from_numpy(x).double(), (left, right, top, bottom))
    return torch.nn.functional.conv2d(xp, torch.from_numpy(w).double(), None if b is None else torch.from_numpy(b).double(),
                                      stride=stride, dilation=dilation, groups=groups)  # fmt: skip


@needs_native
@pytest.mark.parametrize("case", CONVS, ids=[f"conv{i}" for i in range(len(CONVS))])
def test_native_convolutions_match_pytorch_and_the_numpy_path(case: tuple, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[type-arg]
    n, c, h, w, o, kernel, stride, pads, dilation, groups = case
    rng = np.random.default_rng(7)
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    wt = rng.standard_normal((o, c // groups, *kernel)).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    attrs = dict(strides=stride, pads=pads, dilations=dilation, groups=groups)
    # float64 PyTorch on the same float32 inputs: the reference both float32 paths approximate
    xd = torch.from_numpy(x).double().requires_grad_()
    wd = torch.from_numpy(wt).double().requires_grad_()
    top, left, bottom, right = pads
    y = torch.nn.functional.conv2d(torch.nn.functional.pad(xd, (left, right, top, bottom)), wd,
                                   torch.from_numpy(b).double(), stride=stride, dilation=dilation, groups=groups)  # fmt: skip
    dy = rng.standard_normal(tuple(y.shape)).astype(np.float32)
    y.backward(torch.from_numpy(dy).double())
    want = {"y": y.detach().numpy(), "dx": xd.grad.numpy(), "dw": wd.grad.numpy()}
    ho, wo = y.shape[2:]
    out_pad = tuple(int(v) for v in (h - ((ho - 1) * stride[0] - top - bottom + dilation[0] * (kernel[0] - 1) + 1),
                                     w - ((wo - 1) * stride[1] - left - right + dilation[1] * (kernel[1] - 1) + 1)))  # fmt: skip
    runs = {
        "y": (spatial._conv2d, _node("conv2d", tuple(y.shape), **attrs), [x, wt, b]),
        "dx": (spatial._conv_transpose2d, _node("conv_transpose2d", x.shape, output_padding=out_pad, **attrs), [dy, wt]),
        "dw": (spatial._conv2d_weight_grad, _node("conv2d_weight_grad", wt.shape, kernel=kernel, **attrs), [x, dy]),
    }
    for name, (factory, node, arrays) in runs.items():
        got = _run(factory, node, arrays, "native", monkeypatch)
        ref = _run(factory, node, arrays, "numpy", monkeypatch)
        scale = np.abs(want[name]).max()
        assert np.abs(got - want[name]).max() <= 2e-6 * scale * np.sqrt(c * kernel[0] * kernel[1] * n), name
        assert np.abs(got - ref).max() <= 4e-6 * scale * np.sqrt(c * kernel[0] * kernel[1] * n), name


@needs_native
def test_native_convolutions_do_not_depend_on_the_thread_count() -> None:
    mod = native.module()
    rng = np.random.default_rng(3)
    for n, c, h, o in ((6, 16, 10, 24), (2, 48, 2, 64)):  # the gathered and the weight-stationary forms
        x = rng.standard_normal((n, c, h, h)).astype(np.float32)
        w = rng.standard_normal((o, c, 3, 3)).astype(np.float32)
        dy = rng.standard_normal((n, o, h, h)).astype(np.float32)
        geometry = (n, c, h, h, o, h, h, 3, 3, 1, 1, 1, 1, 1, 1, 1)
        back = (n, o, h, h, c, h, h, 3, 3, 1, 1, 1, 1, 1, 1, 1)
        for op, a, b, shape, g in ((0, x, w, dy.shape, geometry), (1, dy, w, x.shape, back), (2, x, dy, w.shape, geometry)):
            results = []
            for threads in (1, 2, 3):
                out = np.empty(shape, np.float32)
                ws = np.empty(mod.workspace_floats(op, g), np.float32)
                mod.conv(op, a, b, None, out, ws, g, threads)
                results.append(out.tobytes())
            assert results[0] == results[1] == results[2], op


POOLS = [
    dict(kernel=(2, 2), strides=(2, 2), pads=(0, 0, 0, 0), dilations=(1, 1), ceil_mode=False),
    dict(kernel=(3, 3), strides=(1, 1), pads=(1, 1, 1, 1), dilations=(1, 1), ceil_mode=False),
    dict(kernel=(3, 3), strides=(2, 2), pads=(1, 1, 1, 1), dilations=(1, 1), ceil_mode=True),
    dict(kernel=(2, 3), strides=(1, 2), pads=(0, 1, 1, 0), dilations=(2, 1), ceil_mode=True),
    dict(kernel=(3, 3), strides=(3, 3), pads=(0, 0, 0, 0), dilations=(1, 1), ceil_mode=False),
]


@needs_native
@pytest.mark.parametrize("attrs", POOLS, ids=[f"pool{i}" for i in range(len(POOLS))])
@pytest.mark.parametrize("width", [11, 41])  # rows shorter than and several times the 8 vector lanes
def test_native_max_pooling_equals_the_numpy_kernels_bit_for_bit(attrs: dict, width: int, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[type-arg]
    rng = np.random.default_rng(width)
    x = rng.standard_normal((3, 4, 9, width)).astype(np.float32)
    x[0, 0, 1, 1] = np.nan
    x[1, 2, 4, 5:9] = np.nan
    x[0, 3, 2, 2:8] = 1.0  # ties: the first tap takes the gradient
    x[2, 2, 3, 3], x[2, 2, 3, 4], x[2, 2, 4, 3] = -0.0, 0.0, -0.0
    _, (ho, wo) = pool_geometry("max_pool2d", x.shape, attrs)
    pooled = (3, 4, ho, wo)
    g = rng.standard_normal(pooled).astype(np.float32)
    g[0, 1, 0, 0] = -0.0
    v = rng.standard_normal(x.shape).astype(np.float32)
    results = {}
    for mode in ("numpy", "native"):
        y = _run(spatial._max_pool2d, _node("max_pool2d", pooled, **attrs), [x], mode, monkeypatch)
        y[:, :, ::2] += 0.5  # the pair is defined for any y: windows all below it route nothing
        dx = _run(spatial._max_pool2d_grad, _node("max_pool2d_grad", x.shape, **attrs), [x, y, g], mode, monkeypatch)
        sel = _run(spatial._max_pool2d_select, _node("max_pool2d_select", pooled, **attrs), [x, y, v], mode, monkeypatch)
        results[mode] = (y.tobytes(), dx.tobytes(), sel.tobytes())
    for name, a, b in zip(("max_pool2d", "max_pool2d_grad", "max_pool2d_select"), results["numpy"], results["native"],
                          strict=True):  # fmt: skip
        assert a == b, name


@needs_native
def test_the_native_kernels_refuse_bad_buffers_with_an_error() -> None:
    mod = native.module()
    g = (1, 2, 4, 4, 3, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1)
    x, w = np.zeros((1, 2, 4, 4), np.float32), np.zeros((3, 2, 3, 3), np.float32)
    out, ws = np.zeros((1, 3, 4, 4), np.float32), np.zeros(mod.workspace_floats(0, g), np.float32)
    with pytest.raises(ValueError, match="workspace"):
        mod.conv(0, x, w, None, out, ws[:10], g, 1)
    with pytest.raises(ValueError, match="x: need"):
        mod.conv(0, x[:, :1], w, None, out, ws, g, 1)
    with pytest.raises(ValueError, match="geometry"):
        mod.conv(0, x, w, None, out, ws, g[:15], 1)
    with pytest.raises(ValueError, match="groups"):
        mod.conv(0, x, w, None, out, ws, (*g[:15], 2), 1)
    with pytest.raises(ValueError, match="not C-contiguous"):
        mod.conv(0, x, w, None, out[:, :, ::2], ws, g, 1)


@needs_native
def test_the_memory_plan_sizes_the_native_workspace(kernels: None) -> None:
    x, w, y = (8, 16, 10, 10), (32, 16, 3, 3), (8, 32, 10, 10)
    attrs = {"strides": (1, 1), "pads": (1, 1, 1, 1), "dilations": (1, 1), "groups": 1}
    opdef = get_op("conv2d")
    got = opdef.workspace_bytes([(x, "f32"), (w, "f32")], tuple(attrs.items()), (y, "f32"), "cpu")
    assert got == native.workspace_bytes("conv2d", conv_geometry("conv2d", (x, w), y, attrs))
    # float64 keeps the NumPy path and its im2col columns
    f64 = opdef.workspace_bytes([(x, "f64"), (w, "f64")], tuple(attrs.items()), (y, "f64"), "cpu")
    assert f64 == (16 * 9 * 8 * 100 + 32 * 8 * 100) * 8


def test_the_kernel_choice_is_explicit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "_MODULE", object())  # as if built, wherever this runs
    monkeypatch.setenv(native.CHOICE_VARIABLE, "numpy")
    assert not native.runs_native("f32")
    assert native.describe() == "NumPy im2col (VOLTA_CPU_KERNELS=numpy)"
    monkeypatch.setenv(native.CHOICE_VARIABLE, "fast")
    with pytest.raises(native.ConvChoiceError, match="expected one of native, numpy") as err:
        native.choice()
    assert err.value.code == "E0628"
    monkeypatch.setattr(native, "_MODULE", None)
    monkeypatch.setattr(native, "_WHY_NOT", "not built (test)")
    monkeypatch.setenv(native.CHOICE_VARIABLE, "native")
    with pytest.raises(native.ConvChoiceError, match="native CPU kernels are not built"):
        native.choice()
    monkeypatch.delenv(native.CHOICE_VARIABLE)
    assert not native.runs_native("f32")  # unset: NumPy where the native kernels cannot run
    assert native.describe() == "NumPy im2col (native kernels not built (test))"


def test_a_bad_kernel_choice_is_a_diagnostic_not_a_traceback(tmp_path: Path) -> None:
    np.savez(tmp_path / "in.npz", x=np.zeros((2, 1, 6, 6), np.uint8))
    program = tmp_path / "c.vt"
    program.write_text(
        "model m\n    input image 1 6 6\n    layer conv 2 3 pad same\n    layer flatten\n    layer dense 2\n"
        '    loss cross_entropy\ninfer m on "in.npz" as "out.csv"\n',
        encoding="utf-8",
    )
    env = {**os.environ, native.CHOICE_VARIABLE: "fastest"}
    proc = subprocess.run([sys.executable, "-m", "volta_core", "run", str(program)], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)  # fmt: skip
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text
    assert proc.returncode != 0 and "E0628" in text and "VOLTA_CPU_KERNELS='fastest'" in text, text
    assert not (tmp_path / "out.csv").exists()


def _values(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Random float32 values with the awkward ones mixed in: NaN, ±inf, ±0.0, subnormals."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape).astype(np.float32)
    flat = a.reshape(-1)
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -3e-39, 1.0], np.float32)
    at = rng.integers(0, flat.size, 64 * specials.size)
    flat[at] = np.repeat(specials, 64)
    return a


def _f32(shape: tuple[int, ...], dtype: str = "f32", op: str = "input") -> Node:
    return Node(0, op, (), (), shape, dtype)


@needs_native
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
@pytest.mark.parametrize("shapes", [
    ((4, 8, 32, 64), (4, 8, 32, 64)),
    ((4, 8, 32, 64), (1, 8, 1, 1)),
    ((1, 8, 1, 1), (4, 8, 32, 64)),
    ((4, 8, 32, 64), ()),
    ((), (4, 8, 32, 64)),
    ((4, 8, 32, 64), (8, 32, 64)),
], ids=["same", "channel", "channel-first", "scalar", "scalar-first", "trailing"])
def test_native_elementwise_arithmetic_equals_numpy_bit_for_bit(op: str, shapes: tuple, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[type-arg]
    from volta_core.backends.cpu.kernels import KERNELS

    out_shape = np.broadcast_shapes(*shapes)
    a, b = _values(shapes[0], 1), _values(shapes[1], 2)
    node = _f32(out_shape, op=op)
    got = {}
    for mode in ("numpy", "native"):
        monkeypatch.setenv(native.CHOICE_VARIABLE, mode)
        k = KERNELS[op](node, [_f32(shapes[0]), _f32(shapes[1])])
        out = np.empty(out_shape, np.float32)
        k((a, b), out)
        got[mode] = out.tobytes()
    assert got["numpy"] == got["native"]


@needs_native
def test_native_relu_mask_compare_and_batchnorm_equal_numpy_bit_for_bit(monkeypatch: pytest.MonkeyPatch) -> None:
    from volta_core.backends.cpu.kernels import KERNELS

    shape = (4, 8, 32, 64)
    x, g = _values(shape, 3), _values(shape, 4)
    zero = Node(1, "constant", (), (("value", 0.0),), (), "f32")
    cases = {
        "relu": (KERNELS["relu"], _f32(shape, op="relu"), [_f32(shape)], (x,), np.float32),
        "where": (KERNELS["where"], _f32(shape, op="where"), [_f32(shape, "bool"), _f32(shape), zero],
                  (x > 0, g, np.zeros((), np.float32)), np.float32),
        **{f"compare {c}": (KERNELS["compare"], Node(0, "compare", (), (("cmp", c),), shape, "bool"),
                            [_f32(shape), _f32(())], (x, np.float32(0.25)), np.bool_) for c in ("lt", "gt", "eq")},
    }
    for name, (factory, node, ins, arrays, dt) in cases.items():
        got = {}
        for mode in ("numpy", "native"):
            monkeypatch.setenv(native.CHOICE_VARIABLE, mode)
            out = np.empty(shape, dt)
            factory(node, ins)(arrays, out)
            got[mode] = out.tobytes()
        assert got["numpy"] == got["native"], name
    rng = np.random.default_rng(5)
    params = [rng.standard_normal(8).astype(np.float32) for _ in range(4)]
    params[3] = np.abs(params[3])
    bn = Node(0, "batchnorm", (), (("eps", 1e-5), ("momentum", 0.1)), shape, "f32")
    got = {}
    for mode in ("numpy", "native"):
        monkeypatch.setenv(native.CHOICE_VARIABLE, mode)
        out = np.empty(shape, np.float32)
        spatial._batchnorm(bn, [_f32(shape)] + [_f32((8,))] * 4)((x, *params), out)
        got[mode] = out.tobytes()
    assert got["numpy"] == got["native"], "batchnorm"


def test_operand_layouts() -> None:
    out = (2, 3, 4, 5)
    assert native.operand_layout(out, out) == (1, 0)
    assert native.operand_layout((), out) == (120, 1)
    assert native.operand_layout((1, 3, 1, 1), out) == (20, 3)
    assert native.operand_layout((3, 4, 5), out) == (1, 60)
    assert native.operand_layout((3, 1, 1), out) == (20, 3)
    assert native.operand_layout((2, 1, 4, 1), out) is None  # two separate broadcast axes
    assert native.operand_layout((1, 3, 1, 5), out) is None
