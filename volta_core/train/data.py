"""Datasets: built-in toys, CSV / npz / text files, splits and deterministic batches.

:func:`load_dataset` turns the properties of a ``dataset`` block into a
:class:`Dataset` of numpy arrays. Every problem with a data file is a
:class:`DataError` that names the file and, where it applies, the row and
column — never a Python traceback.

Randomness (generated toys, the train/validation split, per-epoch shuffles)
comes from explicit ``numpy.random.SeedSequence`` → ``PCG64`` generators, one
per purpose, derived from the dataset's ``seed``; the global numpy RNG is
never touched. The per-epoch shuffle is ``SeedSequence([seed, epoch])``; the
other purposes use distinct ``spawn_key`` values so their streams never
coincide with an epoch's.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from volta_core.check.schema import DATASET, ValueSpec
from volta_core.present import describe_value, format_shape
from volta_core.suggest import did_you_mean
from volta_core.train.data_error import DataError
from volta_core.train.images import (
    NO_AUGMENTATION,
    Augmentation,
    as_images,
    load_image_folder,
    normalize,
    scale_pixels,
)

__all__ = [
    "MAX_FILE_BYTES",
    "DataError",
    "Dataset",
    "ModelShape",
    "Split",
    "load_dataset",
    "tokenize",
]

#: Data files larger than this are rejected before reading (they would not
#: fit the in-memory loader anyway).
MAX_FILE_BYTES: Final = 2 * 1024**3

#: ``spawn_key`` of each non-epoch purpose (see the module docstring).
_PURPOSE_GENERATE: Final = (0x766F6C74, 1)
_PURPOSE_SPLIT: Final = (0x766F6C74, 2)

_WORD: Final = re.compile(r"[a-z0-9']+")
_NUMBER: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_NON_FINITE: Final = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)


@dataclass(slots=True)
class Split:
    """One split: ``x`` is float32 ``[N, F]`` features, float32 ``[N, C, H, W]``
    images or int64 ``[N, L]`` token ids; ``y`` is int64 ``[N]`` (or ``[N, L]``) class ids or float32 ``[N, T]``
    regression targets."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass(frozen=True, slots=True)
class ModelShape:
    """What the loader needs to know about the model a dataset feeds.

    ``input_width`` is the feature width (or sequence length for token
    models), ``output_width`` the model's last width, ``classification``
    whether the loss takes class ids (cross_entropy, bce).
    """

    input_width: int
    output_width: int
    token_input: bool
    classification: bool


@dataclass(slots=True)
class Dataset:
    """A loaded dataset. ``n_features`` is the number of values per example
    (the sequence length for token data); ``sample_shape`` is one example's
    shape (``(C, H, W)`` for images); ``n_classes`` is None for regression
    targets; ``vocab`` is the vocabulary size of token data (ids are
    ``< vocab``); ``augment`` transforms training batches of images."""

    name: str
    type: str
    train: Split
    val: Split | None
    batch: int
    shuffle: bool
    seed: int
    n_features: int
    n_classes: int | None
    sha256: str
    vocab: int | None = None
    sample_shape: tuple[int, ...] = ()
    augment: Augmentation = NO_AUGMENTATION

    def batches(
        self, epoch: int, batch: int | None = None, order_seed: int | None = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Mini-batches of the training split for ``epoch``.

        The order is a permutation drawn from ``SeedSequence([seed, epoch])`` —
        ``seed`` is ``order_seed`` when given (a ``train … seed N``), else the
        dataset's — when ``shuffle`` is true (so every epoch differs, and the
        same epoch is always the same), else the stored order. Augmentation
        (images) is drawn from the dataset's seed and the epoch, one draw per
        position in the epoch's order. The last batch may be smaller. Never
        uses the global RNG.
        """
        size = self.batch if batch is None else batch
        if size < 1:
            raise ValueError(f"batch size must be at least 1, not {size}")
        n = len(self.train)
        order = epoch_order(self.seed if order_seed is None else order_seed, epoch, n) if self.shuffle else None
        flips, offsets = self.augment.draws(self.seed, epoch, n) if self.augment else (None, None)
        for start in range(0, n, size):
            if order is None:
                x, y = self.train.x[start : start + size], self.train.y[start : start + size]
            else:
                idx = order[start : start + size]
                x, y = self.train.x[idx], self.train.y[idx]
            if flips is not None and offsets is not None:
                x = self.augment.apply(x, flips[start : start + size], offsets[start : start + size])
            yield x, y

    def n_batches(self, batch: int | None = None) -> int:
        size = self.batch if batch is None else batch
        return -(-len(self.train) // size)


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The training-split permutation of ``epoch`` (see :meth:`Dataset.batches`)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, epoch])))
    return rng.permutation(n)


def _generator(seed: int, purpose: tuple[int, int]) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=purpose)))


def dataset_sha256(train: Split, val: Split | None) -> str:
    """SHA-256 over dtype, shape and little-endian bytes of x, y (train, then val)."""
    h = hashlib.sha256()
    for tag, split in (("train", train), ("val", val)):
        if split is None:
            continue
        for name, arr in (("x", split.x), ("y", split.y)):
            le = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<"))
            h.update(f"{tag}.{name}:{le.dtype.str}:{list(le.shape)}\n".encode())
            h.update(le.tobytes())
    return h.hexdigest()


# ---------------------------------------------------------------------------
# properties


def _unwrap(value: object) -> object:
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


def _out_of_range(key: str, spec: ValueSpec, value: object) -> DataError:
    # A lower bound alone (every integer key) reads "at least N"; other ranges as an interval.
    if spec.minimum is not None and spec.maximum is None and not spec.exclusive_min:
        return DataError(f"`{key}` must be at least {spec.literal(spec.minimum)}, not {value}", key=key)
    return DataError(f"`{key}` must be in {spec.interval_text()}, not {value}", key=key)


class _Props:
    """A dataset block's values; defaults and ranges come from the schema (``check.schema.DATASET``)."""

    def __init__(self, props: Mapping[str, object]) -> None:
        self.props = {k: _unwrap(v) for k, v in props.items()}

    def integer(self, key: str) -> int:
        spec = DATASET.value(key)
        value = self.props.get(key, spec.default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise DataError(f"`{key}` must be an integer, not {describe_value(value)}", key=key)
        if not spec.in_range(value):
            raise _out_of_range(key, spec, value)
        return value

    def opt_integer(self, key: str) -> int | None:
        """The key's integer, or None when the block does not give it (whatever the default)."""
        return self.integer(key) if key in self.props else None

    def number(self, key: str) -> float:
        spec = DATASET.value(key)
        value = self.props.get(key, spec.default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise DataError(f"`{key}` must be a number, not {describe_value(value)}", key=key)
        if not spec.in_range(value):
            raise _out_of_range(key, spec, value)
        return float(value)

    def boolean(self, key: str) -> bool:
        value = self.props.get(key, DATASET.value(key).default)
        if not isinstance(value, bool):
            raise DataError(f"`{key}` must be true or false, not {describe_value(value)}", key=key)
        return value

    def string(self, key: str) -> str:
        """The key's string, or its schema default."""
        return self._string(key, DATASET.value(key).default)

    def required(self, key: str) -> str:
        """The key's string; no default applies (e.g. a csv ``target``, whose default is npz's)."""
        return self._string(key, None)

    def choice(self, key: str) -> str:
        value = self.string(key)
        choices = DATASET.value(key).choices
        if value not in choices:
            raise DataError(f"`{key}` must be {' or '.join(f'`{c}`' for c in choices)}, not `{value}`", key=key)
        return value

    def numbers(self, key: str) -> list[float] | None:
        """The values of a line of numbers (``normalize 0.5 0.25``), or None when absent."""
        value = self.props.get(key)
        if value is None:
            return None
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise DataError(f"`{key}` takes numbers")
        return [float(v) for v in values]  # type: ignore[arg-type]

    def lines(self, key: str) -> list[list[object]]:
        """Every line of a repeatable key, each a list of its values (``augment flip``
        and ``augment crop 4``: ``[["flip"], ["crop", 4]]``). Several lines arrive as
        a tuple of lists, one line as a list (several values) or a value."""
        value = self.props.get(key)
        if value is None:
            return []
        if isinstance(value, tuple):
            return [v if isinstance(v, list) else [v] for v in value]
        return [value if isinstance(value, list) else [value]]

    def augmentation(self) -> Augmentation:
        flip, crop = False, 0
        for line in self.lines("augment"):
            if line[:1] == ["flip"] and len(line) == 1:
                flip = True
            elif line[:1] == ["crop"] and len(line) == 2 and isinstance(line[1], int) and line[1] >= 1:
                crop = line[1]
            else:
                raise DataError(f"`augment {' '.join(str(v) for v in line)}` is not an augmentation", key="augment",
                                help="write `augment flip` or `augment crop P` (P pixels, at least 1)")  # fmt: skip
        return Augmentation(flip, crop)

    def _string(self, key: str, default: object) -> str:
        value = self.props.get(key, default)
        if not isinstance(value, str):
            raise DataError(
                f"the dataset needs `{key}`" if value is None else f"`{key}` must be a string, not {describe_value(value)}",
                key=key,
            )
        return value


# ---------------------------------------------------------------------------
# public entry point


def load_dataset(
    name: str,
    props: Mapping[str, object],
    base_dir: Path | None,
    shape: ModelShape | None = None,
) -> Dataset:
    """Build the dataset described by ``props`` (the block's properties).

    Relative ``source`` paths resolve against ``base_dir`` (the directory of
    the ``.vt`` file; None: the current directory). ``shape`` describes the
    model the data feeds: ``synthetic`` data needs it, and it decides
    whether a numeric CSV / npz target holds class ids or regression values.
    Raises :class:`DataError` for every problem with the properties or files.
    """
    p = _Props(props)
    kind = p.required("type")
    batch = p.integer("batch")
    shuffle = p.boolean("shuffle")
    seed = p.integer("seed")
    split = p.number("split")
    vocab: int | None = None

    if kind == "xor":
        x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
        y = np.array([0, 1, 1, 0], dtype=np.int64)
        n_classes: int | None = 2
    elif kind == "synthetic":
        x, y, n_classes = _synthetic(p.integer("samples"), seed, shape)
    elif kind == "blobs":
        x, y = _blobs(p.integer("samples"), p.integer("classes"), seed)
        n_classes = p.integer("classes")
    elif kind == "spiral":
        x, y = _spiral(p.integer("samples"), p.integer("classes"), seed)
        n_classes = p.integer("classes")
    elif kind == "csv":
        x, y, n_classes = _load_csv(p.required("source"), p.required("target"), base_dir, shape)
    elif kind == "npz":
        x, y, n_classes = _load_npz(
            p.required("source"), p.string("features"), p.string("target"), base_dir, shape
        )
    elif kind == "images":
        size = p.props.get("size")
        folder = load_image_folder(
            _resolve(p.required("source"), base_dir), p.required("source"), p.integer("channels"),
            (int(size[0]), int(size[1])) if isinstance(size, list) else None,
        )  # fmt: skip
        x, y, n_classes = folder.x, folder.y, max(len(folder.classes), 2)
    elif kind == "text":
        seq_len = p.opt_integer("seq_len")
        if seq_len is None:
            seq_len = shape.input_width if shape is not None and shape.token_input else p.integer("seq_len")
        if p.choice("task") == "next_token":
            unit = p.choice("tokens")
            text = _decode(_read_bytes(p.required("source"), base_dir), p.required("source"))
            return _next_token(name, text, unit, seq_len, p.opt_integer("vocab"), split, batch, shuffle, seed)
        texts, y, n_classes = _load_text_rows(
            p.required("source"), p.required("text"), p.required("target"), base_dir, shape
        )
        train_idx, val_idx = _split_indices(len(texts), split, shuffle, seed)
        vocab_size = p.opt_integer("vocab")
        vocabulary = build_vocabulary([texts[i] for i in train_idx], vocab_size)
        vocab = vocab_size if vocab_size is not None else len(vocabulary) + 2
        x = encode(texts, vocabulary, seq_len)
        return _finish(name, kind, x, y, n_classes, train_idx, val_idx, batch, shuffle, seed, vocab)
    else:
        raise DataError(f"unknown dataset type `{kind}`")

    augment = p.augmentation()
    normalization = p.numbers("normalize")
    if (augment or normalization is not None) and x.ndim != 4:
        what = "`augment`" if augment else "`normalize`"
        raise DataError(f"{what} needs images, but the examples have shape {format_shape(x.shape[1:])}",
                        key="augment" if augment else "normalize",
                        help="images are arrays [N, C, H, W] or [N, H, W] (npz), or an `images` folder")  # fmt: skip
    if normalization is not None:
        x = normalize(x, normalization)
    train_idx, val_idx = _split_indices(int(x.shape[0]), split, shuffle, seed)
    return _finish(name, kind, x, y, n_classes, train_idx, val_idx, batch, shuffle, seed, vocab, augment)


def _split_indices(n: int, fraction: float, shuffle: bool, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation row indices.

    With ``shuffle`` the rows are permuted once (seeded) before splitting;
    without it the first rows train and the last validate (file order, e.g.
    for time series). The train part has ``round(n * fraction)`` rows, at
    least one; ``split 1`` (the default) means no validation split.
    """
    n_train = min(n, max(1, round(n * fraction)))
    order = _generator(seed, _PURPOSE_SPLIT).permutation(n) if shuffle and n_train < n else np.arange(n)
    return order[:n_train], order[n_train:]


def _finish(
    name: str,
    kind: str,
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int | None,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    batch: int,
    shuffle: bool,
    seed: int,
    vocab: int | None,
    augment: Augmentation = NO_AUGMENTATION,
) -> Dataset:
    train = Split(np.ascontiguousarray(x[train_idx]), np.ascontiguousarray(y[train_idx]))
    val = Split(np.ascontiguousarray(x[val_idx]), np.ascontiguousarray(y[val_idx])) if len(val_idx) else None
    return Dataset(
        name=name,
        type=kind,
        train=train,
        val=val,
        batch=batch,
        shuffle=shuffle,
        seed=seed,
        n_features=math.prod(x.shape[1:]),
        n_classes=n_classes,
        sha256=dataset_sha256(train, val),
        vocab=vocab,
        sample_shape=tuple(int(d) for d in x.shape[1:]),
        augment=augment,
    )


# ---------------------------------------------------------------------------
# generated toys


def _synthetic(samples: int, seed: int, shape: ModelShape | None) -> tuple[np.ndarray, np.ndarray, int | None]:
    """x ~ N(0, 1) [samples, input_width]; y = x @ W_true + 0.1·noise.

    ``W_true`` ~ N(0, 1/input_width) comes from the same seeded generator.
    For a classification model the targets become class ids: the argmax of
    ``x @ W_true`` (``output_width`` classes), or ``x @ W_true > 0`` for a
    single output (bce).
    """
    if shape is None:
        raise DataError(
            "`synthetic` data is shaped for the model it trains, so it can only be built by "
            "`train`/`evaluate` with a model",
            help="use it in `train MODEL on DATASET`, or use a file or another built-in type",
        )
    if shape.token_input:
        raise DataError(
            "`synthetic` data is a feature regression task and cannot feed a token model",
            help="use a `text` or `npz` dataset for token models",
        )
    rng = _generator(seed, _PURPOSE_GENERATE)
    f, t = shape.input_width, shape.output_width
    x = rng.standard_normal((samples, f))
    w = rng.standard_normal((f, t)) / math.sqrt(f)
    noise = rng.standard_normal((samples, t))
    clean = x @ w
    if shape.classification:
        if t == 1:
            return x.astype(np.float32), (clean[:, 0] > 0).astype(np.int64), 2
        return x.astype(np.float32), np.argmax(clean, axis=1).astype(np.int64), t
    return x.astype(np.float32), (clean + 0.1 * noise).astype(np.float32), None


def _balanced_labels(samples: int, classes: int, rng: np.random.Generator) -> np.ndarray:
    return rng.permutation(np.arange(samples, dtype=np.int64) % classes)


def _blobs(samples: int, classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """K Gaussian clusters (σ = 1) in 2-D around centres evenly spaced on a
    circle of radius 4 (rotated by a seeded angle); classes are balanced."""
    rng = _generator(seed, _PURPOSE_GENERATE)
    y = _balanced_labels(samples, classes, rng)
    angle0 = rng.uniform(0.0, 2.0 * math.pi)
    angles = angle0 + 2.0 * math.pi * np.arange(classes) / classes
    centres = 4.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    x = centres[y] + rng.standard_normal((samples, 2))
    return x.astype(np.float32), y


def _spiral(samples: int, classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """K interleaved spiral arms in 2-D (radius 0→1, 4 radians per arm with
    N(0, 0.2) angular noise); classes are balanced."""
    rng = _generator(seed, _PURPOSE_GENERATE)
    y = _balanced_labels(samples, classes, rng)
    r = rng.uniform(0.0, 1.0, samples)
    theta = y * (2.0 * math.pi / classes) + 4.0 * r + 0.2 * rng.standard_normal(samples)
    x = np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1)
    return x.astype(np.float32), y


# ---------------------------------------------------------------------------
# files


def _resolve(source: str, base_dir: Path | None) -> Path:
    path = Path(source)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return path


def _read_bytes(source: str, base_dir: Path | None) -> bytes:
    path = _resolve(source, base_dir)
    try:
        if not path.exists():
            raise DataError(
                "file not found", path=source, code="E0801", key="source",
                help=f"paths are relative to the .vt file's directory (looked for `{path}`)",
            )
        if path.is_dir():
            raise DataError("is a directory, not a file", path=source, code="E0801", key="source")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DataError(
                f"file is too large ({size} bytes; the limit is {MAX_FILE_BYTES} bytes)", path=source,
                help="data is loaded into memory; use a smaller file or a sample of it",
            )
        return path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read the file: {exc.strerror or exc}", path=source, code="E0801", key="source")


def _decode(raw: bytes, source: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"not valid UTF-8 (byte {exc.start})", path=source, row=row, code="E0802",
            help="re-save the file with UTF-8 encoding",
        )


@dataclass(slots=True)
class _Table:
    header: list[str]
    rows: list[list[str]]
    lines: list[int]  # the 1-based line of each row


def _read_csv(source: str, base_dir: Path | None) -> _Table:
    text = _decode(_read_bytes(source, base_dir), source)
    if not text.strip():
        raise DataError("the file is empty", path=source, help="a CSV dataset needs a header row and data rows")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    start = 1
    try:
        for record in reader:
            line = start
            start = reader.line_num + 1
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # blank line
            if header is None:
                header = [cell.strip() for cell in record]
                _check_header(header, source, line)
                continue
            if len(record) != len(header):
                raise DataError(
                    f"ragged row: expected {len(header)} columns (as in the header), found {len(record)}",
                    path=source, row=line,
                )
            rows.append(record)
            lines.append(line)
    except csv.Error as exc:
        raise DataError(f"malformed CSV: {exc}", path=source, row=reader.line_num)
    assert header is not None
    if not rows:
        raise DataError("the file has a header row but no data rows", path=source)
    return _Table(header, rows, lines)


def _check_header(header: list[str], source: str, line: int) -> None:
    if all(_NUMBER.fullmatch(cell) or _NON_FINITE.fullmatch(cell) for cell in header):
        raise DataError(
            "the first row holds numbers, not column names: a header row is required",
            path=source, row=line, help="add a first line naming the columns, e.g. `x1,x2,label`",
        )
    seen: set[str] = set()
    for cell in header:
        if not cell:
            raise DataError("the header has an empty column name", path=source, row=line)
        if cell in seen:
            raise DataError(f"the header names column `{cell}` twice", path=source, row=line, column=cell)
        seen.add(cell)


def _column_index(table: _Table, name: str, source: str, role: str) -> int:
    if name in table.header:
        return table.header.index(name)
    hint = did_you_mean(name, table.header)
    columns = ", ".join(f"`{c}`" for c in table.header)
    raise DataError(
        f"no column `{name}` (the {role} column) in the header",
        path=source, row=1, column=name, key=role,
        help=f"{hint + ' ' if hint else ''}columns: {columns}",
    )


def _parse_number(cell: str, source: str, row: int, column: str) -> float:
    text = cell.strip()
    if not text:
        raise DataError("empty cell", path=source, row=row, column=column, help="every cell needs a number")
    if _NON_FINITE.fullmatch(text):
        raise DataError(f"`{text}` is not a finite number", path=source, row=row, column=column)
    shown = text if len(text) <= 40 else text[:37] + "..."
    if not _NUMBER.fullmatch(text):
        raise DataError(f"non-numeric cell `{shown}`", path=source, row=row, column=column)
    value = float(text)
    if not math.isfinite(value):
        raise DataError(f"`{shown}` overflows a 64-bit float", path=source, row=row, column=column)
    return value


def _class_labels(
    values: Sequence[float], rows: Sequence[int], source: str, column: str, shape: ModelShape | None
) -> tuple[np.ndarray, int]:
    """Validate integer class ids ≥ 0 (and < the model's classes) → (y, n_classes)."""
    limit = None
    if shape is not None and shape.classification:
        limit = 2 if shape.output_width == 1 else shape.output_width
    for value, row in zip(values, rows, strict=True):
        if not float(value).is_integer():
            raise DataError(
                f"class label `{value:g}` is not an integer", path=source, row=row, column=column,
                help="classification targets are class ids 0, 1, …; use `loss mse` for real-valued targets",
            )
        if value < 0:
            raise DataError(f"class label {int(value)} is negative", path=source, row=row, column=column,
                            help="class ids start at 0")
        if limit is not None and value >= limit:
            raise DataError(
                f"class label {int(value)} is out of range: the model has {limit} classes (0..{limit - 1})",
                path=source, row=row, column=column,
            )
    y = np.asarray(values, dtype=np.float64).astype(np.int64)
    n = int(y.max()) + 1 if y.size else 0
    return y, max(n, limit or 0, 2)


def _is_classification(values: Sequence[float], shape: ModelShape | None) -> bool:
    if shape is not None:
        return shape.classification
    return all(float(v).is_integer() for v in values)


def _load_csv(
    source: str, target: str, base_dir: Path | None, shape: ModelShape | None
) -> tuple[np.ndarray, np.ndarray, int | None]:
    table = _read_csv(source, base_dir)
    t = _column_index(table, target, source, "target")
    features = [i for i in range(len(table.header)) if i != t]
    if not features:
        raise DataError("the file has no feature columns besides the target", path=source, row=1,
                        column=target)
    x = np.empty((len(table.rows), len(features)), dtype=np.float64)
    targets: list[float] = []
    header = table.header
    for r, (record, line) in enumerate(zip(table.rows, table.lines, strict=True)):
        for j, c in enumerate(features):
            x[r, j] = _parse_number(record[c], source, line, header[c])
        targets.append(_parse_number(record[t], source, line, target))
    if _is_classification(targets, shape):
        y, n_classes = _class_labels(targets, table.lines, source, target, shape)
        return x.astype(np.float32), y, n_classes
    return x.astype(np.float32), np.asarray(targets, dtype=np.float32).reshape(-1, 1), None


def _load_npz(
    source: str, features: str, target: str, base_dir: Path | None, shape: ModelShape | None
) -> tuple[np.ndarray, np.ndarray, int | None]:
    raw = _read_bytes(source, base_dir)
    try:
        archive = np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception as exc:
        raise DataError(f"not a valid .npz file ({exc})", path=source)
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError("not an .npz archive (a single .npy array?)", path=source,
                        help="save with numpy.savez(path, x=..., y=...)")
    with archive:
        names = list(archive.files)
        arrays: dict[str, np.ndarray] = {}
        for role, key in (("features", features), ("target", target)):
            if key not in names:
                hint = did_you_mean(key, names)
                listed = ", ".join(f"`{n}`" for n in names) or "none"
                raise DataError(
                    f"no array `{key}` (the {role}) in the archive", path=source, column=key, key=role,
                    help=f"{hint + ' ' if hint else ''}arrays: {listed}; set `{role} \"NAME\"` to choose one",
                )
            try:
                arrays[key] = archive[key]
            except ValueError as exc:
                if "pickle" in str(exc).lower():
                    raise DataError(
                        f"array `{key}` holds Python objects (pickled), which are never loaded",
                        path=source, column=key, help="store plain numeric arrays",
                    )
                raise DataError(f"cannot read array `{key}`: {exc}", path=source, column=key)
            except Exception as exc:
                raise DataError(f"cannot read array `{key}`: {exc}", path=source, column=key)
    x, y = arrays[features], arrays[target]
    for key, arr in ((features, x), (target, y)):
        if arr.dtype.kind not in "biuf":
            raise DataError(f"array `{key}` has dtype {arr.dtype}, not a numeric type", path=source, column=key)
        if arr.ndim == 0:
            raise DataError(f"array `{key}` is a scalar, not one row per example", path=source, column=key)
        if arr.dtype.kind == "f":
            bad = np.argwhere(~np.isfinite(arr))
            if bad.size:
                where = ", ".join(str(int(i)) for i in bad[0])
                raise DataError(f"`{key}[{where}]` is {arr[tuple(bad[0])]}, not a finite number",
                                path=source, column=key)
    if x.shape[0] != y.shape[0]:
        raise DataError(
            f"`{features}` has {x.shape[0]} rows but `{target}` has {y.shape[0]}", path=source,
            column=target, help="features and targets need one row per example",
        )
    if x.shape[0] == 0:
        raise DataError("the arrays have no rows", path=source)
    if x.ndim in (3, 4) and not (shape is not None and shape.token_input):
        images = scale_pixels(as_images(x))  # [N, H, W] or [N, C, H, W]: images, uint8 scaled to [0, 1]
        return (images, *_npz_targets(y, source, target, shape))
    x2 = x.reshape(x.shape[0], -1)
    if shape is not None and shape.token_input:
        if x2.dtype.kind not in "iu" or (x2.size and x2.min() < 0):
            raise DataError(f"`{features}` must hold non-negative integer token ids for a token model",
                            path=source, column=features)
        xs: np.ndarray = x2.astype(np.int64)
    else:
        xs = x2.astype(np.float32)
    return (xs, *_npz_targets(y, source, target, shape))


def _npz_targets(
    y: np.ndarray, source: str, target: str, shape: ModelShape | None
) -> tuple[np.ndarray, int | None]:
    """An npz target array as class ids (with the class count) or regression targets."""
    flat_y = y.reshape(-1)
    integral = y.dtype.kind in "biu"
    classify = shape.classification if shape is not None else integral
    if classify:
        if not integral and not np.all(np.equal(np.floor(flat_y), flat_y)):
            raise DataError(f"`{target}` holds non-integer values, not class ids", path=source, column=target,
                            help="classification targets are class ids 0, 1, …")
        limit = None if shape is None else (2 if shape.output_width == 1 else shape.output_width)
        if flat_y.size and flat_y.min() < 0:
            raise DataError(f"`{target}` holds a negative class id ({flat_y.min()})", path=source, column=target)
        if limit is not None and flat_y.size and flat_y.max() >= limit:
            raise DataError(
                f"class id {flat_y.max()} in `{target}` is out of range: the model has {limit} classes",
                path=source, column=target,
            )
        ys = y.astype(np.int64)
        if ys.ndim == 2 and ys.shape[1] == 1 and not (shape is not None and shape.token_input):
            ys = ys[:, 0]
        n_classes = max(int(ys.max()) + 1, limit or 0, 2)
        return ys, n_classes
    return y.reshape(y.shape[0], -1).astype(np.float32), None


# ---------------------------------------------------------------------------
# text


def tokenize(text: str) -> list[str]:
    """Lower-cased words: maximal runs of ``[a-z0-9']`` after ``str.lower()``."""
    return _WORD.findall(text.lower())


def build_vocabulary(texts: Sequence[str], size: int | None) -> dict[str, int]:
    """Word → id, ids from 2 (0 = padding, 1 = unknown).

    Words are ranked by frequency (descending), ties alphabetically; with
    ``size`` only the first ``size - 2`` words are kept.
    """
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(tokenize(text))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    if size is not None:
        ranked = ranked[: max(0, size - 2)]
    return {word: i + 2 for i, (word, _) in enumerate(ranked)}


def encode(texts: Sequence[str], vocabulary: Mapping[str, int], seq_len: int) -> np.ndarray:
    """Token ids ``[len(texts), seq_len]``: truncated, then padded with 0 at the end."""
    out = np.zeros((len(texts), seq_len), dtype=np.int64)
    for i, text in enumerate(texts):
        ids = [vocabulary.get(w, 1) for w in tokenize(text)[:seq_len]]
        out[i, : len(ids)] = ids
    return out


def char_vocabulary(text: str, size: int | None) -> dict[str, int]:
    """Character → id, ids from 2 (0 = padding, 1 = unknown), ranked by
    frequency (descending) then by code point; ``size`` keeps ``size - 2``."""
    ranked = sorted(Counter(text).items(), key=lambda item: (-item[1], item[0]))
    if size is not None:
        ranked = ranked[: max(0, size - 2)]
    return {ch: i + 2 for i, (ch, _) in enumerate(ranked)}


def _next_token(
    name: str, text: str, unit: str, seq_len: int, vocab_size: int | None,
    split: float, batch: int, shuffle: bool, seed: int,
) -> Dataset:
    """A ``text`` dataset with ``task next_token`` (a language-modelling corpus).

    The file is one token stream: characters as they are (``tokens char``) or
    the words of :func:`tokenize` (``tokens word``). The first ``split`` of the
    stream (by position) trains and the rest validates, so validation text is
    never seen in training; the vocabulary comes from the training part.
    Each part is cut into windows of ``seq_len + 1`` tokens starting every
    ``max(1, seq_len // 2)`` tokens: ``x`` is a window's first ``seq_len``
    tokens, ``y`` the same positions shifted by one (the next token), both
    int64 ``[N, seq_len]``. The last window of a part is padded with 0, and
    padding targets are ignored by the loss.
    """
    if not text.strip():
        raise DataError("the text file is empty", help="`task next_token` needs some text to learn from")
    units: list[str] = list(text) if unit == "char" else tokenize(text)
    cut = min(len(units), max(2, round(len(units) * split))) if split < 1.0 else len(units)
    train_units, val_units = units[:cut], units[cut:]
    if unit == "char":
        vocabulary = char_vocabulary("".join(train_units), vocab_size)
    else:
        vocabulary = build_vocabulary([" ".join(train_units)], vocab_size)
    vocab = vocab_size if vocab_size is not None else len(vocabulary) + 2

    def windows(part: list[str]) -> tuple[np.ndarray, np.ndarray]:
        ids = np.asarray([vocabulary.get(u, 1) for u in part], dtype=np.int64)
        stride = max(1, seq_len // 2)
        xs, ys = [], []
        for start in range(0, max(len(ids) - 1, 0), stride):
            window = np.zeros(seq_len + 1, np.int64)
            chunk = ids[start : start + seq_len + 1]
            window[: len(chunk)] = chunk
            xs.append(window[:-1])
            ys.append(window[1:])
            if start + seq_len + 1 >= len(ids):
                break
        if not xs:
            return np.zeros((0, seq_len), np.int64), np.zeros((0, seq_len), np.int64)
        return np.stack(xs), np.stack(ys)

    tx, ty = windows(train_units)
    if len(tx) == 0:
        raise DataError("the text is too short for even one window", help="use a longer text or a smaller `split`")
    vx, vy = windows(val_units)
    train = Split(tx, ty)
    val = Split(vx, vy) if len(vx) else None
    return Dataset(
        name=name, type="text", train=train, val=val, batch=batch, shuffle=shuffle, seed=seed,
        n_features=seq_len, n_classes=vocab, sha256=dataset_sha256(train, val), vocab=vocab,
    )


def _load_text_rows(
    source: str, text_col: str, target: str, base_dir: Path | None, shape: ModelShape | None
) -> tuple[list[str], np.ndarray, int | None]:
    """Texts and labels. Integer labels are class ids; any other labels
    (``pos``/``neg``) become ids in sorted order of the distinct labels."""
    table = _read_csv(source, base_dir)
    ti = _column_index(table, text_col, source, "text")
    li = _column_index(table, target, source, "target")
    texts = [record[ti] for record in table.rows]
    raw = [record[li].strip() for record in table.rows]
    for value, line in zip(raw, table.lines, strict=True):
        if not value:
            raise DataError("empty label", path=source, row=line, column=target)
    if all(_NUMBER.fullmatch(v) for v in raw):
        values = [float(v) for v in raw]
        if shape is not None and not shape.classification:
            return texts, np.asarray(values, dtype=np.float32).reshape(-1, 1), None
        y, n_classes = _class_labels(values, table.lines, source, target, shape)
        return texts, y, n_classes
    names = sorted(set(raw))
    ids = {name: i for i, name in enumerate(names)}
    y = np.asarray([ids[v] for v in raw], dtype=np.int64)
    return texts, y, max(len(names), 2)
