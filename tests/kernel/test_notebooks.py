"""Every notebook under notebooks/ is valid, committed without outputs, and runs
top to bottom on the Volta kernel (nbclient)."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    assert [p.name for p in NOTEBOOKS] == ["quickstart.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_clean_and_runs(path: Path, kernel_prefix: Path, tmp_path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "volta"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code), "strip outputs before committing"

    nbclient.NotebookClient(nb, kernel_name="volta", timeout=30, resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = ["".join(o.get("text", "") for o in c.outputs if o.output_type == "stream") for c in code]
    errors = [o for c in code for o in c.outputs if o.get("name") == "stderr" or o.output_type == "error"]
    assert errors == []
    if path.name == "quickstart.ipynb":
        assert outputs[0] == "hello from volta with rate 0.1\n"
        assert outputs[1] == "0.30000000000000004\n3.0\n1\n"
        assert "fib 7 = 13\n" in outputs[3] and outputs[3].endswith("steps 3\n")
        assert outputs[4] == "high rate\n"
        who = code[5].outputs[0].data
        assert "fn fib(n)" in who["text/plain"] and "<table>" in who["text/html"]
        assert "# <cell 3>\nfn fib(n)" in outputs[6]
        assert outputs[7] == "bit-identical: 5 cells replayed, outputs identical\n"
