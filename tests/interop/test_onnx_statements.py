"""The `import` and `export` statements end to end (issue 6 acceptance), via `.vt` programs."""

from __future__ import annotations

import warnings
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from volta_core.cli import main
from volta_core.lang.session import Session
from volta_core.nn.imported import ImportedNetwork, param_fingerprint

from .corpus import CASES
from .helpers import onnx, run_ort

torch = pytest.importorskip("torch")

from .torch_models import Encoder  # noqa: E402 - needs torch, checked just above


def _session(tmp_path: Path) -> tuple[Session, list[str]]:
    out: list[str] = []
    return Session(stdout=out.append, base_dir=tmp_path, device="cpu"), out


def _ok(session: Session, program: str) -> None:
    result = session.run(program)
    assert result.ok, [d.message for d in result.diagnostics]


def _torch_export(module, example, path: Path, dynamic: bool = True) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(), (example,), str(path), input_names=["x"], output_names=["y"], opset_version=17,
            dynamo=False, dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}} if dynamic else None,
        )  # fmt: skip


def _write_csv(path: Path, x: np.ndarray) -> None:
    lines = [",".join(f"f{i}" for i in range(x.shape[1]))] + [",".join(repr(float(v)) for v in row) for row in x]
    path.write_text("\n".join(lines) + "\n")


def _read_csv(path: Path) -> np.ndarray:
    rows = path.read_text().strip().splitlines()[1:]
    return np.array([[float(v) for v in r.split(",")] for r in rows], np.float64)


# ---------------------------------------------------------------- (2) torch-exported models
class _Mlp(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.GELU(), torch.nn.LayerNorm(16),
                                       torch.nn.Linear(16, 4), torch.nn.Softmax(dim=-1))  # fmt: skip

    def forward(self, x):
        return self.net(x)




class _Shapes(torch.nn.Module):
    """Reshape, Concat, Gather and Slice."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(12, 5)

    def forward(self, x):
        b = x.shape[0]
        h = x.reshape(b, 3, 4)
        picked = h[:, 1]  # Gather
        tail = h[:, :, 1:4:2].reshape(b, -1)  # Slice with a step
        joined = torch.cat([picked, tail, h[:, -1, -3:-1]], dim=1)  # Concat, negative Gather/Slice
        return self.fc(h.reshape(b, -1)) + joined[:, :5]


@pytest.mark.parametrize(
    ("module", "example", "options"),
    [
        (_Mlp, lambda: torch.randn(10, 6), " with batch 4"),
        (_Mlp, lambda: torch.randn(10, 6), ""),
        (partial(Encoder, classes=3), lambda: torch.randint(0, 20, (10, 5)), " with batch 4"),
        (_Shapes, lambda: torch.randn(10, 12), " with batch 3"),
    ],
    ids=["mlp-fixed-batch", "mlp-any-batch", "encoder", "reshape-concat-gather-slice"],
)
def test_torch_exported_models_infer_like_onnxruntime(module, example, options, tmp_path) -> None:
    torch.manual_seed(0)
    net, x = module(), example()
    _torch_export(net, x[:2], tmp_path / "m.onnx")
    _write_csv(tmp_path / "in.csv", x.numpy())
    s, out = _session(tmp_path)
    _ok(s, f'import "m.onnx" as m{options}\ninfer m on "in.csv" as "out.csv"\n')
    got = _read_csv(tmp_path / "out.csv")
    want = run_ort(onnx.load(str(tmp_path / "m.onnx")), {"x": x.numpy()})[0]
    assert got.shape == want.shape == (10, want.shape[1])  # 10 rows: the padding of the last chunk is dropped
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    rows = "".join("    input " + " ".join(str(float(v)) for v in r) + "\n" for r in x.numpy()[:3])
    out.clear()
    _ok(s, f"infer m\n{rows}")
    assert len(out) == 3


def test_inspect_imported_model(tmp_path) -> None:
    torch.manual_seed(0)
    _torch_export(_Mlp(), torch.randn(2, 6), tmp_path / "m.onnx")
    s, out = _session(tmp_path)
    _ok(s, 'import "m.onnx" as m with batch 8\ninspect m\n')
    text = "".join(out)
    assert "fixed batch 8" in text and "loss cross_entropy" in text
    assert "input: x [B, 6] f32" in text and "output: [B, 4] (softmax, folded into cross_entropy" in text
    assert "ONNX nodes:" in text and "Gemm 2" in text and "LayerNormalization 1" in text
    assert "parameters: 212 in 6 trainable initializer(s)" in text
    assert "parameter fingerprint: " + param_fingerprint(s.globals["m"].net.params)[:16] in text


# ------------------------------------------------------------------------- (3) round trip
def test_volta_model_export_matches_onnxruntime_and_reimports_with_the_same_parameters(tmp_path) -> None:
    s, _ = _session(tmp_path)
    _ok(s, "model v\n    layers 2 16 3\n    loss cross_entropy\ndataset d\n    type blobs\n"
           "train v on d\n    steps 5\nexport v as \"v.onnx\"\n")  # fmt: skip
    x = np.random.default_rng(0).standard_normal((7, 2)).astype(np.float32)
    _write_csv(tmp_path / "in.csv", x)
    _ok(s, 'infer v on "in.csv" as "volta.csv"\nimport "v.onnx" as back\ninfer back on "in.csv" as "back.csv"\n')
    model = onnx.load(str(tmp_path / "v.onnx"))
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    ours = s.globals["v"].net.predict(x)
    theirs = run_ort(model, {"x": x})[0]
    np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_read_csv(tmp_path / "back.csv"), _read_csv(tmp_path / "volta.csv"), rtol=1e-5, atol=1e-6)
    back = s.globals["back"].net
    assert isinstance(back, ImportedNetwork) and back.loss == "cross_entropy"
    assert param_fingerprint(back.params) == param_fingerprint(s.globals["v"].net.params)
    # the fingerprint ignores names, not values
    renamed = {f"p{i}": a for i, a in enumerate(back.params.values())}
    assert param_fingerprint(renamed) == param_fingerprint(back.params)
    changed = {k: a + (1 if i == 0 else 0) for i, (k, a) in enumerate(back.params.items())}
    assert param_fingerprint(changed) != param_fingerprint(back.params)


def test_imported_model_exports_again_and_save_load_round_trips(tmp_path) -> None:
    torch.manual_seed(0)
    _torch_export(_Mlp(), torch.randn(2, 6), tmp_path / "m.onnx")
    s, _ = _session(tmp_path)
    _ok(s, 'import "m.onnx" as m with batch 4\nexport m as "again.onnx"\nsave m as "m.safetensors"\n')
    x = np.random.default_rng(1).standard_normal((4, 6)).astype(np.float32)
    a = run_ort(onnx.load(str(tmp_path / "m.onnx")), {"x": x})[0]
    b = run_ort(onnx.load(str(tmp_path / "again.onnx")), {"x": x})[0]
    np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    before = param_fingerprint(s.globals["m"].net.params)
    for arr in s.globals["m"].net.params.values():
        arr[...] = 0
    _ok(s, 'load m from "m.safetensors"\n')
    assert param_fingerprint(s.globals["m"].net.params) == before


# ---------------------------------------------------------------------- (4) fine-tuning
@pytest.mark.parametrize("options", [" with batch 7 loss cross_entropy", " with loss cross_entropy"])
def test_fine_tuning_an_imported_model_lowers_its_loss(options, tmp_path) -> None:
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2))
    _torch_export(mlp, torch.randn(2, 2), tmp_path / "m.onnx")
    s, _ = _session(tmp_path)
    _ok(s, f'import "m.onnx" as m{options}\ndataset d\n    type blobs\nevaluate m on d\n')
    before = s.globals["m"].metrics["loss"]
    _ok(s, "train m on d\n    epochs 5\n    lr 0.01\nevaluate m on d\n")
    after = s.globals["m"].metrics["loss"]
    assert after < before * 0.5, (before, after)
    assert s.globals["m"].metrics["accuracy"] > 0.9


def test_fixed_batch_training_equals_any_batch_training(tmp_path) -> None:
    """Padding never trains: chunks of 7 with padded last chunks give the same weights as whole batches."""
    torch.manual_seed(0)
    _torch_export(torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)),
                  torch.randn(2, 2), tmp_path / "m.onnx")  # fmt: skip
    s, _ = _session(tmp_path)
    _ok(s, 'import "m.onnx" as a with batch 7 loss cross_entropy\nimport "m.onnx" as b with loss cross_entropy\n'
           "dataset d\n    type blobs\ntrain a on d\n    steps 6\ntrain b on d\n    steps 6\n")  # fmt: skip
    for name, value in s.globals["a"].net.params.items():
        np.testing.assert_allclose(value, s.globals["b"].net.params[name], rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------- (5) malformed corpus
def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", sorted(CASES))
def test_corpus_file_gives_its_specific_diagnostic(case, tmp_path, capsys) -> None:
    build, code, phrase = CASES[case]
    (tmp_path / "bad.onnx").write_bytes(build(tmp_path))
    program = tmp_path / "p.vt"
    program.write_text('import "bad.onnx" as m\nprint "never"\n')
    for command in (["check", str(program)], ["run", str(program)], ["info", str(tmp_path / "bad.onnx")]):
        rc = main(command)
        captured = capsys.readouterr()
        text = captured.out + captured.err
        assert rc == 1, (command, text)
        assert "Traceback" not in text and "E9999" not in text, text
        assert code in text and phrase in text, (command, text)
        assert "never" not in captured.out


def test_run_time_import_of_a_file_written_later(tmp_path) -> None:
    """`check` leaves files that do not exist yet to the run; the run reports them."""
    s, _ = _session(tmp_path)
    result = s.run('import "missing.onnx" as m\n')
    assert [d.code for d in result.errors] == ["E0801"]
    for build, code, phrase in (CASES["unsupported_hardmax"], CASES["runtime_pow_exponent"]):
        (tmp_path / "late.onnx").write_bytes(build(tmp_path))
        result = s.run('import "late.onnx" as late\n')
        assert [d.code for d in result.errors] == [code] and phrase in result.errors[0].message


def test_export_errors_are_diagnostics(tmp_path) -> None:
    s, _ = _session(tmp_path)
    result = s.run('model v\n    layers 2 3 1\nexport v as "no/such/dir/v.onnx"\n')
    assert [d.code for d in result.errors] == ["E0801"]
