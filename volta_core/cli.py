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
import contextlib
import errno
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
from volta_core.train.files import read_regular_file

EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
#: The diagnostic of a program stopped by Ctrl-C (it exits 130, as the shell expects).
INTERRUPTED_CODE = "E0607"

SOURCE_SUFFIX = ".vt"
#: Far beyond any program; a bound for a path that names something else.
MAX_SOURCE_BYTES = 256 * 1024**2
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
    """A command cannot do its job for a reason that is not a diagnostic (exit 1).
    ``code``, when set, is shown as ``error[CODE]``."""

    def __init__(self, message: str, *helps: str, code: str | None = None) -> None:
        super().__init__(message)
        self.helps = helps
        self.code = code

    @classmethod
    def of(cls, err: VoltaError) -> CommandError:
        """A domain error outside any program (e.g. a run record): its code, message and help line."""
        return cls(str(err), *([err.help] if err.help else []), code=err.code)


# --------------------------------------------------------------------------
# output helpers


def _style(text: str, codes: str, colour: bool) -> str:
    return f"\x1b[{codes}m{text}\x1b[0m" if colour else text


def _print_error(message: str, helps: Sequence[str] = (), stream: IO[str] | None = None,
                 code: str | None = None) -> None:
    """``error: message`` (``error[CODE]: …`` with a code) plus ``help:`` lines,
    rustc style, coloured on a TTY."""
    out = stream or sys.stderr
    colour = use_colour(out)
    head = f"error[{code}]" if code else "error"
    out.write(_style(head, "1;31", colour) + _style(f": {message}", "1", colour) + "\n")
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
        raw = read_regular_file(path, MAX_SOURCE_BYTES)
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        loaded.diagnostic = Diagnostic(
            "E0801",
            f"cannot read `{shown}`: {reason[:1].lower() + reason[1:]}",
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


def _check_record_target(record: str, program: Path) -> None:
    """``--record R`` may only replace an empty file or an earlier run record:
    never the program, a data file or anything else a user would lose (a data
    source is never a run record: it would not load as data)."""
    path = Path(record)
    if not os.path.lexists(path):
        return
    from volta_core.train.record import is_replaceable_record

    if path.exists() and program.exists() and os.path.samefile(path, program):
        raise UsageError(
            f"refusing to write the run record over the program `{record}`",
            "name a new file for the record, e.g. `--record run.json`",
        )
    if path.is_dir():
        raise UsageError(f"`{record}` is a directory; `--record` takes a file name")
    if not is_replaceable_record(path):
        raise UsageError(
            f"refusing to overwrite `{record}`: it is not a Volta run record",
            "`--record` replaces only an earlier run record; name a new file, e.g. `--record run.json`",
        )


def _launch(args: argparse.Namespace, ranks: int) -> int:
    """Start this command again on ``ranks`` MPI processes (``--ranks N``; docs/distributed.md)."""
    from volta_core.launch import launch
    from volta_core.train.distributed import MpiMissing

    argv = list(args.argv)
    for i, word in enumerate(argv):  # the ranks run the command itself, without --ranks
        if word == "--ranks":
            del argv[i : i + 2]
            break
        if word.startswith("--ranks="):
            del argv[i]
            break
    try:
        result = launch(ranks, argv)
    except MpiMissing as exc:
        raise CommandError.of(exc) from None
    if result.message is not None:
        _print_error(result.message, ["the job ends when any rank ends; see the rank's own output above, if any"],
                     code="E0627")
    return EXIT_OK if result.code == 0 else EXIT_ERRORS


def _join_ranks() -> int:
    """In a process started by an MPI launcher on more than one rank: join the job
    (E0626 without mpi4py). On ranks other than 0 nothing is printed (a rank that
    fails says so on the original standard error, see :func:`main`). Returns the rank."""
    from volta_core.train import distributed

    if distributed.launched_size() <= 1:
        return 0
    try:
        w = distributed.world()
    except distributed.MpiMissing as exc:
        raise CommandError.of(exc) from None
    if w.rank != 0:
        quiet = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (lives as long as the process)
        sys.stdout = sys.stderr = quiet
    return w.rank


def cmd_run(args: argparse.Namespace) -> int:
    if args.ranks is not None:
        return _launch(args, args.ranks)
    _join_ranks()
    path = _source_path(args.file, "run")
    if args.record is not None:
        _check_record_target(args.record, path)
    loaded = read_source(path, args.file)
    if loaded.text is None:
        assert loaded.diagnostic is not None
        _render_all([loaded.diagnostic], sys.stderr)
        sys.stderr.write(f"run: {summary_line([loaded.diagnostic])}\n")
        return EXIT_ERRORS

    from volta_core.lang import Session

    def write_stdout(text: str) -> None:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except OSError:
            _discard_stdout()  # the session reports it; nothing more can be shown there
            raise

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
        return EXIT_INTERRUPTED if any(d.code == INTERRUPTED_CODE for d in result.errors) else EXIT_ERRORS
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
    _join_ranks()
    try:
        expected = load_record(record_path)
    except RecordError as exc:
        raise CommandError.of(exc) from None
    from volta_core.train.distributed import launched_size

    if expected.world_size > 1 and launched_size() == 1:  # re-run on as many ranks as were recorded
        return _launch(args, expected.world_size)
    if launched_size() != expected.world_size:
        raise CommandError(
            f"`{record_path}` was recorded on {plural(expected.world_size, 'rank')}; this is "
            f"{plural(launched_size(), 'rank')} of a job",
            f"run `volta verify {args.record}` without mpiexec: it starts as many ranks as were recorded",
            code="E0627",
        )
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
        return EXIT_INTERRUPTED if any(d.code == INTERRUPTED_CODE for d in result.errors) else EXIT_ERRORS
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
    for name, what, why in _SETTING_NOTES:
        recorded, now = getattr(expected, name), getattr(actual, name)
        if recorded and recorded != now:
            sys.stdout.write(f"note: recorded with {what} {recorded}; now {now} ({why})\n")
    return EXIT_ERRORS


#: Run-record fields that change bits without changing the program, named after a divergence:
#: (field, what it is, why it matters).
_SETTING_NOTES = (
    ("blas", "BLAS kernels", "kernel sets round matrix products differently; see `volta doctor`"),
    ("conv", "convolution kernels", "they sum in different orders; VOLTA_CPU_KERNELS chooses, see `volta doctor`"),
    ("threads", "threads", "BLAS splits matrix products by thread count, which can change their rounding"),
)


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


def _init_conflict(target: Path, rel: str, content: bytes) -> str | None:
    """Why ``rel`` cannot be written under ``target`` (None: it is absent or already
    holds ``content``). A link is never followed: it could lead outside the folder."""
    parts = Path(rel).parts
    for i in range(1, len(parts)):
        folder = target.joinpath(*parts[:i])
        if folder.is_symlink():
            return f"{Path(*parts[:i]).as_posix()} (a symbolic link, not a folder)"
        if folder.exists() and not folder.is_dir():
            return f"{Path(*parts[:i]).as_posix()} (a file, where the starter needs a folder)"
    dest = target / rel
    if dest.is_symlink():
        return f"{rel} (a symbolic link)"
    if not dest.exists():
        return None
    if not dest.is_file():
        return f"{rel} (not a regular file)"
    return None if dest.read_bytes() == content else rel


def _write_starter(target: Path, files: dict[str, bytes]) -> list[Path]:
    """Write ``files`` under ``target``: all of them, or (on failure) none, then
    raise ``OSError``. Returns the paths written."""
    made_dirs: list[Path] = []
    written: list[Path] = []
    try:
        for rel, content in files.items():
            dest = target / rel
            missing = [p for p in (dest.parent, *dest.parent.parents) if not p.exists()]
            for folder in reversed(missing):
                folder.mkdir()
                made_dirs.append(folder)
            with open(dest, "xb") as handle:  # "x": never through a link that appeared meanwhile
                written.append(dest)
                handle.write(content)
    except OSError:
        for path in reversed(written):
            with contextlib.suppress(OSError):
                path.unlink()
        for folder in reversed(made_dirs):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return written


def cmd_init(args: argparse.Namespace) -> int:
    target = Path(args.dir)
    if target.exists() and not target.is_dir():
        raise UsageError(f"`{args.dir}` exists and is not a directory")
    files = _starter_files()
    conflicts = [c for rel, content in files.items() if (c := _init_conflict(target, rel, content)) is not None]
    if conflicts:
        raise CommandError(
            f"refusing to overwrite existing files in `{args.dir}`: " + ", ".join(conflicts),
            "move them away or choose another directory; nothing was written",
        )
    missing = {rel: content for rel, content in files.items() if not (target / rel).exists()}
    if not missing:
        sys.stdout.write(f"init: `{args.dir}` already holds the starter project; nothing to do\n")
        return EXIT_OK
    try:
        written = _write_starter(target, missing)
    except OSError as exc:
        where = f"`{exc.filename}`" if exc.filename else f"the starter project in `{args.dir}`"
        raise CommandError(f"cannot write {where}: {exc.strerror or exc}", "nothing was written") from None
    for dest in written:
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
    p.add_argument("--ranks", type=_positive_int, metavar="N",
                   help="train data-parallel on N MPI processes of this machine (docs/distributed.md)")

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


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not `{text}`")
    return int(text)


def _end_ranks(code: int) -> int:
    """In a data-parallel job, a rank that fails stops every rank (MPI_Abort), so
    none waits for it. Rank 0 has printed its diagnostic; another rank first gives
    rank 0 a moment to fail the same way (then only rank 0's diagnostic shows),
    then says in one line on the original standard error that it failed."""
    from volta_core.train.distributed import active

    w = active()
    if w is None or code == EXIT_OK:
        return code
    if w.rank != 0:
        import time

        time.sleep(3.0)
        if sys.__stderr__ is not None:
            sys.__stderr__.write(f"volta: rank {w.rank} of {w.size} failed (exit code {code}); stopping every rank\n")
    w.abort(code)
    return code


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


#: How writing to a full disk, a closed pipe or a failing device fails.
_OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EPIPE, errno.EIO, errno.EFBIG, errno.EDQUOT})


def _is_output_error(exc: OSError) -> bool:
    """Whether ``exc`` is standard output failing. Commands report the files they
    read or write themselves; an error naming no file, of a kind only writing
    raises, is the output's."""
    return isinstance(exc, BrokenPipeError) or (exc.filename is None and exc.errno in _OUTPUT_ERRNOS)


def _discard_stdout() -> None:
    """Send standard output to the null device, so the output still buffered (and
    Python's flush at exit) cannot fail again."""
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError):  # a captured stream has no file descriptor
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


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
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return _end_ranks(_main(args, handler))


def _main(args: argparse.Namespace, handler: Callable[[argparse.Namespace], int]) -> int:
    try:
        code = handler(args)
        sys.stdout.flush()  # inside the try: a full disk or closed pipe shows here
        return code
    except OSError as exc:
        if not _is_output_error(exc):
            _internal_error(exc, bool(args.debug))
            return EXIT_ERRORS
        _discard_stdout()
        if isinstance(exc, BrokenPipeError):  # the reader went away (`volta check … | head`): stop quietly
            return EXIT_ERRORS
        _print_error(f"cannot write to standard output: {exc.strerror or exc}",
                     ["standard output is full or closed (e.g. redirected to `/dev/full`)"])
        return EXIT_ERRORS
    except UsageError as exc:
        _print_error(str(exc), exc.helps)
        return EXIT_USAGE
    except CommandError as exc:
        _print_error(str(exc), exc.helps, code=exc.code)
        return EXIT_ERRORS
    except _DiagnosticsFailure as exc:
        _render_all(exc.diagnostics, sys.stderr)
        return EXIT_ERRORS
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except Exception as exc:
        _internal_error(exc, bool(args.debug))
        return EXIT_ERRORS
