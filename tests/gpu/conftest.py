"""GPU tests skip cleanly without a usable CUDA device, naming what is missing."""

from __future__ import annotations

import pytest

from volta_core.backends.cuda.driver import cuda_status


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = None
    for item in items:
        if item.get_closest_marker("gpu") is None:
            continue
        if missing is None:
            missing = cuda_status() or ""
        if missing:
            item.add_marker(pytest.mark.skip(reason=f"needs a CUDA GPU: {missing}"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "gpu: runs kernels on a CUDA GPU (skipped without one)")
