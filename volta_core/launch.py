"""``volta run --ranks N`` / ``volta verify`` of a distributed record: start the
same command on N ranks of this machine with ``mpiexec`` (docs/distributed.md).

The ranks' output passes through line by line; the launcher drops the MPI
launcher's own banner and, when a rank ended without a diagnostic of its own
(killed by a signal, out of memory), prints one diagnostic naming the rank.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from volta_core.train.distributed import (
    BLAS_THREAD_VARIABLES,
    INSTALL_HELP,
    LAUNCH_DIR_VARIABLE,
    MpiMissing,
    find_mpiexec,
    mpi_available,
)

__all__ = ["LaunchResult", "launch", "rank_threads"]

#: Lines the MPI launcher (MPICH's Hydra) writes about a failed job; the launcher's diagnostic replaces them.
_BANNER = re.compile(
    r"^(=+\s*$|=\s+(BAD TERMINATION|PID \d+|EXIT CODE|CLEANING UP|YOU CAN IGNORE|KILLED BY)|"
    r"YOUR APPLICATION TERMINATED|This typically refers to a problem|Please see the FAQ|"
    r"Abort\(\d+\) on node \d+|\[proxy:|\[mpiexec@)"
)
_PID = re.compile(r"PID (\d+) RUNNING AT")
_SIGNAL = re.compile(r"(?:KILLED BY SIGNAL: (\d+)|EXIT STRING: .*\(signal (\d+)\))")
_ABORT = re.compile(r"application called MPI_Abort")


@dataclass
class LaunchResult:
    code: int
    #: One diagnostic line for a rank that ended without its own (None: the ranks reported).
    message: str | None = None
    banner: list[str] = field(default_factory=list)


def _forward(stream: IO[bytes], out: IO[str], banner: list[str], lock: threading.Lock) -> None:
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace")
        if _BANNER.match(line.strip()) or _ABORT.search(line):
            with lock:
                banner.append(line.rstrip("\n"))
            continue
        out.write(line)
        out.flush()


def _rank_of(pid: int, launch_dir: Path) -> int | None:
    for path in launch_dir.glob("rank*.pid"):
        try:
            if int(path.read_text(encoding="ascii").strip()) == pid:
                return int(path.stem[4:])
        except (OSError, ValueError):
            continue
    return None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def rank_threads(ranks: int, environ: Mapping[str, str] = os.environ, cpus: int | None = None) -> dict[str, str]:
    """The BLAS thread count each of ``ranks`` processes on this machine gets when the user
    set none: its share of the CPUs (at least 1). Every rank with all the CPUs' threads
    oversubscribes the machine: measured, 2 ranks × 2 threads on 2 CPUs took 4–11 s for a run
    that 2 ranks × 1 thread finish in 2.5 s. The ranks print the count (``World.describe``),
    and run records keep it, so ``volta verify`` starts the ranks the same way."""
    if any(environ.get(name) for name in BLAS_THREAD_VARIABLES):
        return {}
    total = cpus if cpus is not None else (os.cpu_count() or 1)
    return {BLAS_THREAD_VARIABLES[0]: str(max(1, total // max(ranks, 1)))}


def launch(ranks: int, argv: Sequence[str]) -> LaunchResult:
    """Run ``volta ARGV`` on ``ranks`` processes of this machine and wait for them.

    :class:`MpiMissing` when mpi4py or ``mpiexec`` is missing.
    """
    missing = mpi_available()
    mpiexec = find_mpiexec()
    if missing is None and mpiexec is None:
        missing = "no `mpiexec` was found next to Python or on PATH"
    if missing is not None:
        raise MpiMissing(f"`--ranks {ranks}` needs MPI, but {missing}", help=INSTALL_HELP)
    assert mpiexec is not None
    given = os.environ.get(LAUNCH_DIR_VARIABLE)  # a caller that wants the ranks' process ids names it
    with contextlib.nullcontext(given) if given else tempfile.TemporaryDirectory(prefix="volta-launch-") as tmp:
        env = {**os.environ, LAUNCH_DIR_VARIABLE: tmp, "PYTHONUNBUFFERED": "1", **rank_threads(ranks)}
        command = [mpiexec, "-n", str(ranks), sys.executable, "-m", "volta_core", *argv]
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env)
        banner: list[str] = []
        lock = threading.Lock()
        assert proc.stdout is not None and proc.stderr is not None
        threads = [threading.Thread(target=_forward, args=(s, o, banner, lock), daemon=True)
                   for s, o in ((proc.stdout, sys.stdout), (proc.stderr, sys.stderr))]
        for t in threads:
            t.start()
        try:
            code = proc.wait()
        except KeyboardInterrupt:  # Ctrl-C reaches the ranks too; they stop at a step boundary
            code = proc.wait()
        for t in threads:
            t.join()
        if code == 0 or any(_ABORT.search(line) for line in banner):
            return LaunchResult(code, None, banner)  # success, or a rank reported why it stopped
        text = "\n".join(banner)
        pid = _PID.search(text)
        sig = _SIGNAL.search(text)
        rank = _rank_of(int(pid.group(1)), Path(tmp)) if pid else None
        who = f"rank {rank} of {ranks}" if rank is not None else f"a rank of {ranks}"
        if sig is not None:
            number = int(sig.group(1) or sig.group(2))
            how = f"was killed by signal {number} ({_signal_name(number)})"
        elif code < 0:
            how = f"was killed by signal {-code} ({_signal_name(-code)})"
        else:
            how = f"ended with exit code {code}"
        return LaunchResult(code or 1, f"{who} {how} without a diagnostic; every rank was stopped", banner)
