"""The machine and code a scorecard was measured on: CPU, memory, load, versions, commit."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path

from tools.scorecard.kpi import ROOT, run, volta_argv


def _first(path: Path, prefix: str) -> str | None:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith(prefix)), None)


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def code_version() -> str:
    """The commit measured, and whether the working tree differed from it."""
    commit = _git("rev-parse", "--short=12", "HEAD")
    if not commit:
        return "not a git checkout"
    branch = _git("rev-parse", "--abbrev-ref", "HEAD")
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return f"commit `{commit}` (branch `{branch}`)" + (", with uncommitted changes" if dirty else "")


def describe() -> list[str]:
    """Markdown bullet lines describing this machine and environment."""
    cpu = _first(Path("/proc/cpuinfo"), "model name") or platform.processor() or "unknown CPU"
    memory = _first(Path("/proc/meminfo"), "MemTotal")
    memory_text = f"{int(memory.split()[0]) / 2**20:.0f} GiB memory" if memory else "memory unknown"
    lines = [f"- CPU: {cpu}, {os.cpu_count()} cores, {memory_text}; {platform.platform()}"]
    doctor = run([*volta_argv(), "doctor", "--json"], 120)
    if doctor.returncode == 0:
        info = json.loads(doctor.stdout)
        blas = info.get("blas_kernels") or {}
        forced = ", ".join(f"{k}={v}" for k, v in (blas.get("forced") or {}).items())
        lines.append(
            f"- Python {info['python']['version']}, Volta {info['volta']['version']}, "
            f"NumPy {info['numpy']['version']} (OpenBLAS kernels {blas.get('kernels', 'unknown')}"
            + (f", forced: {forced}" if forced else "") + ")"
        )
    else:
        lines.append(f"- `volta doctor --json` exited {doctor.returncode}: {doctor.last_line()}")
    lines.append(f"- Code: {code_version()}")
    return lines
