"""Shared fixtures for the test suite."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent


@pytest.fixture
def fuzz_corpus() -> list[tuple[str, str]]:
    """``(file name, text)`` of every valid program in ``tests/fuzz_corpus``."""
    return [(p.name, p.read_text(encoding="utf-8")) for p in sorted((TESTS_DIR / "fuzz_corpus").glob("*.vt"))]
