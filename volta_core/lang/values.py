"""Runtime values of the Volta language and how they print.

Values are plain Python objects so the interpreter's hot paths stay cheap:

=========  ====================================================================
Volta      Python
=========  ====================================================================
``int``    :class:`int`, always within the signed 64-bit range (checked by
           every operation that can leave it)
``float``  :class:`float` (IEEE 754 double; ``inf`` and ``nan`` are values)
``bool``   :class:`bool` (never treated as a number)
``str``    :class:`str`
function   :class:`Function` (stored in scopes, never usable as a value)
=========  ====================================================================

Because ``bool`` is a subclass of ``int`` in Python, runtime type tests always
use ``type(v) is int`` — never ``isinstance``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from volta_core.syntax import ast as A
from volta_core.syntax.source import Source

INT_MIN: Final = -(2**63)
INT_MAX: Final = 2**63 - 1

#: Longest string a program may build (concatenation past it is E0608), so a
#: doubling loop fails with a diagnostic instead of exhausting memory.
MAX_STRING_LENGTH: Final = 2**27


@dataclass(frozen=True, slots=True)
class Function:
    """A user function: defined when its ``fn`` statement runs.

    ``source`` is the text the function was written in, so a runtime error in
    a function defined by an earlier notebook cell points into that cell.
    """

    name: str
    params: tuple[str, ...]
    body: tuple[A.Stmt, ...]
    source: Source
    node: A.FnDef

    @property
    def signature(self) -> str:
        return f"fn {self.name}({', '.join(self.params)})"


class _NoValue:
    """What a function call yields when the function ends without a value."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_VALUE"


NO_VALUE: Final = _NoValue()

Scalar = int | float | bool | str
#: Anything a scope can hold.
Value = int | float | bool | str | Function

_TYPE_NAMES: Final[dict[type, str]] = {
    int: "int",
    float: "float",
    bool: "bool",
    str: "str",
    Function: "fn",
}


def type_name(value: object) -> str:
    """The Volta name of ``value``'s type (``int``, ``float``, ``bool``, ``str``, ``fn``,
    ``model``, ``dataset``)."""
    name = _TYPE_NAMES.get(type(value))
    if name is not None:
        return name
    return str(getattr(value, "volta_type", type(value).__name__))


def format_float(value: float) -> str:
    """Shortest round-trip form: ``0.30000000000000004``, ``3.0``, ``1e+20``,
    ``-0.0``, ``inf``, ``-inf``, ``nan`` (Python's ``repr``)."""
    return repr(value)


def format_value(value: object) -> str:
    """How ``print`` shows ``value``."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[return-value]
    if kind is bool:
        return "true" if value else "false"
    if kind is float:
        return repr(value)
    if kind is Function:
        return f"<{value.signature}>"  # type: ignore[attr-defined]
    volta_type = getattr(value, "volta_type", None)
    if volta_type is not None:
        return f"<{volta_type} {value.name}>"  # type: ignore[attr-defined]
    return str(value)
