"""The CPU backend's vectorised erf (fdlibm ``s_erf.c`` in float64 NumPy).

* float64: within 1 ulp (and ≤ 2e-16 absolute) of ``math.erf`` over 1e6 points
  spanning [-10, 10], a dense sample of the busy region, and special values.
* float32: the kernel's result equals ``np.float32(math.erf(float64(x)))``.
  A mismatch could only come from double rounding (our float64 value one ulp
  from ``math.erf``'s across a float32 rounding midpoint); none occur here.
* Bitwise identical from run to run, and the coefficients have fdlibm's bits.
"""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from volta_core.backends.cpu import erf as erf_mod
from volta_core.backends.cpu.erf import erf
from volta_core.ir import Graph

from .helpers import run_graph

_BOUNDARIES = (0.84375, 1.25, 1 / 0.35, 6.0, 2.0**-28, 2.0**-1014)


def _special() -> np.ndarray:
    tiny = [5e-324, 2.2250738585072014e-308, 1e-300, 2.0**-28, 2.0**-1014, 1e-10]
    pts = [0.0, 1.0, 28.0, 1e300, 1.7976931348623157e308, *tiny]
    for b in _BOUNDARIES:
        pts += [b, np.nextafter(b, 0.0), np.nextafter(b, np.inf)]
    # The 1/0.35 split is on the high word: straddle the exact boundary too.
    hi = struct.unpack("<d", struct.pack("<Q", 0x4006DB6E << 32))[0]
    pts += [hi, np.nextafter(hi, 0.0)]
    arr = np.array(pts, dtype=np.float64)
    return np.concatenate([arr, -arr])


def _reference(x: np.ndarray) -> np.ndarray:
    return np.array([math.erf(v) for v in x.tolist()], dtype=np.float64)


def _ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    def key(v: np.ndarray) -> np.ndarray:
        i = v.view(np.int64)
        return np.where(i < 0, np.int64(-(2**63)) - i, i)  # monotone integer order, -0 == +0

    return np.abs(key(a) - key(b))


def test_float64_matches_math_erf() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([np.linspace(-10.0, 10.0, 1_000_001), rng.uniform(-6.0, 6.0, 200_000), _special()])
    got = erf(x)
    ref = _reference(x)
    assert got.dtype == np.float64 and got.shape == x.shape
    assert np.abs(got - ref).max() <= 2e-16
    assert _ulps(got, ref).max() <= 1


def test_special_values() -> None:
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 6.0, -6.0, 5e-324, -5e-324])
    got = erf(x)
    assert got[0] == 0.0 and not np.signbit(got[0])
    assert got[1] == 0.0 and np.signbit(got[1])
    assert got[2] == 1.0 and got[3] == -1.0
    assert np.isnan(got[4])
    assert got[5] == 1.0 and got[6] == -1.0
    assert got[7] == math.erf(5e-324) and got[8] == math.erf(-5e-324)


def test_float32_kernel_matches_rounded_math_erf() -> None:
    rng = np.random.default_rng(1)
    x32 = np.concatenate([
        rng.standard_normal(200_000).astype(np.float32) * np.float32(2.0),
        np.linspace(-7.0, 7.0, 300_001, dtype=np.float32),
        _special()[np.abs(_special()) < 3e38].astype(np.float32),
        np.array([np.inf, -np.inf, 0.0, -0.0], dtype=np.float32),
    ])
    g = Graph()
    xi = g.input("x", x32.shape, "f32")
    g.set_outputs([g.op("erf", xi)])
    got = run_graph(g, {"x": x32})[0]
    assert got.dtype == np.float32
    want = np.array([np.float32(math.erf(float(v))) for v in x32.tolist()], dtype=np.float32)
    double_rounding = int(np.count_nonzero(got.view(np.int32) != want.view(np.int32)))
    assert double_rounding == 0


def test_gelu_exact_uses_vectorised_erf() -> None:
    x32 = np.random.default_rng(2).standard_normal((4, 8, 16)).astype(np.float32) * np.float32(3.0)
    g = Graph()
    xi = g.input("x", x32.shape, "f32")
    g.set_outputs([g.op("gelu", xi)])
    got = run_graph(g, {"x": x32})[0]
    # The previous definition: erf of (x/sqrt2 in float32) per element via math.erf.
    u = (x32 / np.float32(math.sqrt(2.0))).astype(np.float32)
    e = np.array([math.erf(float(v)) for v in u.ravel().tolist()]).astype(np.float32).reshape(u.shape)
    want = ((e + np.float32(1.0)) * x32) * np.float32(0.5)
    np.testing.assert_array_equal(got, want)


def test_run_to_run_bitwise_identical() -> None:
    x = np.random.default_rng(3).uniform(-8.0, 8.0, 100_003)
    first = erf(x)
    for _ in range(3):
        assert np.array_equal(erf(x.copy()).view(np.int64), first.view(np.int64))
    # Order of the elements does not matter either: each is computed independently.
    perm = np.random.default_rng(4).permutation(x.size)
    assert np.array_equal(erf(x[perm]).view(np.int64), first[perm].view(np.int64))
    # Shape, strides and the one-region fast path give the same bits.
    small = x[np.abs(x) < 0.5]
    assert np.array_equal(erf(small).view(np.int64), erf(np.concatenate([small, [3.0]]))[:-1].view(np.int64))
    assert np.array_equal(erf(x[::2]), first[::2])


# fdlibm s_erf.c bit patterns (high word, low word).
_BITS = {
    "_ERX": (0x3FEB0AC1, 0x60000000), "_EFX": (0x3FC06EBA, 0x8214DB69), "_EFX8": (0x3FF06EBA, 0x8214DB69),
    "_PP0": (0x3FC06EBA, 0x8214DB68), "_PP1": (0xBFD4CD7D, 0x691CB913), "_PP2": (0xBF9D2A51, 0xDBD7194F),
    "_PP3": (0xBF77A291, 0x236668E4), "_PP4": (0xBEF8EAD6, 0x120016AC),
    "_QQ1": (0x3FD97779, 0xCDDADC09), "_QQ2": (0x3FB0A54C, 0x5536CEBA), "_QQ3": (0x3F74D022, 0xC4D36B0F),
    "_QQ4": (0x3F215DC9, 0x221C1A10), "_QQ5": (0xBED09C43, 0x42A26120),
    "_PA0": (0xBF6359B8, 0xBEF77538), "_PA1": (0x3FDA8D00, 0xAD92B34D), "_PA2": (0xBFD7D240, 0xFBB8C3F1),
    "_PA3": (0x3FD45FCA, 0x805120E4), "_PA4": (0xBFBC6398, 0x3D3E28EC), "_PA5": (0x3FA22A36, 0x599795EB),
    "_PA6": (0xBF61BF38, 0x0A96073F),
    "_QA1": (0x3FBB3E66, 0x18EEE323), "_QA2": (0x3FE14AF0, 0x92EB6F33), "_QA3": (0x3FB2635C, 0xD99FE9A7),
    "_QA4": (0x3FC02660, 0xE763351F), "_QA5": (0x3F8BEDC2, 0x6B51DD1C), "_QA6": (0x3F888B54, 0x5735151D),
    "_RA0": (0xBF843412, 0x600D6435), "_RA1": (0xBFE63416, 0xE4BA7360), "_RA2": (0xC0251E04, 0x41B0E726),
    "_RA3": (0xC04F300A, 0xE4CBA38D), "_RA4": (0xC0644CB1, 0x84282266), "_RA5": (0xC067135C, 0xEBCCABB2),
    "_RA6": (0xC0545265, 0x57E4D2F2), "_RA7": (0xC023A0EF, 0xC69AC25C),
    "_SA1": (0x4033A6B9, 0xBD707687), "_SA2": (0x4061350C, 0x526AE721), "_SA3": (0x407B290D, 0xD58A1A71),
    "_SA4": (0x40842B19, 0x21EC2868), "_SA5": (0x407AD021, 0x57700314), "_SA6": (0x405B28A3, 0xEE48AE2C),
    "_SA7": (0x401A47EF, 0x8E484A93), "_SA8": (0xBFAEEFF2, 0xEE749A62),
    "_RB0": (0xBF843412, 0x39E86F4A), "_RB1": (0xBFE993BA, 0x70C285DE), "_RB2": (0xC031C209, 0x555F995A),
    "_RB3": (0xC064145D, 0x43C5ED98), "_RB4": (0xC083EC88, 0x1375F228), "_RB5": (0xC0900461, 0x6A2E5992),
    "_RB6": (0xC07E384E, 0x9BDC383F),
    "_SB1": (0x403E568B, 0x261D5190), "_SB2": (0x40745CAE, 0x221B9F0A), "_SB3": (0x409802EB, 0x189D5118),
    "_SB4": (0x40A8FFB7, 0x688C246A), "_SB5": (0x40A3F219, 0xCEDF3BE6), "_SB6": (0x407DA874, 0xE79FE763),
    "_SB7": (0xC03670E2, 0x42712D62),
}


@pytest.mark.parametrize("name", sorted(_BITS))
def test_coefficients_have_fdlibm_bits(name: str) -> None:
    hi, lo = _BITS[name]
    value = getattr(erf_mod, name)
    assert struct.unpack("<Q", struct.pack("<d", value))[0] == (hi << 32) | lo
