"""Check that tests catch a bug: apply one one-line mutation, run tests, restore.

    python -m tools.mutate FILE:LINE OLD NEW [-- PYTEST_ARGS...]

``OLD`` must occur exactly once on line ``LINE`` (1-based) of ``FILE``; it is
replaced by ``NEW``, the tests run (``python -m pytest -q -x -p no:randomly
PYTEST_ARGS``, default: the whole ``tests`` directory), and the file is put
back byte for byte with its original modification time, also after a failure
or Ctrl-C. The tests run with ``PYTHONDONTWRITEBYTECODE=1`` so no bytecode of
the mutated file is cached (a restored file of the same size and second could
otherwise be shadowed by it).

Exit status: 0 when the mutation was *killed* (the tests failed), 1 when it
*survived* (the tests passed: a hole to close), 2 for a usage error (the file,
line or ``OLD`` text is not there). The first failure lines of the test run are
printed, so the output can go straight into a note.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

EXIT_KILLED = 0
EXIT_SURVIVED = 1
EXIT_USAGE = 2
PYTEST = ("-m", "pytest", "-q", "-x", "-p", "no:randomly")


class MutationError(Exception):
    """The mutation cannot be applied as written."""


@dataclass(frozen=True)
class Mutation:
    path: Path
    line: int  # 1-based
    old: str
    new: str

    def describe(self) -> str:
        return f"{self.path}:{self.line}: `{self.old}` → `{self.new}`"


def parse_target(target: str) -> tuple[Path, int]:
    """``FILE:LINE`` → (path, line)."""
    path, sep, line = target.rpartition(":")
    if not sep or not path or not line.isdigit() or int(line) < 1:
        raise MutationError(f"expected FILE:LINE (line from 1), not `{target}`")
    return Path(path), int(line)


def mutated_text(text: str, mutation: Mutation) -> str:
    """``text`` with ``mutation`` applied; :class:`MutationError` when it does not fit."""
    lines = text.splitlines(keepends=True)
    if mutation.line > len(lines):
        raise MutationError(f"{mutation.path} has {len(lines)} lines, not {mutation.line}")
    line = lines[mutation.line - 1]
    count = line.count(mutation.old) if mutation.old else 0
    if count != 1:
        found = "not found" if count == 0 else f"found {count} times"
        raise MutationError(f"`{mutation.old}` {found} on {mutation.path}:{mutation.line}: {line.rstrip()!r}")
    lines[mutation.line - 1] = line.replace(mutation.old, mutation.new)
    return "".join(lines)


def failure_lines(output: str, limit: int = 4, width: int = 200) -> list[str]:
    """What failed in a pytest run: the first assertion line (``E   …``) and the
    ``FAILED``/``ERROR`` summary lines, each cut to ``width`` characters."""
    lines = [line.rstrip() for line in output.splitlines()]
    first = next((line for line in lines if line.startswith("E  ")), None)
    picked = ([first] if first else []) + [line for line in lines if line.startswith(("FAILED", "ERROR"))]
    return [line if len(line) <= width else line[: width - 1] + "…" for line in picked[:limit]]


def run_mutation(mutation: Mutation, pytest_args: Sequence[str], cwd: Path | None = None) -> tuple[bool, str]:
    """Apply ``mutation``, run the tests, restore the file: (killed, test output)."""
    path = mutation.path
    original = path.read_bytes()
    stat = path.stat()
    changed = mutated_text(original.decode("utf-8"), mutation).encode("utf-8")
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    try:
        path.write_bytes(changed)
        proc = subprocess.run(
            [sys.executable, *PYTEST, *pytest_args], cwd=cwd, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
        )
    finally:
        path.write_bytes(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    return proc.returncode != 0, proc.stdout


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.mutate",
        description="Apply a one-line mutation, run the tests, restore the file; exit 0 if the tests caught it.",
    )
    parser.add_argument("target", metavar="FILE:LINE", help="the line to mutate (1-based)")
    parser.add_argument("old", metavar="OLD", help="text that occurs exactly once on that line")
    parser.add_argument("new", metavar="NEW", help="what replaces it")
    parser.add_argument("pytest_args", nargs="*", metavar="PYTEST_ARGS",
                        help="tests to run, after `--` (default: tests)")
    args = parser.parse_args(argv)
    try:
        path, line = parse_target(args.target)
        mutation = Mutation(path, line, args.old, args.new)
        if not path.is_file():
            raise MutationError(f"no file {path}")
        killed, output = run_mutation(mutation, args.pytest_args or ["tests"])
    except MutationError as exc:
        sys.stderr.write(f"mutate: error: {exc}\n")
        return EXIT_USAGE
    print(f"mutation {mutation.describe()}")
    if killed:
        print("killed: the tests failed")
        for failed in failure_lines(output):
            print(f"    {failed}")
        return EXIT_KILLED
    print("SURVIVED: the tests passed with the mutation; a test is missing")
    return EXIT_SURVIVED


if __name__ == "__main__":
    sys.exit(main())
