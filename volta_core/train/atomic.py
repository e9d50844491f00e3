"""Atomic file writes: readers see either the old file or the complete new one.

Used for checkpoints, run records, ``infer … as "out.csv"`` output and ONNX
exports. The data goes to a temporary file next to the destination (so the
final rename never crosses file systems), is flushed and fsync'ed, and then
``os.replace`` swaps it in. When anything fails the temporary file is removed
and the previous file, if any, is left untouched.

What is respected (docs/formats.md, "Writing files"):

- **links**: a destination that is a symbolic link to an existing file is
  written *through*: the link stays and its target is replaced. A dangling
  link, or a loop of links, is refused (writing would create a file where
  the user did not ask for one);
- **permissions**: a read-only destination is refused, never replaced; a
  replaced file keeps its permission bits, a new one gets ``0o666`` less the
  umask, as any file a program creates;
- **kinds**: only a regular file (or nothing) is replaced; a directory, named
  pipe or device is refused;
- **temporaries** are named ``NAME.volta-partial-PID-RANDOM`` so a user can
  tell what they are. A write killed half-way (SIGKILL, power loss) leaves
  one behind; the next write of the same destination removes those whose
  process is gone.

Refusals are ``OSError`` subclasses whose ``strerror`` says what is wrong,
so callers report them like any other write failure.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final

__all__ = ["TEMP_MARK", "atomic_output", "atomic_write_bytes", "atomic_write_text", "write_target"]

#: The part of a temporary file's name between the destination's name and the writer's PID.
TEMP_MARK: Final = ".volta-partial-"
#: Where a process cannot be asked whether it is alive (Windows), a temporary
#: file this old is taken to be left over from a killed write.
_STALE_AGE_S: Final = 24 * 3600


def write_target(path: Path) -> Path:
    """The file a write to ``path`` replaces: ``path`` itself, or the existing
    file a symbolic link at ``path`` points to.

    Raises ``OSError`` (with ``strerror`` naming the problem) for a dangling
    link, a loop of links, a read-only file or something that is not a
    regular file.
    """
    path = Path(path)
    if path.is_symlink():
        try:
            target = Path(os.path.realpath(path, strict=True))
        except FileNotFoundError:
            raise FileNotFoundError(
                errno.ENOENT, f"it is a symbolic link to `{os.readlink(path)}`, which does not exist "
                "(Volta writes through a link only to an existing file)",
            ) from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise OSError(errno.ELOOP, "it is a loop of symbolic links") from None
            raise
    else:
        target = path
    try:
        st = target.stat()
    except FileNotFoundError:
        return target
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "it is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise OSError(errno.EINVAL, "it is not a regular file (a named pipe, socket or device)")
    # Mode bits, not os.access: an administrator may write anything, but a
    # file marked read-only is one its owner asked to keep.
    if not st.st_mode & 0o222 or not os.access(target, os.W_OK):
        raise PermissionError(errno.EACCES, "it is read-only (Volta never replaces a read-only file)")
    return target


def _new_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _alive(pid: int) -> bool | None:
    """Whether process ``pid`` runs (None: this platform cannot tell)."""
    if os.name != "posix":
        return None  # os.kill(pid, 0) would terminate the process on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, owned by someone else
    return True


def _remove_stale_temporaries(target: Path) -> None:
    prefix = target.name + TEMP_MARK
    with contextlib.suppress(OSError), os.scandir(target.parent) as entries:
        for entry in entries:
            if not entry.name.startswith(prefix):
                continue
            pid_text = entry.name[len(prefix):].split("-", 1)[0]
            if not pid_text.isdigit() or int(pid_text) == os.getpid():
                continue
            alive = _alive(int(pid_text))
            with contextlib.suppress(OSError):
                if alive is False or (alive is None and time.time() - entry.stat().st_mtime > _STALE_AGE_S):
                    os.unlink(entry.path)


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """A temporary file that becomes the file at ``path`` (see :func:`_atomic_output`).

    In a data-parallel job only rank 0 writes; the other ranks write a scratch
    file that is thrown away, and all agree on rank 0's result
    (:func:`volta_core.train.distributed.rank0_output`).
    """
    from volta_core.train.distributed import rank0_output

    with rank0_output(path, _atomic_output) as tmp:
        yield tmp


@contextlib.contextmanager
def _atomic_output(path: Path) -> Iterator[Path]:
    """A temporary file (created empty, ``0o600``) that becomes the file at
    ``path`` when the ``with`` block ends without an exception.

    The block writes the temporary file by name (e.g. a library that takes a
    path). Afterwards it is fsync'ed, given its final mode, and renamed over
    the destination (see the module docstring for links and permissions).
    On any failure the temporary file is removed and the destination is
    unchanged.
    """
    target = write_target(path)
    directory = target.parent if str(target.parent) else Path(".")
    mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else _new_file_mode()
    _remove_stale_temporaries(target)
    tmp = directory / f"{target.name}{TEMP_MARK}{os.getpid()}-{secrets.token_hex(4)}"
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDWR)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_directory(directory)


def atomic_write_bytes(path: Path, data: bytes | bytearray | memoryview | Iterable[bytes | memoryview]) -> None:
    """Write ``data`` (one buffer, or buffers written one after another) to
    ``path`` atomically (all or nothing).

    Raises ``OSError`` when the directory does not exist or is not writable,
    when the destination is refused (see the module docstring), or when the
    write or rename fails; the destination is then unchanged.
    """
    chunks = [data] if isinstance(data, (bytes, bytearray, memoryview)) else data
    with atomic_output(path) as tmp, open(tmp, "wb") as handle:
        for chunk in chunks:
            handle.write(chunk)


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
