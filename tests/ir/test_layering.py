"""The IR's imports point one way: backends depend on the IR, never the reverse,
and the op registry (``ops``) depends on no other IR module."""

from __future__ import annotations

import ast
from pathlib import Path

import volta_core.ir

IR = Path(volta_core.ir.__file__).parent


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at module level or inside functions or ``TYPE_CHECKING``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 and node.module is not None, f"{path.name}: relative import"
            found.add(node.module)
            # `from volta_core.ir import graph` imports a module by name.
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def test_no_ir_module_imports_a_backend() -> None:
    offenders = {
        path.name: sorted(m for m in imported_modules(path) if m.startswith("volta_core.backends"))
        for path in sorted(IR.glob("*.py"))
    }
    assert {name: mods for name, mods in offenders.items() if mods} == {}


def test_the_op_registry_imports_no_other_ir_module() -> None:
    ir_modules = {m for m in imported_modules(IR / "ops.py") if m.startswith("volta_core.")}
    assert ir_modules == set()
