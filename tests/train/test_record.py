"""Run records: write/load round trip, validation and bit-exact comparison."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from volta_core.train.record import (
    FORMAT_VERSION,
    RecordError,
    RunRecord,
    compare,
    load_record,
    make_record,
    program_path,
    write_record,
)
from volta_core.train.report import EpochStats, Setting, TrainReport


def report(model: str = "m", losses: tuple[float, ...] = (0.7, 0.5, 0.1 + 0.2)) -> TrainReport:
    return TrainReport(
        model=model,
        dataset="d",
        settings=[
            Setting("epochs", len(losses), "explicit"),
            Setting("lr", 0.001, "rule", "small model"),
            Setting("determinism", "strict", "default"),
            Setting("device", "cpu", "auto", "no CUDA device"),
        ],
        dataset_sha256="a" * 64,
        graph_fingerprint="f" * 64,
        epochs=[
            EpochStats(i + 1, 4 * (i + 1), loss, accuracy=0.75, val_loss=None if i else float("nan"))
            for i, loss in enumerate(losses)
        ],
        steps=4 * len(losses),
        weights_sha256="w" * 64,
        stopped=None,
    )


def record(tmp_path: Path, trains: list[TrainReport] | None = None) -> RunRecord:
    prog = tmp_path / "prog.vt"
    prog.write_text("print 1\n")
    return make_record(prog, "print 1\n", trains if trains is not None else [report(), report("n")], tmp_path / "r.json")


def test_round_trip_exact(tmp_path: Path) -> None:
    rec = record(tmp_path)
    assert rec.program == "prog.vt" and rec.determinism == "strict" and rec.format == FORMAT_VERSION
    path = tmp_path / "r.json"
    write_record(path, rec)
    back = load_record(path)
    assert back.trains[0].epochs[2].loss == 0.1 + 0.2  # shortest round trip keeps every bit
    assert math.isnan(back.trains[0].epochs[0].val_loss or 0.0) is True
    assert back.trains[0].settings == rec.trains[0].settings
    assert compare(rec, back) is None
    assert dataclasses.replace(back, trains=[]).program_sha256 == rec.program_sha256
    assert program_path(back, path) == tmp_path / "prog.vt"
    assert json.loads(path.read_text(encoding="utf-8").replace("NaN", "null"))["format"] == FORMAT_VERSION


def test_blas_kernels_recorded_and_optional(tmp_path: Path) -> None:
    from volta_core.backends.cpu.blas import describe_kernels, openblas_kernels

    rec = record(tmp_path)
    assert rec.blas == describe_kernels(openblas_kernels()) != ""
    path = tmp_path / "r.json"
    write_record(path, rec)
    assert load_record(path).blas == rec.blas
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["blas"]  # records written before the field load with it empty
    path.write_text(json.dumps(data), encoding="utf-8")
    assert load_record(path).blas == ""


def test_program_path_outside_and_absolute(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    rec = make_record(tmp_path / "prog.vt", "", [], tmp_path / "sub" / "r.json")
    assert rec.program == "../prog.vt"
    assert program_path(rec, tmp_path / "sub" / "r.json").resolve() == (tmp_path / "prog.vt").resolve()
    abs_rec = dataclasses.replace(rec, program=str(tmp_path / "x.vt"))
    assert program_path(abs_rec, Path("elsewhere/r.json")) == tmp_path / "x.vt"


def test_compare_finds_first_epoch_divergence(tmp_path: Path) -> None:
    a = record(tmp_path)
    b = record(tmp_path, [report(), report("n", (0.7, 0.5000000000000001, 0.3))])
    div = compare(a, b)
    assert div is not None
    assert (div.train, div.model, div.epoch, div.field) == (2, "n", 2, "loss")
    assert div.expected == 0.5 and div.actual == 0.5000000000000001
    assert div.describe() == (
        "train statement 2 (`train n on d`), epoch 2: loss differs: recorded 0.5, now 0.5000000000000001"
    )


def test_compare_is_bitwise() -> None:
    a = RunRecord("p.vt", "x", [report(losses=(0.0,))])
    b = RunRecord("p.vt", "x", [report(losses=(-0.0,))])
    div = compare(a, b)
    assert div is not None and div.field == "loss"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"weights_sha256": "v" * 64}, "weights_sha256"),
        ({"dataset_sha256": "b" * 64}, "dataset_sha256"),
        ({"graph_fingerprint": "g"}, "graph_fingerprint"),
        ({"steps": 99}, "steps"),
        ({"stopped": "nan"}, "stopped"),
        ({"dataset": "other"}, "dataset"),
        ({"settings": [Setting("epochs", 3, "explicit")]}, "setting `lr`"),
    ],
)
def test_compare_fields(change: dict[str, object], field: str) -> None:
    a = RunRecord("p.vt", "x", [report()])
    b = RunRecord("p.vt", "x", [dataclasses.replace(report(), **change)])  # type: ignore[arg-type]
    div = compare(a, b)
    assert div is not None and div.field == field and div.epoch is None and div.train == 1


def test_compare_counts() -> None:
    one = RunRecord("p.vt", "x", [report()])
    two = RunRecord("p.vt", "x", [report(), report()])
    div = compare(two, one)
    assert div is not None and div.field == "number of train statements" and div.train is None
    assert div.describe() == "number of train statements differs: recorded 2, now 1"
    full = report()
    short = RunRecord("p.vt", "x", [dataclasses.replace(full, epochs=full.epochs[:2])])  # e.g. early stopping
    div = compare(one, short)
    assert div is not None and div.field == "number of epochs"
    lr = RunRecord("p.vt", "x", [dataclasses.replace(report(), settings=[Setting("lr", 0.002, "explicit")])])
    assert "setting `epochs`" in (compare(one, lr) or pytest.fail()).describe()


def test_settings_value_kinds_are_distinguished() -> None:
    a = RunRecord("p.vt", "x", [dataclasses.replace(report(), settings=[Setting("seed", 1, "explicit")])])
    b = RunRecord("p.vt", "x", [dataclasses.replace(report(), settings=[Setting("seed", True, "explicit")])])
    assert compare(a, b) is not None


def test_load_errors(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    with pytest.raises(RecordError, match="not found") as info:
        load_record(path)
    assert info.value.code == "E0801"
    path.write_text("{oops")
    with pytest.raises(RecordError, match=r"not valid JSON: .* line 1, column 2"):
        load_record(path)
    path.write_text("[]")
    with pytest.raises(RecordError, match="not a JSON object"):
        load_record(path)
    path.write_text('{"format": "volta-run/0"}')
    with pytest.raises(RecordError, match='unsupported format "volta-run/0"'):
        load_record(path)
    write_record(path, record(tmp_path))
    data = json.loads(path.read_text())
    data["trains"][1]["epochs"][0]["loss"] = "low"
    path.write_text(json.dumps(data))
    with pytest.raises(RecordError, match=r"`trains\[1\]\.epochs\[0\]\.loss` must be float, not str"):
        load_record(path)
    del data["trains"][0]["weights_sha256"]
    path.write_text(json.dumps(data))
    with pytest.raises(RecordError, match=r"`trains\[0\]\.weights_sha256` is missing"):
        load_record(path)


def test_write_is_atomic_and_reports_failures(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="cannot write run record"):
        write_record(tmp_path / "missing" / "r.json", record(tmp_path))


def test_determinism_mode_summary(tmp_path: Path) -> None:
    balanced = dataclasses.replace(report(), settings=[Setting("determinism", "balanced", "explicit")])
    assert record(tmp_path, [balanced]).determinism == "balanced"
    assert record(tmp_path, [balanced, report()]).determinism == "mixed"
    assert record(tmp_path, []).determinism == "strict"
