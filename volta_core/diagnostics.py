"""Structured diagnostics, the codes registry and the renderers.

One :class:`Diagnostic` object feeds every front door: the CLI renders it as
text (rustc style) or JSON, the language server turns it into an LSP
diagnostic plus quick-fix code actions (from :attr:`Diagnostic.fixes`), and
the kernel renders it with the cell's own line numbers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import IO, Any

from volta_core.diagnostic_codes import CODES, CodeInfo
from volta_core.suggest import closest
from volta_core.syntax.source import Source, Span

__all__ = [
    "CODES",
    "CodeInfo",
    "Diagnostic",
    "DiagnosticError",
    "Fix",
    "Label",
    "Severity",
    "Tag",
    "TextEdit",
    "explain",
    "render_json",
    "render_text",
    "summary_line",
    "unknown_name",
    "use_colour",
]


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Tag(StrEnum):
    """Editor hints: ``unnecessary`` is shown faded (unused names)."""

    UNNECESSARY = "unnecessary"


@dataclass(frozen=True, slots=True)
class Label:
    """A secondary span with a short message (``-----`` under the code)."""

    span: Span
    message: str


@dataclass(frozen=True, slots=True)
class TextEdit:
    """Replace the text in ``span`` with ``new_text`` (insertion: empty span)."""

    span: Span
    new_text: str


@dataclass(frozen=True, slots=True)
class Fix:
    """A machine-applicable fix: one or more edits with a title for the editor."""

    title: str
    edits: tuple[TextEdit, ...]

    @staticmethod
    def replace(title: str, span: Span, new_text: str) -> Fix:
        return Fix(title, (TextEdit(span, new_text),))


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """An error or warning with a code, a primary span and optional extras.

    ``label`` is the short text under the primary span; ``notes`` are
    ``= note:`` lines and ``helps`` are ``= help:`` lines.
    """

    code: str
    message: str
    span: Span
    label: str = ""
    labels: tuple[Label, ...] = ()
    notes: tuple[str, ...] = ()
    helps: tuple[str, ...] = ()
    fixes: tuple[Fix, ...] = ()
    tags: tuple[Tag, ...] = ()
    source: Source | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"diagnostic code {self.code} is not registered")

    @property
    def severity(self) -> Severity:
        return Severity.WARNING if self.code.startswith("W") else Severity.ERROR

    @property
    def is_error(self) -> bool:
        return not self.code.startswith("W")

    def with_source(self, source: Source) -> Diagnostic:
        """This diagnostic attached to ``source`` (for rendering)."""
        return Diagnostic(
            self.code, self.message, self.span, self.label, self.labels,
            self.notes, self.helps, self.fixes, self.tags, source,
        )


class DiagnosticError(Exception):
    """Raised to abort execution with one diagnostic (runtime errors)."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def unknown_name(
    code: str,
    message: str,
    word: str,
    span: Span,
    candidates: Iterable[str],
    *,
    label: str,
    listing: str = "",
    otherwise: str = "",
    labels: tuple[Label, ...] = (),
    helps: tuple[str, ...] = (),
    fixes: tuple[Fix, ...] = (),
) -> Diagnostic:
    """The one "unknown name / did you mean" diagnostic, for every kind of name.

    When a candidate is close to ``word`` (:func:`~volta_core.suggest.closest`),
    the first help is ``did you mean `x`?`` followed on the same line by
    ``listing`` (``allowed: a, b``), and the first fix replaces ``span`` with
    it. Otherwise the first help is ``listing``, or ``otherwise`` when there is
    no listing. ``helps`` and ``fixes`` follow.
    """
    near = closest(word, candidates)
    first = listing or otherwise
    if near is not None:
        first = f"did you mean `{near}`?" + (f" {listing}" if listing else "")
        fixes = (Fix.replace(f"Change to `{near}`", span, near), *fixes)
    return Diagnostic(
        code, message, span, label=label, labels=labels,
        helps=(*([first] if first else []), *helps), fixes=fixes,
    )


def explain(code: str) -> str | None:
    """The long explanation of ``code`` (case-insensitive), or None if unknown."""
    info = CODES.get(code.strip().upper())
    if info is None:
        return None
    return f"{info.code}: {info.title}\n\n{info.explanation.strip()}\n"


# --------------------------------------------------------------------------
# text rendering


def use_colour(stream: IO[str]) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class _Style:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, *codes: str) -> str:
        if not self.enabled or not text:
            return text
        return f"\x1b[{';'.join(codes)}m{text}\x1b[0m"


_BOLD = "1"
_RED = "31"
_YELLOW = "33"
_BLUE = "34"
_CYAN = "36"
_TAB_WIDTH = 4


def _display(line: str, column: int) -> int:
    """Display column (0-based) of 1-based character ``column``, tabs expanded."""
    # tab stops, exactly as the rendered line is expanded with `expandtabs`
    return len(line[: column - 1].expandtabs(_TAB_WIDTH))


def _underline(source: Source, span: Span, line: int) -> tuple[int, int]:
    """Display start and width of ``span``'s underline on ``line``."""
    text = source.line_text(line)
    start = source.position(span.start)
    end = source.position(span.end)
    start_col = start.column if start.line == line else 1
    end_col = end.column if end.line == line else len(text) + 1
    lo = _display(text, start_col)
    hi = _display(text, end_col)
    return lo, max(1, hi - lo)


def render_text(diagnostic: Diagnostic, colour: bool = False, line_offset: int = 0) -> str:
    """Render in the rustc style of SPEC §5.

    ``line_offset`` shifts displayed line numbers (used by hosts that embed a
    fragment, e.g. notebook cells keep their own numbering with 0).
    """
    style = _Style(colour)
    sev = diagnostic.severity
    sev_colour = _RED if sev is Severity.ERROR else _YELLOW
    out = [
        style(f"{sev.value}[{diagnostic.code}]", _BOLD, sev_colour)
        + style(f": {diagnostic.message}", _BOLD)
    ]
    source = diagnostic.source
    if source is None:
        out.extend(_tail(diagnostic, style, 1))
        return "\n".join(out) + "\n"

    primary = source.position(diagnostic.span.start)
    marks: list[tuple[int, Span, str, bool]] = [
        (primary.line, diagnostic.span, diagnostic.label, True)
    ]
    for lab in diagnostic.labels:
        marks.append((source.position(lab.span.start).line, lab.span, lab.message, False))
    lines = sorted({m[0] for m in marks})
    width = len(str(lines[-1] + line_offset))
    gutter = style(" " * width + " |", _BOLD, _BLUE)
    out.append(
        " " * width
        + style("--> ", _BOLD, _BLUE)
        + f"{source.path}:{primary.line + line_offset}:{primary.column}"
    )
    out.append(gutter)
    previous = None
    for line in lines:
        if previous is not None and line > previous + 1:
            out.append(style("...", _BOLD, _BLUE))
        previous = line
        text = source.line_text(line).expandtabs(_TAB_WIDTH)
        number = style(f"{line + line_offset:>{width}} |", _BOLD, _BLUE)
        out.append(f"{number} {text}".rstrip())
        on_line = sorted((m for m in marks if m[0] == line), key=lambda m: (m[1].start, not m[3]))
        for _, span, message, is_primary in on_line:
            lo, size = _underline(source, span, line)
            char, col = ("^", sev_colour) if is_primary else ("-", _BLUE)
            under = style(char * size + (f" {message}" if message else ""), _BOLD, col)
            out.append(f"{gutter} {' ' * lo}{under}")
    tail = _tail(diagnostic, style, width)
    if tail:
        out.append(gutter)
        out.extend(tail)
    return "\n".join(out) + "\n"


def _tail(diagnostic: Diagnostic, style: _Style, width: int) -> list[str]:
    pad = " " * (width + 1)
    lines = [f"{pad}{style('= note', _BOLD)}: {n}" for n in diagnostic.notes]
    lines += [f"{pad}{style('= help', _BOLD, _CYAN)}: {h}" for h in diagnostic.helps]
    return lines


def summary_line(diagnostics: Sequence[Diagnostic], colour: bool = False) -> str:
    """``2 errors, 1 warning`` style count (empty when there is nothing)."""
    errors = sum(1 for d in diagnostics if d.is_error)
    warnings = len(diagnostics) - errors
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return ", ".join(parts)


# --------------------------------------------------------------------------
# JSON rendering


def _range(source: Source | None, span: Span) -> dict[str, Any]:
    if source is None:
        return {"start": {"offset": span.start}, "end": {"offset": span.end}}
    s = source.position(span.start)
    e = source.position(span.end)
    return {
        "start": {"line": s.line, "column": s.column},
        "end": {"line": e.line, "column": e.column},
    }


def to_dict(diagnostic: Diagnostic) -> dict[str, Any]:
    """A JSON-ready dictionary (positions 1-based, end exclusive)."""
    src = diagnostic.source
    return {
        "code": diagnostic.code,
        "severity": diagnostic.severity.value,
        "message": diagnostic.message,
        "file": src.path if src else None,
        "range": _range(src, diagnostic.span),
        "label": diagnostic.label,
        "labels": [
            {"range": _range(src, lab.span), "message": lab.message} for lab in diagnostic.labels
        ],
        "notes": list(diagnostic.notes),
        "helps": list(diagnostic.helps),
        "fixes": [
            {
                "title": fix.title,
                "edits": [
                    {"range": _range(src, e.span), "new_text": e.new_text} for e in fix.edits
                ],
            }
            for fix in diagnostic.fixes
        ],
        "tags": [t.value for t in diagnostic.tags],
    }


def render_json(diagnostics: Iterable[Diagnostic]) -> str:
    return json.dumps([to_dict(d) for d in diagnostics], indent=2, sort_keys=False)
