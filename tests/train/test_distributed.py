"""Data-parallel training over MPI (docs/distributed.md): 2 ranks on localhost.

The MPI tests start real jobs (`volta run --ranks N`, i.e. mpiexec) and skip,
with the reason, where mpi4py or mpiexec is missing; the `test` extra installs
both (mpi4py and the MPICH wheel).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from volta_core.train.distributed import combine_moments, find_mpiexec, mpi_available, shard

REPO = Path(__file__).resolve().parents[2]
_MISSING = mpi_available() or (None if find_mpiexec() else "no mpiexec next to Python or on PATH")
needs_mpi = pytest.mark.skipif(
    _MISSING is not None,
    reason=f"MPI is not available ({_MISSING}); `pip install -e '.[test]'` installs mpi4py and the MPICH wheel",
)

MLP = """
dataset toy
    type blobs
    samples 90
    classes 3
    batch 16
    seed 3

model net
    input 2
    layer dense 32 relu
    layer dense 32 relu
    layer dense 3
    layer softmax
    seed 5

train net on toy
    epochs 2
    seed 1
    optimizer adam
    lr 0.01
{extra}
save net as "w.safetensors"
"""

TRANSFORMER = """
dataset reviews
    type text
    source "reviews.csv"
    text "review"
    target "label"
    vocab 64
    seq_len 12
    batch 16
    seed 1

model net
    input tokens 12
    layer embedding 64 16
    layer positional 12
    layer transformer 2 32
    layer layernorm
    layer mean_pool
    layer dense 2
    layer softmax
    seed 7

train net on reviews
    steps 6
    seed 2
    optimizer momentum
    lr 0.05
{extra}
save net as "w.safetensors"
"""

CNN_DECLS = """
dataset imgs
    type npz
    source "imgs.npz"
    batch 12
    seed 4

model net
    input image 1 8 8
    layer conv 4 3 pad same
    layer batchnorm
    layer relu
    layer maxpool 2
    layer flatten
    layer dense 3
    loss cross_entropy
    seed 9
"""
CNN = CNN_DECLS + """
train net on imgs
    epochs 2
    seed 3
    optimizer momentum
    lr 0.05
{extra}
save net as "w.safetensors"
"""


def _write_inputs(tmp: Path) -> None:
    reviews = (REPO / "examples" / "text-classifier" / "reviews.csv").read_text(encoding="utf-8")
    (tmp / "reviews.csv").write_text(reviews, encoding="utf-8")
    rng = np.random.default_rng(0)
    np.savez(tmp / "imgs.npz", x=rng.random((30, 1, 8, 8), dtype=np.float32), y=rng.integers(0, 3, 30))


def _volta(tmp: Path, program: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    (tmp / "prog.vt").write_text(program, encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "volta_core", "run", "prog.vt", *args], cwd=tmp,
                          capture_output=True, text=True, timeout=timeout, env={**os.environ, "VOLTA_MPI_TIMEOUT": "30"})


def _train(tmp: Path, program: str, ranks: int | None, name: str) -> dict[str, np.ndarray]:
    """Run ``program`` (on ``ranks`` MPI ranks; None: one process without MPI) and load its weights."""
    extra = "" if ranks is None else "    distributed data_parallel"
    args = ("--record", f"{name}.json") + (() if ranks is None else ("--ranks", str(ranks)))
    done = _volta(tmp, program.format(extra=extra), *args)
    assert done.returncode == 0, done.stdout + done.stderr
    (tmp / "w.safetensors").rename(tmp / f"{name}.safetensors")
    return load_file(tmp / f"{name}.safetensors")


def _max_relative(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    """The largest difference of two sets of weights relative to the weights' scale
    (the largest magnitude among them)."""
    assert sorted(a) == sorted(b)
    scale = max(float(np.abs(v).max()) for v in a.values())
    return max(float(np.abs(a[n].astype(np.float64) - b[n]).max()) for n in a) / scale


def _same_bits(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return sorted(a) == sorted(b) and all(a[n].tobytes() == b[n].tobytes() for n in a)


# ----------------------------------------------------------------------- no MPI needed


def test_shards_are_fixed_contiguous_and_cover_the_batch() -> None:
    for n in (0, 1, 5, 16, 17):
        for size in (1, 2, 3, 4):
            parts = [shard(n, r, size) for r in range(size)]
            assert parts[0][0] == 0 and parts[-1][1] == n
            assert all(parts[r][1] == parts[r + 1][0] for r in range(size - 1))
            assert max(hi - lo for lo, hi in parts) - min(hi - lo for lo, hi in parts) <= 1


def test_combined_moments_are_the_whole_batch_moments() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(10, 3)).astype(np.float32) * 3 + 1
    parts = [x[:6], x[6:]]
    moments = [np.stack([p.mean(0), p.var(0)]).astype(np.float32) for p in parts]
    whole = combine_moments(moments, [6, 4])
    np.testing.assert_allclose(whole, np.stack([x.mean(0), x.var(0)]), rtol=1e-6, atol=1e-6)
    # one shard: exactly its own moments (a 1-rank job equals the single process bit for bit)
    assert combine_moments([moments[0]], [6]).tobytes() == moments[0].tobytes()


def test_the_checker_knows_the_distributed_key() -> None:
    from volta_core.analysis import analyze

    assert analyze(MLP.format(extra="    distributed data_parallel"), "p.vt").diagnostics == []
    wrong = analyze(MLP.format(extra="    distributed everywhere"), "p.vt").diagnostics
    assert wrong and "data_parallel" in str(wrong[0].message) + str(wrong[0].helps)


def test_without_mpi4py_distributed_is_an_error_not_a_single_process(tmp_path: Path) -> None:
    """mpi4py hidden: `distributed data_parallel` and `--ranks` fail with E0626 (no fallback)."""
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "mpi4py").mkdir()
    (hide / "mpi4py" / "__init__.py").write_text("raise ImportError('hidden by the test')\n")
    (hide / "sitecustomize.py").write_text(
        "import importlib.util, sys\n"
        "_find = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda name, *a: None if name == 'mpi4py' else _find(name, *a)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(hide)}
    (tmp_path / "prog.vt").write_text(MLP.format(extra="    distributed data_parallel"), encoding="utf-8")
    for extra in ((), ("--ranks", "2")):
        done = subprocess.run([sys.executable, "-m", "volta_core", "run", "prog.vt", *extra], cwd=tmp_path,
                              capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "E0626" in done.stderr and "mpi4py is not installed" in done.stderr
        assert "volta-lang[mpi]" in done.stderr
        assert "epoch 1" not in done.stdout
        assert not (tmp_path / "w.safetensors").exists()


def test_the_launcher_gives_each_rank_its_share_of_the_cpus() -> None:
    """`volta run --ranks N` sets OPENBLAS_NUM_THREADS to the CPUs / N (at least 1) unless the
    user chose a thread count: every rank with all the CPUs' threads oversubscribes them."""
    from volta_core.launch import rank_threads

    assert rank_threads(2, {}, cpus=2) == {"OPENBLAS_NUM_THREADS": "1"}
    assert rank_threads(2, {}, cpus=8) == {"OPENBLAS_NUM_THREADS": "4"}
    assert rank_threads(3, {}, cpus=2) == {"OPENBLAS_NUM_THREADS": "1"}
    assert rank_threads(2, {"OPENBLAS_NUM_THREADS": "2"}, cpus=2) == {}
    assert rank_threads(2, {"OMP_NUM_THREADS": "3"}, cpus=2) == {}


# ---------------------------------------------------------------------------- MPI jobs


@needs_mpi
@pytest.mark.parametrize("program", [MLP, TRANSFORMER], ids=["mlp", "transformer"])
def test_two_ranks_are_reproducible_and_match_one_process(tmp_path: Path, program: str) -> None:
    _write_inputs(tmp_path)
    first = _train(tmp_path, program, 2, "a")
    again = _train(tmp_path, program, 2, "b")
    single = _train(tmp_path, program, None, "single")
    assert _same_bits(first, again), "two 2-rank runs differ"
    assert not _same_bits(first, single)  # the summation order differs …
    assert _max_relative(first, single) <= 1e-6  # … by rounding only
    a, b = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("a", "b"))
    assert a["world_size"] == 2 and a["mpi"] and a["trains"][0]["weights_sha256"] == b["trains"][0]["weights_sha256"]
    single_record = json.loads((tmp_path / "single.json").read_text())
    assert "world_size" not in single_record and "mpi" not in single_record


SUM_CHECK = """
import numpy as np
from volta_core.train import distributed as d
w = d.world()
rng = np.random.default_rng(w.rank)
for n in (1, 2, 7, 1000, 12345):
    x = rng.standard_normal(n).astype(np.float32)
    got = w.sum_in_rank_order(x, "t")
    parts = w.allgather(x, "t")
    ref = parts[0].copy()
    for r in range(1, w.size):
        ref += parts[r]
    assert got.tobytes() == ref.tobytes(), (n, w.rank)
print("ok", w.rank)
"""


@needs_mpi
def test_the_chunked_exchange_adds_in_rank_order_like_whole_buffers() -> None:
    """Reduce-scatter then allgather gives the bits of adding whole buffers in rank
    order, also for buffers shorter than the number of ranks."""
    mpiexec = find_mpiexec()
    assert mpiexec is not None
    done = subprocess.run([mpiexec, "-n", "3", sys.executable, "-c", SUM_CHECK], capture_output=True, text=True,
                          timeout=60)
    # Three ranks share one stdout, so their lines may interleave ("okok 1\n 2\n"): count the words.
    assert done.returncode == 0 and sorted(re.findall(r"ok|\d+", done.stdout)) == ["0", "1", "2", "ok", "ok", "ok"], \
        done.stderr


@needs_mpi
def test_one_rank_is_bit_identical_to_the_single_process(tmp_path: Path) -> None:
    _write_inputs(tmp_path)
    assert _same_bits(_train(tmp_path, MLP, 1, "one"), _train(tmp_path, MLP, None, "single"))


@needs_mpi
def test_cnn_with_batchnorm_trains_the_one_process_model(tmp_path: Path) -> None:
    """Batchnorm is synchronised: every rank normalises its shard with the whole global
    batch's moments (rank_moments), so 2 ranks train the one-process model up to the
    order of float additions, and 2-rank runs repeat bit for bit."""
    _write_inputs(tmp_path)
    first = _train(tmp_path, CNN, 2, "a")
    assert _same_bits(first, _train(tmp_path, CNN, 2, "b")), "two 2-rank runs differ"
    single = _train(tmp_path, CNN, None, "single")
    assert not _same_bits(first, single)
    assert _max_relative(first, single) <= 1e-6
    # One rank normalises the whole batch: the single process's result, bit for bit.
    assert _same_bits(_train(tmp_path, CNN, 1, "one"), single)


@needs_mpi
def test_a_rank_with_an_empty_shard_takes_part_in_synchronised_batchnorm(tmp_path: Path) -> None:
    """30 rows in batches of 14: the last batch has 2 rows, so rank 2 of 3 has none and
    still joins every batchnorm exchange of that step."""
    _write_inputs(tmp_path)
    program = CNN.replace("    batch 12\n", "    batch 14\n")
    assert "batch 14" in program
    assert _max_relative(_train(tmp_path, program, 3, "three"), _train(tmp_path, program, None, "single")) <= 1e-6


@needs_mpi
def test_verify_reruns_on_the_recorded_ranks_and_names_a_divergence(tmp_path: Path) -> None:
    _write_inputs(tmp_path)
    _train(tmp_path, MLP, 2, "r")
    done = subprocess.run([sys.executable, "-m", "volta_core", "verify", "r.json"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "bit-identical" in done.stdout, done.stdout + done.stderr
    record = json.loads((tmp_path / "r.json").read_text())
    record["world_size"] = 3
    (tmp_path / "r3.json").write_text(json.dumps(record))
    done = subprocess.run([sys.executable, "-m", "volta_core", "verify", "r3.json"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "diverged:" in done.stdout and "differs" in done.stdout, done.stdout + done.stderr


KILL = """
dataset toy
    type blobs
    samples 800
    classes 3
    batch 8
    seed 3

model net
    input 2
    layer dense 256 relu
    layer dense 256 relu
    layer dense 3
    layer softmax
    seed 5

train net on toy
    epochs 400
    seed 1
    distributed data_parallel

save net as "w.safetensors"
"""


@needs_mpi
def test_a_killed_rank_stops_the_job_with_one_diagnostic(tmp_path: Path) -> None:
    (tmp_path / "prog.vt").write_text(KILL, encoding="utf-8")
    launch_dir = tmp_path / "launch"
    launch_dir.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "volta_core", "run", "prog.vt", "--ranks", "2"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "VOLTA_LAUNCH_DIR": str(launch_dir)})
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # training has started when rank 0 prints its first epoch
            if line.startswith("epoch 1/"):
                break
        pid = int((launch_dir / "rank1.pid").read_text())
        start = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
        elapsed = time.monotonic() - start
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert elapsed < 30
    assert proc.returncode == 1
    assert "E0627" in err and "rank 1 of 2 was killed by signal 9 (SIGKILL)" in err, err
    assert err.count("error[") == 1, err
    assert "BAD TERMINATION" not in err + out
    assert not (tmp_path / "w.safetensors").exists()
    assert not list(tmp_path.glob("*.volta-partial-*"))



@needs_mpi
def test_a_hanging_rank_stops_the_job_after_the_collective_timeout(tmp_path: Path) -> None:
    """Rank 1 stopped (SIGSTOP): rank 0 waits VOLTA_MPI_TIMEOUT seconds in the
    exchange, then reports E0627 at the `train` statement and stops the job."""
    (tmp_path / "prog.vt").write_text(KILL, encoding="utf-8")
    launch_dir = tmp_path / "launch"
    launch_dir.mkdir()
    env = {**os.environ, "VOLTA_LAUNCH_DIR": str(launch_dir), "VOLTA_MPI_TIMEOUT": "3"}
    proc = subprocess.Popen([sys.executable, "-m", "volta_core", "run", "prog.vt", "--ranks", "2"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("epoch 1/"):
                break
        os.kill(int((launch_dir / "rank1.pid").read_text()), signal.SIGSTOP)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1
    assert "error[E0627]" in err and "no answer from the other ranks within 3 s" in err, err
    assert "prog.vt:" in err  # at the train statement
    assert err.count("error[") == 1, err
    assert not (tmp_path / "w.safetensors").exists()


class _FakeComm:
    """Two ranks' digests, as MPI would gather them (for the strict-mode check)."""

    def __init__(self, other: bytes) -> None:
        self.other = other

    def Get_rank(self) -> int:
        return 0

    def Get_size(self) -> int:
        return 2

    def Iallgather(self, local: np.ndarray, out: np.ndarray) -> object:
        out[0] = local
        out[1] = np.frombuffer(self.other, np.uint8)

        class Done:
            def Test(self) -> bool:
                return True

        return Done()


def test_strict_mode_stops_when_the_ranks_weights_differ() -> None:
    from volta_core.train.distributed import DistributedError, World

    same = "ab" * 32
    World(_FakeComm(bytes.fromhex(same)), "fake", 1.0).check_same(same, "weights after step 100")
    with pytest.raises(DistributedError, match=r"weights after step 100 differ \(rank 0 vs rank 1\)"):
        World(_FakeComm(bytes.fromhex("cd" * 32)), "fake", 1.0).check_same(same, "weights after step 100")


def test_the_single_process_path_never_imports_mpi4py(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from volta_core.lang import Session\n"
        f"r = Session(stdout=lambda t: None, base_dir={str(tmp_path)!r}).run({MLP.format(extra='')!r})\n"
        "assert r.ok, r.diagnostics\n"
        "assert 'mpi4py' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@needs_mpi
def test_a_batch_smaller_than_the_ranks_leaves_some_shards_empty(tmp_path: Path) -> None:
    """17 examples, batch 8, 3 ranks: each epoch's last batch has 1 row, so ranks 1
    and 2 train on nothing and contribute zeros; the result still matches one process."""
    program = MLP.replace("samples 90", "samples 17").replace("batch 16", "batch 8")
    assert _max_relative(_train(tmp_path, program, 3, "three"), _train(tmp_path, program, None, "single")) <= 1e-6
