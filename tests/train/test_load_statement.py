"""``load`` is all or nothing, and a damaged checkpoint is E0804, never an internal
error or a crash (issue 24, items 6, 9 and 10)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from volta_core.lang import Session
from volta_core.train.checkpoint import save_checkpoint
from volta_core.train.runtime import ModelHandle

MODEL = "model m\n    layers 2 4 2\n    loss cross_entropy\n    seed 1\n"
TRAINED = MODEL + "dataset d\n    type xor\ntrain m on d\n    epochs 2\n    log_every 100\n"
PARAMS = {"0.dense.weight": (2, 4), "0.dense.bias": (4,), "2.dense.weight": (4, 2), "2.dense.bias": (2,)}


def _session(tmp_path: Path) -> Session:
    session = Session(stdout=lambda s: None, base_dir=tmp_path)
    result = session.run(TRAINED, "setup.vt")
    assert result.ok, [d.message for d in result.diagnostics]
    return session


def _model(session: Session) -> ModelHandle:
    model = session.globals["m"]
    assert isinstance(model, ModelHandle)
    return model


def _snapshot(model: ModelHandle) -> tuple[dict[str, bytes], int, int, object]:
    return ({k: v.tobytes() for k, v in model.net.params.items()}, model.steps, model.epochs, model.optimizer)


def _load(session: Session, file: str = "c.safetensors") -> list[str]:
    result = session.run(f'load m from "{file}"\n', "load.vt")
    return [f"{d.code} {d.message}" for d in result.errors]


def _adam_state(steps: int = 4) -> dict[str, np.ndarray]:
    state = {f"{p}::{slot}": np.full(shape, 0.5, np.float32) for p, shape in PARAMS.items()
             for slot in ("exp_avg", "exp_avg_sq")}
    state["::steps"] = np.array([steps], np.int64)
    return state


OPT = json.dumps({"name": "adam", "momentum": 0.0, "weight_decay": 0.0})


def _params(value: float = 7.0) -> dict[str, np.ndarray]:
    return {p: np.full(shape, value, np.float32) for p, shape in PARAMS.items()}


BAD_FILES: dict[str, tuple[Callable[[Path], None], str]] = {
    "optimizer metadata not json": (
        lambda p: save_checkpoint(p, _params(), {"steps": "3", "optimizer": "{not json"}, _adam_state()),
        "metadata `optimizer` is not valid JSON"),
    "optimizer metadata nested deeply": (
        lambda p: save_checkpoint(p, _params(), {"optimizer": "[" * 200_000}, _adam_state()),
        "nested 200000 levels deep"),
    "optimizer unknown": (
        lambda p: save_checkpoint(p, _params(), {"optimizer": json.dumps({"name": "lion", "momentum": 0,
                                                                          "weight_decay": 0})}, _adam_state()),
        'names optimizer "lion"'),
    "optimizer fields missing": (
        lambda p: save_checkpoint(p, _params(), {"optimizer": json.dumps({"name": "adam"})}, _adam_state()),
        "exactly `name`, `momentum` and `weight_decay`"),
    "optimizer metadata without state": (
        lambda p: save_checkpoint(p, _params(), {"optimizer": OPT}),
        "the optimizer's state tensors are missing"),
    "optimizer state without metadata": (
        lambda p: save_checkpoint(p, _params(), {}, _adam_state()),
        "the `optimizer` metadata are missing"),
    "optimizer state of the wrong shape": (
        lambda p: save_checkpoint(p, _params(), {"optimizer": OPT},
                                  {**_adam_state(), "0.dense.bias::exp_avg": np.zeros(9, np.float32)}),
        "`0.dense.bias::exp_avg` has shape [9] but its parameter has [4]"),
    "optimizer state partial": (
        lambda p: save_checkpoint(p, _params(), {"optimizer": OPT},
                                  {k: v for k, v in _adam_state().items() if not k.startswith("2.")}),
        "lacks `2.dense.bias::exp_avg`"),
    "optimizer state of another optimizer": (
        lambda p: save_checkpoint(p, _params(), {"optimizer": OPT},
                                  {**_adam_state(), "0.dense.bias::momentum_buffer": np.zeros(4, np.float32)}),
        "has `0.dense.bias::momentum_buffer`"),
    "optimizer step count not a count": (
        lambda p: save_checkpoint(p, _params(), {"optimizer": OPT},
                                  {**_adam_state(), "::steps": np.array([-2], np.int64)}),
        "`::steps` must hold one non-negative integer"),
    "negative steps": (lambda p: save_checkpoint(p, _params(), {"steps": "-5"}), "metadata `steps` must be a count"),
    "negative epochs": (lambda p: save_checkpoint(p, _params(), {"epochs": "-1"}), "metadata `epochs` must be a count"),
    "steps not a number": (lambda p: save_checkpoint(p, _params(), {"steps": "abc"}), "not `abc`"),
    "steps of 5000 digits": (lambda p: save_checkpoint(p, _params(), {"steps": "9" * 5000}),
                             "metadata `steps` must be a count"),
    "non-finite weights": (lambda p: save_checkpoint(p, {**_params(), "0.dense.bias": np.full(4, np.nan, np.float32)}, {}),
                           "parameter `0.dense.bias` holds values that are not finite"),
    "weights beyond float32": (lambda p: save_checkpoint(p, {**_params(), "0.dense.bias": np.full(4, 1e300)}, {}),
                               "parameter `0.dense.bias` holds values that are not finite in float32"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_failing_load_changes_nothing(tmp_path: Path, name: str) -> None:
    session = _session(tmp_path)
    before = _snapshot(_model(session))
    write, needle = BAD_FILES[name]
    write(tmp_path / "c.safetensors")
    errors = _load(session)
    assert len(errors) == 1 and errors[0].startswith("E0804 "), errors
    assert needle in errors[0], errors[0]
    assert _snapshot(_model(session)) == before


def _raw(path: Path, header: object, data: bytes = b"") -> None:
    head = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(len(head).to_bytes(8, "little") + head + data)


RAW_FILES: dict[str, tuple[object, bytes]] = {
    "huge shape": ({"w": {"dtype": "F32", "shape": [0, 2**70], "data_offsets": [0, 0]}}, b""),
    "100 dimensions": ({"w": {"dtype": "F32", "shape": [1] * 100, "data_offsets": [0, 4]}}, b"\0" * 4),
    "5000-digit shape": (b'{"w": {"dtype": "F32", "shape": [1' + b"0" * 4999 + b'], "data_offsets": [0, 4]}}',
                         b"\0" * 4),
    "float8": ({"w": {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [0, 4]}}, b"\0" * 4),
}


@pytest.mark.parametrize("name", sorted(RAW_FILES))
def test_malformed_layouts_are_e0804(tmp_path: Path, name: str) -> None:
    session = _session(tmp_path)
    before = _snapshot(_model(session))
    _raw(tmp_path / "c.safetensors", *RAW_FILES[name])
    errors = _load(session)
    assert len(errors) == 1 and errors[0].startswith("E0804 "), errors
    assert _snapshot(_model(session)) == before


def test_a_good_load_restores_weights_counts_and_optimizer(tmp_path: Path) -> None:
    session = _session(tmp_path)
    save_checkpoint(tmp_path / "c.safetensors", _params(0.25), {"steps": "9", "epochs": "3", "optimizer": OPT},
                    _adam_state(steps=9))
    assert _load(session) == []
    model = _model(session)
    assert all(np.all(v == np.float32(0.25)) for v in model.net.params.values())
    assert (model.steps, model.epochs) == (9, 3)
    assert model.optimizer is not None and model.optimizer.name == "adam" and model.optimizer.steps == 9


def test_a_deeply_nested_header_is_e0804_not_a_crash(tmp_path: Path) -> None:
    """200,000 nested `[` in the header segfaulted under Session's raised recursion limit."""
    (tmp_path / "deep.safetensors").write_bytes((200_000).to_bytes(8, "little") + b"[" * 200_000)
    program = tmp_path / "p.vt"
    program.write_text(MODEL + 'load m from "deep.safetensors"\n', encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "volta_core", "run", str(program)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])
    assert "error[E0804]" in proc.stderr and "E0603" not in proc.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="/dev/zero and named pipes")
@pytest.mark.parametrize("kind", ["device", "pipe"])
def test_load_refuses_devices_and_pipes(tmp_path: Path, kind: str) -> None:
    """Item 11: `load m from "/dev/zero"` read forever; a named pipe blocked."""
    import os

    if kind == "device":
        target = "/dev/zero"
    else:
        os.mkfifo(tmp_path / "pipe.safetensors")
        target = str(tmp_path / "pipe.safetensors")
    session = _session(tmp_path)
    errors = _load(session, target)
    assert len(errors) == 1 and errors[0].startswith("E0801 ") and "not a regular file" in errors[0], errors
