"""A bare word in a property value is read as what its key expects (SPEC §5),
at run time exactly as the checker reads it."""

from __future__ import annotations

import pytest

from .helpers import Recorder, dedent, error_codes


def test_a_dataset_type_named_like_a_model_is_the_type() -> None:
    # The original Volta's examples/xor.vt: a model `xor`, then `type xor`.
    rec = Recorder()
    result = rec.run(dedent("""
        model xor
            layers 2 4 1
            activation sigmoid
        dataset xor_data
            type xor
            batch 4
        train xor on xor_data
            epochs 3
            optimizer sgd
            lr 0.5
            device cpu
        print xor_data.size
    """))
    assert error_codes(result) == [], [d.message for d in result.diagnostics]
    assert rec.out.endswith("4\n")


@pytest.mark.parametrize(("declared", "chosen"), [
    ('sgd "adam"\nprint sgd\n', "sgd"),  # a word the key lists wins over a variable of that name
    ('chosen "momentum"\n', "momentum"),  # any other word is the variable's value
])
def test_a_bare_word_is_one_of_the_keys_words_or_else_a_variable(declared: str, chosen: str) -> None:
    rec = Recorder()
    word = declared.split()[0]
    result = rec.run(declared + dedent(f"""
        model m
            layers 2 2
            output softmax
        dataset d
            type xor
        train m on d
            epochs 1
            optimizer {word}
            lr 0.1
    """))
    assert error_codes(result) == [], [d.message for d in result.diagnostics]
    assert f"optimizer = {chosen} (explicit)" in rec.out
