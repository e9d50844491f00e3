"""Checkpoints: safetensors files written and read without third-party code.

Layout (the safetensors format): an 8-byte little-endian header length ``N``,
``N`` bytes of JSON — ``{name: {"dtype", "shape", "data_offsets"}}`` plus
``"__metadata__"`` (str → str) — padded with spaces to a multiple of 8, then
the raw little-endian tensor data. Volta writes tensors in sorted-name order,
stores optimizer state under the reserved prefix ``__optim__.`` and adds two
metadata keys: ``volta.format`` (``volta-checkpoint/1``) and
``volta.sha256``, a SHA-256 over every tensor (name, dtype, shape, bytes)
and every other metadata entry, so a truncated or tampered file is rejected.

Files from other safetensors writers (no ``volta.format``) are read too;
they carry no checksum to verify. Writes are atomic (:mod:`.atomic`).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from volta_core.errors import VoltaError
from volta_core.present import format_shape
from volta_core.train.atomic import atomic_write_bytes

__all__ = [
    "FORMAT_VERSION",
    "OPTIMIZER_PREFIX",
    "Checkpoint",
    "CheckpointError",
    "check_compatible",
    "load_checkpoint",
    "save_checkpoint",
    "tensors_sha256",
]

FORMAT_VERSION: Final = "volta-checkpoint/1"
OPTIMIZER_PREFIX: Final = "__optim__."
FORMAT_KEY: Final = "volta.format"
CHECKSUM_KEY: Final = "volta.sha256"
_RESERVED_KEYS: Final = (FORMAT_KEY, CHECKSUM_KEY)
#: The safetensors reference implementation's limit on the JSON header.
MAX_HEADER_BYTES: Final = 100_000_000

#: safetensors dtype code ↔ little-endian numpy dtype (BF16 has no numpy type).
_DTYPES: Final[dict[str, np.dtype]] = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U64": np.dtype("<u8"),
    "U32": np.dtype("<u4"),
    "U16": np.dtype("<u2"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_CODES: Final = {dt.newbyteorder("<").str: code for code, dt in _DTYPES.items()}


class CheckpointError(VoltaError):
    """A checkpoint could not be written, read or used. The message names
    the file (or parameter) and what is wrong; ``code`` is E0804 (bad file),
    E0805 (architecture mismatch) or E0801 (unreadable)."""

    default_code = "E0804"


@dataclass(slots=True)
class Checkpoint:
    """A loaded checkpoint. ``metadata`` excludes the ``volta.*`` keys;
    ``optimizer_state`` is None when the file has none (names unprefixed)."""

    params: dict[str, np.ndarray]
    metadata: dict[str, str]
    optimizer_state: dict[str, np.ndarray] | None


def _code_of(array: np.ndarray, name: str, path: Path) -> str:
    code = _CODES.get(array.dtype.newbyteorder("<").str) if array.dtype.kind in "biuf" else None
    if code is None:
        raise CheckpointError(f"cannot save `{path}`: tensor `{name}` has unsupported dtype {array.dtype}")
    return code


def tensors_sha256(tensors: Mapping[str, np.ndarray], metadata: Mapping[str, str] | None = None) -> str:
    """SHA-256 over tensors in sorted-name order (name, dtype code, shape,
    little-endian bytes), then metadata entries in sorted-key order.

    Independent of dict order, byte order and memory layout.
    """
    h = hashlib.sha256()
    for name in sorted(tensors):
        arr = np.asarray(tensors[name])
        le = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<"))
        code = _CODES.get(le.dtype.str, le.dtype.str)
        h.update(json.dumps([name, code, list(le.shape)]).encode() + b"\n")
        h.update(le.tobytes())
    for key in sorted(metadata or {}):
        h.update(json.dumps(["meta", key, (metadata or {})[key]]).encode() + b"\n")
    return h.hexdigest()


def save_checkpoint(
    path: Path,
    params: Mapping[str, np.ndarray],
    metadata: Mapping[str, str],
    optimizer_state: Mapping[str, np.ndarray] | None = None,
) -> None:
    """Write a safetensors checkpoint atomically (the old file survives a failure).

    Raises :class:`CheckpointError` for reserved or clashing names, unsupported
    dtypes, non-string metadata and write failures.
    """
    path = Path(path)
    tensors: dict[str, np.ndarray] = {}
    for name, value in params.items():
        if name.startswith("__"):
            raise CheckpointError(f"cannot save `{path}`: parameter name `{name}` is reserved (starts with `__`)")
        tensors[name] = np.asarray(value)
    for name, value in (optimizer_state or {}).items():
        tensors[OPTIMIZER_PREFIX + name] = np.asarray(value)
    meta: dict[str, str] = {}
    for key, text in metadata.items():
        if not isinstance(key, str) or not isinstance(text, str):
            raise CheckpointError(f"cannot save `{path}`: metadata must map strings to strings ({key!r})")
        if key in _RESERVED_KEYS or key == "__metadata__":
            raise CheckpointError(f"cannot save `{path}`: metadata key `{key}` is reserved")
        meta[key] = text
    meta[FORMAT_KEY] = FORMAT_VERSION
    meta[CHECKSUM_KEY] = tensors_sha256(tensors, {k: v for k, v in meta.items() if k != CHECKSUM_KEY})

    header: dict[str, object] = {}
    chunks: list[bytes] = []
    offset = 0
    for name in sorted(tensors):
        arr = tensors[name]
        code = _code_of(arr, name, path)
        data = np.ascontiguousarray(arr, dtype=_DTYPES[code]).tobytes()
        header[name] = {"dtype": code, "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    header["__metadata__"] = dict(sorted(meta.items()))
    head = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    head += b" " * (-len(head) % 8)
    blob = len(head).to_bytes(8, "little") + head + b"".join(chunks)
    try:
        atomic_write_bytes(path, blob)
    except OSError as exc:
        raise CheckpointError(f"cannot write checkpoint `{path}`: {exc.strerror or exc}", code="E0801")


def load_checkpoint(path: Path) -> Checkpoint:
    """Read and validate a safetensors checkpoint.

    Checks the header length against the file size, the JSON, dtypes,
    shapes against byte lengths, that offsets tile the data exactly, the
    format version and (for Volta files) the checksum. Every failure is a
    :class:`CheckpointError` naming the file.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint `{path}` not found", code="E0801")
    except IsADirectoryError:
        raise CheckpointError(f"checkpoint `{path}` is a directory, not a file", code="E0801")
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint `{path}`: {exc.strerror or exc}", code="E0801")
    return _parse(raw, path)


def _parse(raw: bytes, path: Path) -> Checkpoint:
    def bad(what: str, help: str | None = None) -> CheckpointError:
        return CheckpointError(f"invalid checkpoint `{path}`: {what}", help=help)

    if len(raw) < 8:
        raise bad(f"file is truncated ({len(raw)} bytes; a safetensors file starts with an 8-byte header length)")
    n = int.from_bytes(raw[:8], "little")
    if n > MAX_HEADER_BYTES:
        raise bad(f"header length {n} is implausible (limit {MAX_HEADER_BYTES}); not a safetensors file?")
    if 8 + n > len(raw):
        raise bad(f"file is truncated: the header needs {n} bytes but only {len(raw) - 8} follow")
    try:
        header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise bad(f"header is not valid JSON ({exc})")
    if not isinstance(header, dict):
        raise bad("header is not a JSON object")
    meta_raw = header.pop("__metadata__", {})
    if not isinstance(meta_raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in meta_raw.items()
    ):
        raise bad("`__metadata__` must map strings to strings")
    metadata: dict[str, str] = dict(meta_raw)

    data = memoryview(raw)[8 + n :]
    entries: list[tuple[int, int, str, np.dtype, tuple[int, ...]]] = []
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise bad(f"tensor `{name}` needs exactly `dtype`, `shape` and `data_offsets`")
        code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not isinstance(code, str) or code not in _DTYPES:
            known = ", ".join(_DTYPES)
            raise bad(f"tensor `{name}` has unsupported dtype {code!r}", help=f"supported dtypes: {known}")
        if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
            raise bad(f"tensor `{name}` has an invalid shape {shape!r}")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(type(o) is int and o >= 0 for o in offsets)
            or offsets[0] > offsets[1]
        ):
            raise bad(f"tensor `{name}` has invalid data_offsets {offsets!r}")
        dtype = _DTYPES[code]
        expected = math.prod(shape) * dtype.itemsize
        if offsets[1] - offsets[0] != expected:
            raise bad(
                f"tensor `{name}`: shape {shape} of {code} needs {expected} bytes but its offsets "
                f"span {offsets[1] - offsets[0]}"
            )
        entries.append((offsets[0], offsets[1], name, dtype, tuple(shape)))

    entries.sort()
    cursor = 0
    for begin, end, name, _, _ in entries:
        if begin != cursor:
            what = "overlaps the previous tensor" if begin < cursor else f"leaves a gap at byte {cursor}"
            raise bad(f"tensor `{name}` {what} (data_offsets must be contiguous)")
        cursor = end
    if cursor > len(data):
        raise bad(f"file is truncated: tensor data needs {cursor} bytes but only {len(data)} are present")
    if cursor < len(data):
        raise bad(f"{len(data) - cursor} unexpected bytes after the tensor data")

    tensors: dict[str, np.ndarray] = {}
    for begin, end, name, dtype, shape in entries:
        arr = np.frombuffer(data[begin:end], dtype=dtype).reshape(shape)
        tensors[name] = arr.astype(dtype.newbyteorder("="), copy=True)

    version = metadata.pop(FORMAT_KEY, None)
    checksum = metadata.pop(CHECKSUM_KEY, None)
    if version is not None:
        if version != FORMAT_VERSION:
            raise bad(
                f"unsupported format version `{version}` (this Volta reads `{FORMAT_VERSION}`)",
                help="the file was written by a newer Volta; upgrade to load it",
            )
        if checksum is None:
            raise bad("the `volta.sha256` checksum is missing")
        actual = tensors_sha256(tensors, {**metadata, FORMAT_KEY: version})
        if actual != checksum:
            raise bad(
                "checksum mismatch: the tensor data or metadata was modified after it was written",
                help="the file is corrupted or was tampered with; save the model again",
            )

    params = {k: v for k, v in tensors.items() if not k.startswith(OPTIMIZER_PREFIX)}
    optim = {k[len(OPTIMIZER_PREFIX) :]: v for k, v in tensors.items() if k.startswith(OPTIMIZER_PREFIX)}
    return Checkpoint(dict(sorted(params.items())), metadata, dict(sorted(optim.items())) or None)


def check_compatible(expected: Mapping[str, tuple[int, ...]], found: Mapping[str, tuple[int, ...]]) -> None:
    """Raise :class:`CheckpointError` (E0805) naming the first parameter (in
    sorted order) that is missing, extra, or shaped differently, with both
    shapes."""
    for name in sorted(set(expected) | set(found)):
        if name not in found:
            raise CheckpointError(
                f"the checkpoint has no parameter `{name}` (the model's is {format_shape(tuple(expected[name]))})",
                help="the checkpoint was saved from a model with a different architecture",
                code="E0805",
            )
        if name not in expected:
            raise CheckpointError(
                f"the checkpoint has parameter `{name}` {format_shape(tuple(found[name]))} that the model does not have",
                help="the checkpoint was saved from a model with a different architecture",
                code="E0805",
            )
        if tuple(expected[name]) != tuple(found[name]):
            raise CheckpointError(
                f"parameter `{name}` has shape {format_shape(tuple(expected[name]))} in the model but "
                f"{format_shape(tuple(found[name]))} in the checkpoint",
                help="the checkpoint was saved from a model with a different architecture",
                code="E0805",
            )
