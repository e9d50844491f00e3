"""``Session``: runtime state that persists across sources (files, notebook cells).

The CLI runs one file in a fresh session; the kernel keeps one session and
feeds it cells. Each :meth:`Session.run` analyses the text (with the globals
of earlier runs predeclared), executes it only when the analysis found no
error, and turns every failure — runtime errors, interrupts, exhausted
stacks, bugs in Volta itself — into a :class:`Diagnostic`. No Python
exception escapes :meth:`Session.run`.
"""

from __future__ import annotations

import pathlib
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from volta_core import analysis as _analysis
from volta_core.analysis import Analysis
from volta_core.check.symbols import Symbol, SymbolKind, SymbolTable
from volta_core.diagnostics import Diagnostic, DiagnosticError
from volta_core.errors import VoltaError
from volta_core.lang.interpreter import Interpreter
from volta_core.lang.values import Function, Value, format_value, type_name
from volta_core.syntax.ast import Program
from volta_core.syntax.lexer import LexResult
from volta_core.syntax.source import Source, Span
from volta_core.train.report import TrainReport

#: Python frames budgeted per Volta call when raising the recursion limit
#: (a call with deeply nested blocks and expressions needs a few hundred).
_FRAMES_PER_CALL = 200
_MIN_RECURSION_LIMIT = 20_000
#: Never raise it further: beyond this a RecursionError becomes E0603.
_MAX_RECURSION_LIMIT = 1_000_000

_BUG_REPORT_HELP = (
    "this is a bug in Volta: please report it with the input that triggered it and the "
    "output of `volta doctor`; run with `--debug` to include the Python traceback"
)


class _OutputFailed(Exception):
    """The program's output could not be written (a full disk, a closed pipe)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(slots=True)
class RunResult:
    """The outcome of :meth:`Session.run`.

    ``diagnostics`` holds the analysis diagnostics plus, when execution
    failed, the runtime error (last). ``executed`` is False when analysis
    errors prevented execution. ``internal_traceback`` is the Python
    traceback of an internal error (E9999), for ``--debug``.
    """

    analysis: Analysis
    diagnostics: list[Diagnostic]
    executed: bool
    internal_traceback: str | None = field(default=None)

    @property
    def ok(self) -> bool:
        """True when there is no error diagnostic (warnings are fine)."""
        return not any(d.is_error for d in self.diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]


def _write_stdout(text: str) -> None:
    # Looked up per call so redirected/captured sys.stdout is honoured.
    sys.stdout.write(text)
    sys.stdout.flush()


class Session:
    """Variables, functions and history shared by successive runs.

    ``stdout`` receives each printed line including its trailing newline, as
    it is printed. ``base_dir`` is the directory relative paths in programs
    resolve against (None: the current directory). ``call_depth_limit`` caps
    nested function calls (E0603). ``progress`` receives the updating
    training-progress line (each starts with ``\r\x1b[K``; None: one printed
    line per ``log_every`` epochs). ``display`` receives rich output as a mime
    bundle whose ``text/plain`` is what would otherwise be printed (None: print).
    """

    def __init__(
        self,
        *,
        stdout: Callable[[str], None] | None = None,
        base_dir: pathlib.Path | None = None,
        call_depth_limit: int = 256,
        progress: Callable[[str], None] | None = None,
        device: str = "auto",
        display: Callable[[dict[str, str]], None] | None = None,
    ) -> None:
        self.stdout = stdout or _write_stdout
        self.base_dir = base_dir
        self.call_depth_limit = max(0, call_depth_limit)
        self.globals: dict[str, Value] = {}
        self.history: list[tuple[str, str]] = []
        self._interpreter = Interpreter(self.globals, self._write, self.call_depth_limit)
        runtime = self._interpreter.runtime
        runtime.base_dir = base_dir
        runtime.device = device
        runtime.progress = progress
        runtime.display = display
        #: One report per `train` statement, in execution order (also for
        #: training stopped by NaN or an interrupt).
        self.train_reports: list[TrainReport] = runtime.train_reports

    def _write(self, text: str) -> None:
        try:
            self.stdout(text)
        except OSError as exc:
            raise _OutputFailed(exc) from None

    # ------------------------------------------------------------ public
    def run(self, text: str, path: str = "<input>") -> RunResult:
        """Analyse ``text`` and, when it has no errors, execute it.

        A runtime error stops execution and is returned as a diagnostic;
        statements that completed before it keep their effects, the failing
        statement has none. The text is appended to :attr:`history` only
        when it ran without error. Never raises.
        """
        self._interpreter.interrupted = False  # an interrupt while idle is dropped
        try:
            analysis = _analysis.analyze(text, path, predeclared=self.predeclared())
        except Exception:  # analyze promises not to raise; stay safe if it does
            return self._analysis_crash(text, path, traceback.format_exc())
        if analysis.errors:
            return RunResult(analysis, list(analysis.diagnostics), executed=False)

        error, internal = self._execute(analysis)
        diagnostics = list(analysis.diagnostics)
        if error is None:
            self.history.append((path, text))
        else:
            diagnostics.append(error)
        return RunResult(analysis, diagnostics, executed=True, internal_traceback=internal)

    def predeclared(self) -> dict[str, Symbol]:
        """The globals from earlier runs as symbols for the checker.

        Variables carry their runtime type and current value (``constant``);
        functions carry their parameter names. ``span`` is None.
        """
        out: dict[str, Symbol] = {}
        for name, value in self.globals.items():
            volta_type = getattr(value, "volta_type", None)
            if volta_type in ("model", "dataset"):
                kind = SymbolKind.MODEL if volta_type == "model" else SymbolKind.DATASET
                out[name] = Symbol(name, kind, None, type=str(volta_type), detail=f"{volta_type} {name}")
            elif type(value) is Function:
                assert isinstance(value, Function)
                out[name] = Symbol(
                    name, SymbolKind.FUNCTION, None, type="fn", params=value.params,
                    detail=value.signature,
                )
            else:
                out[name] = Symbol(
                    name, SymbolKind.VARIABLE, None, type=type_name(value), constant=value,
                    detail=f"{name}: {type_name(value)} = {format_value(value)}",
                )
        return out

    def interrupt(self) -> None:
        """Ask the running program to stop before its next statement (E0607).

        Safe to call from any thread; an interrupt while nothing runs is
        dropped at the start of the next run.
        """
        self._interpreter.interrupted = True

    def reset(self) -> None:
        """Forget all variables, functions and history."""
        self.globals.clear()
        self.history.clear()
        self.train_reports.clear()
        self._interpreter.interrupted = False

    # ----------------------------------------------------------- helpers
    def _execute(self, analysis: Analysis) -> tuple[Diagnostic | None, str | None]:
        interp = self._interpreter
        old_limit = sys.getrecursionlimit()
        wanted = min(
            _MAX_RECURSION_LIMIT,
            max(_MIN_RECURSION_LIMIT, self.call_depth_limit * _FRAMES_PER_CALL + 10_000),
        )
        if wanted > old_limit:
            sys.setrecursionlimit(wanted)
        interp.runtime.model_infos = analysis.symbols.models
        interp.runtime.base_dir = self.base_dir
        try:
            # NumPy's floating-point warnings would reach the user with source paths;
            # every result they concern is checked where it matters (losses, weights,
            # data, predictions) and reported as a diagnostic.
            with np.errstate(all="ignore"):
                interp.execute(analysis.program, analysis.source)
            return None, None
        except _OutputFailed as exc:
            return self._at_statement(
                "E0801", f"cannot write the program's output: {exc.error.strerror or exc.error}", analysis,
                helps=("standard output is full or closed (e.g. redirected to `/dev/full`)",),
            ), None
        except DiagnosticError as exc:
            diagnostic = exc.diagnostic
            if diagnostic.source is None:
                diagnostic = diagnostic.with_source(analysis.source)
            return diagnostic, None
        except RecursionError:
            return self._at_statement(
                "E0603",
                f"call depth limit of {self.call_depth_limit} exceeded (the interpreter's stack ran out)",
                analysis, helps=("a recursive function needs a base case that stops it",),
            ), None
        except KeyboardInterrupt:
            return self._at_statement(
                "E0607", "execution interrupted", analysis,
                notes=("statements that finished before the interrupt keep their effects",),
            ), None
        except MemoryError:
            return self._at_statement("E0608", "out of memory", analysis), None
        except VoltaError as exc:  # a user-facing error no statement turned into a diagnostic itself
            return self._at_statement(exc.code, exc.message, analysis, helps=(exc.help,) if exc.help else ()), None
        except Exception as exc:
            return self._at_statement(
                "E9999", f"internal error: {type(exc).__name__}: {exc}", analysis,
                helps=(_BUG_REPORT_HELP,),
            ), traceback.format_exc()
        finally:
            interp.depth = 0
            interp.interrupted = False
            if sys.getrecursionlimit() == wanted and wanted > old_limit:
                sys.setrecursionlimit(old_limit)

    def _at_statement(
        self,
        code: str,
        message: str,
        analysis: Analysis,
        helps: tuple[str, ...] = (),
        notes: tuple[str, ...] = (),
    ) -> Diagnostic:
        """A diagnostic at the statement that was running (best effort)."""
        interp = self._interpreter
        stmt = interp.statement
        source = interp.source if stmt is not None else analysis.source
        span = stmt.span if stmt is not None else Span(0, 0)
        return Diagnostic(code, message, span, helps=helps, notes=notes).with_source(source)

    def _analysis_crash(self, text: str, path: str, trace: str) -> RunResult:
        source = Source(text, path)
        diagnostic = Diagnostic(
            "E9999", "internal error while analysing the program", Span(0, 0),
            helps=(_BUG_REPORT_HELP,),
        ).with_source(source)
        analysis = Analysis(
            source, Program((), Span(0, len(source.text))), [diagnostic], SymbolTable(),
            LexResult([], [], []),
        )
        return RunResult(analysis, [diagnostic], executed=False, internal_traceback=trace)
