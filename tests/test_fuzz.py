"""Fuzz the front end (DESIGN §5): no input may raise anything but diagnostics.

Three generators — random text, token soup from the language's vocabulary and
mutations of the valid programs in ``tests/fuzz_corpus`` — feed ``analyze``
and ``Session.run``. Every diagnostic must carry a registered code, spans
inside the text, and render as text and JSON.

Runs are reproducible (``derandomize=True``, no example database) and bounded:
each execution is interrupted after :data:`RUN_BUDGET_S` seconds, so a fuzzed
``loop 1000000000`` costs a fraction of a second, not the CI budget.
"""

from __future__ import annotations

import json
import tempfile
import threading
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from volta_core.analysis import analyze
from volta_core.diagnostic_codes import CODES
from volta_core.diagnostics import Diagnostic, render_json, render_text
from volta_core.lang import RunResult, Session
from volta_core.syntax.tokens import KEYWORDS

CORPUS_DIR = Path(__file__).resolve().parent / "fuzz_corpus"


def corpus_programs() -> list[tuple[str, str]]:
    return [(p.name, p.read_text(encoding="utf-8")) for p in sorted(CORPUS_DIR.glob("*.vt"))]



EXAMPLES_PER_TEST = 1000
RUN_BUDGET_S = 0.2

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_TEST,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)

CORPUS = [text for _, text in corpus_programs()]
EXAMPLES_DIR = CORPUS_DIR.parent.parent / "examples"
#: The corpus and the example programs (run in a scratch folder: files they read are missing there).
PROGRAMS = CORPUS + [p.read_text(encoding="utf-8") for p in sorted(EXAMPLES_DIR.rglob("*.vt"))]


# ----------------------------------------------------------------- property


def _check_span(span: object, length: int, what: str) -> None:
    start, end = span.start, span.end  # type: ignore[attr-defined]
    assert 0 <= start <= end <= length, f"{what} span {start}..{end} outside text of length {length}"


#: What a Python repr of an internal object looks like (a runtime handle, a network, an array).
INTERNAL_REPRS = ("Handle(", "Network(", "array(")
#: Longest message, label, help or note a diagnostic may have.
MAX_MESSAGE = 500


def check_wording(d: Diagnostic) -> None:
    """No text of ``d`` shows a Python repr of an internal object or runs past :data:`MAX_MESSAGE`."""
    texts = [d.message, d.label, *d.helps, *d.notes, *(label.message for label in d.labels)]
    for text in texts:
        assert not any(r in text for r in INTERNAL_REPRS), f"{d.code} shows a Python repr: {text[:200]}"
        assert len(text) <= MAX_MESSAGE, f"{d.code}: {len(text)} characters: {text[:200]}…"


def check_diagnostics(diagnostics: list[Diagnostic], text_length: int) -> None:
    for d in diagnostics:
        assert d.code in CODES, d.code
        assert d.code != "E9999", render_text(d)
        assert d.message
        check_wording(d)
        _check_span(d.span, text_length, d.code)
        for label in d.labels:
            _check_span(label.span, text_length, f"{d.code} label")
        for fix in d.fixes:
            assert fix.title and fix.edits
            for edit in fix.edits:
                _check_span(edit.span, text_length, f"{d.code} fix")
        rendered = render_text(d)
        assert rendered.startswith(("error[", "warning[")), rendered
        render_text(d, colour=True)
    data = json.loads(render_json(diagnostics))
    assert [entry["code"] for entry in data] == [d.code for d in diagnostics]


_SCRATCH = Path(tempfile.mkdtemp(prefix="volta-fuzz-"))


def run_bounded(text: str) -> RunResult:
    """``Session.run`` with an interrupt after :data:`RUN_BUDGET_S` seconds."""
    # Programs may `save`/`infer … as` files: keep them out of the checkout.
    session = Session(stdout=lambda s: None, base_dir=_SCRATCH)
    timer = threading.Timer(RUN_BUDGET_S, session.interrupt)
    timer.start()
    try:
        result = session.run(text, "fuzz.vt")
    finally:
        timer.cancel()
    check_diagnostics(list(result.diagnostics), len(result.analysis.source.text))
    return result


def check_text(text: str) -> None:
    analysis = analyze(text, path="fuzz.vt")
    length = len(analysis.source.text)
    assert analysis.program.span.end == length
    check_diagnostics(analysis.diagnostics, length)
    run_bounded(text)


# --------------------------------------------------------------- strategies

random_bytes_text = st.binary(max_size=600).map(lambda b: b.decode("utf-8", errors="replace"))
random_unicode_text = st.text(
    alphabet=st.characters(exclude_categories=("Cs",)), max_size=400
)
#: Characters that matter to the lexer, so random text hits its edge cases often.
lexer_text = st.text(alphabet=' \t\n\r"\\#/.-+*=<>!()0123456789eE_azAZ', max_size=300)

PROPERTY_KEYS = [
    "layers", "layer", "activation", "output", "loss", "seed", "input", "optimizer", "precision",
    "type", "source", "target", "batch", "shuffle", "split", "samples", "classes", "text", "vocab",
    "seq_len", "epochs", "steps", "lr", "momentum", "weight_decay", "clip_grad", "lr_schedule",
    "warmup_steps", "early_stopping", "device", "determinism", "log_every", "with",
]
WORDS = [
    "relu", "sigmoid", "tanh", "gelu", "silu", "softmax", "dense", "embedding", "positional",
    "attention", "transformer", "layernorm", "dropout", "mean_pool", "tokens", "causal", "csv",
    "xor", "blobs", "spiral", "synthetic", "adam", "sgd", "mse", "cross_entropy", "bce", "cpu",
    "x", "y", "n", "f", "g", "m", "d", "brain", "digits", "loss", "accuracy", "steps",
]
OPERATORS = ["+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "=", "(", ")", ",", ".", ".."]
NUMBERS = ["0", "1", "2", "3", "10", "784", "0.5", "1e-3", "2.5E+4", "1.", "1e", "9223372036854775807",
           "9223372036854775808", "99999999999999999999", "1000000000", "-1"]
STRINGS = ['"a"', '""', '"data.csv"', '"x\\n"', '"bad\\q"', '"open', '"tab\there"', '"é😀"']
LAYOUT = ["\n", "\n    ", "\n        ", "\n  ", "\t", "\r\n", "\r", "# c\n", "// c\n"]

token = st.one_of(
    st.sampled_from(sorted(KEYWORDS)),
    st.sampled_from(PROPERTY_KEYS),
    st.sampled_from(WORDS),
    st.sampled_from(OPERATORS),
    st.sampled_from(NUMBERS),
    st.sampled_from(STRINGS),
    st.sampled_from(LAYOUT),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True),
    st.integers(min_value=0, max_value=10**20).map(str),
)
separator = st.sampled_from([" ", " ", " ", "", "\n", "\n    ", "\n        "])
token_soup = st.lists(st.tuples(token, separator), max_size=80).map(
    lambda pairs: "".join(tok + sep for tok, sep in pairs)
)


@st.composite
def mutated_program(draw: st.DrawFn) -> str:
    """A corpus program with a few line-level and character-level mutations."""
    lines = draw(st.sampled_from(CORPUS)).split("\n")
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        if not lines:
            lines = [""]
        i = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        op = draw(
            st.sampled_from(
                ["delete", "duplicate", "swap", "tab", "indent", "dedent", "truncate_line", "insert_token",
                 "move"]
            )
        )
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(min_value=0, max_value=len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "move":
            line = lines.pop(i)
            lines.insert(draw(st.integers(min_value=0, max_value=len(lines))), line)
        elif op == "tab":
            k = draw(st.integers(min_value=0, max_value=len(lines[i])))
            lines[i] = lines[i][:k] + "\t" + lines[i][k:]
        elif op == "indent":
            lines[i] = " " * draw(st.sampled_from([1, 2, 3, 4, 8, 12])) + lines[i]
        elif op == "dedent":
            lines[i] = lines[i].lstrip(" ")
        elif op == "truncate_line":
            lines[i] = lines[i][: draw(st.integers(min_value=0, max_value=len(lines[i])))]
        else:
            k = draw(st.integers(min_value=0, max_value=len(lines[i])))
            lines[i] = lines[i][:k] + draw(token) + lines[i][k:]
    text = "\n".join(lines)
    if draw(st.booleans()):
        text = text[: draw(st.integers(min_value=0, max_value=len(text)))]
    return text


def _block_headers(lines: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if line.split(" ", 1)[0] in ("model", "dataset", "train")]


#: Keys a property line may get: every schema key, misspellings and keys of other blocks
#: or of the original Volta (`use FN`, `dropout P`, `layernorm yes`).
MUTATION_KEYS = [*PROPERTY_KEYS, "epoch", "outptu", "use", "dropout", "layernorm", "features", "task", "tokens"]
MUTATION_VALUES = [*WORDS, *NUMBERS, *STRINGS, "yes", "no", "true", "false", "0.2", "adagrad", "f"]


@st.composite
def program_with_property_lines(draw: st.DrawFn) -> str:
    """A corpus or example program with property lines added to, or changed in, its blocks."""
    lines = draw(st.sampled_from(PROGRAMS)).split("\n")
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        headers = _block_headers(lines)
        if not headers:
            break
        at = draw(st.sampled_from(headers)) + 1
        values = draw(st.lists(st.sampled_from(MUTATION_VALUES), min_size=1, max_size=3))
        line = "    " + " ".join([draw(st.sampled_from(MUTATION_KEYS)), *values])
        if at < len(lines) and lines[at].startswith("    ") and draw(st.booleans()):
            lines[at] = line  # change a property line
        else:
            lines.insert(at, line)
    return "\n".join(lines)


def is_static(code: str) -> bool:
    """Codes of what a program says, not of its data or its run: lexical, syntax, property,
    name, type and shape errors (E00xx–E04xx, E0501–E0504). E0505/E0506 depend on a
    dataset's contents; E06xx and later on the run."""
    return code[1:3] in ("00", "01", "02", "03", "04") or code in ("E0501", "E0502", "E0503", "E0504")


def check_then_run(text: str) -> None:
    """What `volta check` accepts without errors must not fail at run time for a static reason."""
    if analyze(text, path="fuzz.vt").errors:
        return
    result = run_bounded(text)
    static = [f"{d.code}: {d.message}" for d in result.errors if is_static(d.code)]
    assert static == [], f"`volta check` passed, the run failed for a static reason: {static}\n{text}"


# -------------------------------------------------------------------- tests


@FUZZ_SETTINGS
@given(st.one_of(random_bytes_text, random_unicode_text, lexer_text))
def test_random_text_never_raises(text: str) -> None:
    check_text(text)


@FUZZ_SETTINGS
@given(token_soup)
def test_token_soup_never_raises(text: str) -> None:
    check_text(text)


@FUZZ_SETTINGS
@given(mutated_program())
def test_mutated_programs_never_raise(text: str) -> None:
    check_text(text)


@settings(FUZZ_SETTINGS, max_examples=300)
@given(st.one_of(mutated_program(), program_with_property_lines()))
@example("fn f(x)\n    return x\nmodel m\n    layers 2 2\n    use f\nprint m.params\n")
@example("model xor\n    layers 2 2 1\ndataset d\n    type xor\ntrain xor on d\n    epochs 1\n")
def test_what_check_accepts_does_not_fail_at_run_time_for_a_static_reason(text: str) -> None:
    check_then_run(text)


def test_corpus_programs_run_with_plain_wording() -> None:
    """Every corpus program as written, checked and run: its diagnostics (a runtime error
    included) are well formed and worded for people (``check_wording``)."""
    for _, text in corpus_programs():
        check_text(text)


def test_corpus_programs_are_clean() -> None:
    """The unmutated corpus parses without errors (mutations start from valid code)."""
    assert len(CORPUS) >= 8
    for name, text in corpus_programs():
        errors = [(d.code, d.message) for d in analyze(text, path=name).errors]
        assert errors == [], name
