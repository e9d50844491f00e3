"""The one base class of domain errors that become diagnostics.

A :class:`VoltaError` is raised by a library layer (datasets, checkpoints,
run records, device selection, ONNX model fitting) that knows *what* went
wrong but not *where* in a program: it has no span. It guarantees

- ``message``: one line for the user, naming the file or thing at fault
  (never a Python repr or traceback);
- ``help``: one optional line on how to fix it (``None`` when there is none);
- ``code``: a diagnostic code registered in
  :data:`volta_core.diagnostic_codes.CODES` — the subclass's
  ``default_code`` unless the raise site passes a more precise one
  (``tests/test_errors.py`` checks every default);
- ``str(err)`` is :meth:`VoltaError.describe`: the message, prefixed by
  whatever location a subclass carries (e.g. a data file's row and column).

Front doors turn one into a diagnostic where they know the span: the
interpreter catches it at the statement that caused it and reports
``Diagnostic(err.code, str(err), statement span, helps=(err.help,))``;
the CLI, for errors outside any program (a run record it reads or writes),
prints ``str(err)`` and the help line as a command error.

This module imports nothing from ``volta_core``, so every layer may use it.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = ["VoltaError"]


class VoltaError(Exception):
    """A user-facing error with a message, an optional help line and a diagnostic code.

    Subclasses set ``default_code``; a subclass with a location sets its
    location attributes *before* calling ``super().__init__`` and overrides
    :meth:`describe`, so that ``str(err)`` names the location too.
    """

    default_code: ClassVar[str]

    def __init__(self, message: str, *, help: str | None = None, code: str | None = None) -> None:
        self.message = message
        self.help = help
        self.code = code if code is not None else self.default_code
        super().__init__(self.describe())

    def describe(self) -> str:
        """The full one-line message (``str(err)``); the base has no location to add."""
        return self.message
