"""Seeded fuzz cases for the front end, and a count of the internal errors they cause.

    python -m tools.fuzz_cases --seed SEED --cases N      # run cases 0..N-1, print the failures
    python -m tools.fuzz_cases --seed SEED --show I       # print case I's text

Case ``I`` of seed ``S`` is drawn from its own ``random.Random(S, I)``, so any
case can be rebuilt and rerun by itself (on the same checkout: the vocabulary and
the programs to mutate come from it). Kinds take turns: random bytes,
random Unicode, text from the lexer's alphabet, token soup, mutated programs and
deep nesting. The token vocabulary is read from the language itself (keywords,
every block key, layer kind, option and allowed word of ``check/schema.py``), so
a new key is fuzzed the day it is added. Mutations start from the valid programs
of ``tests/fuzz_corpus`` (data files, read, never imported) and ``examples/``.

Each case goes through ``analyze``, ``Session.run`` (interrupted after
:data:`RUN_BUDGET_S` seconds, files kept in a scratch folder) and both
renderers. An *internal error* is a diagnostic ``E9999`` or an exception
escaping a front door (a Python traceback). ``tests/test_fuzz.py`` checks the
same front doors with Hypothesis; this module gives the scorecard a fixed,
countable budget (``tools/scorecard/crashes.py`` also catches signals and hangs
by running it in a child process).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from volta_core.analysis import analyze
from volta_core.check.schema import BLOCKS, LAYERS
from volta_core.diagnostics import Diagnostic, render_json, render_text
from volta_core.lang import Session
from volta_core.syntax.tokens import KEYWORDS

ROOT = Path(__file__).resolve().parents[1]
#: Where the programs to mutate come from: the fuzz corpus (valid programs kept
#: for this purpose) and the examples. A missing folder only narrows the seeds.
SEED_DIRS = (ROOT / "tests" / "fuzz_corpus", ROOT / "examples")
RUN_BUDGET_S = 0.2
INTERNAL_ERROR = "E9999"

KINDS = ("bytes", "unicode", "lexer", "tokens", "mutated", "nesting")
#: Characters that matter to the lexer, so random text hits its edge cases often.
LEXER_ALPHABET = ' \t\n\r"\\#/.-+*=<>!()0123456789eE_azAZ'
OPERATORS = ("+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "=", "(", ")", ",", ".", "..")
NUMBERS = ("0", "1", "2", "3", "10", "784", "0.5", "1e-3", "2.5E+4", "1.", "1e", "-1",
           "9223372036854775807", "9223372036854775808", "99999999999999999999", "1000000000")
STRINGS = ('"a"', '""', '"data.csv"', '"x\\n"', '"bad\\q"', '"open', '"tab\there"', '"é😀"')
LAYOUT = ("\n", "\n    ", "\n        ", "\n  ", "\t", "\r\n", "\r", "# c\n", "// c\n")
SEPARATORS = (" ", " ", " ", "", "\n", "\n    ", "\n        ")
MUTATIONS = ("delete", "duplicate", "swap", "move", "tab", "indent", "dedent", "truncate_line", "insert_token")
#: Depths around the parser's limits (64 levels, 200 chained operators) and far beyond.
DEPTHS = (1, 2, 63, 64, 65, 199, 200, 201, 1000, 5000)


@dataclass(frozen=True, slots=True)
class Case:
    index: int
    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class Failure:
    """An internal error: which front door, and what it said or raised."""

    door: str
    what: str  # "E9999" or "traceback"
    detail: str


@cache
def vocabulary() -> tuple[str, ...]:
    """Every word the language knows: keywords, block keys, layer kinds, options, allowed values."""
    words: set[str] = set(KEYWORDS)
    for block in BLOCKS.values():
        words.add(block.name)
        for key, prop in block.properties.items():
            words.add(key)
            for value in prop.values:
                words.update(value.choices)
    for kind, layer in LAYERS.items():
        words.add(kind)
        for value in layer.args:
            words.update(value.choices)
        for option in layer.options:  # an option is written as its name, then its value
            words.update((option.name, *option.choices))
    return tuple(sorted(words))


@cache
def seed_programs() -> tuple[str, ...]:
    """The valid programs mutations start from, in a fixed order."""
    paths = sorted(p for folder in SEED_DIRS if folder.is_dir() for p in folder.rglob("*.vt"))
    return tuple(p.read_text(encoding="utf-8") for p in paths)


def _token(rng: random.Random) -> str:
    pick = rng.randrange(6)
    if pick == 0:
        return rng.choice(vocabulary())
    if pick == 1:
        return rng.choice(OPERATORS)
    if pick == 2:
        return rng.choice(NUMBERS) if rng.random() < 0.7 else str(rng.randrange(10**20))
    if pick == 3:
        return rng.choice(STRINGS)
    if pick == 4:
        return rng.choice(LAYOUT)
    first = rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
    return first + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789_") for _ in range(rng.randrange(7)))


def _random_bytes(rng: random.Random) -> str:
    return rng.randbytes(rng.randrange(601)).decode("utf-8", errors="replace")


def _random_unicode(rng: random.Random) -> str:
    chars = []
    for _ in range(rng.randrange(401)):
        # Mostly the Basic Multilingual Plane; no surrogates (not valid text).
        code = rng.randrange(0x80) if rng.random() < 0.5 else rng.randrange(0x110000)
        chars.append(chr(code) if not 0xD800 <= code <= 0xDFFF else "\ufffd")
    return "".join(chars)


def _lexer_text(rng: random.Random) -> str:
    return "".join(rng.choice(LEXER_ALPHABET) for _ in range(rng.randrange(301)))


def _token_soup(rng: random.Random) -> str:
    return "".join(_token(rng) + rng.choice(SEPARATORS) for _ in range(rng.randrange(81)))


def _mutated(rng: random.Random) -> str:
    programs = seed_programs()
    if not programs:
        return _token_soup(rng)
    lines = rng.choice(programs).split("\n")
    for _ in range(rng.randint(1, 4)):
        if not lines:
            lines = [""]
        i = rng.randrange(len(lines))
        op = rng.choice(MUTATIONS)
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "move":
            line = lines.pop(i)
            lines.insert(rng.randint(0, len(lines)), line)
        elif op == "tab":
            k = rng.randint(0, len(lines[i]))
            lines[i] = lines[i][:k] + "\t" + lines[i][k:]
        elif op == "indent":
            lines[i] = " " * rng.choice((1, 2, 3, 4, 8, 12)) + lines[i]
        elif op == "dedent":
            lines[i] = lines[i].lstrip(" ")
        elif op == "truncate_line":
            lines[i] = lines[i][: rng.randint(0, len(lines[i]))]
        else:
            k = rng.randint(0, len(lines[i]))
            lines[i] = lines[i][:k] + _token(rng) + lines[i][k:]
    text = "\n".join(lines)
    return text[: rng.randint(0, len(text))] if rng.random() < 0.5 else text


def _nesting(rng: random.Random) -> str:
    d = rng.choice(DEPTHS)
    shapes: list[Callable[[], str]] = [
        lambda: "x " + "(" * d + "1" + ")" * d + "\n",
        lambda: "x " + "(" * d + "1\n",
        lambda: "x " + "f(" * d + "1" + ")" * d + "\n",
        lambda: "x " + "- " * d + "1\n",
        lambda: "x " + "not " * d + "true\n",
        lambda: "x m" + ".loss" * d + "\n",
        lambda: "x " + " + ".join(["1"] * d) + "\nprint x\n",
        lambda: "".join("    " * i + "if true\n" for i in range(d)) + "    " * d + "print 1\n",
        lambda: "".join("    " * i + "loop 1\n" for i in range(d)) + "    " * d + "print 1\n",
        lambda: "model m\n    layers " + " ".join(["4"] * d) + "\n",
    ]
    return rng.choice(shapes)()


GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "bytes": _random_bytes, "unicode": _random_unicode, "lexer": _lexer_text,
    "tokens": _token_soup, "mutated": _mutated, "nesting": _nesting,
}


def case(seed: int, index: int) -> Case:
    """Case ``index`` of ``seed``: the same text on every machine and Python run of this checkout."""
    kind = KINDS[index % len(KINDS)]
    rng = random.Random(f"volta-fuzz:{seed}:{index}")
    return Case(index, kind, GENERATORS[kind](rng))


def _internal(diagnostics: Sequence[Diagnostic], door: str) -> list[Failure]:
    return [Failure(door, INTERNAL_ERROR, d.message) for d in diagnostics if d.code == INTERNAL_ERROR]


def _run_bounded(text: str, scratch: Path) -> list[Diagnostic]:
    session = Session(stdout=lambda s: None, base_dir=scratch)
    timer = threading.Timer(RUN_BUDGET_S, session.interrupt)
    timer.start()
    try:
        return list(session.run(text, "fuzz.vt").diagnostics)
    finally:
        timer.cancel()


def check(text: str, scratch: Path) -> list[Failure]:
    """The internal errors ``text`` causes in ``analyze``, ``Session.run`` and the renderers."""
    failures: list[Failure] = []
    doors: list[tuple[str, Callable[[], list[Diagnostic]]]] = [
        ("analyze", lambda: list(analyze(text, path="fuzz.vt").diagnostics)),
        ("run", lambda: _run_bounded(text, scratch)),
    ]
    for door, call in doors:
        try:
            diagnostics = call()
            failures += _internal(diagnostics, door)
            for d in diagnostics:
                render_text(d)
            render_json(diagnostics)
        except Exception:
            failures.append(Failure(door, "traceback", traceback.format_exc(limit=-3)))
    return failures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.fuzz_cases",
        description="Run seeded fuzz cases through analyze and Session.run; exit 1 on any internal error.",
    )
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--cases", type=int, default=0, help="run cases START..N-1")
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--show", type=int, metavar="I", help="print case I's text and exit")
    parser.add_argument("--jsonl", action="store_true",
                        help="one JSON line before and after each case (for tools/scorecard/crashes.py)")
    args = parser.parse_args(argv)
    if args.show is not None:
        sys.stdout.write(case(args.seed, args.show).text)
        return 0
    failed = 0
    with tempfile.TemporaryDirectory(prefix="volta-fuzz-cases-") as scratch:
        for index in range(args.start, args.cases):
            current = case(args.seed, index)
            if args.jsonl:
                print(json.dumps({"start": index, "kind": current.kind}), flush=True)
            failures = check(current.text, Path(scratch))
            failed += bool(failures)
            if args.jsonl:
                print(json.dumps({"done": index, "failures": [[f.door, f.what, f.detail] for f in failures]}),
                      flush=True)
                continue
            for f in failures:
                print(f"case {index} ({current.kind}): {f.door}: {f.what}: {f.detail.strip().splitlines()[-1]}")
    if not args.jsonl:
        print(f"{args.cases - args.start} cases, seed {args.seed}: {failed} with internal errors")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
