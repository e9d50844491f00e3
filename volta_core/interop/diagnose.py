"""Import failures as diagnostic codes.

``classify`` maps an :class:`OnnxImportError` to one ``E08xx`` code (docs/onnx.md,
docs/diagnostics.md). The check-time validator of ``import`` statements, which
builds the model, is :func:`volta_core.nn.imported.validate_file`.
"""

from __future__ import annotations

from volta_core.interop.onnx_import import OnnxImportError

#: (code, short title) of each kind of import failure.
READ_FAILED = "E0801"
INVALID_FILE = "E0807"
UNSUPPORTED_OP = "E0808"
UNSUPPORTED_TYPE = "E0809"
NOT_LOWERABLE = "E0810"
EXPORT_FAILED = "E0811"

_INVALID = (
    "malformed protobuf", "invalid ONNX model", "-byte limit", "external data", "is not a file",
    "does not import the default ONNX operator set", "batch must be a positive integer", "cannot decode its data", "is not supported (Volta reads opsets",
)  # fmt: skip
_TYPE = ("unsupported dtype", "dynamic batch dimension", "dynamic dimension", "has no shape", "is not a tensor",
         "trainable values must be floats", "unresolved shape", "elements, over the limit")  # fmt: skip


def import_message(file_name: str, err: Exception) -> str:
    """``cannot import `m.onnx`: …`` as check, run and info print it (the hint names the file)."""
    return f"cannot import `{file_name}`: {err}".replace("FILE.onnx", file_name)


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
