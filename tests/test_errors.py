"""The one base of domain errors (volta_core/errors.py) keeps its guarantees."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import volta_core.errors
from volta_core.diagnostic_codes import CODES
from volta_core.errors import VoltaError
from volta_core.nn.imported import ImportFitError
from volta_core.nn.network import UnsupportedLayer
from volta_core.train import autopilot
from volta_core.train.checkpoint import CheckpointError
from volta_core.train.data import DataError
from volta_core.train.record import RecordError


def _all_subclasses(cls: type) -> set[type]:
    found: set[type] = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_all_subclasses(sub)}
    return found


def test_the_domain_errors_share_the_base() -> None:
    expected = {DataError, CheckpointError, RecordError, autopilot.DeviceError, ImportFitError, UnsupportedLayer}
    assert expected <= _all_subclasses(VoltaError)


def test_every_default_code_is_registered() -> None:
    subclasses = _all_subclasses(VoltaError)
    assert subclasses
    for cls in subclasses:
        assert cls.default_code in CODES, cls.__name__


@pytest.mark.parametrize(
    ("cls", "code"),
    [(DataError, "E0803"), (CheckpointError, "E0804"), (RecordError, "E0806"), (ImportFitError, "E0812")],
)
def test_message_help_and_code(cls: type[VoltaError], code: str) -> None:
    err = cls("it broke")
    assert (err.message, err.help, err.code, str(err)) == ("it broke", None, code, "it broke")
    err = cls("it broke", help="fix it", code="E0801")
    assert (err.help, err.code) == ("fix it", "E0801")


def test_a_subclass_location_is_part_of_str() -> None:
    err = DataError("not a number", path="d.csv", row=3, column="x", help="write a number")
    assert err.message == "not a number"
    assert str(err) == err.describe() == "`d.csv`, row 3, column `x`: not a number"


def test_an_unsupported_layer_names_the_kind() -> None:
    err = UnsupportedLayer("conv", "needs the conv op")
    assert (err.kind, err.why, err.code) == ("conv", "needs the conv op", "E0901")
    assert str(err) == "layer `conv` cannot run yet: needs the conv op"


def test_the_device_error_of_autopilot_carries_its_help(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(autopilot, "cuda_status", lambda: "no driver")
    with pytest.raises(autopilot.DeviceError) as info:
        autopilot.resolve({"device": "gpu", "epochs": 1}, widths=2, model_optimizer=None,
                          dataset_batch=None, device_default="cpu")  # fmt: skip
    assert info.value.code == "E0622"
    assert str(info.value) == "`device gpu` is not available: no driver"
    assert "device cpu" in info.value.help


def test_the_errors_module_is_a_leaf() -> None:
    """Every layer imports it, so it may import nothing from volta_core."""
    tree = ast.parse(Path(volta_core.errors.__file__).read_text(encoding="utf-8"))
    imported = [
        name
        for node in ast.walk(tree)
        for name in (
            [a.name for a in node.names] if isinstance(node, ast.Import)
            else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        )
    ]  # fmt: skip
    assert not [name for name in imported if name.split(".")[0] == "volta_core"]
