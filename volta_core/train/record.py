"""Run records: what ``volta run FILE --record R`` writes and ``volta verify R`` checks.

A record is JSON: the format version, the Volta, Python, numpy and platform
versions, the BLAS kernel set and thread settings (matrix products round
differently under another kernel set or thread count), the program (path
relative to the record file, or absolute, and the SHA-256 of its text), the
determinism mode, and one entry per executed
``train`` statement (a :class:`~volta_core.train.report.TrainReport`:
resolved settings, dataset hash, graph fingerprint, per-epoch statistics,
step count, final weights hash, why it stopped). A data-parallel run also
records its world size and MPI library (``world_size``, ``mpi``); ``verify``
re-runs it on as many ranks.

Floats are written in Python's shortest round-trip form, so a loaded record
holds exactly the values that were written (NaN and infinities use JSON's
``NaN``/``Infinity`` extension). :func:`compare` is bit-exact: two floats
agree only when their IEEE bit patterns are equal, and an integer never equals
a float. A record is read as untrusted input (:mod:`.safe_json`: bounded
nesting, no duplicate keys), and a setting named twice is rejected, so an
edited record cannot show one value to a reader and another to ``verify``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np

from volta_core import __version__
from volta_core.backends.cpu import native as native_conv
from volta_core.backends.cpu.blas import describe_kernels, describe_threads, openblas_kernels
from volta_core.errors import VoltaError
from volta_core.train import distributed, safe_json
from volta_core.train.atomic import atomic_write_text
from volta_core.train.files import read_regular_file
from volta_core.train.report import EpochStats, Setting, TrainReport

__all__ = [
    "FORMAT_VERSION",
    "Divergence",
    "RecordError",
    "RunRecord",
    "compare",
    "is_replaceable_record",
    "load_record",
    "make_record",
    "program_path",
    "write_record",
]

FORMAT_VERSION: Final = "volta-run/1"
#: Far more than any record holds (one entry per epoch); a bound for a file that is not one.
MAX_RECORD_BYTES: Final = 256 * 1024**2
_EPOCH_FIELDS: Final = ("epoch", "steps", "loss", "accuracy", "val_loss", "val_accuracy")


class RecordError(VoltaError):
    """A run record could not be written or read (``code`` E0806, or E0801
    when the file cannot be read at all)."""

    default_code = "E0806"


@dataclass(slots=True)
class RunRecord:
    program: str  # path of the .vt file: relative to the record's directory, or absolute
    program_sha256: str
    trains: list[TrainReport] = field(default_factory=list)
    determinism: str = "strict"
    volta_version: str = __version__
    python: str = field(default_factory=platform.python_version)
    numpy: str = np.__version__
    platform: str = field(default_factory=platform.platform)
    blas: str = field(default_factory=lambda: describe_kernels(openblas_kernels()))
    threads: str = field(default_factory=describe_threads)
    #: Which convolution kernels the CPU ran (``native`` or NumPy im2col): they round differently.
    conv: str = field(default_factory=native_conv.describe)
    format: str = FORMAT_VERSION
    #: Ranks of a data-parallel run (docs/distributed.md) and the MPI library; 1 and "" without MPI.
    world_size: int = 1
    mpi: str = ""

    @property
    def epoch_count(self) -> int:
        return sum(len(t.epochs) for t in self.trains)


@dataclass(frozen=True, slots=True)
class Divergence:
    """The first place two records differ. ``train`` is the 1-based index of
    the train statement (None: the records differ in their number of train
    statements); ``epoch`` is set for per-epoch fields."""

    train: int | None
    model: str
    dataset: str
    epoch: int | None
    field: str
    expected: object
    actual: object

    def describe(self) -> str:
        where = "" if self.train is None else f"train statement {self.train} (`train {self.model} on {self.dataset}`)"
        if self.epoch is not None:
            where += f", epoch {self.epoch}"
        subject = f"{where}: {self.field}" if where else self.field
        return f"{subject} differs: recorded {_show(self.expected)}, now {_show(self.actual)}"


def _show(value: object) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return f"`{value}`" if value else "(empty)"
    return "none" if value is None else str(value)


# ---------------------------------------------------------------------------
# building


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_record(program: Path, text: str, trains: list[TrainReport], record_path: Path) -> RunRecord:
    """A record for ``program`` (whose source is ``text``) written to ``record_path``.

    The program path is stored relative to the record's directory when
    possible, so the pair can be moved together.
    """
    prog = Path(program).resolve()
    base = Path(record_path).resolve().parent
    try:
        stored = Path(os.path.relpath(prog, base)).as_posix()
    except ValueError:  # different drives on Windows
        stored = str(prog)
    modes = [str(s.value) for t in trains for s in t.settings if s.name == "determinism"]
    world = distributed.current()
    return RunRecord(
        world_size=1 if world is None else world.size,
        mpi="" if world is None else world.library,
        program=stored,
        program_sha256=sha256_text(text),
        trains=list(trains),
        determinism=modes[0] if modes and all(m == modes[0] for m in modes) else ("mixed" if modes else "strict"),
    )


def program_path(record: RunRecord, record_path: Path) -> Path:
    """Where the recorded program is: absolute, or relative to the record."""
    stored = Path(record.program)
    return stored if stored.is_absolute() else Path(record_path).parent / stored


# ---------------------------------------------------------------------------
# JSON


def _jsonable(value: object) -> object:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _report_dict(t: TrainReport) -> dict[str, Any]:
    return {
        "model": t.model,
        "dataset": t.dataset,
        "settings": [
            {"name": s.name, "value": _jsonable(s.value), "source": s.source, "reason": s.reason} for s in t.settings
        ],
        "dataset_sha256": t.dataset_sha256,
        "graph_fingerprint": t.graph_fingerprint,
        "epochs": [{f: getattr(e, f) for f in _EPOCH_FIELDS} for e in t.epochs],
        "steps": t.steps,
        "weights_sha256": t.weights_sha256,
        "stopped": t.stopped,
    }


def record_to_json(record: RunRecord) -> str:
    data: dict[str, Any] = {
        "format": record.format,
        "volta_version": record.volta_version,
        "program": record.program,
        "program_sha256": record.program_sha256,
        "python": record.python,
        "numpy": record.numpy,
        "platform": record.platform,
        "blas": record.blas,
        "threads": record.threads,
        "conv": record.conv,
        "determinism": record.determinism,
        "trains": [_report_dict(t) for t in record.trains],
    }
    if record.mpi:  # a run over MPI (records of single-process runs are unchanged)
        data["world_size"] = record.world_size
        data["mpi"] = record.mpi
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_record(path: Path, record: RunRecord) -> None:
    """Write ``record`` as JSON atomically; :class:`RecordError` on failure."""
    try:
        atomic_write_text(Path(path), record_to_json(record))
    except OSError as exc:
        raise RecordError(f"cannot write run record `{path}`: {exc.strerror or exc}", code="E0801")


class _Reader:
    """Typed access to the parsed JSON with errors naming the JSON path."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, what: str) -> RecordError:
        return RecordError(f"invalid run record `{self.path}`: `{where}` {what}")

    def get(self, obj: dict[str, Any], key: str, where: str, types: tuple[type, ...], optional: bool = False) -> Any:
        if key not in obj:
            if optional:
                return None
            raise self.fail(f"{where}.{key}" if where else key, "is missing")
        value = obj[key]
        if value is None and optional:
            return None
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
        if not ok:
            names = " or ".join(t.__name__ for t in types)
            raise self.fail(f"{where}.{key}" if where else key, f"must be {names}, not {type(value).__name__}")
        return value


def _read_text(path: Path) -> str:
    try:
        raw = read_regular_file(path, MAX_RECORD_BYTES)
    except FileNotFoundError:
        raise RecordError(f"run record `{path}` not found", code="E0801")
    except OSError as exc:
        raise RecordError(f"cannot read run record `{path}`: {exc.strerror or exc}", code="E0801")
    try:
        # A byte-order mark (some Windows editors add one) is not part of the JSON.
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RecordError(f"run record `{path}` is not valid UTF-8 (byte {exc.start})", code="E0802")


def is_replaceable_record(path: Path) -> bool:
    """Whether ``--record`` may replace the existing file at ``path``: an empty
    file, or a run record of any format version (whatever its contents)."""
    try:
        text = _read_text(path)
        data = safe_json.loads(text) if text.strip() else {"format": FORMAT_VERSION}
    except (RecordError, safe_json.JsonError):
        return False
    return isinstance(data, dict) and str(data.get("format", "")).startswith("volta-run/")


def load_record(path: Path) -> RunRecord:
    """Read and validate a run record; :class:`RecordError` names the problem."""
    path = Path(path)
    text = _read_text(path)
    try:
        data = safe_json.loads(text)
    except safe_json.JsonError as exc:
        raise RecordError(f"run record `{path}` is not valid JSON: {exc.message}")
    if not isinstance(data, dict):
        raise RecordError(f"run record `{path}` is not a JSON object")
    r = _Reader(path)
    fmt = data.get("format")
    if fmt != FORMAT_VERSION:
        shown = json.dumps(fmt)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise RecordError(
            f"run record `{path}` has unsupported format {shown} (this Volta reads `{FORMAT_VERSION}`)",
            help="records are written by `volta run FILE --record R`",
        )
    trains: list[TrainReport] = []
    for i, t in enumerate(r.get(data, "trains", "", (list,))):
        w = f"trains[{i}]"
        if not isinstance(t, dict):
            raise r.fail(w, "must be an object")
        settings = []
        seen: set[str] = set()
        for j, s in enumerate(r.get(t, "settings", w, (list,))):
            sw = f"{w}.settings[{j}]"
            if not isinstance(s, dict) or "value" not in s:
                raise r.fail(sw, "must be an object with name, value, source")
            name = r.get(s, "name", sw, (str,))
            if name in seen:
                raise r.fail(sw, f"names setting `{name}` a second time (each setting appears once)")
            seen.add(name)
            settings.append(
                Setting(name, _setting_value(r, s["value"], sw), r.get(s, "source", sw, (str,)),
                        r.get(s, "reason", sw, (str,), optional=True) or "")
            )
        epochs = []
        for j, e in enumerate(r.get(t, "epochs", w, (list,))):
            ew = f"{w}.epochs[{j}]"
            if not isinstance(e, dict):
                raise r.fail(ew, "must be an object")
            epochs.append(
                EpochStats(
                    epoch=r.get(e, "epoch", ew, (int,)),
                    steps=r.get(e, "steps", ew, (int,)),
                    loss=r.get(e, "loss", ew, (float,)),
                    accuracy=r.get(e, "accuracy", ew, (float,), optional=True),
                    val_loss=r.get(e, "val_loss", ew, (float,), optional=True),
                    val_accuracy=r.get(e, "val_accuracy", ew, (float,), optional=True),
                )
            )
        trains.append(
            TrainReport(
                model=r.get(t, "model", w, (str,)),
                dataset=r.get(t, "dataset", w, (str,)),
                settings=settings,
                dataset_sha256=r.get(t, "dataset_sha256", w, (str,)),
                graph_fingerprint=r.get(t, "graph_fingerprint", w, (str,)),
                epochs=epochs,
                steps=r.get(t, "steps", w, (int,)),
                weights_sha256=r.get(t, "weights_sha256", w, (str,)),
                stopped=r.get(t, "stopped", w, (str,), optional=True),
            )
        )
    return RunRecord(
        program=r.get(data, "program", "", (str,)),
        program_sha256=r.get(data, "program_sha256", "", (str,)),
        trains=trains,
        determinism=r.get(data, "determinism", "", (str,)),
        volta_version=r.get(data, "volta_version", "", (str,)),
        python=r.get(data, "python", "", (str,)),
        numpy=r.get(data, "numpy", "", (str,)),
        platform=r.get(data, "platform", "", (str,)),
        blas=r.get(data, "blas", "", (str,), optional=True) or "",  # absent in records before it
        threads=r.get(data, "threads", "", (str,), optional=True) or "",  # likewise
        conv=r.get(data, "conv", "", (str,), optional=True) or "",  # likewise
        format=fmt,
        world_size=_world_size(r, data),
        mpi=r.get(data, "mpi", "", (str,), optional=True) or "",
    )


def _world_size(r: _Reader, data: dict[str, Any]) -> int:
    size = r.get(data, "world_size", "", (int,), optional=True)
    if size is None:
        return 1
    if size < 1:
        raise r.fail("world_size", f"must be at least 1, not {size}")
    return int(size)


def _setting_value(r: _Reader, value: object, where: str) -> object:
    """A setting's value: a number, string, boolean, null or a list of them."""
    items = value if isinstance(value, list) else [value]
    if not all(v is None or isinstance(v, (bool, int, float, str)) for v in items):
        raise r.fail(f"{where}.value", "must be a number, string, boolean, null or a list of them")
    return value


# ---------------------------------------------------------------------------
# comparison


def _same(a: object, b: object) -> bool:
    """Bit-exact equality: floats by IEEE bit pattern (NaN == NaN, 0.0 != -0.0);
    an integer never equals a float (``3`` is not ``3.0``), nor a boolean a number."""
    a = a.item() if isinstance(a, np.generic) else a  # a NumPy scalar is compared as what it writes
    b = b.item() if isinstance(b, np.generic) else b
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        assert isinstance(b, float)
        if math.isnan(a) and math.isnan(b):
            return True
        return struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple))
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def compare(expected: RunRecord, actual: RunRecord) -> Divergence | None:
    """The first difference between two records, or None when bit-identical.

    Per train statement, in order: model and dataset names, resolved
    settings (value, then where it came from and why), dataset hash, graph
    fingerprint, each epoch's statistics (epoch by epoch, field by field),
    the number of epochs, steps, why it stopped, and the final weights hash;
    then the number of train statements and the determinism mode. Versions,
    platform, BLAS kernels and threads are not compared (they explain a
    divergence; they are not one).
    """
    for i, (e, a) in enumerate(zip(expected.trains, actual.trains, strict=False), start=1):

        def div(name: str, ev: object, av: object, epoch: int | None = None, e: TrainReport = e, i: int = i) -> Divergence:
            return Divergence(i, e.model, e.dataset, epoch, name, ev, av)

        for name in ("model", "dataset"):
            if getattr(e, name) != getattr(a, name):
                return div(name, getattr(e, name), getattr(a, name))
        es = {s.name: s for s in e.settings}
        as_ = {s.name: s for s in a.settings}
        for name in list(es) + [n for n in as_ if n not in es]:
            if name not in as_ or name not in es:
                return div(f"setting `{name}`", _value_of(es.get(name)), _value_of(as_.get(name)))
            if not _same(_jsonable(es[name].value), _jsonable(as_[name].value)):
                return div(f"setting `{name}`", _jsonable(es[name].value), _jsonable(as_[name].value))
            for part in ("source", "reason"):
                if getattr(es[name], part) != getattr(as_[name], part):
                    return div(f"setting `{name}` {part}", getattr(es[name], part), getattr(as_[name], part))
        for name in ("dataset_sha256", "graph_fingerprint"):
            if getattr(e, name) != getattr(a, name):
                return div(name, getattr(e, name), getattr(a, name))
        for ee, ae in zip(e.epochs, a.epochs, strict=False):
            for name in _EPOCH_FIELDS:
                if not _same(getattr(ee, name), getattr(ae, name)):
                    return div(name, getattr(ee, name), getattr(ae, name), epoch=ee.epoch)
        if len(e.epochs) != len(a.epochs):
            return div("number of epochs", len(e.epochs), len(a.epochs))
        for name in ("steps", "stopped", "weights_sha256"):
            if not _same(getattr(e, name), getattr(a, name)):
                return div(name, getattr(e, name), getattr(a, name))
    if len(expected.trains) != len(actual.trains):
        return Divergence(None, "", "", None, "number of train statements", len(expected.trains), len(actual.trains))
    if expected.world_size != actual.world_size:
        return Divergence(None, "", "", None, "world size (ranks)", expected.world_size, actual.world_size)
    if expected.determinism != actual.determinism:
        return Divergence(None, "", "", None, "determinism", expected.determinism, actual.determinism)
    return None


def _value_of(setting: Setting | None) -> object:
    return None if setting is None else _jsonable(setting.value)
