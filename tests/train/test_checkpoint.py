"""Checkpoints: safetensors round trips, interop with the reference package,
validation of damaged files, atomic writes and architecture checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from volta_core.train import atomic
from volta_core.train.checkpoint import (
    FORMAT_VERSION,
    CheckpointError,
    check_compatible,
    load_checkpoint,
    save_checkpoint,
    tensors_sha256,
)

safetensors_numpy = pytest.importorskip("safetensors.numpy")


def params() -> dict[str, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(0))
    return {
        "2.dense.weight": rng.standard_normal((4, 1)).astype(np.float32),
        "0.dense.weight": rng.standard_normal((2, 4)).astype(np.float32),
        "0.dense.bias": np.zeros(4, dtype=np.float32),
        "2.dense.bias": np.array([-0.0], dtype=np.float32),
        "3.embedding.table": rng.standard_normal((5, 3)),  # float64
    }


META = {"architecture": "layers 2 4 1", "graph_fingerprint": "abc", "steps": "12"}


def saved(tmp_path: Path, **kw: object) -> Path:
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, params(), META, **kw)  # type: ignore[arg-type]
    return path


def header_of(path: Path) -> tuple[int, dict[str, Any], bytes]:
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    return n, json.loads(raw[8 : 8 + n]), raw[8 + n :]


def rewrite(path: Path, header: Any, data: bytes) -> None:
    head = json.dumps(header).encode()
    path.write_bytes(len(head).to_bytes(8, "little") + head + data)


def test_round_trip_is_bit_exact(tmp_path: Path) -> None:
    opt = {"0.dense.weight.m": np.full((2, 4), 0.5, np.float32), "step": np.array(7, dtype=np.int64)}
    path = saved(tmp_path, optimizer_state=opt)
    ck = load_checkpoint(path)
    assert list(ck.params) == sorted(params())
    for name, value in params().items():
        assert ck.params[name].dtype == value.dtype and ck.params[name].shape == value.shape
        assert ck.params[name].tobytes() == value.tobytes()
    assert ck.metadata == META
    assert ck.optimizer_state is not None and set(ck.optimizer_state) == set(opt)
    assert ck.optimizer_state["step"].shape == () and int(ck.optimizer_state["step"]) == 7
    assert np.signbit(ck.params["2.dense.bias"][0])  # -0.0 survives
    assert ck.params["0.dense.weight"].flags.writeable
    assert load_checkpoint(saved(tmp_path)).optimizer_state is None


def test_layout_is_sorted_aligned_and_versioned(tmp_path: Path) -> None:
    path = saved(tmp_path)
    n, header, _ = header_of(path)
    assert n % 8 == 0
    names = [k for k in header if k != "__metadata__"]
    offsets = [header[k]["data_offsets"] for k in names]
    # the safetensors package's order: by dtype (wider first), then by name
    by_offset = sorted(names, key=lambda k: header[k]["data_offsets"][0])
    assert by_offset == ["3.embedding.table", *sorted(k for k in names if k != "3.embedding.table")]
    assert min(o[0] for o in offsets) == 0
    meta = header["__metadata__"]
    assert isinstance(meta, dict) and meta["volta.format"] == FORMAT_VERSION and len(meta["volta.sha256"]) == 64
    assert list(meta) == sorted(meta)
    # identical inputs -> identical bytes, whatever the dict order
    other = tmp_path / "o.safetensors"
    save_checkpoint(other, dict(reversed(list(params().items()))), dict(reversed(list(META.items()))))
    assert other.read_bytes() == path.read_bytes()


def test_identical_inputs_give_identical_files_across_processes(tmp_path: Path) -> None:
    # The package writes `__metadata__` in a per-process hash order; Volta sorts it.
    script = (
        "import sys, numpy as np\n"
        "from volta_core.train.checkpoint import save_checkpoint\n"
        "meta = {f'key{i}': str(i) for i in range(30)}\n"
        "save_checkpoint(sys.argv[1], {'w': np.arange(6, dtype=np.float32)}, meta)\n"
    )
    files = [tmp_path / f"p{i}.safetensors" for i in range(3)]
    for f in files:
        subprocess.run([sys.executable, "-c", script, str(f)], check=True)
    assert files[0].read_bytes() == files[1].read_bytes() == files[2].read_bytes()


def test_reference_package_reads_our_files(tmp_path: Path) -> None:
    path = saved(tmp_path, optimizer_state={"m": np.ones(3, np.float32)})
    loaded = safetensors_numpy.load_file(str(path))
    for name, value in params().items():
        assert np.array_equal(loaded[name], value) and loaded[name].dtype == value.dtype
    assert np.array_equal(loaded["__optim__.m"], np.ones(3, np.float32))


def test_we_read_reference_package_files(tmp_path: Path) -> None:
    tensors: dict[str, np.ndarray] = {
        "a": np.arange(6, dtype=np.int64).reshape(2, 3),
        "b": np.linspace(0, 1, 5, dtype=np.float32),
        "c": np.array([True, False]),
        "d": np.array([1, 2], dtype=np.uint8),
        "e": np.array([1.5], dtype=np.float16),
        "f": np.zeros((0, 3), dtype=np.float32),
    }
    path = tmp_path / "ref.safetensors"
    safetensors_numpy.save_file(tensors, str(path), metadata={"note": "hi"})
    ck = load_checkpoint(path)
    assert ck.metadata == {"note": "hi"}
    for name, value in tensors.items():
        assert ck.params[name].dtype == value.dtype and np.array_equal(ck.params[name], value)


def test_tensors_sha256_is_layout_independent() -> None:
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert tensors_sha256({"w": a, "b": a[0]}) == tensors_sha256({"b": a[0].copy(), "w": np.asfortranarray(a)})
    assert tensors_sha256({"w": a}) == tensors_sha256({"w": a.astype(">f4")})
    assert tensors_sha256({"w": a}) != tensors_sha256({"w": a.reshape(3, 2)})
    assert tensors_sha256({"w": a}) != tensors_sha256({"v": a})


def expect_error(path: Path, needle: str) -> CheckpointError:
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert needle in str(info.value), str(info.value)
    assert str(path) in str(info.value)
    return info.value


def test_truncated_files(tmp_path: Path) -> None:
    path = saved(tmp_path)
    raw = path.read_bytes()
    path.write_bytes(raw[:-3])
    expect_error(path, "size does not match its header: it is truncated")
    path.write_bytes(raw[:20])
    expect_error(path, "header length is larger than the file")
    path.write_bytes(raw[:5])
    expect_error(path, "too short to be a safetensors file")
    path.write_bytes(raw + b"\0")
    expect_error(path, "has bytes after the tensor data")


def test_tampered_data_and_metadata(tmp_path: Path) -> None:
    path = saved(tmp_path)
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0x01
    path.write_bytes(bytes(raw))
    err = expect_error(path, "checksum mismatch")
    assert err.help is not None
    path = saved(tmp_path)
    _, header, data = header_of(path)
    header["__metadata__"]["steps"] = "13"
    rewrite(path, header, data)
    expect_error(path, "checksum mismatch")
    header["__metadata__"].pop("volta.sha256")
    rewrite(path, header, data)
    expect_error(path, "checksum is missing")


def test_bad_headers(tmp_path: Path) -> None:
    path = saved(tmp_path)
    _, header, data = header_of(path)
    raw = path.read_bytes()
    path.write_bytes(raw[:8] + b"{not json" + raw[17:])
    expect_error(path, "header is not valid safetensors JSON")
    path.write_bytes((2**40).to_bytes(8, "little") + raw[8:])
    expect_error(path, "implausible")

    def variant(change: dict[str, object], needle: str) -> None:
        h = json.loads(json.dumps(header))
        h["0.dense.bias"].update(change)
        rewrite(path, h, data)
        expect_error(path, needle)

    variant({"dtype": "Q8"}, "unknown dtype `Q8`")
    variant({"dtype": "BF16"}, "need another number of bytes")  # 16 bytes hold 8 BF16 values, not 4
    variant({"shape": [8], "dtype": "BF16"}, "dtype BF16, which Volta cannot hold")
    variant({"shape": [5]}, "need another number of bytes")
    variant({"shape": [-4]}, "not valid safetensors JSON")
    variant({"data_offsets": [16, 0]}, "tensor `0.dense.bias` has data_offsets")
    b = header["0.dense.bias"]["data_offsets"]
    variant({"data_offsets": [b[0] + 4, b[1] + 4]}, "data_offsets")
    h = json.loads(json.dumps(header))
    h["extra"] = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}
    rewrite(path, h, data)
    expect_error(path, "data_offsets")
    h = json.loads(json.dumps(header))
    h["__metadata__"]["x"] = 3
    rewrite(path, h, data)
    expect_error(path, "expected a string")
    rewrite(path, [1, 2], data)
    expect_error(path, "not valid safetensors JSON")


def test_unsupported_version(tmp_path: Path) -> None:
    path = saved(tmp_path)
    _, header, data = header_of(path)
    header["__metadata__"]["volta.format"] = "volta-checkpoint/99"
    rewrite(path, header, data)
    err = expect_error(path, "unsupported format version `volta-checkpoint/99`")
    assert err.help is not None and "newer" in err.help


def test_missing_file_and_directory(tmp_path: Path) -> None:
    err = expect_error(tmp_path / "nope.safetensors", "not found")
    assert err.code == "E0801"
    expect_error(tmp_path, "is a directory")


def test_save_rejects_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    with pytest.raises(CheckpointError, match="unsupported dtype"):
        save_checkpoint(path, {"w": np.array([1 + 2j])}, {})
    with pytest.raises(CheckpointError, match="reserved"):
        save_checkpoint(path, {"__optim__.x": np.zeros(1)}, {})
    with pytest.raises(CheckpointError, match="reserved"):
        save_checkpoint(path, {"w": np.zeros(1)}, {"volta.format": "x"})
    with pytest.raises(CheckpointError, match="strings"):
        save_checkpoint(path, {"w": np.zeros(1)}, {"steps": 3})  # type: ignore[dict-item]
    with pytest.raises(CheckpointError, match="cannot write checkpoint"):
        save_checkpoint(tmp_path / "no" / "dir" / "m.safetensors", {"w": np.zeros(1)}, {})
    assert not path.exists()


def test_atomic_write_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = saved(tmp_path)
    before = path.read_bytes()

    def fail(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(CheckpointError, match="No space left on device"):
        save_checkpoint(path, {"w": np.ones(3, np.float32)}, {})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]  # temp file cleaned up
    monkeypatch.undo()
    atomic.atomic_write_text(tmp_path / "t.txt", "new\n")
    assert (tmp_path / "t.txt").read_text() == "new\n"


def test_check_compatible() -> None:
    model = {"0.dense.weight": (2, 4), "0.dense.bias": (4,)}
    check_compatible(model, dict(model))
    with pytest.raises(CheckpointError) as info:
        check_compatible(model, {"0.dense.weight": (2, 8), "0.dense.bias": (8,)})
    assert str(info.value) == (
        "parameter `0.dense.bias` has shape [4] in the model but [8] in the checkpoint"
    )
    assert info.value.code == "E0805"
    with pytest.raises(CheckpointError, match=r"no parameter `0.dense.weight` \(the model's is \[2, 4\]\)"):
        check_compatible(model, {"0.dense.bias": (4,)})
    with pytest.raises(CheckpointError, match=r"has parameter `1.dense.bias` \[3\] that the model does not have"):
        check_compatible(model, {**model, "1.dense.bias": (3,)})
