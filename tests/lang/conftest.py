"""Fixtures for the interpreter tests."""

from __future__ import annotations

import pytest

from volta_core.check.symbols import SymbolTable

from .helpers import Recorder


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


@pytest.fixture
def runtime_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Disable the semantic checker so the runtime's own guards are exercised
    even once the checker rejects the program statically (parse errors are
    still reported)."""
    monkeypatch.setattr("volta_core.analysis.check_program", lambda *args: SymbolTable())
