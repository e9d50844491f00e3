"""Every notebook under notebooks/ is valid, committed without outputs, and runs
top to bottom on the Volta kernel (nbclient), with its outputs asserted."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    assert [p.name for p in NOTEBOOKS] == [
        "01-quickstart.ipynb", "02-stepwise-and-replay.ipynb", "03-transformer-text.ipynb", "04-vision.ipynb",
    ]


def _stdout(cell: Any) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


def _data(cell: Any) -> list[dict[str, Any]]:
    return [dict(o.data) for o in cell.outputs if o.output_type == "display_data"]


def _is_png(cell: Any) -> bool:
    shown = _data(cell)
    return len(shown) == 1 and base64.b64decode(shown[0]["image/png"]).startswith(b"\x89PNG")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_clean_and_runs(path: Path, kernel_prefix: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "volta"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code), "strip outputs before committing"

    # Run from the notebook's own directory, as Jupyter does (relative data paths).
    nbclient.NotebookClient(
        nb, kernel_name="volta", timeout=180, resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    errors = [o for c in code for o in c.outputs if o.get("name") == "stderr" or o.output_type == "error"]
    assert errors == []
    out = [_stdout(c) for c in code]
    if path.name == "01-quickstart.ipynb":
        assert out[0] == "hello from volta with rate 0.1\n"
        assert out[2].startswith("Auto configuration:\n") and "trained classifier: " in out[2]
        progress = _data(code[2])
        assert len(progress) == 1 and progress[0]["text/plain"].startswith("epoch ")  # updated in place
        inspect = _data(code[3])
        assert '<table class="volta-table">' in inspect[0]["text/html"] and "model classifier" in inspect[0]["text/plain"]
        assert out[4].endswith("validation accuracy is at least 90%\n")
        assert out[5].count("class ") == 2
        assert _is_png(code[6])
        assert "# forward graph of classifier" in out[7] and "= matmul %" in out[7]
    elif path.name == "02-stepwise-and-replay.ipynb":
        assert out[1].startswith("Auto configuration:\n") and "    lr = 0.05 (model default)\n" in out[1]
        assert "trained xor_net: 50 epochs, 50 steps" in out[1]  # xor is one batch: an epoch a step
        # settings reused: no table; this step's counts, then the model's totals
        assert out[2].startswith("trained xor_net: 50 epochs, 50 steps (model total: 100 epochs, 100 steps)")
        assert out[3].startswith("trained xor_net: 100 epochs, 100 steps (model total: 200 epochs, 200 steps)")
        assert out[4] == "steps: 200 accuracy: 1.0\n"
        assert "# %step xor_net on xor_data 100\ntrain xor_net on xor_data\n    steps 100\n" in out[5]
        assert out[6] == "bit-identical: 5 cells replayed, outputs identical\n"
        assert _is_png(code[7])
    elif path.name == "04-vision.ipynb":
        assert out[0] == "480 training and 120 validation pictures\n"
        table = _data(code[1])[0]
        assert "  4      conv 16 3 pad same   [16, 12, 12]" in table["text/plain"] and "<table" in table["text/html"]
        assert "trained shapes_cnn: 10 epochs, 150 steps" in out[2]
        assert out[3].endswith("validation accuracy is at least 95%\n")
        assert _is_png(code[4])
        assert out[5] == "bit-identical: 4 cells replayed, outputs identical\n"
    else:
        assert "transformer" in _data(code[2])[0]["text/plain"]
        assert "trained sentiment: 8 epochs, 96 steps" in out[3]
        assert out[4].endswith("validation accuracy is at least 85%\n")
        assert _is_png(code[5])
