"""Notebook content by the kernel's rules (volta_core.notebook): magics are lines,
a later cell may declare a name again, and one error hides no other diagnostic."""

from __future__ import annotations

from volta_core.analysis import analyze
from volta_core.lang.session import Session
from volta_core.notebook import Cells, analyze_cells
from volta_core.syntax.source import Span

MODEL = "model m\n    layers 2 3\n    loss mse"


def _codes(cells: Cells) -> list[tuple[str, int]]:
    return [(d.code, cells.cell_at(d.span.start)) for d in analyze_cells(cells).diagnostics]


def test_join_keeps_each_cells_offsets() -> None:
    cells = Cells.join(["a 1", "b 2\r\nprint b", ""])
    assert cells.text == "a 1\nb 2\nprint b\n"
    assert cells.starts == (0, 4, 16) and cells.ends == (3, 15, 16)
    assert cells.cell_at(5) == 1 and cells.cell_at(3) == 0 and cells.cell_at(16) == 2
    assert cells.local(1, Span(8, 15)) == Span(4, 11)
    assert cells.local(0, Span(2, 9)) == Span(2, 3)  # clamped to the cell


def test_magic_lines_are_valid_lines_only_in_notebook_content() -> None:
    cells = Cells.join([MODEL, "%plot m\n%who", "print m.params"])
    assert _codes(cells) == []
    assert [d.code for d in analyze(cells.text).errors] == ["E0100", "E0100"]  # a file: not Volta
    assert [s.start for s in analyze_cells(cells).lex.magics] == [cells.starts[1], cells.starts[1] + 8]
    # only in column 0, like the kernel
    assert ("E0100", 0) in _codes(Cells.join(["if true\n    %who"]))


def test_a_later_cell_may_declare_a_name_again_as_the_kernel_runs_it() -> None:
    cells = ["x 1\nprint x", "x 2\nprint x", MODEL, MODEL.replace("2 3", "4 3"), "print m.params"]
    assert _codes(Cells.join(cells)) == []
    session = Session(stdout=lambda _: None)
    assert all(session.run(c, f"<cell {i}>").ok for i, c in enumerate(cells))
    # within one cell it is still an error, in the kernel too
    twice = "y 1\ny 2\nprint y"
    assert ("E0303", 1) in _codes(Cells.join(["print 1", twice]))
    assert [d.code for d in session.run(twice).errors] == ["E0303"]


def test_uses_in_later_cells_resolve_to_the_latest_declaration() -> None:
    cells = Cells.join(["x 1", "print x", "x 2", "print x"])
    analysis = analyze_cells(cells)
    first, second = sorted((s for s in analysis.symbols.symbols if s.name == "x"), key=lambda s: s.span.start)
    assert [cells.cell_at(r.start) for r in first.references] == [1]
    assert [cells.cell_at(r.start) for r in second.references] == [3]


def test_a_name_used_before_the_cell_that_declares_it_is_an_error() -> None:
    # cells run top to bottom: the kernel would fail the first cell too
    assert ("E0314", 0) in _codes(Cells.join(["print later", "later 1"]))


def test_one_error_hides_no_other_diagnostic() -> None:
    cells = Cells.join(["unused 1", "print (1 +", "also 2\nprint alsoo"])
    codes = _codes(cells)
    assert ("W0101", 0) in codes and ("E0111", 1) in codes and ("E0301", 2) in codes
    # a name written on the broken line gets no unused warning (its use may be there)
    quiet = Cells.join(["rate 0.1", "print (rate +"])
    assert ("W0101", 0) not in _codes(quiet)


def test_a_syntax_error_in_a_file_no_longer_hides_unused_names_elsewhere() -> None:
    codes = [d.code for d in analyze("unused 1\nprint (1 +\n").diagnostics]
    assert codes == ["W0101", "E0111"]
    assert [d.code for d in analyze("k 1\nprint (k +\n").diagnostics] == ["E0111"]


def test_jupyterlab_lsp_virtual_document_is_split_back_into_cells() -> None:
    # jupyterlab-lsp: each cell's lines, "\n", then two blank lines before the next cell
    cells = [MODEL + "\nx 1", "%plot m", "x 2\nprint x\n\n# a gap inside a cell\nprint x", "print (1 +"]
    virtual = "\n\n\n".join(cells) + "\n"
    split = Cells.split_virtual(virtual)
    assert len(split.starts) == 4
    assert [virtual[a:b] for a, b in zip(split.starts, split.ends, strict=True)] == [*cells[:3], "print (1 +\n"]
    assert _codes(split) == [("W0101", 0), ("E0111", 3)]
    # an indented line after a double gap stays in its block's cell
    assert len(Cells.split_virtual("loop 2\n    print 1\n\n\n    print 2\n").starts) == 1
