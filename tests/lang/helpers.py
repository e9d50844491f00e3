"""Shared helpers for the interpreter tests."""

from __future__ import annotations

from pathlib import Path

from volta_core.lang import RunResult, Session

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "golden" / "lang"


class Recorder:
    """A Session whose printed lines are collected in ``lines``."""

    def __init__(self, call_depth_limit: int = 256) -> None:
        self.lines: list[str] = []
        self.session = Session(stdout=self.lines.append, call_depth_limit=call_depth_limit)

    @property
    def out(self) -> str:
        return "".join(self.lines)

    def run(self, text: str, path: str = "<test>") -> RunResult:
        return self.session.run(text, path)


def error_codes(result: RunResult) -> list[str]:
    return [d.code for d in result.diagnostics if d.is_error]


def dedent(text: str) -> str:
    """Strip the common indentation of a triple-quoted program."""
    import textwrap

    return textwrap.dedent(text).lstrip("\n")
