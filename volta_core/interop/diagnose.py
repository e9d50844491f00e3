"""Import failures as diagnostic codes, and the check-time validator of ``import`` statements.

``classify`` maps an :class:`OnnxImportError` to one ``E08xx`` code (docs/onnx.md,
docs/diagnostics.md). ``validate_file`` is what ``volta check`` calls (lazily, so
the checker never imports ``onnx`` at module import time): it imports the file
exactly as the ``import`` statement would and caches the verdict by path, size,
modification time, batch and loss.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from volta_core.interop.onnx_import import OnnxImportError
from volta_core.nn.imported import ImportFitError, load_imported

#: (code, short title) of each kind of import failure.
READ_FAILED = "E0801"
INVALID_FILE = "E0807"
UNSUPPORTED_OP = "E0808"
UNSUPPORTED_TYPE = "E0809"
NOT_LOWERABLE = "E0810"
EXPORT_FAILED = "E0811"
DOES_NOT_FIT = ImportFitError.default_code

_INVALID = (
    "malformed protobuf", "invalid ONNX model", "-byte limit", "external data", "is not a file",
    "does not import the default ONNX operator set", "batch must be a positive integer", "cannot decode its data", "is not supported (Volta reads opsets",
)  # fmt: skip
_TYPE = ("unsupported dtype", "dynamic batch dimension", "dynamic dimension", "has no shape", "is not a tensor",
         "trainable values must be floats", "unresolved shape", "elements, over the limit")  # fmt: skip


def classify(err: OnnxImportError) -> str:
    """The diagnostic code for an import failure."""
    reason = err.reason
    if reason.startswith("cannot read "):
        return READ_FAILED
    if reason.startswith("unsupported op"):
        return UNSUPPORTED_OP
    if any(key in reason for key in _INVALID):
        return INVALID_FILE
    if any(key in reason for key in _TYPE):
        return UNSUPPORTED_TYPE
    return NOT_LOWERABLE


@dataclass(frozen=True)
class Verdict:
    """``None`` code: the file imports. Otherwise the code and the user-facing message."""

    code: str | None
    message: str = ""


_CACHE: dict[tuple[str, int, int, int | None, str | None], Verdict] = {}


def validate_file(path: str | os.PathLike[str], batch: int | None, loss: str | None = None) -> Verdict | None:
    """Import ``path`` as ``import`` would; ``None`` when the file does not exist (yet)."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return None
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns, batch, loss)
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    try:
        load_imported(p, "m", batch, loss)
        verdict = Verdict(None)
    except OnnxImportError as err:
        verdict = Verdict(classify(err), f"cannot import `{p.name}`: {err}")
    except ImportFitError as err:
        verdict = Verdict(err.code, f"cannot import `{p.name}`: {err}")
    if len(_CACHE) > 64:
        _CACHE.clear()
    _CACHE[key] = verdict
    return verdict
