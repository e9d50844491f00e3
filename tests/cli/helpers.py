"""Helpers for the CLI tests: in-process calls of ``volta_core.cli.main``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from volta_core import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

#: A small program with one `train` statement of two epochs (for `--record` and `verify`).
TRAIN_PROGRAM = """\
model m
    layers 2 4 2
    loss cross_entropy
    seed 1
dataset d
    type blobs
    samples 32
    split 0.75
    batch 8
train m on d
    epochs 2
    log_every 1
"""


@dataclass
class Result:
    code: int
    out: str
    err: str


def volta(capsys: pytest.CaptureFixture[str], *argv: str) -> Result:
    """Run the CLI in-process with ``argv`` and capture its output."""
    capsys.readouterr()  # drop anything printed before
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return Result(code, out, err)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
