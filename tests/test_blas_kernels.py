"""The BLAS kernel probe (``volta doctor``, run records, benchmarks): asks NumPy's OpenBLAS itself.

The probe only reads: the tests leave ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE``
as the machine sets them (some machines set them because older OpenBLAS builds
compute wrong results on their CPUs).
"""

from __future__ import annotations

import os

import pytest

from volta_core.backends.cpu.blas import describe_kernels, openblas_kernels


def test_describe_names_the_kernels_and_what_forced_them() -> None:
    assert describe_kernels({"kernels": "SkylakeX", "forced": {}}) == "SkylakeX (detected by OpenBLAS)"
    assert (describe_kernels({"kernels": "Haswell", "forced": {"OPENBLAS_CORETYPE": "Haswell"}})
            == "Haswell (forced: OPENBLAS_CORETYPE=Haswell)")
    assert describe_kernels({"kernels": None, "forced": {}}).startswith("unknown")


def test_probe_reports_the_kernels_openblas_runs() -> None:
    info = openblas_kernels()
    if info["kernels"] is None:
        pytest.skip(f"NumPy's BLAS is not a bundled DYNAMIC_ARCH OpenBLAS here ({info.get('error', 'no gotoblas_corename')})")
    forced = os.environ.get("OPENBLAS_CORETYPE")
    if forced:
        # OpenBLAS runs what the variable names (its core names are case-insensitive)
        assert info["kernels"].lower() == forced.lower()
        assert info["forced"]["OPENBLAS_CORETYPE"] == forced
        assert describe_kernels(info).endswith(f"(forced: {', '.join(f'{k}={v}' for k, v in info['forced'].items())})")
    else:
        assert "OPENBLAS_CORETYPE" not in info["forced"]
        assert describe_kernels(info) == f"{info['kernels']} (detected by OpenBLAS)"
