"""Data values a model cannot use are errors naming file, row and column; the
model's loss decides how targets are read; data files are regular files; a
numeric CSV is streamed into typed arrays (issue 24, items 3, 4, 8, 10, 11, 12, 15)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from volta_core.lang import Session
from volta_core.train import data as D
from volta_core.train.data import DataError, ModelShape, load_dataset

CLASSES = ModelShape(2, 2, token_input=False, classification=True)
REGRESSION = ModelShape(2, 1, token_input=False, classification=False)


def _run(tmp_path: Path, text: str) -> tuple[list[str], list[str]]:
    out: list[str] = []
    result = Session(stdout=out.append, base_dir=tmp_path).run(text, "t.vt")
    return [f"{d.code} {d.message}" for d in result.errors], out


def _program(dataset: str, loss: str = "cross_entropy", outputs: int = 2, train: str = "epochs 3") -> str:
    return (f"{dataset}model m\n    layers 2 4 {outputs}\n    loss {loss}\n    seed 1\n"
            f"train m on d\n    {train}\n    log_every 100\n")


CSV = 'dataset d\n    type csv\n    source "f.csv"\n    target "label"\n    shuffle false\n'


# ------------------------------------------------------------------ item 3


@pytest.mark.parametrize(("rows", "split"), [("1,2,0\n3,4,1\n5,6,0\n1e39,2,1\n", "0.5"),  # validation split
                                             ("1e39,2,0\n3,4,1\n5,6,0\n7,8,1\n", "1")])   # training split
def test_a_csv_value_beyond_float32_names_its_row_and_column(tmp_path: Path, rows: str, split: str) -> None:
    (tmp_path / "f.csv").write_text("a,b,label\n" + rows, encoding="utf-8")
    errors, out = _run(tmp_path, _program(CSV + f"    split {split}\n", train="epochs 3\n    early_stopping 1"))
    assert len(errors) == 1, errors
    assert errors[0].startswith("E0803 `f.csv`, row ") and "column `a`" in errors[0], errors[0]
    assert "`1e39` overflows a 32-bit float" in errors[0]
    assert not any(line.startswith("trained") for line in out)


def test_a_regression_target_beyond_float32_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "f.csv").write_text("a,b,label\n1,2,0.5\n3,4,-1e39\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_dataset("d", {"type": "csv", "source": "f.csv", "target": "label"}, tmp_path, REGRESSION)
    assert (info.value.row, info.value.column) == (3, "label")
    assert "`-1e39` overflows a 32-bit float" in info.value.message


def test_an_npz_value_beyond_float32_names_its_index(tmp_path: Path) -> None:
    x = np.ones((3, 2))
    x[1, 0] = 1e39
    np.savez(tmp_path / "a.npz", x=x, y=np.array([0, 1, 0]))
    with pytest.raises(DataError) as info:
        load_dataset("d", {"type": "npz", "source": "a.npz"}, tmp_path, CLASSES)
    assert "`x[1, 0]` is 1e+39, which overflows a 32-bit float" in info.value.message
    assert info.value.path == "a.npz" and info.value.column == "x"


# ------------------------------------------------------------------ items 4 and 10


def test_a_huge_integer_regression_target_does_not_wrap(tmp_path: Path) -> None:
    (tmp_path / "f.csv").write_text("a,b,label\n1,2,10000000000000000000\n1,3,1\n", encoding="utf-8")
    props = {"type": "csv", "source": "f.csv", "target": "label"}
    for shape in (None, REGRESSION):  # without a model too: it cannot be a class id
        loaded = load_dataset("d", props, tmp_path, shape)
        assert loaded.n_classes is None
        assert loaded.train.y.dtype == np.float32 and float(loaded.train.y.max()) == pytest.approx(1e19)
    errors, _ = _run(tmp_path, _program(CSV, loss="mse", outputs=1, train="epochs 1"))
    assert errors == []


@pytest.mark.parametrize("label", ["9223372036854775807", "1e300", "2"])
def test_an_out_of_range_csv_label_names_its_row(tmp_path: Path, label: str) -> None:
    (tmp_path / "f.csv").write_text(f"a,b,label\n1,2,0\n1,3,{label}\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_dataset("d", {"type": "csv", "source": "f.csv", "target": "label"}, tmp_path, CLASSES)
    assert (info.value.row, info.value.column) == (3, "label")
    assert f"class label {label} is out of range: the model has 2 classes" in info.value.message
    errors, _ = _run(tmp_path, _program(CSV))
    assert len(errors) == 1 and errors[0].startswith("E0803 `f.csv`, row 3, column `label`"), errors


def test_an_unsigned_npz_label_never_wraps(tmp_path: Path) -> None:
    np.savez(tmp_path / "u.npz", x=np.ones((4, 2), np.float32), y=np.array([0, 1, 2**64 - 1, 0], np.uint64))
    errors, out = _run(tmp_path, _program('dataset d\n    type npz\n    source "u.npz"\n'))
    assert len(errors) == 1, errors
    assert "`y[2]` is class id 18446744073709551615, out of range: the model has 2 classes" in errors[0]
    assert not any(line.startswith("trained") for line in out)


def test_huge_token_ids_never_wrap(tmp_path: Path) -> None:
    np.savez(tmp_path / "t.npz", x=np.array([[1, 2**64 - 1]], np.uint64), y=np.array([0]))
    shape = ModelShape(2, 2, token_input=True, classification=True)
    with pytest.raises(DataError, match=r"`x\[0, 1\]` is 18446744073709551615, too large for a token id"):
        load_dataset("d", {"type": "npz", "source": "t.npz"}, tmp_path, shape)


# ------------------------------------------------------------------ item 8


def test_npz_float_class_ids_train_a_classifier(tmp_path: Path) -> None:
    np.savez(tmp_path / "f.npz", x=np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32),
             y=np.array([0.0, 1.0, 1.0, 0.0]))
    errors, out = _run(tmp_path, _program('dataset d\n    type npz\n    source "f.npz"\n'))
    assert errors == [] and any(line.startswith("trained m") for line in out)


def test_negative_integer_targets_train_a_regression_model(tmp_path: Path) -> None:
    (tmp_path / "f.csv").write_text("a,b,label\n1,2,-3\n1,3,5\n2,2,-1\n", encoding="utf-8")
    errors, out = _run(tmp_path, _program(CSV, loss="mse", outputs=1))
    assert errors == [] and any(line.startswith("trained m") for line in out)


# ------------------------------------------------------------------ item 10: sizes


@pytest.mark.parametrize("block", [
    "dataset d\n    type blobs\n    samples 9223372036854775807\n",
    "dataset d\n    type spiral\n    samples 4611686018427387904\n",
])
def test_huge_generated_data_is_e0608(tmp_path: Path, block: str) -> None:
    errors, _ = _run(tmp_path, block + "print d.size\n")
    assert len(errors) == 1 and errors[0].startswith("E0608 ") and "would need" in errors[0], errors


def test_more_classes_than_samples_allocates_nothing_per_class(tmp_path: Path) -> None:
    errors, out = _run(tmp_path, "dataset d\n    type blobs\n    samples 8\n    classes 9223372036854775807\n"
                                 "print d.size\n")
    assert errors == [] and out == ["8\n"]


def test_a_huge_seq_len_is_e0608(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("t,l\nhello world,1\nbye,0\n", encoding="utf-8")
    errors, _ = _run(tmp_path, 'dataset d\n    type text\n    source "t.csv"\n    text "t"\n    target "l"\n'
                               "    seq_len 9223372036854775807\nprint d.size\n")
    assert len(errors) == 1 and errors[0].startswith("E0608 ") and "seq_len 9223372036854775807" in errors[0]


# ------------------------------------------------------------------ items 11 and 15: what a source may be


@pytest.mark.skipif(sys.platform == "win32", reason="devices, named pipes and symbolic links")
@pytest.mark.parametrize("kind", ["device", "pipe", "loop"])
def test_a_source_must_be_a_regular_file(tmp_path: Path, kind: str) -> None:
    if kind == "device":
        source, needle = "/dev/zero", "it is a character device, not a regular file"
    elif kind == "pipe":
        os.mkfifo(tmp_path / "p.csv")
        source, needle = "p.csv", "it is a named pipe, not a regular file"
    else:
        (tmp_path / "l.csv").symlink_to(tmp_path / "l.csv")
        source, needle = "l.csv", "it is a loop of symbolic links"
    for kind_ in ("csv", "text"):
        props = f'    type {kind_}\n    source "{source}"\n    target "label"\n' + ('    text "t"\n' if kind_ == "text" else "")
        errors, _ = _run(tmp_path, f"dataset d\n{props}")
        assert len(errors) == 1 and errors[0].startswith("E0801 ") and needle in errors[0], errors


# ------------------------------------------------------------------ item 12: the streamed reader


PLAIN = "a,b,label\n1.5,-2e3,0\n+.25,7,1\n3,4.,2\n"
SAME_VALUES = [
    '"a","b","label"\n1.5,-2e3,0\n+.25,7,1\n3,4.,2\n',  # quoted header
    "\ufeffa,b,label\r\n1.5,-2e3,0\r\n+.25,7,1\r\n3,4.,2\r\n",  # BOM, CRLF
    "a,b,label\n1.5,-2e3,0\n\n+.25,7,1\n   \n3,4.,2\n",  # blank lines
    'a,b,label\n"1.5",-2e3,0\n+.25,"7",1\n3,4.,2\n',  # quoted numbers
    "\na,b,label\n1.5,-2e3,0\n+.25,7,1\n3,4.,2\n",  # a blank line before the header
    "a , b , label \n 1.5 , -2e3 ,0\n+.25, 7 , 1\n3,4.,2 \n",  # spaces around cells
]


@pytest.mark.parametrize("shape", [None, ModelShape(2, 3, False, True), REGRESSION])
@pytest.mark.parametrize("variant", range(len(SAME_VALUES)))
def test_the_streamed_and_the_exact_reader_agree(tmp_path: Path, variant: int, shape: ModelShape | None) -> None:
    (tmp_path / "plain.csv").write_text(PLAIN, encoding="utf-8", newline="")
    (tmp_path / "other.csv").write_text(SAME_VALUES[variant], encoding="utf-8", newline="")
    a = load_dataset("d", {"type": "csv", "source": "plain.csv", "target": "label"}, tmp_path, shape)
    b = load_dataset("d", {"type": "csv", "source": "other.csv", "target": "label"}, tmp_path, shape)
    exact = D._load_csv_exact("plain.csv", "label", tmp_path, shape)
    assert a.sha256 == b.sha256 and a.n_classes == b.n_classes
    assert np.array_equal(a.train.x, exact[0]) and a.train.x.dtype == exact[0].dtype == np.float32


def test_a_plain_numeric_csv_is_streamed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.Generator(np.random.PCG64(3))
    rows = "".join(f"{a:.9g},{b:.17g},{int(c)}\n" for a, b, c in zip(
        rng.standard_normal(500), rng.uniform(-1e30, 1e30, 500), rng.integers(0, 3, 500), strict=True))
    (tmp_path / "f.csv").write_text("a,b,label\n" + rows, encoding="utf-8")
    exact = D._load_csv_exact("f.csv", "label", tmp_path, None)

    def refuse(*args: object) -> object:
        raise AssertionError("the exact reader ran for a plain numeric file")

    monkeypatch.setattr(D, "_load_csv_exact", refuse)
    x, y, n_classes = D._load_csv("f.csv", "label", tmp_path, None)
    assert np.array_equal(x, exact[0]) and np.array_equal(y, exact[1]) and n_classes == exact[2] == 3
