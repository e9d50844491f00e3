"""Which kernels the CPU backend runs for float32 images: the native ones, or NumPy's.

``_native`` (``_native.c``, built by ``pip install``) holds float32 kernels for
x86-64 CPUs with AVX2 and FMA: conv2d, conv_transpose2d and conv2d_weight_grad
as direct convolutions with no im2col copy; max pooling and its gradients; and
the elementwise operations of a CNN's step (channel-broadcast arithmetic, ReLU
and its mask, batchnorm's scale and shift), split over threads. The NumPy
kernels in :mod:`spatial` and :mod:`kernels` stay for every other case
(float64, another CPU, an install without a C compiler) and are the reference
the tests compare the native kernels with.

Pooling and the elementwise kernels give NumPy's results bit for bit. The
convolutions do not: they sum in their own order. So which kernels ran is part
of what a run is: ``volta doctor`` shows it, run records keep it and ``volta
verify`` names it when a record was made with the other. ``VOLTA_CPU_KERNELS``
chooses: ``native``, ``numpy``, or unset for native where available. Asking for
``native`` where it is not available is an error, never a quiet switch.
"""

from __future__ import annotations

import ctypes
import importlib
import math
import os
from collections.abc import Callable
from types import ModuleType

from volta_core.backends.cpu.blas import configured_threads, numpy_openblas, openblas_threads
from volta_core.errors import VoltaError

#: The variable that chooses the CPU kernels (``native`` or ``numpy``).
CHOICE_VARIABLE = "VOLTA_CPU_KERNELS"
CHOICES = ("native", "numpy")

#: The most taps (kernel height x width) a native kernel takes.
MAX_TAPS = 1024


def _load() -> tuple[ModuleType | None, str, str]:
    """(the module or None, why not, whose threads it runs on)."""
    try:  # the compiled module is optional: loaded by name, so that its absence is an answer
        _native = importlib.import_module("volta_core.backends.cpu._native")
    except ImportError as exc:
        return None, f"not built ({exc}); reinstall with a C compiler on x86-64", ""
    if not _native.supported():
        return None, "this CPU has no AVX2+FMA", ""
    # One pool for matrix products and convolutions: OpenBLAS's idle workers spin for ~0.1 s
    # after every product, so threads of our own would share the cores with them (a
    # convolution right after a matmul ran 2-3x slower, docs/performance.md).
    lib = numpy_openblas()
    runner = getattr(lib, "gotoblas_pthread", None) if lib is not None else None
    if lib is None or runner is None:
        return _native, "", "its own threads"
    _native.use_blas_threads(ctypes.cast(runner, ctypes.c_void_p).value or 0, openblas_threads(lib))
    return _native, "", "OpenBLAS's threads"


_MODULE, _WHY_NOT, _POOL = _load()


class ConvChoiceError(VoltaError):
    """``VOLTA_CPU_KERNELS`` asks for kernels this install cannot run (E0628)."""

    default_code = "E0628"


def choice() -> str:
    """``native`` or ``numpy``: what ``VOLTA_CPU_KERNELS`` asks for, else native where available."""
    asked = os.environ.get(CHOICE_VARIABLE, "").strip().lower()
    if asked and asked not in CHOICES:
        raise ConvChoiceError(f"{CHOICE_VARIABLE}={asked!r}: expected one of {', '.join(CHOICES)}",
                              help=f"unset {CHOICE_VARIABLE} to run the native kernels where they are available")
    if asked == "native" and _MODULE is None:
        raise ConvChoiceError(f"{CHOICE_VARIABLE}=native, but the native CPU kernels are {_WHY_NOT}",
                              help=f"set {CHOICE_VARIABLE}=numpy, or unset it, to run NumPy's")
    if asked:
        return asked
    return "native" if _MODULE is not None else "numpy"


def runs_native(dtype: str) -> bool:
    """Whether ops of IR dtype ``dtype`` run the native kernels (``f32`` only)."""
    return dtype == "f32" and choice() == "native"


def describe() -> str:
    """One line for doctor and run records, e.g. ``native (AVX2+FMA, float32)``."""
    try:
        picked = choice()
    except ConvChoiceError as exc:
        return f"error: {exc.message}"
    if picked == "native":
        return f"native (AVX2+FMA, float32, on {_POOL}; float64 on NumPy im2col)"
    if _MODULE is None:
        return f"NumPy im2col (native kernels {_WHY_NOT})"
    return f"NumPy im2col ({CHOICE_VARIABLE}=numpy)"


def module() -> ModuleType:
    """The loaded ``_native`` module (only after :func:`runs_native` said yes)."""
    if _MODULE is None:  # pragma: no cover - guarded by runs_native
        raise ConvChoiceError(f"the native CPU kernels are {_WHY_NOT}")
    return _MODULE


#: op name → op code of ``_native.conv``
OPS = {"conv2d": 0, "conv_transpose2d": 1, "conv2d_weight_grad": 2}


#: op name → op code of ``_native.pool``
POOLS = {"max_pool2d": 0, "max_pool2d_grad": 1, "max_pool2d_select": 2}


def workspace_bytes(op: str, geometry: tuple[int, ...]) -> int:
    """Scratch bytes the native kernel of ``op`` needs for ``geometry`` (``ir.ops.conv_geometry``)."""
    return 4 * int(module().workspace_floats(OPS[op], geometry))


#: op codes of ``_native.elementwise``
ELEMENTWISE = {"add": 0, "sub": 1, "mul": 2, "div": 3, "maximum": 4, "affine": 5, "where0": 6, "lt": 7, "gt": 8,
               "eq": 9}
#: Elementwise ops smaller than this stay with NumPy (a call's fixed cost would outweigh the gain).
ELEMENTWISE_MIN = 1 << 16


def operand_layout(shape: tuple[int, ...], out: tuple[int, ...]) -> tuple[int, int] | None:
    """How an operand of ``shape`` broadcasts to ``out`` as ``_native.elementwise`` reads it:
    ``(1, 0)`` the whole array, ``(inner, mid)`` one value per run of ``inner`` elements cycling
    through ``mid`` values (a [1, C, 1, 1] channel vector: H*W, C; a scalar: size, 1), or
    None for any other broadcast."""
    size = math.prod(out)
    if tuple(shape) == tuple(out):
        return 1, 0
    if math.prod(shape) == 1:
        return max(size, 1), 1
    padded = (1,) * (len(out) - len(shape)) + tuple(shape)
    if len(padded) != len(out):
        return None
    kept = [a for a, d in enumerate(padded) if d != 1]
    if any(padded[a] != out[a] for a in kept) or kept != list(range(kept[0], kept[-1] + 1)):
        return None
    return math.prod(out[kept[-1] + 1:]), math.prod(out[kept[0]:kept[-1] + 1])


Layout = tuple[int, int]
ElementwiseCall = tuple[Callable[..., None], int, Layout, Layout, int]
ChannelCall = tuple[Callable[..., None], tuple[int, int, int], int]


def elementwise(op: str, out_shape: tuple[int, ...], dtypes: tuple[str, ...],
                shapes: tuple[tuple[int, ...], ...], small: bool = False) -> ElementwiseCall | None:
    """The native call for ``op`` on operands of ``shapes`` (a, then b), or None to stay with
    NumPy: ``(function, code, a layout, b layout, threads)``. ``small``: also below
    ``ELEMENTWISE_MIN`` (batchnorm's per-channel affine: NumPy's broadcast over short rows,
    [8, 512, 2, 2], is slow at any size)."""
    if (math.prod(out_shape) < ELEMENTWISE_MIN and not small) or any(d != "f32" for d in dtypes) \
            or choice() != "native":
        return None
    layouts = [lay for lay in (operand_layout(s, out_shape) for s in shapes) if lay is not None]
    if len(layouts) < len(shapes):
        return None
    b = layouts[1] if len(layouts) > 1 else (1, 0)
    return module().elementwise, ELEMENTWISE[op], layouts[0], b, configured_threads()


def channel_layout(shape: tuple[int, ...], reduced: tuple[int, ...]) -> tuple[int, int, int] | None:
    """``(outer, mid, inner)`` when reducing ``shape`` over ``reduced`` keeps one contiguous
    block of axes (NCHW over (0, 2, 3): N, C, H*W; [N, F] over (0,): N, F, 1), else None."""
    rank = len(shape)
    kept = [a for a in range(rank) if a not in {r % rank for r in reduced}]
    if not kept or kept != list(range(kept[0], kept[-1] + 1)):
        return None
    return math.prod(shape[: kept[0]]), math.prod(shape[kept[0]: kept[-1] + 1]), math.prod(shape[kept[-1] + 1:])


def channel_sums(shape: tuple[int, ...], reduced: tuple[int, ...], dtype: str) -> ChannelCall | None:
    """The native per-channel reduction of ``shape`` over ``reduced`` (sums in double, so not
    NumPy's bits; deterministic): ``(function, layout, threads)``, or None to stay with NumPy."""
    if dtype != "f32" or math.prod(shape) < ELEMENTWISE_MIN or choice() != "native":
        return None
    layout = channel_layout(shape, reduced)
    return None if layout is None else (module().channel_sums, layout, configured_threads())
