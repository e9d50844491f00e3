"""What a statement handler receives: the scope it runs in, the session's
runtime state, and the interpreter's public face (:class:`Context`).

The interpreter (:mod:`volta_core.lang.interpreter`) is a
:class:`Context`; the statement modules (:mod:`~volta_core.lang.model_statements`,
:mod:`~volta_core.lang.run_statements`, :mod:`~volta_core.lang.file_statements`)
are written against it and never import the interpreter, so the dependency
points one way: interpreter → statement modules → this module.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from volta_core.check.symbols import ModelInfo
from volta_core.diagnostics import Diagnostic, DiagnosticError, Label
from volta_core.lang.values import Value
from volta_core.syntax import ast as A
from volta_core.syntax.source import Source, Span
from volta_core.train.report import TrainReport

#: How many caller frames a runtime error lists in its notes.
_MAX_TRACE_NOTES: Final = 4


class Scope:
    """One lexical scope: its own bindings and the enclosing scope."""

    __slots__ = ("parent", "vars")

    def __init__(self, vars: dict[str, Value], parent: Scope | None) -> None:
        self.vars = vars
        self.parent = parent

    def binds(self, name: str) -> bool:
        """Whether ``name`` is bound here or in an enclosing scope."""
        s: Scope | None = self
        while s is not None:
            if name in s.vars:
                return True
            s = s.parent
        return False


@dataclass
class Runtime:
    """What model statements need beyond the scopes: where relative paths
    resolve, the default device, the progress-bar sink (None: epoch lines),
    the reports of every `train`, and the checked model shapes of the
    running source. ``display`` (None: print the text) receives rich output
    (``inspect``'s table) as a mime bundle: ``text/plain`` is exactly what
    would have been printed, plus ``text/html``."""

    base_dir: Path | None = None
    device: str = "auto"
    progress: Callable[[str], None] | None = None
    display: Callable[[dict[str, str]], None] | None = None
    train_reports: list[TrainReport] = field(default_factory=list)
    model_infos: dict[str, ModelInfo] = field(default_factory=dict)


class Context(ABC):
    """The interpreter as statement handlers see it: the session's runtime
    state, output, evaluation, and runtime errors that name the call stack.

    ``interrupted`` may be set from another thread (Ctrl-C, a kernel
    interrupt); long statements poll it at safe points.
    """

    def __init__(self, write: Callable[[str], None]) -> None:
        self.runtime = Runtime()
        self.write = write
        self.interrupted = False
        #: The source whose spans the running code refers to (a function
        #: defined in an earlier run keeps its own source).
        self.source = Source("")
        #: (function name, call span, caller source) of each active call.
        self.frames: list[tuple[str, Span, Source]] = []

    @abstractmethod
    def value(self, expr: A.Expr, scope: Scope) -> Any:
        """Evaluate ``expr`` in ``scope`` (runtime errors raise :class:`DiagnosticError`)."""

    @abstractmethod
    def lookup(self, expr: A.Name, scope: Scope) -> object:
        """The value bound to ``expr`` (E0301 with a did-you-mean when unbound)."""

    def fail(
        self,
        code: str,
        message: str,
        span: Span,
        label: str = "",
        labels: tuple[Label, ...] = (),
        helps: tuple[str, ...] = (),
        notes: tuple[str, ...] = (),
    ) -> DiagnosticError:
        """A runtime error at ``span`` of the running source, with the call
        stack as notes (innermost first)."""
        trace: list[str] = []
        frames = self.frames
        i = len(frames) - 1
        while i >= 0:
            if len(trace) == _MAX_TRACE_NOTES:
                trace.append(f"… and {i + 1} more calls")
                break
            name, call_span, caller = frames[i]
            j = i  # collapse runs of the same call site (recursion)
            while j > 0 and frames[j - 1][1] == call_span and frames[j - 1][2] is caller:
                j -= 1
            pos = caller.position(call_span.start)
            repeat = f" ({i - j + 1} times)" if i > j else ""
            trace.append(f"in `{name}`, called at {caller.path}:{pos.line}:{pos.column}{repeat}")
            i = j - 1
        diagnostic = Diagnostic(
            code, message, span, label=label, labels=labels,
            notes=(*notes, *trace), helps=helps,
        )
        return DiagnosticError(diagnostic.with_source(self.source))

