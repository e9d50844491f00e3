"""``volta verify`` end to end, one recorded field at a time.

A record written by ``volta run --record`` is edited in exactly one place and
verified again: every field that describes the result must be compared (exit 1,
the divergence names the field), and the informational fields (versions,
platform, why a setting has its value) must not be (exit 0). The last test
classifies every key the record holds, so a new field needs a decision here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from volta_core import cli

from .helpers import TRAIN_PROGRAM, volta

HEAD = "diverged: train statement 1 (`train m on d`)"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    work = tmp_path_factory.mktemp("verify")
    (work / "p.vt").write_text(TRAIN_PROGRAM, encoding="utf-8")
    assert cli.main(["run", str(work / "p.vt"), "--quiet", "--record", str(work / "run.json")]) == 0
    data = json.loads((work / "run.json").read_text(encoding="utf-8"))
    epoch = data["trains"][0]["epochs"][1]
    assert epoch["accuracy"] is not None and epoch["val_loss"] is not None and epoch["val_accuracy"] is not None
    return work, data


def _verify(recorded: tuple[Path, dict[str, Any]], edit: Callable[[dict[str, Any]], None],
            name: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    work, data = recorded
    copy = json.loads(json.dumps(data))
    edit(copy)
    path = work / f"edited-{name}.json"  # next to p.vt: the record names the program relative to itself
    path.write_text(json.dumps(copy), encoding="utf-8")
    r = volta(capsys, "verify", str(path))
    return r.code, r.out, r.err


def _train(d: dict[str, Any]) -> dict[str, Any]:
    return d["trains"][0]  # type: ignore[no-any-return]


def _bump(value: Any) -> Any:
    """A different value of the same kind (floats by one part in 10^12)."""
    if isinstance(value, bool) or value is None:
        raise AssertionError(value)
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + (abs(value) or 1.0) * 1e-12
    return "0" * len(value) if value != "0" * len(value) else "1" * len(value)


def _set(path: tuple[Any, ...], value: Callable[[Any], Any] = _bump) -> Callable[[dict[str, Any]], None]:
    def edit(d: dict[str, Any]) -> None:
        obj = d
        for key in path[:-1]:
            obj = obj[key]
        obj[path[-1]] = value(obj[path[-1]])

    return edit


EPOCH_FIELDS = ("epoch", "steps", "loss", "accuracy", "val_loss", "val_accuracy")
TRAIN_FIELDS = ("dataset_sha256", "graph_fingerprint", "steps", "weights_sha256")


def _drop_epoch(d: dict[str, Any]) -> None:
    del _train(d)["epochs"][-1]


def _add_setting(d: dict[str, Any]) -> None:
    _train(d)["settings"].append({"name": "clip_grad", "value": 1.0, "source": "explicit", "reason": "explicit"})


def _drop_setting(d: dict[str, Any]) -> None:
    del _train(d)["settings"][2]  # lr


def _add_train(d: dict[str, Any]) -> None:
    d["trains"].append(_train(d))


COMPARED: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    *((f"epoch-{f}", _set(("trains", 0, "epochs", 1, f)), f"{HEAD}, epoch ") for f in EPOCH_FIELDS),
    *((f"train-{f}", _set(("trains", 0, f)), f"{HEAD}: {f} differs") for f in TRAIN_FIELDS),
    ("train-model", _set(("trains", 0, "model"), lambda v: "n"),
     "diverged: train statement 1 (`train n on d`): model differs: recorded `n`, now `m`"),
    ("train-dataset", _set(("trains", 0, "dataset"), lambda v: "e"),
     "diverged: train statement 1 (`train m on e`): dataset differs: recorded `e`, now `d`"),
    ("train-stopped", _set(("trains", 0, "stopped"), lambda v: "early_stopping"), f"{HEAD}: stopped differs"),
    ("number-of-epochs", _drop_epoch, f"{HEAD}: number of epochs differs: recorded 1, now 2"),
    ("setting-value", _set(("trains", 0, "settings", 2, "value")), f"{HEAD}: setting `lr` differs"),
    ("setting-added", _add_setting, f"{HEAD}: setting `clip_grad` differs: recorded 1.0, now none"),
    ("setting-missing", _drop_setting, f"{HEAD}: setting `lr` differs: recorded none, now 0.001"),
    ("number-of-trains", _add_train, "diverged: number of train statements differs: recorded 2, now 1"),
    # issue 24, item 7: fields that were never compared
    ("top-determinism", _set(("determinism",), lambda v: "balanced"),
     "diverged: determinism differs: recorded `balanced`, now `strict`"),
    ("setting-source", _set(("trains", 0, "settings", 2, "source"), lambda v: "explicit"),
     f"{HEAD}: setting `lr` source differs: recorded `explicit`, now `rule`"),
    ("setting-reason", _set(("trains", 0, "settings", 2, "reason"), lambda v: "explicit"),
     f"{HEAD}: setting `lr` reason differs: recorded `explicit`, now `rule: small model`"),
    ("setting-int-for-float", _set(("trains", 0, "settings", 0, "value"), float),
     f"{HEAD}: setting `epochs` differs: recorded 2.0, now 2"),
]


@pytest.mark.parametrize(("name", "edit", "expected"), COMPARED, ids=[c[0] for c in COMPARED])
def test_a_changed_result_field_diverges_and_is_named(
    recorded: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str],
    name: str, edit: Callable[[dict[str, Any]], None], expected: str,
) -> None:
    code, out, err = _verify(recorded, edit, name, capsys)
    assert code == 1, (out, err)
    first = out.splitlines()[0]
    assert first.startswith(expected), first
    if name.startswith("epoch-"):
        field = name.removeprefix("epoch-")
        recorded_epoch = 3 if field == "epoch" else 2  # the edited epoch number is what is shown
        assert first.startswith(f"{HEAD}, epoch {recorded_epoch}: {field} differs: recorded "), first


INFORMATIONAL: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
    *((f"top-{f}", _set((f,))) for f in ("volta_version", "python", "numpy", "platform", "blas", "threads", "conv")),
]


@pytest.mark.parametrize(("name", "edit"), INFORMATIONAL, ids=[c[0] for c in INFORMATIONAL])
def test_informational_fields_are_not_compared(
    recorded: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str],
    name: str, edit: Callable[[dict[str, Any]], None],
) -> None:
    code, out, err = _verify(recorded, edit, name, capsys)
    assert (code, out, err) == (0, "bit-identical: 1 train statement, 2 epochs\n", "")


def test_a_changed_program_hash_warns_but_the_result_still_verifies(
    recorded: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = _verify(recorded, _set(("program_sha256",)), "program-hash", capsys)
    assert code == 0 and out == "bit-identical: 1 train statement, 2 epochs\n"
    assert "changed since the record was written" in err


def test_every_recorded_key_is_classified(recorded: tuple[Path, dict[str, Any]]) -> None:
    _, data = recorded
    train = _train(data)
    classified_top = {"format", "program", "program_sha256", "trains", "determinism"} | {
        n.removeprefix("top-") for n, _ in INFORMATIONAL if n.startswith("top-")
    }
    assert set(data) == classified_top
    assert set(train) == {"model", "dataset", "settings", "epochs", "stopped", *TRAIN_FIELDS}
    assert set(train["epochs"][1]) == set(EPOCH_FIELDS)
    assert all(set(s) == {"name", "value", "source", "reason"} for s in train["settings"])


# ---------------------------------------------------------------- issue 24, item 7: tampered records


def _write_raw(recorded: tuple[Path, dict[str, Any]], name: str, text: str | bytes) -> Path:
    path = recorded[0] / f"raw-{name}.json"
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


def test_a_setting_named_twice_is_an_invalid_record(
    recorded: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str],
) -> None:
    copy = json.loads(json.dumps(recorded[1]))
    settings = _train(copy)["settings"]
    settings.insert(0, {**settings[2], "value": 99.0})  # a forged `lr 99.0` before the real one
    r = volta(capsys, "verify", str(_write_raw(recorded, "dup-setting", json.dumps(copy))))
    assert r.code == 1 and r.out == ""
    assert r.err.startswith("error[E0806]: invalid run record"), r.err
    assert "`trains[0].settings[3]` names setting `lr` a second time" in r.err


def test_a_duplicate_json_key_is_an_invalid_record(
    recorded: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str],
) -> None:
    text = json.dumps(recorded[1], indent=1)
    real = f'"weights_sha256": "{_train(recorded[1])["weights_sha256"]}"'
    assert text.count(real) == 1
    text = text.replace(real, f'"weights_sha256": "{"0" * 64}",\n {real}')
    r = volta(capsys, "verify", str(_write_raw(recorded, "dup-key", text)))
    assert r.code == 1 and r.out == ""
    assert r.err.startswith("error[E0806]: run record") and "`weights_sha256` appears twice" in r.err, r.err


def test_a_float_written_as_an_integer_is_an_invalid_record(
    recorded: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str],
) -> None:
    copy = json.loads(json.dumps(recorded[1]))
    _train(copy)["epochs"][0]["loss"] = 3
    r = volta(capsys, "verify", str(_write_raw(recorded, "int-loss", json.dumps(copy))))
    assert r.code == 1
    assert "error[E0806]" in r.err and "`trains[0].epochs[0].loss` must be float, not int" in r.err, r.err


def test_a_record_with_a_byte_order_mark_loads(
    recorded: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str],
) -> None:
    path = _write_raw(recorded, "bom", b"\xef\xbb\xbf" + json.dumps(recorded[1]).encode("utf-8"))
    r = volta(capsys, "verify", str(path))
    assert (r.code, r.out) == (0, "bit-identical: 1 train statement, 2 epochs\n"), r.err


@pytest.mark.parametrize(("name", "text", "needle"), [
    ("not-json", "{not json", "is not valid JSON"),
    ("deep", "[" * 200_000, "nested 200000 levels deep"),
    ("long-number", '{"format": "volta-run/1", "trains": [], "x": ' + "9" * 5000 + "}", "5000 digits"),
    ("format", '{"format": 1}', "unsupported format 1"),
])
def test_invalid_records_print_e0806(
    recorded: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str], name: str, text: str, needle: str,
) -> None:
    r = volta(capsys, "verify", str(_write_raw(recorded, name, text)))
    assert r.code == 1 and r.out == ""
    assert r.err.startswith("error[E0806]: ") and needle in r.err, r.err
    assert "E9999" not in r.err and "Traceback" not in r.err


def test_a_divergence_names_different_thread_settings(
    recorded: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 24, item 15: the record stores the BLAS thread settings, and verify names a difference."""
    assert recorded[1]["threads"].endswith(("CPU", "CPUs")) or "NUM_THREADS=" in recorded[1]["threads"]
    copy = json.loads(json.dumps(recorded[1]))
    copy["threads"] = "64 CPUs, OPENBLAS_NUM_THREADS=64"
    _train(copy)["weights_sha256"] = "0" * 64
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    r = volta(capsys, "verify", str(_write_raw(recorded, "threads", json.dumps(copy))))
    assert r.code == 1
    notes = [line for line in r.out.splitlines() if line.startswith("note: recorded with threads")]
    assert notes and "64 CPUs, OPENBLAS_NUM_THREADS=64; now " in notes[0] and "OPENBLAS_NUM_THREADS=1" in notes[0]


def test_a_divergence_names_different_cpu_kernels(
    recorded: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str],
) -> None:
    """The record keeps which convolution kernels ran (native or NumPy im2col: they round
    differently), and verify names a difference next to a divergence."""
    from volta_core.backends.cpu import native

    assert recorded[1]["conv"] == native.describe()
    copy = json.loads(json.dumps(recorded[1]))
    copy["conv"] = "NumPy im2col (VOLTA_CPU_KERNELS=numpy)" if recorded[1]["conv"].startswith("native") else "native"
    _train(copy)["weights_sha256"] = "0" * 64
    r = volta(capsys, "verify", str(_write_raw(recorded, "conv", json.dumps(copy))))
    assert r.code == 1
    notes = [line for line in r.out.splitlines() if line.startswith("note: recorded with convolution kernels")]
    assert notes and f"now {native.describe()}" in notes[0] and "VOLTA_CPU_KERNELS chooses" in notes[0], r.out
