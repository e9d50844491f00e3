"""Reading a file a program names: regular files only, and never more than a bound.

``/dev/zero`` never ends, ``/dev/random`` blocks, and opening a named pipe
waits until some other process writes to it: none of them is a data file, a
checkpoint, a run record or a program. :func:`read_regular_file` opens without
waiting (``O_NONBLOCK``), checks the opened file is a regular one, and reads
at most ``limit`` bytes, so what it checked is what it reads.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

__all__ = ["kind_of", "open_regular_file", "read_regular_file"]

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def kind_of(mode: int) -> str:
    """What a file of ``os.stat`` mode ``mode`` is, in words (``a named pipe``)."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


def _describe(exc: OSError) -> OSError:
    """``exc`` with a clearer ``strerror`` where Python's is misleading."""
    if exc.errno == errno.ELOOP:
        return OSError(errno.ELOOP, "it is a loop of symbolic links", exc.filename)
    return exc


def open_regular_file(path: Path, limit: int) -> BinaryIO:
    """The regular file at ``path`` (links followed), opened for binary reading.

    Raises ``FileNotFoundError``; ``IsADirectoryError`` for a directory;
    ``OSError`` whose ``strerror`` names the kind for a pipe, device or
    socket, says "a loop of symbolic links" for one, or (``errno.EFBIG``)
    says the file is larger than ``limit`` bytes.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _describe(exc) from None
    handle = os.fdopen(fd, "rb")
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "it is a directory, not a file", str(path))
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, f"it is {kind_of(st.st_mode)}, not a regular file", str(path))
        if st.st_size > limit:
            raise _too_large(path, limit)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)  # O_NONBLOCK was for the open only
    except BaseException:
        handle.close()
        raise
    return handle


def _too_large(path: Path, limit: int) -> OSError:
    return OSError(errno.EFBIG, f"it is larger than {limit:,} bytes, the limit for this kind of file", str(path))


def read_regular_file(path: Path, limit: int) -> bytes:
    """The bytes of the regular file at ``path`` (see :func:`open_regular_file`);
    never more than ``limit`` bytes, even from a file that grows meanwhile."""
    with open_regular_file(path, limit) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise _too_large(path, limit)
    return data
