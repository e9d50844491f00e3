"""The prebuilt JupyterLab extension (jupyterlab-extension/ → volta_kernel/labextension):
Volta highlighting with the core's words, current with its sources, shipped in
the wheel and found by JupyterLab."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from volta_core.check.schema import LAYER_KINDS
from volta_core.syntax.tokens import KEYWORDS
from volta_kernel.kernel import VoltaKernel

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "jupyterlab-extension"
BUILT = ROOT / "volta_kernel" / "labextension"
NAME = "@volta-lang/jupyterlab-volta"


def _list(name: str) -> set[str]:
    text = (SOURCE / "src" / "words.ts").read_text(encoding="utf-8")
    found = re.search(rf"export const {name}: readonly string\[\] = \[(.*?)\];", text, re.S)
    assert found is not None, name
    return set(re.findall(r'"([a-z_]+)"', found.group(1)))


def test_the_highlighted_words_are_the_cores() -> None:
    assert _list("KEYWORDS") == set(KEYWORDS)
    assert _list("LAYER_KINDS") == set(LAYER_KINDS)


def test_the_kernel_names_the_extensions_language() -> None:
    source = (SOURCE / "src" / "index.ts").read_text(encoding="utf-8")
    assert 'name: "volta"' in source and 'mime: "text/x-volta"' in source
    info = VoltaKernel.language_info
    assert (info["codemirror_mode"], info["mimetype"]) == ("volta", "text/x-volta")


def test_the_build_is_current_and_loadable() -> None:
    digest = hashlib.sha256()
    for path in sorted((SOURCE / "src").glob("*.ts"), key=lambda p: p.name):
        digest.update((path.name + "\n" + path.read_text(encoding="utf-8")).encode("utf-8"))
    assert (BUILT / "source.sha256").read_text(encoding="ascii").strip() == digest.hexdigest(), (
        "jupyterlab-extension/src changed: rebuild with `npm ci && npm run build` there"
    )
    manifest = json.loads((BUILT / "package.json").read_text(encoding="utf-8"))
    assert manifest["name"] == NAME and manifest["jupyterlab"]["extension"] is True
    assert (BUILT / manifest["jupyterlab"]["_build"]["load"]).is_file()


def test_the_wheel_installs_the_built_files_into_share_jupyter() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    data_files = config["tool"]["setuptools"]["data-files"]
    shipped = {
        f"{target}/{path.name}"
        for target, patterns in data_files.items()
        for pattern in patterns
        for path in ROOT.glob(pattern)
    }
    built = {
        f"share/jupyter/labextensions/{NAME}/{p.relative_to(BUILT).as_posix()}"
        for p in BUILT.rglob("*") if p.is_file() and p.name != "source.sha256"
    }
    assert shipped == built


def test_jupyterlab_finds_and_enables_the_extension(tmp_path: Path) -> None:
    pytest.importorskip("jupyterlab", reason="JupyterLab is not installed (pip install jupyterlab)")
    shutil.copytree(BUILT, tmp_path / "labextensions" / NAME)
    proc = subprocess.run(
        [sys.executable, "-m", "jupyterlab.labextensions", "list"],
        capture_output=True, text=True, timeout=120, check=False,
        env={"JUPYTER_PATH": str(tmp_path), "PATH": "", "HOME": str(tmp_path), "JUPYTER_PLATFORM_DIRS": "1"},
    )
    out = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    assert re.search(rf"{re.escape(NAME)} v0\.1\.0 enabled\s+OK", out), out
