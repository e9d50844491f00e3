"""``VoltaKernel``: a thin adapter from Jupyter messages to one :class:`Session`.

Cells run in the kernel's Session under the path ``<cell N>`` (N is the
execution count), so diagnostics show the cell's own line numbers. ``print``
output is streamed line by line as it happens; diagnostics are rendered (ANSI
colour) on stderr. A failing cell keeps only the effects of the statements
that finished before the error, and the Session stays usable.
"""

from __future__ import annotations

import base64
import pathlib
import uuid
from typing import Any

from ipykernel.kernelbase import Kernel

from volta_core import __version__ as volta_version
from volta_core.analysis import analyze
from volta_core.check.complete import describe_at, token_at
from volta_core.diagnostics import Diagnostic, render_text
from volta_core.lang.model_statements import model_table
from volta_core.lang.session import RunResult, Session
from volta_core.present import layer_table
from volta_core.suggest import closest
from volta_core.train.runtime import DatasetHandle, ModelHandle
from volta_kernel import docs
from volta_kernel.complete import completions, is_complete, magic_word
from volta_kernel.magics import (
    MAGICS,
    WITH_ARGS,
    MagicCall,
    MagicError,
    PartialCell,
    history_text,
    parse_magic_cell,
    parse_step_args,
    replay,
    step_source,
)

Reply = dict[str, Any]


class _CellFailed(Exception):
    """A magic that stops its cell with an error reply."""

    def __init__(self, ename: str, evalue: str) -> None:
        super().__init__(evalue)
        self.ename = ename
        self.evalue = evalue


class _CellError(Exception):
    """A magic whose Volta run failed: its (already rendered) error reply."""

    def __init__(self, reply: dict[str, Any]) -> None:
        super().__init__(reply.get("evalue", ""))
        self.reply = reply


class VoltaKernel(Kernel):
    """Jupyter kernel for ``.vt`` cells, one Volta Session per kernel."""

    implementation = "volta_kernel"
    implementation_version = volta_version
    language = "volta"
    language_version = volta_version
    language_info = {  # noqa: RUF012 - ipykernel reads it as a class attribute
        "name": "volta",
        "version": volta_version,
        "mimetype": "text/x-volta",
        "file_extension": ".vt",
        # Pygments (nbconvert, exports) has a real Volta lexer; JupyterLab's
        # CodeMirror 6 language `volta` comes with the package as a prebuilt
        # lab extension (jupyterlab-extension/, docs/notebooks.md).
        "pygments_lexer": "volta",
        "codemirror_mode": "volta",
    }
    banner = f"Volta {volta_version} — cells of .vt source; %history %replay %reset %who %step %plot %ir"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_dir = pathlib.Path.cwd()
        #: The Volta session (``self.session`` is ipykernel's message session).
        self.volta = self._new_session()
        #: Printed output of each recorded cell, by path (what %replay compares).
        self.outputs: dict[str, str] = {}
        self._captured: list[str] = []
        self._silent = False
        self._unnumbered = 0
        self._store_history = True
        #: The display id of the running `train`'s progress (None: start a new one).
        self._progress_id: str | None = None
        #: Hide the autopilot table of the next `train` (a `%step` reusing settings).
        self._hide_table = False
        #: The model handle each of ``self.volta.train_reports`` belongs to (for %plot).
        self._report_owners: list[object] = []
        #: Cells that failed part-way (interrupted, runtime error): not in the history,
        #: but their finished statements changed the session (what %replay cannot redo).
        self.partial: list[PartialCell] = []

    # ----------------------------------------------------------- helpers
    def _new_session(self) -> Session:
        return Session(
            stdout=self._on_print, base_dir=self.base_dir, progress=self._on_progress, display=self._on_display
        )

    def _on_print(self, text: str) -> None:
        self._captured.append(text)
        self._progress_id = None  # a later `train` gets its own progress display
        if self._hide_table and text.startswith("Auto configuration:"):
            self._hide_table = False
            return
        if not self._silent:
            self._stream("stdout", text)

    def _on_display(self, bundle: dict[str, str]) -> None:
        # What the CLI would print is part of the cell's recorded output (%replay).
        self._captured.append(bundle["text/plain"])
        self._progress_id = None
        self._display_bundle(bundle)

    def _on_progress(self, text: str) -> None:
        """Training progress: one display per `train`, updated in place."""
        line = text.removeprefix("\r\x1b[K")
        if not line or self._silent:
            return
        content: dict[str, Any] = {"data": docs.progress_bundle(line), "metadata": {}}
        if self._progress_id is None:
            self._progress_id = uuid.uuid4().hex
            content["transient"] = {"display_id": self._progress_id}
            self.send_response(self.iopub_socket, "display_data", content)
        else:
            content["transient"] = {"display_id": self._progress_id}
            self.send_response(self.iopub_socket, "update_display_data", content)

    def _display_bundle(self, data: dict[str, str]) -> None:
        if not self._silent:
            self.send_response(self.iopub_socket, "display_data", {"data": data, "metadata": {}})

    def _stream(self, name: str, text: str) -> None:
        self.send_response(self.iopub_socket, "stream", {"name": name, "text": text})

    def _display(self, plain: str, markup: str) -> None:
        self._display_bundle({"text/plain": plain, "text/html": markup})

    def _error_reply(self, ename: str, evalue: str, traceback: list[str]) -> Reply:
        return {
            "status": "error", "execution_count": self.execution_count,
            "ename": ename, "evalue": evalue, "traceback": traceback,
        }

    def _ok_reply(self) -> Reply:
        return {"status": "ok", "execution_count": self.execution_count, "payload": [], "user_expressions": {}}

    @staticmethod
    def _notebook_diagnostics(result: RunResult) -> list[Diagnostic]:
        """Drop W0101 for top-level declarations: in a notebook, later cells use them.

        A W0101 carrying a keyword suggestion (``prnt "x"``) is kept.
        """
        globals_ = {s.span for s in result.analysis.symbols.symbols if s.scope == 0 and s.span is not None}
        return [
            d for d in result.diagnostics
            if not (d.code == "W0101" and d.span in globals_ and not any("did you mean" in h for h in d.helps))
        ]

    def _render(self, diagnostics: list[Diagnostic]) -> str:
        return "\n".join(render_text(d, colour=True) for d in diagnostics)

    # ----------------------------------------------------------- execute
    async def do_execute(
        self,
        code: str,
        silent: bool,
        store_history: bool = True,
        user_expressions: dict[str, Any] | None = None,
        allow_stdin: bool = False,
        *,
        cell_meta: dict[str, Any] | None = None,
        cell_id: str | None = None,
    ) -> Reply:
        self._silent = silent
        try:
            try:
                calls = parse_magic_cell(code)
            except MagicError as exc:
                return self._fail("UsageError", str(exc))
            if calls is not None:
                return self._run_magics(calls, store_history)
            self._store_history = store_history
            return self._run_cell(code, store_history)
        except KeyboardInterrupt:
            # An interrupt outside the interpreter (e.g. while sending output).
            return self._fail("E0607", "execution interrupted")

    def _fail(self, ename: str, evalue: str) -> Reply:
        return self._publish_error(ename, evalue, [f"{ename}: {evalue}"])

    def _publish_error(self, ename: str, evalue: str, traceback: list[str]) -> Reply:
        """The cell's error output (an IOPub ``error`` message) and its error reply."""
        if not self._silent:
            self.send_response(
                self.iopub_socket, "error", {"ename": ename, "evalue": evalue, "traceback": traceback}
            )
        return self._error_reply(ename, evalue, traceback)

    def _cell_path(self, store_history: bool) -> str:
        # Runs that do not store history keep the execution count: give them
        # their own paths so %replay can tell them apart.
        if store_history:
            return f"<cell {self.execution_count}>"
        self._unnumbered += 1
        return f"<silent {self._unnumbered}>"

    def _run_cell(self, code: str, store_history: bool) -> Reply:
        return self._run_source(code, self._cell_path(store_history))

    def _run_source(self, code: str, path: str) -> Reply:
        self._captured = []
        self._progress_id = None
        reports = len(self.volta.train_reports)
        try:
            result = self.volta.run(code, path)
        finally:
            self._hide_table = False
            owners = self.volta.globals
            for report in self.volta.train_reports[reports:]:
                self._report_owners.append(owners.get(report.model))
        if result.executed and result.ok:
            self.outputs[path] = "".join(self._captured)
        rendered = self._render(self._notebook_diagnostics(result))
        if result.ok:
            if rendered:  # warnings only: a display, not stderr (a notebook shows stderr as an error)
                self._display_bundle(docs.warnings_bundle(rendered))
            return self._ok_reply()
        first = result.errors[0]
        if result.executed:  # failed part-way: its finished statements kept their effects
            self.partial.append(PartialCell(path, len(self.volta.history), first.code, first.message))
        return self._publish_error(first.code, first.message, [rendered.rstrip("\n")])

    def _run_magics(self, calls: list[MagicCall], store_history: bool) -> Reply:
        self._store_history = store_history
        for call in calls:
            try:
                self._magic(call)
            except _CellFailed as exc:
                return self._fail(exc.ename, exc.evalue)
            except _CellError as exc:
                return exc.reply
        return self._ok_reply()

    def _magic(self, call: MagicCall) -> None:
        if call.name not in MAGICS:
            hint = closest(call.name, MAGICS)
            suggestion = f"; did you mean `%{hint}`?" if hint else ""
            known = ", ".join(f"%{m}" for m in MAGICS)
            raise _CellFailed("UsageError", f"unknown magic `%{call.name}`{suggestion} (known: {known})")
        usage = MAGICS[call.name][0]
        if call.name == "step":
            self._step(call)
            return
        if call.name in WITH_ARGS:
            if len(call.args) != 1:
                raise _CellFailed("UsageError", f"`%{call.name}` takes one model name (usage: {usage})")
            if call.name == "plot":
                self._plot(call.args[0])
            else:
                self._ir(call.args[0])
            return
        if call.args:
            raise _CellFailed("UsageError", f"`%{call.name}` takes no arguments (usage: {usage})")
        if call.name == "history":
            if not self._silent:
                self._stream("stdout", history_text(self.volta.history))
        elif call.name == "reset":
            self.volta = self._new_session()
            self.outputs.clear()
            self._report_owners.clear()
            self.partial.clear()
            if not self._silent:
                self._stream("stdout", "session reset: globals and history cleared\n")
        elif call.name == "who":
            self._display(*docs.who_table(dict(self.volta.globals)))
        elif call.name == "replay":
            report = replay(self.volta.history, self.outputs, self.volta, self.base_dir, self.partial)
            if not report.ok:
                raise _CellFailed("ReplayStopped" if report.stopped else "ReplayDivergence", report.message)
            if not self._silent:
                self._stream("stdout", report.message + "\n")

    # ------------------------------------------------- stepwise training
    def _model(self, name: str) -> ModelHandle:
        value = self.volta.globals.get(name)
        if isinstance(value, ModelHandle):
            return value
        models = [n for n, v in self.volta.globals.items() if isinstance(v, ModelHandle)]
        hint = closest(name, models)
        what = "is not a model" if value is not None else "is not defined"
        suggestion = f"; did you mean `{hint}`?" if hint else ""
        raise _CellFailed("UsageError", f"`{name}` {what}{suggestion}")

    def _step(self, call: MagicCall) -> None:
        """`%step M on D [N]`: a `train M on D` of N steps, recorded in the history."""
        try:
            name, data, steps = parse_step_args(call.args)
        except MagicError as exc:
            raise _CellFailed("UsageError", str(exc)) from None
        model = self._model(name)
        if not isinstance(self.volta.globals.get(data), DatasetHandle):
            raise _CellFailed("UsageError", f"`{data}` is not a dataset")
        report = model.last_report
        source = step_source(name, data, steps, report.settings if report is not None else None)
        path = self._cell_path(self._store_history)
        if call.line > 1:
            path = path[:-1] + f", line {call.line}>"
        self._hide_table = report is not None  # the settings were shown by that `train`
        reply = self._run_source(source, path)
        if reply["status"] != "ok":
            raise _CellError(reply)

    def _plot(self, name: str) -> None:
        model = self._model(name)
        epochs = [
            e for report, owner in zip(self.volta.train_reports, self._report_owners, strict=False)
            if owner is model for e in report.epochs
        ]
        if not epochs:
            raise _CellFailed(
                "NotTrained", f"model `{name}` has no training history yet: `train {name} on DATA` "
                f"or `%step {name} on DATA` first",
            )
        try:
            from volta_kernel.plot import curves_png, curves_text
        except ImportError as exc:  # pragma: no cover - matplotlib is in the kernel extra
            raise _CellFailed("NotAvailable", f"%plot needs matplotlib ({exc})") from None
        png = base64.b64encode(curves_png(name, epochs)).decode("ascii")
        self._display_bundle({"image/png": png, "text/plain": curves_text(name, epochs)})

    def _ir(self, name: str) -> None:
        from volta_core.ir.autograd import training_graph
        from volta_core.ir.summary import summary
        from volta_core.nn.network import UnsupportedLayer

        model = self._model(name)
        batch = 1
        if model.last_report is not None:
            batch = int(next((s.value for s in model.last_report.settings if s.name == "batch"), 1))  # type: ignore[call-overload]
        try:
            forward, _, _ = model.net.build(batch, training=False)
            graph, _, loss = model.net.build(batch, training=True)
            assert loss is not None
            backward, _ = training_graph(graph, loss, list(graph.params))
        except UnsupportedLayer as exc:
            raise _CellFailed(exc.code, f"model `{name}` has no IR graph yet: {exc}") from None
        parts = []
        for kind, title, g in (
            ("inference", f"forward graph of {name} (inference, batch {batch})", forward),
            ("training", f"training graph of {name} (loss and gradients, batch {batch})", backward),
        ):
            facts = summary(g)
            parts.append(
                f"# {title}\n{g}\n# {facts['nodes']} nodes, {facts['params']} parameter tensors "
                f"({facts['param_count']:,} values), peak {facts['peak_bytes']:,} bytes, "
                f"{kind} graph fingerprint {facts['fingerprint'][:16]}\n"
            )
        # `inspect` fingerprints the inference graph at batch 1: say which one that is.
        if batch == 1:
            parts.append("# `inspect` shows the inference graph's fingerprint (batch 1)\n")
        else:
            one, _, _ = model.net.build(1, training=False)
            facts = summary(one)
            parts.append(
                f"# `inspect` shows the inference graph at batch 1: {facts['nodes']} nodes, "
                f"inference graph fingerprint {facts['fingerprint'][:16]}\n"
            )
        if not self._silent:
            self._stream("stdout", "\n".join(parts))

    # ------------------------------------------------------ is_complete
    async def do_is_complete(self, code: str) -> Reply:
        status, indent = is_complete(code)
        reply: Reply = {"status": status}
        if status == "incomplete":
            reply["indent"] = indent
        return reply

    # ----------------------------------------------------- completion
    async def do_complete(self, code: str, cursor_pos: int | None) -> Reply:
        cursor = len(code) if cursor_pos is None else cursor_pos
        found = completions(code, cursor, self.volta.predeclared(), tuple(MAGICS))
        return {
            "status": "ok",
            "matches": [text for text, _ in found.matches],
            "cursor_start": found.start,
            "cursor_end": found.end,
            "metadata": {
                "_jupyter_types_experimental": [
                    {"start": found.start, "end": found.end, "text": text, "type": kind}
                    for text, kind in found.matches
                ]
            },
        }

    # ------------------------------------------------------ inspection
    async def do_inspect(
        self, code: str, cursor_pos: int, detail_level: int = 0, omit_sections: tuple[str, ...] = ()
    ) -> Reply:
        data = self._inspect(code, cursor_pos)
        if data is None:
            return {"status": "ok", "found": False, "data": {}, "metadata": {}}
        return {"status": "ok", "found": True, "data": data, "metadata": {}}

    def _inspect(self, code: str, cursor: int) -> dict[str, str] | None:
        """A mime bundle for the word at ``cursor``: magic docs, a model's layer
        table, a runtime value, or the analysis' Markdown docs (shared with hover)."""
        magic = magic_word(code, cursor)
        if magic is not None:
            spec = MAGICS.get(code[magic[0]:magic[1]])
            if spec is None:
                return None
            return {"text/plain": f"{spec[0]}\n{spec[1]}", "text/html": f"<p><code>{spec[0]}</code>: {spec[1]}</p>"}
        predeclared = self.volta.predeclared()
        analysis = analyze(code, "<cell>", predeclared=predeclared)
        tok = token_at(analysis, cursor)
        word = tok.text if tok is not None else ""
        model = analysis.symbols.models.get(word)
        if model is not None:
            return layer_table(model).mime_bundle()
        declared = analysis.symbols.at(tok.start) if tok is not None else None
        if word in self.volta.globals and (declared is None or declared.span is None):
            value = self.volta.globals[word]
            if isinstance(value, ModelHandle):  # a model from an earlier cell: `inspect`'s table
                return model_table(value).mime_bundle()
            if isinstance(value, DatasetHandle):
                return docs.dataset_table(value).mime_bundle()
            plain, markup = docs.value_doc(word, value)
            return {"text/plain": plain, "text/html": markup}
        found = describe_at(analysis, cursor, predeclared)
        if found is None:
            return None
        markdown = found[0]
        return {"text/plain": markdown, "text/markdown": markdown}
