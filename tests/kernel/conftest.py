"""A real Volta kernel process, started through a kernelspec in a temp prefix."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

jupyter_client = pytest.importorskip("jupyter_client")
pytest.importorskip("ipykernel")

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
TIMEOUT = 60  # generous: CI machines have 2 cores shared by the test workers


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


@pytest.fixture(scope="session")
def kernel_prefix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``python -m volta_kernel install --prefix P``; JUPYTER_PATH points at it, and
    the runtime, data and config directories are temporary too (isolated from the user's)."""
    prefix = tmp_path_factory.mktemp("jupyter-prefix")
    home = tmp_path_factory.mktemp("jupyter-home")
    proc = subprocess.run(
        [sys.executable, "-m", "volta_kernel", "install", "--prefix", str(prefix)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
        mp.setenv("JUPYTER_PLATFORM_DIRS", "1")
        for name in ("RUNTIME", "DATA", "CONFIG"):
            (home / name.lower()).mkdir()
            mp.setenv(f"JUPYTER_{name}_DIR", str(home / name.lower()))
        yield prefix


@dataclass
class Executed:
    reply: dict[str, Any]
    stdout: str = ""
    stderr: str = ""
    displays: list[dict[str, Any]] = field(default_factory=list)
    streams: list[tuple[str, str]] = field(default_factory=list)
    errors: int = 0
    #: Every IOPub output message in order: (msg_type, content).
    messages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def status(self) -> str:
        return str(self.reply["status"])


class Kernel:
    def __init__(self, client: Any, manager: Any) -> None:
        self.client = client
        self.manager = manager

    def run(self, code: str, timeout: float = TIMEOUT) -> Executed:
        out: Executed = Executed({})

        def hook(msg: dict[str, Any]) -> None:
            kind, content = msg["header"]["msg_type"], msg["content"]
            out.messages.append((kind, content))
            if kind == "stream":
                out.streams.append((content["name"], content["text"]))
                if content["name"] == "stdout":
                    out.stdout += content["text"]
                else:
                    out.stderr += strip_ansi(content["text"])
            elif kind == "display_data":
                out.displays.append(content["data"])
            elif kind == "error":  # the cell's error output (rendered diagnostics)
                out.errors += 1
                out.stderr += strip_ansi("\n".join(content["traceback"])) + "\n"

        # stop_on_error=False: tests run failing cells on purpose; with Jupyter's default
        # the kernel would abort the next cells that arrive while it flushes its queue.
        reply = self.client.execute_interactive(code, output_hook=hook, timeout=timeout, stop_on_error=False)
        out.reply = reply["content"]
        return out

    def request(self, method: str, *args: Any) -> dict[str, Any]:
        msg_id = getattr(self.client, method)(*args)
        while True:
            reply = self.client.get_shell_msg(timeout=TIMEOUT)
            if reply["parent_header"].get("msg_id") == msg_id:
                return dict(reply["content"])


@pytest.fixture(scope="module")
def kernel(kernel_prefix: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    from jupyter_client.manager import KernelManager

    manager = KernelManager(kernel_name="volta")
    manager.start_kernel(cwd=str(tmp_path_factory.mktemp("kernel-cwd")))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        yield Kernel(client, manager)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def kernelspec(prefix: Path) -> dict[str, Any]:
    return dict(json.loads((prefix / "share" / "jupyter" / "kernels" / "volta" / "kernel.json").read_text()))


__all__ = ["TIMEOUT", "Executed", "Kernel", "kernelspec", "strip_ansi"]
