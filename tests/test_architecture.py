"""The architecture's rules, checked on the source (docs/architecture.md).

- The import graph of the three packages has no cycle, counting every
  import that runs — at module level and inside functions. Imports under
  ``if TYPE_CHECKING:`` exist only for the type checker and are not counted.
- Between the rooms of ``volta_core`` (its sub-packages and top-level
  modules) the dependencies point one way, and the rules DESIGN.md names hold:
  the IR never imports a backend, the checker neither interop nor nn, and
  nothing in ``volta_core`` imports an editor or notebook framework.
- Every tree walker names its handlers ``visit_<NodeClass>``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from volta_core.syntax.visitor import NODE_CLASSES, dispatch_table

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("volta_core", "volta_lsp", "volta_kernel")


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _nodes(tree: ast.AST, typing: bool) -> Iterator[ast.AST]:
    """Every node of ``tree``; without ``typing``, not the bodies of ``if TYPE_CHECKING:``."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        yield node
        if not typing and isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _imports(module: str, path: Path, typing: bool = False) -> set[str]:
    """The modules of the three packages that ``module`` imports when it runs
    (with ``typing``, also those it imports for the type checker)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _nodes(ast.parse(path.read_text(encoding="utf-8")), typing):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


#: Leaf modules that are a room of their own although they sit in a package
#: (the source text and spans, which diagnostics and the parser both use).
_OWN_ROOMS = ("volta_core.syntax.source",)


def _room(module: str) -> str:
    if module in _OWN_ROOMS:
        return module
    return ".".join(module.split(".")[:2])


def _rooms() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        room = _room(module)
        out.setdefault(room, set()).update(_room(t) for t in targets if _room(t) != room)
    return out


def test_the_import_graph_finds_imports_inside_functions_and_skips_type_checking(tmp_path: Path) -> None:
    """The scanner itself: a function-level import counts, a TYPE_CHECKING one does not."""
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from volta_core.lang.interpreter import Interpreter\n"
        "def f():\n    from volta_core.nn import imported\n    import volta_core.ir.ops\n",
        encoding="utf-8",
    )
    assert _imports("volta_core.x", source) == {"volta_core.nn.imported", "volta_core.ir.ops"}
    assert "volta_core.lang.interpreter" in _imports("volta_core.x", source, typing=True)
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_itself_through_others() -> None:
    assert _cycles(GRAPH) == []


def test_the_rooms_of_volta_core_depend_one_way() -> None:
    rooms = {room: deps for room, deps in _rooms().items() if room.startswith("volta_core")}
    assert _cycles(rooms) == []


def _documented_order() -> list[str]:
    """The rooms as docs/architecture.md lists them, lowest first."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = text.split("<!-- rooms:", 1)[1].split("<!-- /rooms -->", 1)[0]
    names = re.findall(r"^\| `([\w.]+)`", table, flags=re.MULTILINE)
    return [name if name == "volta_core" else f"volta_core.{name}" for name in names]


def test_each_room_imports_only_rooms_listed_before_it_in_the_architecture_page() -> None:
    order = _documented_order()
    rooms = {room: deps for room, deps in _rooms().items() if room.startswith("volta_core")}
    assert sorted(order) == sorted(rooms), "docs/architecture.md must list every room once"
    rank = {room: i for i, room in enumerate(order)}
    upward = {room: sorted(d for d in deps if rank[d] > rank[room]) for room, deps in rooms.items()}
    assert {room: deps for room, deps in upward.items() if deps} == {}


@pytest.mark.parametrize(
    ("room", "forbidden"),
    [
        ("volta_core.ir", ("volta_core.backends", "volta_core.train", "volta_core.nn", "volta_core.lang")),
        ("volta_core.check", ("volta_core.interop", "volta_core.nn", "volta_core.ir", "volta_core.lang")),
        ("volta_core.present", tuple(r for r in _rooms() if r != "volta_core.present")),
        ("volta_core.syntax", ("volta_core.check", "volta_core.lang", "volta_core.nn")),
    ],
)
def test_a_room_does_not_import_what_sits_above_it(room: str, forbidden: tuple[str, ...]) -> None:
    assert _rooms().get(room, set()) & set(forbidden) == set()


def test_the_ir_imports_no_backend_and_the_op_registry_no_other_ir_module_even_for_typing() -> None:
    """Backends attach kernels to the registry; the graph builds on the ops, not the reverse."""
    ir = {m: _imports(m, p, typing=True) for m, p in MODULES.items() if _room(m) == "volta_core.ir"}
    assert {m: deps for m, deps in ir.items() if any(d.startswith("volta_core.backends") for d in deps)} == {}
    assert {d for d in ir["volta_core.ir.ops"] if d.startswith("volta_core.ir")} == set()


def test_the_core_imports_no_editor_or_notebook_framework() -> None:
    framework = re.compile(r"^\s*(?:from|import)\s+(pygls|lsprotocol|ipykernel|jupyter_client)\b", re.MULTILINE)
    offenders = [m for m, p in MODULES.items() if m.startswith("volta_core") and framework.search(p.read_text())]
    assert offenders == []


def test_statement_modules_do_not_import_the_interpreter() -> None:
    """They are written against ``lang.context.Context``; the interpreter imports them."""
    for module in ("model_statements", "run_statements", "file_statements", "arguments", "data_fit", "context"):
        assert "volta_core.lang.interpreter" not in GRAPH[f"volta_core.lang.{module}"]


# ------------------------------------------------------------- dispatch rule
_WALKER_PREFIXES = re.compile(r"\bdef (st|s|_exec|exec|_eval)_[a-z]\w*\(")


def test_no_walker_uses_another_naming_scheme() -> None:
    offenders = [m for m, p in MODULES.items() if _WALKER_PREFIXES.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_dispatch_tables_cover_every_node_they_must_handle() -> None:
    from volta_core.check import semantic
    from volta_core.lang import interpreter
    from volta_core.syntax import ast as A

    expressions = {A.Number, A.String, A.Bool, A.Name, A.Unary, A.Binary, A.Call, A.Member, A.ErrorExpr}
    statements = set(NODE_CLASSES.values()) - expressions - {A.IfBranch, A.Program}
    assert set(interpreter._DISPATCH) == expressions | statements
    # The checker skips the lines that belong to their block (properties, infer rows, error lines).
    assert set(semantic._VISIT) == expressions | statements - {A.Property, A.InferRow, A.ErrorStmt}


def test_dispatch_table_rejects_a_misspelt_or_duplicated_handler() -> None:
    class Typo:
        def visit_Numbr(self) -> None: ...

    class Twice:
        def visit_Number(self) -> None: ...

    with pytest.raises(TypeError, match="visit_Numbr names no AST node class"):
        dispatch_table(Typo)
    with pytest.raises(TypeError, match="Number is handled twice"):
        dispatch_table(Twice, Twice)
