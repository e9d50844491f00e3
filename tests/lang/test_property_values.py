"""A bare word in a property value is read as what its key expects (SPEC §5),
at run time exactly as the checker reads it."""

from __future__ import annotations

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


def test_a_word_of_the_key_wins_over_a_variable_of_that_name() -> None:
    rec = Recorder()
    result = rec.run(dedent("""
        sgd "adam"
        print sgd
        model m
            layers 2 2
            output softmax
        dataset d
            type xor
        train m on d
            epochs 1
            optimizer sgd
            lr 0.1
    """))
    assert error_codes(result) == [], [d.message for d in result.diagnostics]
    assert "optimizer = sgd (explicit)" in rec.out


def test_a_word_the_key_does_not_list_is_a_variable() -> None:
    rec = Recorder()
    result = rec.run(dedent("""
        chosen "momentum"
        model m
            layers 2 2
            output softmax
        dataset d
            type xor
        train m on d
            epochs 1
            optimizer chosen
            lr 0.1
    """))
    assert error_codes(result) == [], [d.message for d in result.diagnostics]
    assert "optimizer = momentum (explicit)" in rec.out
