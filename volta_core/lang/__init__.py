"""The interpreter and :class:`Session` (runtime state across files and cells)."""

from volta_core.lang.session import RunResult, Session
from volta_core.lang.values import Function, Value

__all__ = ["Function", "RunResult", "Session", "Value"]
