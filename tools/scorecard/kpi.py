"""What a KPI result holds, the verdicts, and the measurement budgets."""

from __future__ import annotations

import enum
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCORECARDS = ROOT / "docs" / "governance" / "scorecards"


class Verdict(enum.StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    #: Every case measured met the target, but the budget measured fewer cases than
    #: the KPI's definition asks for (the tiny budget): not a pass.
    PARTIAL = "PARTIAL"
    NOT_MEASURED = "NOT MEASURED"
    #: The perf gate could not judge (results and baseline ran different BLAS kernels).
    NOT_COMPARABLE = "NOT COMPARABLE"


@dataclass
class Kpi:
    """One row of the scorecard and the section that backs it.

    ``command`` is the exact command that measures the KPI, with placeholders
    in capitals (``EXAMPLE``, ``N``) for what the budget fills in; it does not
    depend on the budget, so scorecards of any budget can be compared.
    ``budget`` says what this run measured (examples, cases, seeds).
    """

    name: str
    target: str
    command: str
    value: str = ""
    verdict: Verdict = Verdict.NOT_MEASURED
    budget: str = ""
    details: list[str] = field(default_factory=list)
    seconds: float = 0.0
    load: str = ""  # the load average when its measurement started


@dataclass(frozen=True)
class Budget:
    """How much each KPI measures. ``None`` examples: every training example."""

    name: str
    determinism_examples: int | None
    fuzz_cases: int
    smoke_runs: int
    quickstart_runs: int


#: The full budget is the KPIs' definition; the tiny one checks the generator in seconds.
FULL = Budget("full", determinism_examples=None, fuzz_cases=3000, smoke_runs=120, quickstart_runs=3)
TINY = Budget("tiny", determinism_examples=2, fuzz_cases=36, smoke_runs=12, quickstart_runs=1)
BUDGETS = {b.name: b for b in (TINY, FULL)}
#: Seeds of the generated cases; fixed, so every scorecard measures the same cases.
FUZZ_SEED = 23
SMOKE_SEED = 23
#: The least CLI smoke runs the KPI is defined over.
SMOKE_MIN_RUNS = 100


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int | None  # None: killed after its time limit
    stdout: str
    stderr: str
    seconds: float

    def last_line(self) -> str:
        """The last non-empty line of stderr (else stdout): what went wrong, in one line."""
        for stream in (self.stderr, self.stdout):
            lines = [line.strip() for line in stream.splitlines() if line.strip()]
            if lines:
                return lines[-1]
        return "(no output)"


def run(argv: list[str], timeout: float, cwd: Path = ROOT, env: dict[str, str] | None = None) -> Completed:
    """Run ``argv`` with captured output and its wall time; never raises for a failing command."""
    started = time.monotonic()
    environment = dict(os.environ if env is None else env)
    environment["NO_COLOR"] = "1"
    try:
        proc = subprocess.run(argv, cwd=cwd, env=environment, capture_output=True, text=True,
                              errors="replace", timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout or ""
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr or ""
        return Completed(tuple(argv), None, out, err, time.monotonic() - started)
    return Completed(tuple(argv), proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)


def volta_argv() -> list[str]:
    """The ``volta`` command of the environment running the scorecard.

    The console script next to this interpreter when it is there (what a user
    types), else ``python -m volta_core`` — the same program (SPEC §6).
    """
    script = shutil.which("volta", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "volta_core"]


def cell(text: str) -> str:
    """``text`` as one Markdown table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def shown(path: Path) -> str:
    """``path`` as the scorecard prints it: relative to the repository when inside it."""
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
