"""Golden diagnostics: ``tests/golden/diagnostics/NAME.vt`` → ``NAME.txt``.

The expected file is the plain-text rendering (no colour) of every diagnostic
of ``analyze(text, path="NAME.vt")``, joined by a blank line; each diagnostic
is followed by its fixes, shown as the lines they change (``N - old``,
``N + new``) so a fix that edits the wrong place shows in the diff. The
comparison is exact. ``test_every_fix_fixes_its_diagnostic_and_nothing_else``
applies each fix and checks the result again. To accept new output after a
deliberate change, run

    VOLTA_UPDATE_GOLDEN=1 pytest tests/test_golden_diagnostics.py

and review the diff: each case names the code it is about (``e0203_…``), and
``test_case_reports_its_code`` checks that code is still reported.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from golden_files import check_golden

from volta_core.analysis import analyze
from volta_core.diagnostics import Diagnostic, Fix, render_text
from volta_core.syntax.source import Source

GOLDEN_DIR = Path(__file__).resolve().parent / "golden" / "diagnostics"
CASES = sorted(p.stem for p in GOLDEN_DIR.glob("*.vt"))


def apply_fix(text: str, fix: Fix) -> str:
    """``text`` with every edit of ``fix`` (offsets into ``text``, applied back to front)."""
    for edit in sorted(fix.edits, key=lambda e: e.span.start, reverse=True):
        text = text[: edit.span.start] + edit.new_text + text[edit.span.end :]
    return text


def render_fix(text: str, fix: Fix) -> str:
    """``fix: TITLE`` and the lines it changes, numbered from the first changed
    line: ``N - old`` lines, then ``N + new`` lines (tabs shown as ``\\t``)."""
    fixed = apply_fix(text, fix)
    lo = min(e.span.start for e in fix.edits)
    hi = max(e.span.end for e in fix.edits)
    start = text.rfind("\n", 0, lo) + 1
    end = text.find("\n", hi)
    end = len(text) if end < 0 else end
    old = text[start:end].split("\n")
    new = fixed[start : end + len(fixed) - len(text)].split("\n")
    same = 0  # unchanged lines at both ends are not shown
    while same < min(len(old), len(new)) and old[same] == new[same]:
        same += 1
    tail = 0
    while tail < min(len(old), len(new)) - same and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    old, new = old[same : len(old) - tail], new[same : len(new) - tail]
    first = text.count("\n", 0, start) + 1 + same
    width = len(str(first + max(len(old), len(new), 1) - 1))
    lines = [f"fix: {fix.title}", " " * width + " |"]
    for sign, part in (("-", old), ("+", new)):
        lines += [f"{first + i:>{width}} {sign}" + (f" {line}" if line else "") for i, line in enumerate(part)]
    return "\n".join(lines).replace("\t", "\\t") + "\n"


def render_diagnostic(text: str, diagnostic: Diagnostic) -> str:
    return render_text(diagnostic, colour=False) + "".join(render_fix(text, f) for f in diagnostic.fixes)


def render_case(name: str) -> str:
    text = (GOLDEN_DIR / f"{name}.vt").read_text(encoding="utf-8")
    analysis = analyze(text, path=f"{name}.vt")
    source = Source(text).text  # offsets are into the normalised text
    return "\n".join(render_diagnostic(source, d) for d in analysis.diagnostics)


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 45


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str) -> None:
    actual = render_case(name)
    expected_path = GOLDEN_DIR / f"{name}.txt"
    check_golden(expected_path, actual)


@pytest.mark.parametrize("name", CASES)
def test_case_reports_its_code(name: str) -> None:
    """``e0203_unknown_activation`` must report E0203 (guards against blind updates)."""
    code = name.split("_", 1)[0].upper()
    text = (GOLDEN_DIR / f"{name}.vt").read_text(encoding="utf-8")
    assert code in [d.code for d in analyze(text, path=f"{name}.vt").diagnostics]


#: Other diagnostics a fix changes on purpose: ``(case, fix title) → [(+|-, code)]``.
CONSEQUENCES: dict[tuple[str, str], list[tuple[str, str]]] = {
    # the misspelt name now reads the variable, which is therefore used
    ("e0301_undefined_variable_did_you_mean", "Change to `learning_rate`"): [("-", "W0101")],
    # one variable, assigned and then read, instead of an unread first declaration
    ("e0303_redeclaration", "Assign instead of redeclaring"): [("-", "W0101")],
    # the declared variable is never read in this two-line program
    ("e0304_assign_undeclared", "Declare `total`"): [("+", "W0101")],
    # the corrected call uses the function
    ("e0305_undefined_function", "Change to `double`"): [("-", "W0102")],
}

FIXES = [
    (name, index, fix_index)
    for name in CASES
    for index, d in enumerate(analyze((GOLDEN_DIR / f"{name}.vt").read_text(encoding="utf-8")).diagnostics)
    for fix_index in range(len(d.fixes))
]


def test_there_are_fixes_to_check() -> None:
    assert len(FIXES) >= 25


@pytest.mark.parametrize(("name", "index", "fix_index"), FIXES)
def test_every_fix_fixes_its_diagnostic_and_nothing_else(name: str, index: int, fix_index: int) -> None:
    """Applied to its source, a fix removes its diagnostic; the others stay as
    they were, except the consequences listed in :data:`CONSEQUENCES`."""
    text = Source((GOLDEN_DIR / f"{name}.vt").read_text(encoding="utf-8")).text
    before = analyze(text, path=f"{name}.vt").diagnostics
    target = before[index]
    fix = target.fixes[fix_index]
    after = analyze(apply_fix(text, fix), path=f"{name}.vt").diagnostics
    key = [(d.code, d.message) for d in after]
    assert (target.code, target.message) not in key, f"{fix.title!r} left {target.code}"
    expected = sorted((d.code, d.message) for i, d in enumerate(before) if i != index)
    changes = CONSEQUENCES.get((name, fix.title), [])
    for sign, code in changes:
        if sign == "-":
            gone = next(k for k in expected if k[0] == code)
            expected.remove(gone)
    added = sorted(k for k in key if k not in expected)
    assert sorted(k for k in key if k in expected) == expected, f"{fix.title!r} changed other diagnostics"
    assert [k[0] for k in added] == sorted(code for sign, code in changes if sign == "+"), added
