"""Acceptance test of docs/quickstart.md: follow the guide on a "fresh machine".

A new virtual environment in a temporary directory, Volta installed into it
from a copy of the sources (what the guide's install block does from a
clone), then every ``<!-- runnable -->`` block of the guide, in order, in an
empty directory with only that environment's ``volta`` on PATH.

Offline by default: the test environment builds the wheel
(``--no-build-isolation``), the new environment installs it ``--no-deps`` and
borrows the test environment's installed packages (numpy,
onnx, setuptools) through a ``.pth`` file, while Volta itself comes from the
new environment (checked through ``volta doctor``). With
``VOLTA_QUICKSTART_ONLINE=1`` it is a plain ``pip install`` from the index.

Which steps run is decided by the guide alone: marking a block
``<!-- runnable -->`` adds it here with no change to this file.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
markdown = importlib.import_module("tools.markdown")

GUIDE = ROOT / "docs" / "quickstart.md"
# What `pip install .` needs from a clone: the build configuration and the packages.
SOURCES = ("pyproject.toml", "README.md", "volta_core", "volta_lsp", "volta_kernel")
BUDGET_S = 180


def _copy_sources(target: Path) -> Path:
    target.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)
    return target


def _run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=BUDGET_S, **kwargs)  # type: ignore[call-overload]
    assert proc.returncode == 0, f"{' '.join(argv)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("sh") is None, reason="the guide's commands are POSIX shell")
def test_quickstart_guide_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    started = time.monotonic()
    blocks = markdown.fenced_blocks(GUIDE)
    install = next(b for b in blocks if b.info == "sh")
    assert "python -m venv" in install.text and "pip install ." in install.text, (
        "the guide's install block changed: update this test's equivalent install"
    )
    runnable = [b for b in blocks if b.runnable]
    commands = "".join(b.text for b in runnable)
    for step in ("volta init", "volta check", "volta run"):
        assert step in commands, f"the guide no longer runs `{step}`"

    # 1. Install (the guide's first block, done the same way from a copy).
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    scripts = venv / ("Scripts" if os.name == "nt" else "bin")
    python = scripts / ("python.exe" if os.name == "nt" else "python")
    src = _copy_sources(tmp_path / "src")
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if os.environ.get("VOLTA_QUICKSTART_ONLINE") == "1":
        _run([*pip, str(src)])
    else:
        site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
        borrowed = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
        (site / "zz_borrowed_test_env.pth").write_text("\n".join(sorted(borrowed)) + "\n", encoding="utf-8")
        # The wheel is built by the test environment (whose setuptools builds wheels
        # offline); the new environment installs it like any downloaded wheel.
        wheels = tmp_path / "wheels"
        _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-index",
              "--no-deps", "--no-build-isolation", "--wheel-dir", str(wheels), str(src)])
        # --ignore-installed: the borrowed test environment may hold a non-editable volta
        # already (as CI's does), and pip would then call the requirement satisfied.
        _run([*pip, "--no-index", "--no-deps", "--ignore-installed", *map(str, wheels.glob("volta_lang-*.whl"))])

    # 2. The guide's runnable blocks, in order, in one fresh directory.
    work = tmp_path / "work"
    work.mkdir()
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    env["PATH"] = os.pathsep.join([str(scripts), env.get("PATH", "")])
    env["HOME"] = str(tmp_path / "home")
    env["NO_COLOR"] = "1"
    outputs = []
    for block in runnable:
        assert block.info == "sh", f"{block.where()}: only ```sh blocks can be runnable"
        outputs.append(_run(["sh", "-e", "-c", block.text], cwd=work, env=env).stdout)
    everything = "".join(outputs)

    # The commands used the fresh installation, not the development checkout.
    assert str(venv.resolve()) in everything.replace(str(venv), str(venv.resolve())), everything
    assert str(ROOT / "volta_core") not in everything
    assert (work / "hello" / "main.vt").is_file()
    assert "check: 2 files, no problems" in everything
    assert "hello from my-volta-project" in everything
    assert time.monotonic() - started < BUDGET_S
