"""Writing the ``volta`` kernelspec with jupyter_client's KernelSpecManager."""

from __future__ import annotations

import json
import pathlib
import sys
import tempfile

KERNEL_NAME = "volta"


def kernel_json() -> dict[str, object]:
    """The kernelspec: this interpreter runs ``-m volta_kernel -f {connection_file}``."""
    return {
        "argv": [sys.executable, "-m", "volta_kernel", "-f", "{connection_file}"],
        "display_name": "Volta",
        "language": "volta",
        "interrupt_mode": "signal",
        "metadata": {"debugger": False},
    }


def install(*, user: bool = False, prefix: str | None = None) -> str:
    """Install the kernelspec (system-wide, per user, or under ``prefix``);
    returns the directory it was written to. Replaces an existing one."""
    from jupyter_client.kernelspec import KernelSpecManager

    with tempfile.TemporaryDirectory() as tmp:
        spec_dir = pathlib.Path(tmp) / KERNEL_NAME
        spec_dir.mkdir()
        (spec_dir / "kernel.json").write_text(json.dumps(kernel_json(), indent=1) + "\n", encoding="utf-8")
        return str(
            KernelSpecManager().install_kernel_spec(str(spec_dir), KERNEL_NAME, user=user, prefix=prefix)
        )
