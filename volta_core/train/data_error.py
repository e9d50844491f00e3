"""The error of every dataset problem, naming the file, row and column.

A module of its own so that the loaders of every format (``data.py`` for
tables, npz and text, ``images.py`` for image folders) raise the same error.
"""

from __future__ import annotations

from volta_core.errors import VoltaError


class DataError(VoltaError):
    """A dataset could not be built.

    ``path`` is the file as written in the program (None for generated
    data); ``row`` is 1-based with the header as row 1 (CSV line numbers);
    ``column`` is a column or array name. ``key`` is the dataset property the
    error is about (``source``, ``target``, ``batch``, …; None: the file's
    contents or the dataset as a whole): a diagnostic points at its line.
    ``str(err)`` is the full one-line message naming file, row and column.
    """

    default_code = "E0803"

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        row: int | None = None,
        column: str | None = None,
        help: str | None = None,
        code: str | None = None,
        key: str | None = None,
    ) -> None:
        self.path = path
        self.row = row
        self.column = column
        self.key = key
        super().__init__(message, help=help, code=code)

    def describe(self) -> str:
        where: list[str] = []
        if self.path is not None:
            where.append(f"`{self.path}`")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column `{self.column}`")
        return f"{', '.join(where)}: {self.message}" if where else self.message
