"""Data-parallel training over MPI (``distributed data_parallel``; docs/distributed.md).

Isolated from the single-process path: nothing here imports ``mpi4py`` until a
program asks for more than one process (a ``train`` with ``distributed
data_parallel``, ``volta run --ranks N``, or a process started by ``mpiexec``
with more than one rank). Without mpi4py that is an error (E0626), never a
silent single-process run.

What makes a step reproducible for a given world size, whatever the MPI
library's reduction algorithm:

- every rank builds the same model from the seed and reads the same batches;
  rank ``r`` trains on a fixed slice of each global batch (:func:`shard`);
- each rank scales its gradients by its share of the global batch
  (``n_r / N``: the loss of a global batch is the mean over the global batch)
  and every element is summed over the ranks in rank order 0, 1, … by the
  rank that owns its chunk (MPI only moves bytes: ``Alltoallv``, then
  ``Allgatherv``), so every rank gets the same bits and the optimizer step is
  identical everywhere;
- collectives are non-blocking and polled against a deadline
  (``VOLTA_MPI_TIMEOUT`` seconds, default 120): a rank that stops answering
  ends the job with one diagnostic instead of a hang.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np

from volta_core.backends.cpu import ranks
from volta_core.backends.cpu.ranks import combine_moments
from volta_core.errors import VoltaError

__all__ = [
    "DistributedError",
    "MpiMissing",
    "World",
    "active",
    "combine_moments",
    "find_mpiexec",
    "launched_size",
    "shard",
    "world",
]

#: Environment variables through which MPI launchers announce the world size.
SIZE_VARIABLES: Final = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS")
#: Seconds a rank waits in one collective before it stops the job.
DEFAULT_TIMEOUT_S: Final = 120.0
#: Seconds a rank polls a collective without pausing (MPI progresses only while it is polled).
SPIN_S: Final = 2.0
#: Variables that set a rank's BLAS threads (`volta run --ranks N` sets the first when neither is set).
BLAS_THREAD_VARIABLES: Final = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
#: Where `volta run --ranks N` asks each rank to write its process id (rank → PID).
LAUNCH_DIR_VARIABLE: Final = "VOLTA_LAUNCH_DIR"
INSTALL_HELP: Final = "install MPI with `pip install 'volta-lang[mpi]'` (mpi4py and the MPICH wheel)"


class MpiMissing(VoltaError):
    """Distributed training was asked for, but mpi4py (or an MPI library) is missing."""

    default_code = "E0626"


class DistributedError(VoltaError):
    """A distributed job cannot continue: a rank stopped answering, or the ranks' weights differ."""

    default_code = "E0627"


def launched_size() -> int:
    """The world size an MPI launcher announced in the environment (1 without one)."""
    for name in SIZE_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return 1


def mpi_available() -> str | None:
    """None when mpi4py can be imported, else what is missing (without importing it)."""
    if importlib.util.find_spec("mpi4py") is None:
        return "mpi4py is not installed"
    return None


def find_mpiexec() -> str | None:
    """The ``mpiexec`` next to this Python (the MPICH/Open MPI wheels install it there), else on PATH."""
    here = Path(sys.executable).parent / "mpiexec"
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    return shutil.which("mpiexec")


def shard(n: int, rank: int, size: int) -> tuple[int, int]:
    """Rows ``[lo, hi)`` of a global batch of ``n`` rows that ``rank`` trains on:
    contiguous, in rank order, the first ``n % size`` ranks one row more."""
    base, extra = divmod(n, size)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (1 if rank < extra else 0)


class World:
    """The ranks of one job (``MPI.COMM_WORLD``) and the collectives Volta uses."""

    def __init__(self, comm: Any, library: str, timeout_s: float) -> None:
        self.comm = comm
        self.rank: int = comm.Get_rank()
        self.size: int = comm.Get_size()
        self.library = library
        self.timeout_s = timeout_s
        #: Seconds spent in collectives (waiting included): the communication cost.
        self.comm_seconds = 0.0
        self.comm_bytes = 0

    def describe(self) -> str:
        """``2 ranks, MPICH Version: 5.0.2, 1 BLAS thread each`` (the thread count when set)."""
        threads = next((os.environ[v] for v in BLAS_THREAD_VARIABLES if os.environ.get(v)), None)
        each = f", {threads} BLAS thread{'s' if threads != '1' else ''} each" if threads else ""
        return f"{self.size} rank{'s' if self.size != 1 else ''}, {self.library}{each}"

    def allgather(self, local: np.ndarray, what: str) -> np.ndarray:
        """Every rank's ``local`` (same shape and dtype on every rank), stacked in rank order.

        Waits at most ``timeout_s``; a rank that does not take part by then is
        a :class:`DistributedError` naming ``what`` the job was doing.
        """
        local = np.ascontiguousarray(local)
        out = np.empty((self.size, *local.shape), local.dtype)
        start = time.perf_counter()
        if self.size == 1:
            out[0] = local
        else:
            self._wait(self.comm.Iallgather(local, out), start, what)
        self.comm_seconds += time.perf_counter() - start
        self.comm_bytes += out.nbytes
        return out

    def _wait(self, request: Any, start: float, what: str) -> None:
        """Poll ``request`` until it completes; :class:`DistributedError` after ``timeout_s``."""
        deadline = start + self.timeout_s
        patient = time.perf_counter() + SPIN_S
        while not request.Test():  # each Test drives MPI's progress: spin while an exchange is likely
            now = time.perf_counter()
            if now > patient:  # a rank is far behind (or gone): stop burning the core
                time.sleep(0.001)
            if now > deadline:
                raise DistributedError(
                    f"rank {self.rank} of {self.size}: no answer from the other ranks within "
                    f"{self.timeout_s:g} s while {what}; the job is stopped",
                    help="a rank failed or hangs: its own output says why; the timeout is "
                    "`VOLTA_MPI_TIMEOUT` (seconds)",
                )

    def sum_in_rank_order(self, local: np.ndarray, what: str) -> np.ndarray:
        """The sum of every rank's 1-D ``local``, each element added in rank order
        0, 1, … (the same additions on every rank, whatever the MPI library).

        A fixed-order reduce-scatter, then an allgather: rank ``k`` receives chunk
        ``k`` of every rank's buffer (``Alltoallv`` only moves bytes), adds the
        chunks in rank order, and the summed chunks are gathered by every rank.
        Each rank sends and receives about ``2 (N-1)/N`` buffers, as a ring
        allreduce does, and the result is what adding the whole buffers in rank
        order gives, bit for bit."""
        local = np.ascontiguousarray(local).reshape(-1)
        if self.size == 1:
            return local.copy()
        from mpi4py import MPI

        start = time.perf_counter()
        bounds = [shard(local.size, r, self.size) for r in range(self.size)]
        counts = np.array([hi - lo for lo, hi in bounds], np.int64)
        displs = np.array([lo for lo, _ in bounds], np.int64)
        lo, hi = bounds[self.rank]
        mine = hi - lo
        parts = np.empty(self.size * mine, local.dtype)
        kind = MPI._typedict[local.dtype.char]
        self._wait(self.comm.Ialltoallv(
            [local, (counts, displs), kind],
            [parts, (np.full(self.size, mine, np.int64), np.arange(self.size, dtype=np.int64) * mine), kind],
        ), start, what)
        chunk = parts[:mine].copy()
        for r in range(1, self.size):
            chunk += parts[r * mine : (r + 1) * mine]
        total = np.empty_like(local)
        self._wait(self.comm.Iallgatherv([chunk, kind], [total, (counts, displs), kind]), start, what)
        self.comm_seconds += time.perf_counter() - start
        self.comm_bytes += 2 * local.nbytes * (self.size - 1) // self.size
        return total

    def check_same(self, digest: str, what: str) -> None:
        """Stop when the ranks' ``digest`` (a hex SHA-256) differ."""
        raw = np.frombuffer(bytes.fromhex(digest), np.uint8)
        parts = self.allgather(raw, f"comparing {what}")
        odd = [r for r in range(self.size) if not np.array_equal(parts[r], parts[0])]
        if odd:
            raise DistributedError(
                f"the ranks' {what} differ (rank 0 vs rank {', '.join(map(str, odd))}): the data-parallel "
                "step was not identical on every rank",
                help="every rank must run the same program on the same data; report this if they did",
            )

    def abort(self, code: int) -> None:
        """Stop every rank of the job (MPI_Abort)."""
        sys.stdout.flush()
        sys.stderr.flush()
        self.comm.Abort(code)


_WORLD: World | None = None


def world() -> World:
    """The job's :class:`World`, initialising MPI on first use (:class:`MpiMissing` without it)."""
    global _WORLD
    if _WORLD is not None:
        return _WORLD
    missing = mpi_available()
    if missing is not None:
        raise MpiMissing(f"distributed training needs MPI, but {missing}", help=INSTALL_HELP)
    try:
        from mpi4py import MPI
    except (ImportError, RuntimeError) as exc:  # mpi4py present, its MPI library not loadable
        raise MpiMissing(f"distributed training needs MPI, but mpi4py cannot load an MPI library ({exc})",
                         help=INSTALL_HELP) from None
    comm = MPI.COMM_WORLD
    comm.Set_errhandler(MPI.ERRORS_RETURN)
    library = MPI.Get_library_version().strip().splitlines()[0].strip()
    library = " ".join(library.split())
    try:
        timeout = float(os.environ.get("VOLTA_MPI_TIMEOUT", "") or DEFAULT_TIMEOUT_S)
    except ValueError:
        timeout = DEFAULT_TIMEOUT_S
    _WORLD = World(comm, library, max(timeout, 0.1))
    if _WORLD.size > 1:  # synchronised batchnorm: the rank ops of training graphs exchange through the world
        ranks.bind(_WORLD.allgather)
    launch_dir = os.environ.get(LAUNCH_DIR_VARIABLE)
    if launch_dir:
        with contextlib.suppress(OSError):
            Path(launch_dir, f"rank{_WORLD.rank}.pid").write_text(str(os.getpid()), encoding="ascii")
    return _WORLD


def active() -> World | None:
    """The job's world when this process is one of several ranks, else None."""
    return _WORLD if _WORLD is not None and _WORLD.size > 1 else None


def current() -> World | None:
    """The job's world once MPI is initialised (also a world of one rank), else None."""
    return _WORLD


@contextlib.contextmanager
def rank0_output(path: Path, write: Callable[[Path], contextlib.AbstractContextManager[Path]]) -> Iterator[Path]:
    """Only rank 0 writes files (checkpoints, records, exports): ``write(path)``
    there; elsewhere a scratch file that is thrown away. Then the ranks agree
    that rank 0's write succeeded (so a later ``load`` on any rank reads the
    complete file); a follower raises ``OSError`` when it did not."""
    w = active()
    if w is None:
        with write(path) as tmp:
            yield tmp
        return
    ok = False
    try:
        if w.rank == 0:
            with write(path) as tmp:
                yield tmp
        else:
            import tempfile

            with tempfile.TemporaryDirectory(prefix="volta-rank") as scratch:
                yield Path(scratch) / Path(path).name
        ok = True
    finally:
        flags = w.allgather(np.array([1 if ok else 0], np.int8), f"writing `{path}`")
        if ok and not flags[0, 0]:
            raise OSError(f"rank 0 could not write `{path}`")


class Exchange:
    """One data-parallel step's exchange: every rank's scaled gradients, loss,
    correct count and batchnorm moments, gathered and summed in rank order."""

    def __init__(self, w: World, shapes: dict[str, tuple[int, ...]]) -> None:
        self.world = w
        self.names = sorted(shapes)
        self.sizes = [int(np.prod(shapes[n])) for n in self.names]
        self.flat = np.empty(sum(self.sizes), np.float32)
        self.last_sum = self.flat

    def step(
        self, grads: dict[str, np.ndarray] | None, rows: int, batch: int, loss: float, correct: float,
        moments: Sequence[np.ndarray], interrupted: bool, step: int,
    ) -> tuple[float, float, list[np.ndarray], bool]:
        """Sum the ranks' gradients into ``grads`` (in place; None: this rank's
        shard is empty and contributes zeros); returns the global batch's mean
        loss, the correct count, the batchnorm moments of the whole batch and
        whether any rank was interrupted."""
        share = np.float32(rows / batch)
        at = 0
        for name, size in zip(self.names, self.sizes, strict=True):
            part = self.flat[at : at + size]
            if grads is None:
                part.fill(0.0)
            else:
                np.multiply(grads[name].reshape(-1), share, out=part)
            at += size
        summed = self.last_sum = self.world.sum_in_rank_order(self.flat, f"exchanging the gradients of step {step}")
        side = np.array([rows, float(rows) / batch * loss, correct, 1.0 if interrupted else 0.0,
                         *(float(v) for m in moments for v in m.reshape(-1))], np.float64)
        sides = self.world.allgather(side, f"exchanging the loss of step {step}")
        if grads is not None:
            at = 0
            for name, size in zip(self.names, self.sizes, strict=True):
                grads[name].reshape(-1)[...] = summed[at : at + size]
                at += size
        total_loss = 0.0
        total_correct = 0.0
        for r in range(self.world.size):
            total_loss += float(sides[r, 1])
            total_correct += float(sides[r, 2])
        counts = [int(sides[r, 0]) for r in range(self.world.size)]
        combined: list[np.ndarray] = []
        if moments:
            offset = 4
            for m in moments:
                k = m.size
                per_rank = [sides[r, offset : offset + k].reshape(m.shape) for r in range(self.world.size)]
                combined.append(combine_moments(per_rank, counts))
                offset += k
        return total_loss, total_correct, combined, bool(sides[:, 3].any())
