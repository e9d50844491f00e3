"""JSON from files anyone may have edited (run records, checkpoint metadata).

:func:`loads` is ``json.loads`` with three limits an untrusted file needs:

- **nesting** is at most :data:`MAX_DEPTH` levels, checked *before* parsing.
  ``json`` recurses in C once per level; under the raised recursion limit a
  :class:`~volta_core.lang.Session` runs with, 200,000 nested ``[`` overflow
  the C stack (a segfault) instead of raising ``RecursionError``;
- **duplicate keys** are an error (``json`` keeps the last one silently, so a
  tampered file could show one value to a reader and another to Volta);
- **integers** have at most :data:`MAX_INT_DIGITS` digits (Python refuses to
  convert more than 4,300 with a ``ValueError`` that is not a JSON error).

Every problem is a :class:`JsonError` with a message for the user.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

import numpy as np

__all__ = ["MAX_DEPTH", "MAX_INT_DIGITS", "JsonError", "loads"]

MAX_DEPTH: Final = 64
MAX_INT_DIGITS: Final = 40
#: A JSON string token (what ``json`` reads as one), so brackets inside strings are not counted.
_STRING: Final = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


class JsonError(ValueError):
    """Not acceptable JSON: ``message`` says why (with line and column when known)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def nesting_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` outside strings (an upper bound for invalid JSON)."""
    structural = _STRING.sub("", text)
    codes = np.frombuffer(structural.encode("utf-8", "surrogatepass"), np.uint8)
    steps = (codes == ord("[")).astype(np.int32) + (codes == ord("{"))
    steps -= (codes == ord("]")).astype(np.int32) + (codes == ord("}"))
    return int(np.cumsum(steps).max()) if steps.size else 0


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JsonError(f"the key `{key}` appears twice in one object")
        out[key] = value
    return out


def _integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise JsonError(f"a number with {digits} digits (at most {MAX_INT_DIGITS} are accepted)")
    return int(text)


def loads(text: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``text`` as JSON (``NaN`` and ``Infinity`` accepted, as Python writes them).

    Raises :class:`JsonError` for invalid JSON, nesting deeper than
    ``max_depth``, a duplicate key in an object, or an over-long integer.
    """
    depth = nesting_depth(text)
    if depth > max_depth:
        raise JsonError(f"arrays and objects are nested {depth} levels deep (at most {max_depth} are accepted)")
    try:
        return json.loads(text, object_pairs_hook=_unique, parse_int=_integer)
    except json.JSONDecodeError as exc:
        raise JsonError(f"{exc.msg} at line {exc.lineno}, column {exc.colno}") from None
