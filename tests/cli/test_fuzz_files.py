"""Fuzz the files Volta reads back (issue 24): damaged checkpoints and run records.

Every case starts from a real file — a checkpoint saved with its optimizer
state, a run record written by ``volta run --record`` — and damages it in a
seeded way: flipped and inserted bytes, truncation, and structural edits of
the safetensors header or the record's JSON (shapes of ``[0, 2**70]`` or a
hundred dimensions, wrong dtypes and offsets, 5000-digit numbers, deep
nesting, values of the wrong type, missing and extra keys).

A damaged checkpoint must give E0804 (invalid) or E0805 (does not match the
model) and leave the model as it was; a damaged record must give E0806
(E0802 when its bytes are not UTF-8), or be read and verified as a record
that diverges. Never an internal error, never another code.
"""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path
from typing import Any

import pytest

from volta_core.lang import Session
from volta_core.train.record import RecordError, load_record

from .helpers import TRAIN_PROGRAM, volta

CASES = 400
MODEL = "model m\n    layers 2 4 2\n    loss cross_entropy\n    seed 1\n"
TRAINED = MODEL + "dataset d\n    type xor\ntrain m on d\n    epochs 2\n    optimizer adam\n    log_every 100\n"

ODD_VALUES: list[Any] = [
    -1, 0, 1, 2**31, 2**63, 2**70, -(2**63), 1e308, float("inf"), float("nan"), "abc", "", "1" * 5000, None,
    True, [], {}, [[[[[[[[]]]]]]]], [0, 2**70], list(range(100)), {"a": 1}, "F32", "F64", "I64", "U8", "BF16",
    "0", "-1", "1e999",
]


def _odd(rng: random.Random) -> Any:
    value = rng.choice(ODD_VALUES)
    if rng.random() < 0.05:
        return _DEEP  # written as arrays nested past any parser's comfortable depth
    return value


def _mutate_json(rng: random.Random, value: Any, depth: int = 0) -> Any:
    """``value`` with one seeded edit somewhere inside it."""
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(sorted(value))
        copy = dict(value)
        roll = rng.random()
        if roll < 0.15:
            del copy[key]
        elif roll < 0.25:
            copy[rng.choice(["extra", "__metadata__", key + "x", ""])] = _odd(rng)
        elif roll < 0.55 or depth > 4:
            copy[key] = _odd(rng)
        else:
            copy[key] = _mutate_json(rng, value[key], depth + 1)
        return copy
    if isinstance(value, list) and value and rng.random() < 0.8:
        copy = list(value)
        i = rng.randrange(len(copy))
        roll = rng.random()
        if roll < 0.2:
            del copy[i]
        elif roll < 0.3:
            copy.append(_odd(rng))
        elif roll < 0.6 or depth > 4:
            copy[i] = _odd(rng)
        else:
            copy[i] = _mutate_json(rng, value[i], depth + 1)
        return copy
    return _odd(rng)


_DEEP = "\u2063deep"


def _dumps(value: Any) -> bytes:
    text = json.dumps(value, allow_nan=True, ensure_ascii=False)
    return text.replace(json.dumps(_DEEP, ensure_ascii=False), "[" * 5000 + "]" * 5000).encode("utf-8")


def _damage_bytes(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    roll = rng.random()
    if roll < 0.3:
        return bytes(buf[: rng.randrange(len(buf))])
    for _ in range(rng.randint(1, 6)):
        i = rng.randrange(min(len(buf), 400) if rng.random() < 0.7 else len(buf))
        if rng.random() < 0.7:
            buf[i] = rng.randrange(256)
        else:
            buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return bytes(buf)


def damaged_checkpoint(rng: random.Random, good: bytes) -> bytes:
    """A seeded damage of a safetensors file: raw bytes, or an edit of its JSON header."""
    if rng.random() < 0.35:
        return _damage_bytes(rng, good)
    (n,) = struct.unpack("<Q", good[:8])
    header = json.loads(good[8 : 8 + n])
    body = good[8 + n :]
    edited = _dumps(_mutate_json(rng, header))
    if rng.random() < 0.1:  # a header length that lies
        return struct.pack("<Q", rng.choice([0, 1, len(edited) + 1, 2**63, 2**64 - 1])) + edited + body
    return struct.pack("<Q", len(edited)) + edited + body


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Session, Path, bytes]:
    folder = tmp_path_factory.mktemp("ckpt")
    session = Session(stdout=lambda s: None, base_dir=folder)
    result = session.run(TRAINED + 'save m as "good.safetensors" with optimizer\n', "setup.vt")
    assert result.ok, [d.message for d in result.diagnostics]
    return session, folder, (folder / "good.safetensors").read_bytes()


@pytest.mark.parametrize("chunk", range(4))
def test_damaged_checkpoints_are_e0804_or_e0805_and_change_nothing(
    trained: tuple[Session, Path, bytes], chunk: int
) -> None:
    session, folder, good = trained
    rng = random.Random(2400 + chunk)
    model = session.globals["m"]
    before = {k: v.tobytes() for k, v in model.net.params.items()}  # type: ignore[attr-defined]
    codes: dict[str, int] = {}
    for case in range(CASES // 4):
        data = damaged_checkpoint(rng, good)
        (folder / "bad.safetensors").write_bytes(data)
        result = session.run('load m from "bad.safetensors"\n', f"case{case}.vt")
        found = {d.code for d in result.diagnostics}
        assert found <= {"E0804", "E0805"}, (found, [d.message for d in result.diagnostics], data[:300])
        for code in found:
            codes[code] = codes.get(code, 0) + 1
        if found:  # all or nothing: a failed load leaves the weights as they were
            assert {k: v.tobytes() for k, v in model.net.params.items()} == before  # type: ignore[attr-defined]
        else:  # a harmless edit (e.g. of a metadata string): restore the good weights
            assert session.run('load m from "good.safetensors"\n', "restore.vt").ok
    assert codes.get("E0804", 0) > CASES // 8  # the damage reaches the reader's checks


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    folder = tmp_path_factory.mktemp("record")
    program = folder / "p.vt"
    program.write_text(TRAIN_PROGRAM, encoding="utf-8")
    path = folder / "run.json"
    session_ok = Session(stdout=lambda s: None, base_dir=folder).run(TRAIN_PROGRAM, str(program)).ok
    assert session_ok
    from volta_core import cli

    assert cli.main(["run", str(program), "--quiet", "--record", str(path)]) == 0
    return path, json.loads(path.read_text(encoding="utf-8"))


def test_damaged_run_records_are_e0806(record: tuple[Path, Any], capsys: pytest.CaptureFixture[str]) -> None:
    path, good = record
    rng = random.Random(806)
    text = path.read_text(encoding="utf-8")
    bad = path.with_name("bad.json")
    rejected = verified = 0
    for _ in range(CASES):
        data = _damage_bytes(rng, text.encode("utf-8")) if rng.random() < 0.3 else _dumps(_mutate_json(rng, good))
        bad.write_bytes(data)
        try:
            load_record(bad)
        except RecordError as err:
            assert err.code in ("E0806", "E0802", "E0801"), (err.code, str(err), data[:300])
            rejected += 1
            continue
        if verified < 12:  # a record that still reads: verify it end to end (slower: it re-runs)
            r = volta(capsys, "verify", str(bad))
            assert r.code in (0, 1, 2) and "E9999" not in r.err and "Traceback" not in r.err, r.err
            verified += 1
    assert rejected > CASES // 2 and verified == 12
