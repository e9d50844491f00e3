"""Checkpoints: safetensors files, read and written by the ``safetensors`` package.

Layout (the safetensors format): an 8-byte little-endian header length ``N``,
``N`` bytes of JSON — ``{name: {"dtype", "shape", "data_offsets"}}`` plus
``"__metadata__"`` (str → str) — then the raw little-endian tensor data. The
package (a small, fuzzed Rust reader that maps the file instead of reading it
into memory) parses and validates the layout; Volta adds what is its own:

- optimizer state under the reserved prefix ``__optim__.``;
- two metadata keys, ``volta.format`` (``volta-checkpoint/1``) and
  ``volta.sha256``, a SHA-256 over every tensor (name, dtype, shape, bytes)
  and every other metadata entry, so a truncated or tampered file is rejected;
- a deterministic file: the package orders tensors by dtype, then name, but
  writes ``__metadata__`` in a per-process hash order, so Volta rewrites that
  one JSON object in sorted-key order (the same entries, hence the same
  length) before the file is renamed into place;
- atomic replacement (:mod:`.atomic`), and refusal of files that are not
  regular files (a named pipe or ``/dev/zero`` would block or never end);
- :func:`read_training_state`: the training metadata (steps, epochs,
  optimizer) validated in full before a ``load`` changes anything.

Files from other safetensors writers (no ``volta.format``) are read too;
they carry no checksum to verify.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from volta_core.errors import VoltaError
from volta_core.present import format_shape
from volta_core.train import safe_json
from volta_core.train.atomic import atomic_output
from volta_core.train.files import kind_of
from volta_core.train.optim import OPTIMIZERS, Optimizer

__all__ = [
    "FORMAT_VERSION",
    "OPTIMIZER_PREFIX",
    "Checkpoint",
    "CheckpointError",
    "TrainingState",
    "check_compatible",
    "finite_in_float32",
    "load_checkpoint",
    "read_training_state",
    "save_checkpoint",
    "tensors_sha256",
]

FORMAT_VERSION: Final = "volta-checkpoint/1"
OPTIMIZER_PREFIX: Final = "__optim__."
FORMAT_KEY: Final = "volta.format"
CHECKSUM_KEY: Final = "volta.sha256"
_RESERVED_KEYS: Final = (FORMAT_KEY, CHECKSUM_KEY)
#: NumPy arrays have at most 64 dimensions; no layer has more than a handful.
MAX_DIMENSIONS: Final = 32
#: Step and epoch counts are non-negative 64-bit integers.
_COUNT: Final = re.compile(r"[0-9]{1,19}")
_MAX_COUNT: Final = 2**63 - 1

#: safetensors dtype code ↔ little-endian numpy dtype. Other codes the format
#: knows (BF16, the F8/F6/F4 kinds, complex) have no NumPy type and are refused.
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
#: The safetensors reader's messages, as a user can act on them.
_READER_ERRORS: Final = (
    ("header too small", "the file is too short to be a safetensors file (8-byte header length, then a header)"),
    ("header too large", "its header length is implausible (over 100 MB); not a safetensors file?"),
    ("invalid header length", "the header length is larger than the file: it is truncated or not a safetensors file"),
    ("incomplete metadata", "the file's size does not match its header: it is truncated, or has bytes after the tensor data"),
    ("file not fully covered", "the file's size does not match its header: it is truncated, or has bytes after the tensor data"),
)


class CheckpointError(VoltaError):
    """A checkpoint could not be written, read or used. The message names
    the file (or parameter) and what is wrong; ``code`` is E0804 (bad file),
    E0805 (architecture mismatch) or E0801 (unreadable or unwritable)."""

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
        h.update(le.reshape(-1).view(np.uint8).data)  # the bytes themselves, not a copy
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

    The same inputs give the same bytes. Raises :class:`CheckpointError` for
    reserved or clashing names, unsupported dtypes, non-string metadata and
    write failures (E0801, also for a destination :mod:`.atomic` refuses).
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
            raise CheckpointError(f"cannot save `{path}`: metadata must map strings to strings (key `{key}`)")
        if key in _RESERVED_KEYS or key == "__metadata__":
            raise CheckpointError(f"cannot save `{path}`: metadata key `{key}` is reserved")
        meta[key] = text
    # Little-endian and C-contiguous, as the format stores them (no copy when they already are).
    tensors = {name: np.asarray(arr, dtype=_DTYPES[_code_of(arr, name, path)], order="C")
               for name, arr in tensors.items()}
    meta[FORMAT_KEY] = FORMAT_VERSION
    meta[CHECKSUM_KEY] = tensors_sha256(tensors, {k: v for k, v in meta.items() if k != CHECKSUM_KEY})
    try:
        with atomic_output(path) as tmp:
            save_file(tensors, str(tmp), metadata=meta)
            _sort_metadata(tmp)
    except OSError as exc:
        raise CheckpointError(f"cannot write checkpoint `{path}`: {exc.strerror or exc}", code="E0801")
    except SafetensorError as exc:
        raise CheckpointError(f"cannot save `{path}`: {exc}")


def _sort_metadata(path: Path) -> None:
    """Rewrite the header of the file just written with ``__metadata__`` in sorted-key
    order (everything else as the package wrote it), keeping its length."""
    with open(path, "r+b") as handle:
        n = int.from_bytes(handle.read(8), "little")
        head = handle.read(n)
        header = json.loads(head)  # written by the package a moment ago: trusted
        header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
        canonical = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if len(canonical) > n:  # the same entries re-serialised: never longer
            raise SafetensorError(f"the header grew from {n} to {len(canonical)} bytes when sorted")
        handle.seek(8)
        handle.write(canonical + b" " * (n - len(canonical)))


def load_checkpoint(path: Path) -> Checkpoint:
    """Read and validate a safetensors checkpoint.

    The package checks the layout (header length against the file size,
    JSON, dtypes, shapes against byte lengths, offsets tiling the data);
    Volta checks the dtypes NumPy can hold, the number of dimensions, the
    format version and (for Volta files) the checksum. Every failure is a
    :class:`CheckpointError` naming the file.
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint `{path}` not found", code="E0801")
    except OSError as exc:
        why = "it is a loop of symbolic links" if exc.errno == errno.ELOOP else (exc.strerror or str(exc))
        raise CheckpointError(f"cannot read checkpoint `{path}`: {why}", code="E0801")
    if stat.S_ISDIR(mode):
        raise CheckpointError(f"checkpoint `{path}` is a directory, not a file", code="E0801")
    if not stat.S_ISREG(mode):
        raise CheckpointError(f"checkpoint `{path}` is {kind_of(mode)}, not a regular file", code="E0801")

    def bad(what: str, help: str | None = None) -> CheckpointError:
        return CheckpointError(f"invalid checkpoint `{path}`: {what}", help=help)

    tensors: dict[str, np.ndarray] = {}
    try:
        with safe_open(str(path), framework="numpy") as f:
            metadata = dict(f.metadata() or {})
            for name in f.keys():  # noqa: SIM118 (a safe_open handle is not a mapping)
                view = f.get_slice(name)
                code, shape = view.get_dtype(), view.get_shape()
                if code not in _DTYPES:
                    raise bad(f"tensor `{name}` has dtype {code}, which Volta cannot hold",
                              help=f"supported dtypes: {', '.join(_DTYPES)}")
                if len(shape) > MAX_DIMENSIONS:
                    raise bad(f"tensor `{name}` has {len(shape)} dimensions (at most {MAX_DIMENSIONS})")
                arr = f.get_tensor(name)
                tensors[name] = arr if arr.dtype.isnative else arr.astype(arr.dtype.newbyteorder("="))
    except SafetensorError as exc:
        raise bad(_reader_message(str(exc))) from None
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint `{path}`: {exc.strerror or exc}", code="E0801")

    version = metadata.pop(FORMAT_KEY, None)
    checksum = metadata.pop(CHECKSUM_KEY, None)
    if version is not None:
        if version != FORMAT_VERSION:
            shown = version if len(version) <= 40 else version[:37] + "..."
            raise bad(
                f"unsupported format version `{shown}` (this Volta reads `{FORMAT_VERSION}`)",
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


def _reader_message(message: str) -> str:
    detail = message.removeprefix("Error while deserializing header: ")
    for needle, text in _READER_ERRORS:
        if needle in detail.lower():
            return text
    unknown = re.search(r"unknown variant `([^`]{0,40})`", detail)
    if unknown:
        return f"a tensor has the unknown dtype `{unknown.group(1)}`"
    if "invalid shape, data type, or offset" in detail:
        return "a tensor's shape and dtype need another number of bytes than its data_offsets span"
    if detail.startswith("invalid JSON in header: "):
        return f"its header is not valid safetensors JSON ({detail.removeprefix('invalid JSON in header: ')})"
    if detail.startswith("invalid offset for tensor"):
        name = detail.removeprefix("invalid offset for tensor").strip()
        return f"tensor {name} has data_offsets that do not match its shape or leave a gap or an overlap"
    return f"not a valid safetensors file ({detail})"


# ------------------------------------------------------------ training state


def finite_in_float32(arr: np.ndarray) -> bool:
    """Whether every value of ``arr`` stays finite as float32 (what a model computes in)."""
    if arr.dtype == np.float32:
        return bool(np.isfinite(arr).all())
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(arr.astype(np.float32)).all())


@dataclass(frozen=True, slots=True)
class TrainingState:
    """What ``load`` restores besides the weights: step and epoch counts and,
    when the file has them, the optimizer and its state (ready to train on)."""

    steps: int
    epochs: int
    optimizer: Optimizer | None


def _count(metadata: Mapping[str, str], key: str, path: Path) -> int:
    text = metadata.get(key, "0") or "0"
    if not _COUNT.fullmatch(text) or int(text) > _MAX_COUNT:
        shown = text if len(text) <= 24 else text[:21] + "..."
        raise CheckpointError(
            f"invalid checkpoint `{path}`: metadata `{key}` must be a count (0 to {_MAX_COUNT}), not `{shown}`"
        )
    return int(text)


def _number(spec: Mapping[str, object], key: str) -> float | None:
    value = spec.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return None
    return float(value)


def read_training_state(
    metadata: Mapping[str, str],
    optimizer_state: Mapping[str, np.ndarray] | None,
    param_shapes: Mapping[str, tuple[int, ...]],
    path: Path,
) -> TrainingState:
    """The training state of a checkpoint, validated in full (nothing is applied).

    ``steps`` and ``epochs`` must be counts. Optimizer state comes with an
    ``optimizer`` metadata entry (JSON ``{"name", "momentum", "weight_decay"}``)
    or not at all; its arrays must be exactly the optimizer's slots for every
    parameter (none before its first step), shaped like the parameter, finite,
    plus a ``::steps`` count. Raises :class:`CheckpointError` (E0804).
    """
    def bad(what: str) -> CheckpointError:
        return CheckpointError(f"invalid checkpoint `{path}`: {what}")

    steps, epochs = _count(metadata, "steps", path), _count(metadata, "epochs", path)
    spec_text = metadata.get("optimizer")
    if optimizer_state is None and spec_text is None:
        return TrainingState(steps, epochs, None)
    if optimizer_state is None or spec_text is None:
        missing = "the `optimizer` metadata" if spec_text is None else "the optimizer's state tensors"
        raise bad(f"the optimizer state is incomplete: {missing} are missing")
    try:
        spec = safe_json.loads(spec_text)
    except safe_json.JsonError as exc:
        raise bad(f"metadata `optimizer` is not valid JSON ({exc.message})") from None
    if not isinstance(spec, dict) or set(spec) != {"name", "momentum", "weight_decay"}:
        raise bad("metadata `optimizer` must be an object with exactly `name`, `momentum` and `weight_decay`")
    name, momentum, decay = spec["name"], _number(spec, "momentum"), _number(spec, "weight_decay")
    if name not in OPTIMIZERS:
        shown = json.dumps(name)
        shown = shown if len(shown) <= 30 else shown[:27] + "..."
        raise bad(f"metadata `optimizer` names optimizer {shown}; known: {', '.join(OPTIMIZERS)}")
    if momentum is None or decay is None:
        raise bad("metadata `optimizer` needs `momentum` and `weight_decay` as finite numbers ≥ 0")
    opt = Optimizer(name, momentum=momentum, weight_decay=decay)
    counter = optimizer_state.get(Optimizer.STEPS_KEY)
    if counter is None or counter.shape != (1,) or counter.dtype.kind not in "iu" or int(counter[0]) < 0:
        raise bad(f"optimizer state `{Optimizer.STEPS_KEY}` must hold one non-negative integer")
    expected = {opt.state_key(p, slot): shape for p, shape in param_shapes.items() for slot in opt.slot_names()}
    found = set(optimizer_state) - {Optimizer.STEPS_KEY}
    if found and found != set(expected):
        extra, missing_keys = sorted(found - set(expected)), sorted(set(expected) - found)
        what = f"has `{extra[0]}`, which" if extra else f"lacks `{missing_keys[0]}`, which"
        raise bad(f"the optimizer state {what} a `{name}` optimizer of this model "
                  f"{'does not have' if extra else 'needs'}")
    for key in sorted(found):
        arr = optimizer_state[key]
        if tuple(arr.shape) != tuple(expected[key]):
            raise bad(f"optimizer state `{key}` has shape {format_shape(tuple(arr.shape))} but its parameter "
                      f"has {format_shape(tuple(expected[key]))}")
        if arr.dtype.kind != "f" or not finite_in_float32(arr):
            raise bad(f"optimizer state `{key}` must hold floating-point values that are finite in float32")
    opt.load_state_arrays(optimizer_state)
    return TrainingState(steps, epochs, opt)


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
