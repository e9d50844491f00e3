"""Memory estimates checked before large allocations.

A model with a layer 2**63 − 1 wide, ``samples 9223372036854775807`` or a
``seq_len`` of a billion asks NumPy for more memory than any machine has. NumPy
then raises ``MemoryError`` — or ``ValueError: array is too big`` beyond what
an index can address, which used to surface as an internal error — and a size
just below the machine's memory makes it swap for minutes first. Each place
that allocates in proportion to a user's number estimates the bytes first and
calls :func:`check_fits`, which raises one clear :class:`TooLarge` (``E0608``)
naming what needs the memory and how much.
"""

from __future__ import annotations

import os
from typing import Final

from volta_core.errors import VoltaError

__all__ = ["ADDRESSABLE_BYTES", "TooLarge", "check_fits", "format_bytes", "physical_memory"]

#: NumPy cannot index more bytes than this, whatever the machine.
ADDRESSABLE_BYTES: Final = 2**63 - 1
_UNITS: Final = ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


class TooLarge(VoltaError):
    """Something would need more memory than the machine has (``E0608``)."""

    default_code = "E0608"


def physical_memory() -> int | None:
    """This machine's memory in bytes (None where the platform cannot say)."""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    return pages * size if pages > 0 and size > 0 else None


def format_bytes(n: int) -> str:
    """``1.5 GiB``, ``96 bytes``; ``more than 8 EiB`` beyond what can be addressed."""
    if n > ADDRESSABLE_BYTES:
        return "more than 8 EiB"
    value = float(n)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            return f"{n} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def check_fits(nbytes: int, what: str, help: str | None = None) -> None:
    """Raise :class:`TooLarge` when ``nbytes`` exceed this machine's memory (or
    what can be addressed at all); ``what`` names the thing, e.g. ``the
    weights of model `m` (3 parameters)``."""
    limit = physical_memory() or ADDRESSABLE_BYTES
    if nbytes > limit:
        machine = f"this machine has {format_bytes(limit)}" if limit < ADDRESSABLE_BYTES else "no machine has that"
        raise TooLarge(f"{what} would need {format_bytes(nbytes)} of memory; {machine}", help=help)
