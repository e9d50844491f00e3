"""The ``volta`` command line (also ``python -m volta_core``).

Exit codes: 0 success, 1 program errors (diagnostics, unreadable files,
features that are not available yet, internal errors), 2 usage errors (bad
arguments, wrong kind of path, unknown code or model name).

No input produces a Python traceback: every exception that escapes a command
is reported as ``error[E9999]: internal error`` with a bug-report hint, and
the traceback is printed only with ``--debug``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import IO, Any

from volta_core import __version__
from volta_core.analysis import Analysis, analyze
from volta_core.check.symbols import ModelInfo, SymbolKind
from volta_core.diagnostics import (
    CODES,
    Diagnostic,
    explain,
    render_text,
    summary_line,
    to_dict,
    use_colour,
)
from volta_core.errors import VoltaError
from volta_core.present import format_count, format_shape, input_shape_text, layer_table, plural
from volta_core.suggest import closest
from volta_core.syntax import ast as A
from volta_core.syntax.source import Source, Span, normalise_newlines

EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

SOURCE_SUFFIX = ".vt"
BUG_REPORT_HINT = (
    "this is a bug in Volta: please report it with the input that triggered it "
    "and the output of `volta doctor`"
)


class UsageError(Exception):
    """A command was called wrongly (exit 2); ``helps`` become ``help:`` lines."""

    def __init__(self, message: str, *helps: str) -> None:
        super().__init__(message)
        self.helps = helps


class CommandError(Exception):
    """A command cannot do its job for a reason that is not a diagnostic (exit 1)."""

    def __init__(self, message: str, *helps: str) -> None:
        super().__init__(message)
        self.helps = helps

    @classmethod
    def of(cls, err: VoltaError) -> CommandError:
        """A domain error outside any program (e.g. a run record): its message and help line."""
        return cls(str(err), *([err.help] if err.help else []))


# --------------------------------------------------------------------------
# output helpers


def _style(text: str, codes: str, colour: bool) -> str:
    return f"\x1b[{codes}m{text}\x1b[0m" if colour else text


def _print_error(message: str, helps: Sequence[str] = (), stream: IO[str] | None = None) -> None:
    """``error: message`` plus ``help:`` lines, rustc style, coloured on a TTY."""
    out = stream or sys.stderr
    colour = use_colour(out)
    out.write(_style("error", "1;31", colour) + _style(f": {message}", "1", colour) + "\n")
    for h in helps:
        out.write("  " + _style("= help", "1;36", colour) + f": {h}\n")


def _render_all(diagnostics: Sequence[Diagnostic], stream: IO[str]) -> None:
    colour = use_colour(stream)
    for d in diagnostics:
        stream.write(render_text(d, colour=colour))
        stream.write("\n")


# --------------------------------------------------------------------------
# reading sources


@dataclass(slots=True)
class LoadedSource:
    """A source file read from disk: ``text`` or the diagnostic that stopped it."""

    display: str
    path: Path
    text: str | None = None
    diagnostic: Diagnostic | None = None


def _source_path(arg: str, command: str) -> Path:
    """Validate a ``run``/``check`` argument: a ``.vt`` path that is not a directory."""
    path = Path(arg)
    if path.is_dir():
        raise UsageError(
            f"`{arg}` is a directory, not a Volta source file",
            f"`volta {command}` takes `{SOURCE_SUFFIX}` files, e.g. `volta {command} {Path(arg) / 'main.vt'}`",
        )
    if path.suffix != SOURCE_SUFFIX:
        raise UsageError(
            f"`{arg}` is not a Volta source file (expected a `{SOURCE_SUFFIX}` file)",
        )
    return path


def read_source(path: Path, display: str | None = None) -> LoadedSource:
    """Read a UTF-8 source file; failures become E0801/E0802 diagnostics."""
    shown = display if display is not None else str(path)
    loaded = LoadedSource(shown, path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        loaded.diagnostic = Diagnostic(
            "E0801",
            f"cannot read `{shown}`: {reason.lower()}",
            Span(0, 0),
            helps=("check the path; paths are relative to the current directory",),
        )
        return loaded
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        loaded.diagnostic = _invalid_utf8(raw, exc, shown)
        return loaded
    # Editors on Windows may prepend a byte-order mark; it is not part of the program.
    loaded.text = text.removeprefix("\ufeff")
    return loaded


def _invalid_utf8(raw: bytes, exc: UnicodeDecodeError, shown: str) -> Diagnostic:
    offset = exc.start
    prefix = raw[:offset].decode("utf-8", errors="replace")
    source = Source(raw.decode("utf-8", errors="replace"), shown)
    char = len(normalise_newlines(prefix))
    return Diagnostic(
        "E0802",
        f"`{shown}` is not valid UTF-8: invalid byte 0x{raw[offset]:02X} at byte offset {offset}",
        Span(char, char + 1),
        label="invalid UTF-8",
        helps=("re-save the file with UTF-8 encoding",),
    ).with_source(source)


# --------------------------------------------------------------------------
# run


def _discard(text: str) -> None:
    """The progress sink of ``--quiet``."""


def cmd_run(args: argparse.Namespace) -> int:
    path = _source_path(args.file, "run")
    loaded = read_source(path, args.file)
    if loaded.text is None:
        assert loaded.diagnostic is not None
        _render_all([loaded.diagnostic], sys.stderr)
        sys.stderr.write(f"run: {summary_line([loaded.diagnostic])}\n")
        return EXIT_ERRORS

    from volta_core.lang import Session

    def write_stdout(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    def write_progress(text: str) -> None:
        sys.stderr.write(text)
        sys.stderr.flush()

    # The updating progress bar needs a terminal; without one, training prints one
    # line per `log_every` epochs on stdout (bar None). --quiet shows neither: its
    # bar goes nowhere.
    bar: Callable[[str], None] | None = write_progress if sys.stderr.isatty() else None
    if getattr(args, "quiet", False):
        bar = _discard
    session = Session(
        stdout=write_stdout, base_dir=path.resolve().parent, progress=bar,
        device=getattr(args, "device", "auto") or "auto",
    )
    result = session.run(loaded.text, args.file)
    sys.stdout.flush()
    if result.internal_traceback is not None and args.debug:
        sys.stderr.write(result.internal_traceback)
        if not result.internal_traceback.endswith("\n"):
            sys.stderr.write("\n")
    _render_all(result.diagnostics, sys.stderr)
    if result.diagnostics:
        sys.stderr.write(f"run: {summary_line(result.diagnostics)}\n")
    if not result.ok:
        if args.record is not None:
            sys.stderr.write(f"run: no run record written to `{args.record}` (the program failed)\n")
        return EXIT_ERRORS
    if args.record is not None:
        from volta_core.train.record import RecordError, make_record, write_record

        record = make_record(path, loaded.text, list(session.train_reports), Path(args.record))
        try:
            write_record(Path(args.record), record)
        except RecordError as exc:
            raise CommandError.of(exc) from None
        sys.stderr.write(
            f"run: wrote run record `{args.record}` ({plural(len(record.trains), 'train statement')}, "
            f"{plural(record.epoch_count, 'epoch')})\n"
        )
    return EXIT_OK


# --------------------------------------------------------------------------
# check


@dataclass(slots=True)
class FileReport:
    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)


def _check_file(path: Path, display: str) -> FileReport:
    loaded = read_source(path, display)
    if loaded.text is None:
        assert loaded.diagnostic is not None
        return FileReport(display, [loaded.diagnostic])
    return FileReport(display, analyze(loaded.text, display).diagnostics)


def _diag_dict(diagnostic: Diagnostic, path: str) -> dict[str, Any]:
    data = to_dict(diagnostic)
    if data["file"] is None:
        data["file"] = path
    return data


def cmd_check(args: argparse.Namespace) -> int:
    paths = [_source_path(arg, "check") for arg in args.files]
    reports = [_check_file(p, arg) for p, arg in zip(paths, args.files, strict=True)]
    all_diags = [d for r in reports for d in r.diagnostics]
    errors = sum(1 for d in all_diags if d.is_error)
    warnings = len(all_diags) - errors
    if args.format == "json":
        document = {
            "files": [
                {"path": r.path, "diagnostics": [_diag_dict(d, r.path) for d in r.diagnostics]}
                for r in reports
            ],
            "summary": {"files": len(reports), "errors": errors, "warnings": warnings},
        }
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        _render_all(all_diags, sys.stdout)
        counts = summary_line(all_diags) or "no problems"
        sys.stdout.write(f"check: {plural(len(reports), 'file')}, {counts}\n")
    return EXIT_ERRORS if errors else EXIT_OK


# --------------------------------------------------------------------------
# info


_STATEMENT_NAMES: dict[type, str] = {
    A.VarDecl: "declaration",
    A.Assign: "assignment",
    A.ExprStmt: "expression",
    A.Print: "print",
    A.FnDef: "fn",
    A.Return: "return",
    A.Loop: "loop",
    A.For: "for",
    A.If: "if",
    A.ModelDef: "model",
    A.DatasetDef: "dataset",
    A.Train: "train",
    A.Evaluate: "evaluate",
    A.Infer: "infer",
    A.Save: "save",
    A.Load: "load",
    A.Import: "import",
    A.Export: "export",
    A.Inspect: "inspect",
    A.ErrorStmt: "unparsable line",
}


def _count_statements(body: Sequence[A.Stmt], counts: dict[str, int]) -> None:
    for stmt in body:
        name = _STATEMENT_NAMES.get(type(stmt))
        if name is None:  # property lines and infer rows belong to their block
            continue
        counts[name] = counts.get(name, 0) + 1
        for block in A.block_statements(stmt):
            _count_statements(block, counts)


def _expr_word(expr: A.Expr) -> str:
    if isinstance(expr, A.Name):
        return expr.id
    if isinstance(expr, A.String):
        return expr.value
    if isinstance(expr, (A.Number, A.Bool)):
        return str(expr.value).lower() if isinstance(expr, A.Bool) else str(expr.value)
    return "?"


def _prop(props: Sequence[A.Property], key: str) -> str | None:
    for p in props:
        if p.key.id == key and p.values:
            return _expr_word(p.values[0])
    return None


def _model_summary(info: ModelInfo | None) -> str:
    if info is None:
        return "shape not resolved (see `volta check`)"
    loss = info.loss or "no loss"
    return (
        f"{plural(len(info.layers), 'layer')}, {format_count(info.total_params)} params, "
        f"{input_shape_text(info)} -> {format_shape(info.output_shape)}, {loss}"
    )


def _analyze_file(arg: str, command: str) -> Analysis:
    """Read and analyse one ``.vt`` file for ``info``/``inspect``; file errors raise."""
    if Path(arg).suffix == ".onnx":
        raise UsageError(
            f"`{arg}` is an ONNX file; `volta {command}` takes a `{SOURCE_SUFFIX}` file",
            f"`volta info {arg}` summarises an ONNX file (inputs, outputs, ops, whether it imports)",
            f'to see it as a Volta model, import it in a program: `import "{arg}" as m`, then `inspect m`',
        )
    path = _source_path(arg, command)
    loaded = read_source(path, arg)
    if loaded.text is None:
        assert loaded.diagnostic is not None
        raise _DiagnosticsFailure([loaded.diagnostic])
    return analyze(loaded.text, arg)


class _DiagnosticsFailure(Exception):
    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("diagnostics")
        self.diagnostics = diagnostics


def _info_onnx(arg: str) -> int:
    """``volta info model.onnx``: the interop summary (opset, shapes, ops, unsupported ops)."""
    from volta_core.interop import (  # deferred: importing onnx is slow
        InteropError,
        OnnxImportError,
        describe_onnx,
    )
    from volta_core.interop.diagnose import classify
    from volta_core.nn.imported import validate_file

    try:
        sys.stdout.write(describe_onnx(arg))
    except OnnxImportError as exc:
        raise CommandError(f"[{classify(exc)}] {exc}") from None
    except InteropError as exc:
        raise CommandError(str(exc)) from None
    # The summary reads the file; importing it (as `import "file.onnx"` would, at batch 1
    # when axis 0 is symbolic) also lowers every node, so lowering errors show here too.
    verdict = validate_file(arg, None)
    if verdict is not None and verdict.code is not None:
        sys.stdout.write(f"  import: error[{verdict.code}] {verdict.message}\n")
        return EXIT_ERRORS
    sys.stdout.write("  import: ok\n")
    return EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    if Path(args.file).suffix == ".onnx":
        return _info_onnx(args.file)
    analysis = _analyze_file(args.file, "info")
    body = analysis.program.body
    out = sys.stdout
    counts: dict[str, int] = {}
    _count_statements(body, counts)
    total = sum(counts.values())
    out.write(f"{args.file}\n")
    detail = ", ".join(f"{n} {k}" for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    out.write(f"  statements: {total}" + (f" ({detail})" if detail else "") + "\n")

    models = [s for s in body if isinstance(s, (A.ModelDef, A.Import))]
    out.write(f"  models: {len(models)}\n")
    for m in models:
        name = m.name.id
        origin = "" if isinstance(m, A.ModelDef) else " (imported)"
        out.write(f"    {name}{origin}: {_model_summary(analysis.symbols.models.get(name))}\n")

    datasets = [s for s in body if isinstance(s, A.DatasetDef)]
    out.write(f"  datasets: {len(datasets)}\n")
    for d in datasets:
        kind = _prop(d.props, "type") or "no type"
        src = _prop(d.props, "source")
        out.write(f"    {d.name.id}: {kind}" + (f" from \"{src}\"" if src else "") + "\n")

    functions = [s for s in body if isinstance(s, A.FnDef)]
    out.write(f"  functions: {len(functions)}\n")
    for f in functions:
        params = ", ".join(p.id for p in f.params)
        out.write(f"    {f.name.id}({params}): arity {len(f.params)}\n")

    globals_ = analysis.symbols.globals()
    variables = [s for s in body if isinstance(s, A.VarDecl)]
    out.write(f"  variables: {len(variables)}\n")
    for v in variables:
        sym = globals_.get(v.name.id)
        typ = sym.type if sym is not None and sym.type != "unknown" else ""
        out.write(f"    {v.name.id}" + (f": {typ}" if typ else "") + "\n")

    diags = analysis.diagnostics
    out.write(f"  diagnostics: {summary_line(diags) or 'none'}\n")
    if analysis.errors:
        sys.stderr.write(f"info: `{args.file}` has errors; run `volta check {args.file}` to see them\n")
        return EXIT_ERRORS
    return EXIT_OK


# --------------------------------------------------------------------------
# inspect


def _declared_models(analysis: Analysis) -> list[str]:
    names = [s.name.id for s in analysis.program.body if isinstance(s, (A.ModelDef, A.Import))]
    names += [s.name for s in analysis.symbols.symbols if s.kind is SymbolKind.MODEL]
    return list(dict.fromkeys(names))


def cmd_inspect(args: argparse.Namespace) -> int:
    analysis = _analyze_file(args.file, "inspect")
    declared = _declared_models(analysis)
    if args.model not in declared:
        helps: list[str] = []
        guess = closest(args.model, declared)
        if guess is not None:
            helps.append(f"did you mean `{guess}`?")
        if declared:
            helps.append("models in this file: " + ", ".join(declared))
        else:
            helps.append(f"`{args.file}` declares no models")
        raise UsageError(f"no model named `{args.model}` in `{args.file}`", *helps)
    if analysis.errors:
        _render_all(analysis.errors, sys.stderr)
    info = analysis.symbols.models.get(args.model)
    if info is None:
        raise CommandError(
            f"the layers of model `{args.model}` could not be resolved",
            f"fix the errors reported by `volta check {args.file}` first",
        )
    from volta_core.nn.summary import ir_facts  # the compiler is only needed here

    sys.stdout.write(layer_table(info, facts=ir_facts(info)).text() + "\n")
    return EXIT_ERRORS if analysis.errors else EXIT_OK


# --------------------------------------------------------------------------
# verify, explain, version


def cmd_verify(args: argparse.Namespace) -> int:
    """Re-run the recorded program in a fresh session and compare bit for bit."""
    from volta_core.lang import Session
    from volta_core.train.record import (
        RecordError,
        compare,
        load_record,
        make_record,
        program_path,
        sha256_text,
    )

    record_path = Path(args.record)
    try:
        expected = load_record(record_path)
    except RecordError as exc:
        raise CommandError.of(exc) from None
    program = program_path(expected, record_path)
    display = str(program)
    loaded = read_source(program, display)
    if loaded.text is None:
        assert loaded.diagnostic is not None
        _render_all([loaded.diagnostic], sys.stderr)
        sys.stderr.write(f"verify: the recorded program `{display}` cannot be read\n")
        return EXIT_ERRORS
    if sha256_text(loaded.text) != expected.program_sha256:
        colour = use_colour(sys.stderr)
        sys.stderr.write(
            _style("warning", "1;33", colour)
            + _style(f": `{display}` changed since the record was written (its SHA-256 differs)", "1", colour)
            + "\n"
        )
    # The program's own output is not the subject of verification: keep it quiet.
    session = Session(stdout=lambda text: None, base_dir=program.resolve().parent)
    result = session.run(loaded.text, display)
    if not result.ok:
        _render_all(result.diagnostics, sys.stderr)
        sys.stderr.write(f"verify: the re-run failed: {summary_line(result.diagnostics)}\n")
        return EXIT_ERRORS
    actual = make_record(program, loaded.text, list(session.train_reports), record_path)
    divergence = compare(expected, actual)
    if divergence is None:
        sys.stdout.write(
            f"bit-identical: {plural(len(actual.trains), 'train statement')}, "
            f"{plural(actual.epoch_count, 'epoch')}\n"
        )
        return EXIT_OK
    sys.stdout.write(f"diverged: {divergence.describe()}\n")
    if (expected.platform, expected.numpy) != (actual.platform, actual.numpy):
        sys.stdout.write(
            f"note: recorded on {expected.platform} with numpy {expected.numpy}; "
            f"now {actual.platform} with numpy {actual.numpy}\n"
        )
    if expected.blas and expected.blas != actual.blas:
        sys.stdout.write(
            f"note: recorded with BLAS kernels {expected.blas}; now {actual.blas} "
            "(kernel sets round matrix products differently; see `volta doctor`)\n"
        )
    return EXIT_ERRORS


def cmd_explain(args: argparse.Namespace) -> int:
    text = explain(args.code)
    if text is None:
        helps = []
        guess = closest(args.code.strip().upper(), CODES)
        if guess is not None:
            helps.append(f"did you mean `{guess}`?")
        helps.append("codes are listed in docs/diagnostics.md")
        raise UsageError(f"unknown diagnostic code `{args.code}`", *helps)
    sys.stdout.write(text)
    return EXIT_OK


def cmd_version(args: argparse.Namespace) -> int:
    sys.stdout.write(f"volta {__version__}\n")
    return EXIT_OK


# --------------------------------------------------------------------------
# init


def _starter_files() -> dict[str, bytes]:
    """Relative path → content of every file of the starter project template."""
    root = resources.files("volta_core") / "templates" / "starter"
    files: dict[str, bytes] = {}

    def walk(node: Traversable, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            rel = f"{prefix}{child.name}"
            if child.is_dir():
                if child.name != "__pycache__":
                    walk(child, rel + "/")
            else:
                files[rel] = child.read_bytes()

    walk(root, "")
    return files


def cmd_init(args: argparse.Namespace) -> int:
    target = Path(args.dir)
    if target.exists() and not target.is_dir():
        raise UsageError(f"`{args.dir}` exists and is not a directory")
    files = _starter_files()
    conflicts: list[str] = []
    missing: list[str] = []
    for rel, content in files.items():
        dest = target / rel
        if not dest.exists():
            missing.append(rel)
        elif not dest.is_file() or dest.read_bytes() != content:
            conflicts.append(rel)
    if conflicts:
        raise CommandError(
            f"refusing to overwrite existing files in `{args.dir}`: " + ", ".join(conflicts),
            "move them away or choose another directory; nothing was written",
        )
    if not missing:
        sys.stdout.write(f"init: `{args.dir}` already holds the starter project; nothing to do\n")
        return EXIT_OK
    for rel in missing:
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(files[rel])
        sys.stdout.write(f"  created {dest}\n")
    where = "" if target.resolve() == Path.cwd().resolve() else f"cd {args.dir} && "
    sys.stdout.write(f"init: starter project ready; try `{where}volta run main.vt`\n")
    return EXIT_OK


# --------------------------------------------------------------------------
# doctor


def cmd_doctor(args: argparse.Namespace) -> int:
    from volta_core.doctor import collect, render

    report = collect()
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        sys.stdout.write(render(report))
    return EXIT_OK


# --------------------------------------------------------------------------
# argument parsing and the top level


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS,
        help="show Python tracebacks of internal errors",
    )
    parser = argparse.ArgumentParser(
        prog="volta",
        description="Volta: declare, train, inspect and reproduce neural networks.",
        epilog="exit codes: 0 ok, 1 program errors, 2 usage errors. "
        "`volta explain CODE` explains a diagnostic.",
    )
    parser.add_argument("--version", action="version", version=f"volta {__version__}")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, handler: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    p = add("run", cmd_run, "run a .vt program")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--quiet", action="store_true", help="no training progress bar")
    p.add_argument("--record", metavar="R", help="write a run record (JSON) for `volta verify`")
    p.add_argument("--device", choices=("cpu", "gpu", "auto"), default="auto", help="default training device")

    p = add("check", cmd_check, "report every error and warning without running")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--format", choices=("text", "json"), default="text")

    p = add("info", cmd_info, "summarise a .vt file: models, datasets, functions, variables")
    p.add_argument("file", metavar="FILE")

    p = add("inspect", cmd_inspect, "print the layer table of a model")
    p.add_argument("file", metavar="FILE")
    p.add_argument("model", metavar="MODEL")

    p = add("verify", cmd_verify, "re-run a run record and check the result is bit-identical")
    p.add_argument("record", metavar="RECORD")

    p = add("explain", cmd_explain, "print the long explanation of a diagnostic code")
    p.add_argument("code", metavar="CODE")

    p = add("init", cmd_init, "create a runnable starter project")
    p.add_argument("dir", nargs="?", default=".", metavar="DIR")

    p = add("doctor", cmd_doctor, "report the environment (Python, numpy/BLAS, GPU, extras)")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    add("version", cmd_version, "print the Volta version")
    return parser


def _internal_error(exc: BaseException, debug: bool) -> None:
    helps = [BUG_REPORT_HINT]
    if not debug:
        helps.append("rerun with `--debug` to include the Python traceback")
    diag = Diagnostic(
        "E9999", "internal error", Span(0, 0),
        notes=(f"{type(exc).__name__}: {exc}",), helps=tuple(helps),
    )
    sys.stderr.write(render_text(diag, colour=use_colour(sys.stderr)))
    if debug:
        sys.stderr.write("".join(traceback.format_exception(exc)))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return handler(args)
    except UsageError as exc:
        _print_error(str(exc), exc.helps)
        return EXIT_USAGE
    except CommandError as exc:
        _print_error(str(exc), exc.helps)
        return EXIT_ERRORS
    except _DiagnosticsFailure as exc:
        _render_all(exc.diagnostics, sys.stderr)
        return EXIT_ERRORS
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`volta check … | head`): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERRORS
    except Exception as exc:
        _internal_error(exc, bool(args.debug))
        return EXIT_ERRORS
