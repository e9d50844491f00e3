"""Vectorised, deterministic ``erf`` for the NumPy backend.

NumPy has no ``erf`` ufunc. This is the fdlibm (Sun ``s_erf.c``) algorithm
evaluated in float64 with NumPy elementwise operations only: no reductions,
no threading, and every polynomial in the same Horner order as the C source,
so the result is bit-for-bit reproducible from run to run. The coefficients
are the public-domain fdlibm constants (their bit patterns are checked in
``tests/ir/test_erf.py``).

Regions, by the high 32 bits ``ix`` of ``|x|`` (as in the C source):

* ``|x| < 2**-28``: ``x + efx*x`` (scaled below ``2**-1014`` to avoid underflow);
* ``|x| < 0.84375``: ``x + x*P(x*x)/Q(x*x)``;
* ``|x| < 1.25``: ``±(erx + P(s)/Q(s))`` with ``s = |x| - 1``;
* ``|x| < 1/0.35`` and ``|x| < 6``: ``±(1 - exp(-z*z - 0.5625) * exp((z-x)(z+x) + R(s)/S(s)) / |x|)``
  with ``s = 1/x**2`` and ``z`` = ``|x|`` with its low 32 bits cleared (two coefficient sets);
* ``|x| >= 6``: ``±1``; ``erf(nan) = nan``.

Against ``math.erf`` (which is fdlibm-derived in common C libraries) it agrees
to within one float64 ulp; the only differences come from NumPy's ``exp``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["erf"]

_ERX = 8.45062911510467529297e-01
_EFX = 1.28379167095512586316e-01
_EFX8 = 1.02703333676410069053e+00
# erf on [0, 0.84375]
_PP0 = 1.28379167095512558561e-01
_PP1 = -3.25042107247001499370e-01
_PP2 = -2.84817495755985104766e-02
_PP3 = -5.77027029648944159157e-03
_PP4 = -2.37630166566501626084e-05
_QQ1 = 3.97917223959155352819e-01
_QQ2 = 6.50222499887672944485e-02
_QQ3 = 5.08130628187576562776e-03
_QQ4 = 1.32494738004321644526e-04
_QQ5 = -3.96022827877536812320e-06
# erf on [0.84375, 1.25]
_PA0 = -2.36211856075265944077e-03
_PA1 = 4.14856118683748331666e-01
_PA2 = -3.72207876035701323847e-01
_PA3 = 3.18346619901161753674e-01
_PA4 = -1.10894694282396677476e-01
_PA5 = 3.54783043256182359371e-02
_PA6 = -2.16637559486879084300e-03
_QA1 = 1.06420880400844228286e-01
_QA2 = 5.40397917702171048937e-01
_QA3 = 7.18286544141962662868e-02
_QA4 = 1.26171219808761642112e-01
_QA5 = 1.36370839120290507362e-02
_QA6 = 1.19844998467991074170e-02
# erfc on [1.25, 1/0.35]
_RA0 = -9.86494403484714822705e-03
_RA1 = -6.93858572707181764372e-01
_RA2 = -1.05586262253232909814e+01
_RA3 = -6.23753324503260060396e+01
_RA4 = -1.62396669462573470355e+02
_RA5 = -1.84605092906711035994e+02
_RA6 = -8.12874355063065934246e+01
_RA7 = -9.81432934416914548592e+00
_SA1 = 1.96512716674392571292e+01
_SA2 = 1.37657754143519042600e+02
_SA3 = 4.34565877475229228821e+02
_SA4 = 6.45387271733267880336e+02
_SA5 = 4.29008140027567833386e+02
_SA6 = 1.08635005541779435134e+02
_SA7 = 6.57024977031928170135e+00
_SA8 = -6.04244152148580987438e-02
# erfc on [1/0.35, 6]
_RB0 = -9.86494292470009928597e-03
_RB1 = -7.99283237680523006574e-01
_RB2 = -1.77579549177547519889e+01
_RB3 = -1.60636384855821916062e+02
_RB4 = -6.37566443368389627722e+02
_RB5 = -1.02509513161107724954e+03
_RB6 = -4.83519191608651397019e+02
_SB1 = 3.03380607434824582924e+01
_SB2 = 3.25792512996573918826e+02
_SB3 = 1.53672958608443695994e+03
_SB4 = 3.19985821950859553908e+03
_SB5 = 2.55305040643316442583e+03
_SB6 = 4.74528541206955367215e+02
_SB7 = -2.24409524465858183362e+01

# Region boundaries on the high word of |x|, exactly as in s_erf.c. A high-word
# test ``ix < H`` is the same as ``|x| < d(H)``, where ``d(H)`` is the double
# whose high word is ``H`` and low word is 0, so the regions are found by
# float comparisons against these (exact) thresholds.
_IX_SUBNORMALISH = 0x00800000  # |x| < 2**-1014: scale to avoid underflow
_IX_TINY = 0x3E300000  # |x| < 2**-28
_IX_SMALL = 0x3FEB0000  # |x| < 0.84375
_IX_MID = 0x3FF40000  # |x| < 1.25
_IX_TAIL_A = 0x4006DB6E  # |x| < 1/0.35 (high word: 2.857142448425293)
_IX_ONE = 0x40180000  # |x| >= 6: ±1


def _threshold(high_word: int) -> float:
    return float(np.array([high_word << 32], dtype=np.uint64).view(np.float64)[0])


_THRESHOLDS = tuple(_threshold(h) for h in (_IX_TINY, _IX_SMALL, _IX_MID, _IX_TAIL_A, _IX_ONE))
_T_SUBNORMALISH = _threshold(_IX_SUBNORMALISH)
_HI_MASK = np.uint64(0xFFFFFFFF00000000)

_CoefS = tuple[float, ...]


def _horner(s: np.ndarray, coefs: _CoefS) -> np.ndarray:
    """``c0 + s*(c1 + s*(c2 + ...))``, innermost first (the C source's order)."""
    acc = np.multiply(s, coefs[-1])
    for c in coefs[-2:0:-1]:
        np.add(acc, c, out=acc)
        np.multiply(acc, s, out=acc)
    np.add(acc, coefs[0], out=acc)
    return acc


_PP = (_PP0, _PP1, _PP2, _PP3, _PP4)
_QQ = (1.0, _QQ1, _QQ2, _QQ3, _QQ4, _QQ5)
_PA = (_PA0, _PA1, _PA2, _PA3, _PA4, _PA5, _PA6)
_QA = (1.0, _QA1, _QA2, _QA3, _QA4, _QA5, _QA6)
_RA = (_RA0, _RA1, _RA2, _RA3, _RA4, _RA5, _RA6, _RA7)
_SA = (1.0, _SA1, _SA2, _SA3, _SA4, _SA5, _SA6, _SA7, _SA8)
_RB = (_RB0, _RB1, _RB2, _RB3, _RB4, _RB5, _RB6)
_SB = (1.0, _SB1, _SB2, _SB3, _SB4, _SB5, _SB6, _SB7)


def _small(x: np.ndarray) -> np.ndarray:
    z = x * x
    y = _horner(z, _PP)
    np.divide(y, _horner(z, _QQ), out=y)
    np.multiply(y, x, out=y)
    np.add(y, x, out=y)  # x + x*y
    return y


def _mid(x: np.ndarray) -> np.ndarray:
    s = np.abs(x)
    np.subtract(s, 1.0, out=s)
    pq = _horner(s, _PA)
    np.divide(pq, _horner(s, _QA), out=pq)
    # x >= 0: erx + P/Q; x < 0: -erx - P/Q = -(erx + P/Q) exactly.
    np.add(pq, _ERX, out=pq)
    return np.copysign(pq, x, out=pq)


def _tail(x: np.ndarray, near: bool) -> np.ndarray:
    ax = np.abs(x)
    s = np.multiply(ax, ax)
    np.divide(1.0, s, out=s)
    if near:
        rs = _horner(s, _RA)
        np.divide(rs, _horner(s, _SA), out=rs)
    else:
        rs = _horner(s, _RB)
        np.divide(rs, _horner(s, _SB), out=rs)
    z = (ax.view(np.uint64) & _HI_MASK).view(np.float64)
    # r = exp(-z*z - 0.5625) * exp((z - x)*(z + x) + R/S)
    e1 = np.multiply(z, z)
    np.negative(e1, out=e1)
    np.subtract(e1, 0.5625, out=e1)
    np.exp(e1, out=e1)
    e2 = np.subtract(z, ax)
    np.multiply(e2, np.add(z, ax), out=e2)
    np.add(e2, rs, out=e2)
    np.exp(e2, out=e2)
    np.multiply(e1, e2, out=e1)
    np.divide(e1, ax, out=e1)
    # x >= 0: 1 - r/x; x < 0: r/x - 1 = -(1 - r/x) exactly.
    np.subtract(1.0, e1, out=e1)
    return np.copysign(e1, x, out=e1)


def _tiny(x: np.ndarray) -> np.ndarray:
    normal = x + _EFX * x
    scaled = 0.125 * (8.0 * x + _EFX8 * x)
    return np.where(np.abs(x) < _T_SUBNORMALISH, scaled, normal)


def _big(x: np.ndarray) -> np.ndarray:
    # ±(1 - tiny) rounds to ±1; erf(±inf) = ±1; erf(nan) = nan.
    return np.where(np.isnan(x), x, np.copysign(1.0, x))


_REGIONS = (_tiny, _small, _mid, lambda x: _tail(x, near=True), lambda x: _tail(x, near=False), _big)


def erf(x: np.ndarray) -> np.ndarray:
    """``erf`` of every element of ``x``, as a new float64 array of ``x``'s shape."""
    xd = np.asarray(x, dtype=np.float64, order="C")
    flat = xd.reshape(-1)
    ax = np.abs(flat)
    # Region code 0..5 = number of thresholds |x| is not below (nan: 5, like s_erf.c's ix test).
    code = np.full(flat.shape, len(_THRESHOLDS), dtype=np.int8)
    for t in _THRESHOLDS:
        np.subtract(code, ax < t, out=code)
    res: np.ndarray | None = None
    for k, fn in enumerate(_REGIONS):
        idx = np.flatnonzero(code == k)
        if idx.size == flat.size:  # one region (e.g. GELU of well-scaled activations): no gathers
            return fn(flat).reshape(xd.shape)
        if idx.size:
            if res is None:
                res = np.empty_like(flat)
            res[idx] = fn(flat[idx])
    if res is None:  # empty input
        res = np.empty_like(flat)
    return res.reshape(xd.shape)
