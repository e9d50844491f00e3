"""`text` datasets with `task next_token`, and the runtime checks of token data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from volta_core.lang import Session
from volta_core.train.data import DataError, build_vocabulary, char_vocabulary, load_dataset, tokenize


def _load(tmp_path: Path, text: str, **props: object):  # type: ignore[no-untyped-def]
    (tmp_path / "c.txt").write_text(text, encoding="utf-8")
    base = {"type": "text", "task": "next_token", "source": "c.txt", "seq_len": 4, "shuffle": False}
    return load_dataset("c", {**base, **props}, tmp_path)


def test_char_windows_shift_by_one_and_pad_the_last(tmp_path: Path) -> None:
    data = _load(tmp_path, "abcabcabcabc")
    x, y = data.train.x, data.train.y
    assert x.dtype == y.dtype == np.int64 and x.shape[1] == y.shape[1] == 4
    assert np.array_equal(x[:, 1:], y[:, :-1])  # y is x shifted by one
    assert x.min() >= 2 or 0 in x[-1]  # ids from 2; 0 only as padding
    assert y[-1, -1] == 0  # the last window is padded
    assert data.vocab == 5 and data.n_classes == 5  # a b c + padding + unknown
    assert data.val is None


def test_split_is_by_position_and_vocabulary_from_training_text(tmp_path: Path) -> None:
    data = _load(tmp_path, "aaaaaaaaaaaaaaaaxyz", split=0.8)
    assert data.val is not None
    assert data.vocab == 3  # only `a` is in the training part
    assert (data.val.y[data.val.y > 0] == 1).any()  # x y z are unknown (1)


def _stream(x: np.ndarray, y: np.ndarray, stride: int) -> list[int]:
    """The token stream the windows were cut from: window i starts at ``i * stride``
    and holds ``x[i]`` then the last target ``y[i, -1]``; 0 is padding at the end."""
    seen: dict[int, int] = {}
    for i, (xs, ys) in enumerate(zip(x, y, strict=True)):
        for j, token in enumerate([*xs, ys[-1]]):
            if token == 0:
                break
            assert seen.setdefault(i * stride + j, int(token)) == token  # overlapping windows agree
    assert sorted(seen) == list(range(len(seen)))  # no gap
    return [seen[k] for k in range(len(seen))]


@pytest.mark.parametrize(
    ("tokens", "text"),
    [("char", "abcdefghij" * 10), ("word", " ".join(f"w{i % 10}" for i in range(50)))],
    ids=["char", "word"],
)
def test_train_and_validation_windows_partition_the_stream_at_the_cut(
    tmp_path: Path, tokens: str, text: str
) -> None:
    seq_len = 4
    data = _load(tmp_path, text, split=0.8, tokens=tokens, seq_len=seq_len)
    units = list(text) if tokens == "char" else tokenize(text)
    cut = round(len(units) * 0.8)
    # every unit occurs in the training part, so each has its own id
    vocabulary = (char_vocabulary("".join(units[:cut]), None) if tokens == "char"
                  else build_vocabulary([" ".join(units[:cut])], None))
    assert data.val is not None
    stride = seq_len // 2
    assert _stream(data.train.x, data.train.y, stride) == [vocabulary[u] for u in units[:cut]]
    assert _stream(data.val.x, data.val.y, stride) == [vocabulary[u] for u in units[cut:]]


def test_word_tokens(tmp_path: Path) -> None:
    data = _load(tmp_path, "The cat sat. The cat ran. The dog sat.", tokens="word", seq_len=3)
    assert data.vocab == 2 + 5
    assert data.train.x[0, 0] == 2  # `the` is the most frequent word


@pytest.mark.parametrize(("key", "value"), [("task", "summarise"), ("tokens", "byte")])
def test_bad_choices_are_data_errors(tmp_path: Path, key: str, value: str) -> None:
    with pytest.raises(DataError):
        _load(tmp_path, "abc", **{key: value})


def test_empty_text_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="empty"):
        _load(tmp_path, "  \n")


def _session(tmp_path: Path, emb_vocab: int) -> tuple[Session, list[str]]:
    (tmp_path / "c.txt").write_text("hello world, hello there. " * 20, encoding="utf-8")
    out: list[str] = []
    session = Session(stdout=out.append, base_dir=tmp_path)
    src = f"""dataset c
    type text
    task next_token
    source "c.txt"
    seq_len 8
model lm
    input tokens 8
    layer embedding {emb_vocab} 8
    layer transformer 2 16 causal
    layer dense {emb_vocab}
    loss cross_entropy
train lm on c
    epochs 1
"""
    result = session.run(src, "t.vt")
    return session, [f"{d.code} {d.message}" for d in result.diagnostics]


def test_vocabulary_larger_than_the_embedding_is_an_error(tmp_path: Path) -> None:
    _, diags = _session(tmp_path, 5)
    assert len(diags) == 1 and diags[0].startswith("E0506") and "embedding" in diags[0]


def test_next_token_training_runs(tmp_path: Path) -> None:
    session, diags = _session(tmp_path, 32)
    assert diags == []
    acc = session.globals["lm"].metrics["accuracy"]  # type: ignore[attr-defined]
    assert 0.0 <= acc <= 1.0
