"""Atomic file writes: readers see either the old file or the complete new one.

Used for checkpoints, run records and ``infer … as "out.csv"`` output. The
data goes to a temporary file in the destination's directory (so the final
rename never crosses file systems), is flushed and fsync'ed, and then
``os.replace`` swaps it in. When anything fails the temporary file is removed
and the previous file, if any, is left untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path: Path, data: bytes | bytearray | memoryview) -> None:
    """Write ``data`` to ``path`` atomically (all or nothing).

    Raises ``OSError`` when the directory does not exist or is not writable,
    or when the write or rename fails; the destination is then unchanged.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates the file 0600; give it the usual umask-derived mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_directory(directory)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` as UTF-8 (newlines unchanged) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable on POSIX; not supported everywhere
    # (Windows cannot open directories), where it is simply skipped.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
