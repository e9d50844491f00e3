"""The one dispatch rule for walking the AST.

A walker names the handler of node class ``C`` ``visit_C`` — as CPython's
``ast.NodeVisitor`` does — and builds its ``type → handler`` table once with
:func:`dispatch_table`, so the hot loop is one dictionary lookup per node.
The checker, the interpreter and the statement modules of ``volta_core.lang``
all follow it. (The parser is not a walker: it reads tokens and names its
statement parsers ``parse_<keyword>``.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import is_dataclass
from typing import Any, Final

from volta_core.syntax import ast as A

PREFIX: Final = "visit_"

#: Every AST node class by name.
NODE_CLASSES: Final[dict[str, type]] = {
    name: cls
    for name, cls in vars(A).items()
    if isinstance(cls, type) and is_dataclass(cls) and cls.__module__ == A.__name__
}


def dispatch_table(*owners: object) -> dict[type, Callable[..., Any]]:
    """``node class → handler`` for every ``visit_<NodeClass>`` attribute of ``owners``.

    A class contributes its (unbound) methods, a module its functions; each
    handler is called as ``handler(walker, node, …)``. Raises ``TypeError``
    when a ``visit_`` name names no AST class or two owners handle the same
    class, so a misspelt handler fails at import, not when the node first runs.
    """
    table: dict[type, Callable[..., Any]] = {}
    for owner in owners:
        for attr in dir(owner):
            if not attr.startswith(PREFIX):
                continue
            node = NODE_CLASSES.get(attr.removeprefix(PREFIX))
            if node is None:
                raise TypeError(f"{attr} names no AST node class (in {owner!r})")
            if node in table:
                raise TypeError(f"{node.__name__} is handled twice (again in {owner!r})")
            table[node] = getattr(owner, attr)
    return table
