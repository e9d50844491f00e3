"""The CNN layer benchmarks time the same math on both sides (checked at a small batch; nothing is timed)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from benchmarks.cnn import BENCHMARKS, build
from benchmarks.workloads import SPECS


@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_volta_and_pytorch_compute_the_same_layers(name: str) -> None:
    built = build(name, batch=2)
    assert built.max_diff < 1e-4
    assert SPECS[name].kind == "cnn"


def test_conv_benchmarks_report_gemm_flops() -> None:
    # net (a)'s second conv: 64 x 64 outputs of 14 x 14, 32 x 3 x 3 products each, three GEMMs
    assert build("cnn_a_conv2", batch=2).flops == 3 * 2 * 2 * 64 * 14 * 14 * 32 * 9
    assert build("cnn_a_relu_maxpool1", batch=2).flops == 0.0


def test_whole_training_steps_start_from_the_same_loss_and_train_both_sides() -> None:
    from benchmarks import cnn_train

    for name in sorted(cnn_train.BENCHMARKS):
        built = cnn_train.build(name)  # raises when the first losses differ
        assert abs(built.first_loss[0] - built.first_loss[1]) < 1e-4
        assert SPECS[name].kind == "cnn_train" and built.flops > 0
        built.volta()
        built.peer()
