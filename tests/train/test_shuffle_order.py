"""The order in which `train` feeds the training split (docs/training.md, "The loop").

Every epoch is reshuffled: from the dataset's seed, or, when the `train` block
gives ``seed S``, as the permutation drawn by
``Generator(PCG64(SeedSequence([S, epoch])))`` where ``epoch`` is the 0-based
epoch number over the model's life (a second `train` continues the sequence).
The batches are observed as the network receives them.
"""

from __future__ import annotations

import numpy as np
import pytest

from volta_core.lang import Session
from volta_core.train.data import Dataset, epoch_order

N, BATCH, DATA_SEED, TRAIN_SEED = 24, 6, 5, 11
PROGRAM = f"""model m
    layers 2 4 3
    output softmax
    seed 1
dataset d
    type blobs
    samples {N}
    classes 3
    batch {BATCH}
    seed {DATA_SEED}
"""


def _orders(train_blocks: list[str], program: str = PROGRAM) -> tuple[list[np.ndarray], Dataset]:
    """The row order of every epoch trained by ``train_blocks``, in the training split's numbering."""
    session = Session(stdout=lambda s: None)
    assert session.run(program, "t.vt").ok
    model = session.globals["m"]
    data = session.globals["d"].load()  # type: ignore[union-attr]
    index = {row.tobytes(): i for i, row in enumerate(data.train.x)}
    assert len(index) == N  # rows are distinct: each batch row names its example
    fed: list[int] = []
    original = model.net.train_step  # type: ignore[union-attr]

    def recording(x, y, *args, **kwargs):  # type: ignore[no-untyped-def]
        fed.extend(index[row.tobytes()] for row in x)
        return original(x, y, *args, **kwargs)

    model.net.train_step = recording  # type: ignore[union-attr]
    for block in train_blocks:
        assert session.run(block, "t.vt").ok
    assert len(fed) % N == 0
    return [np.asarray(fed[i : i + N]) for i in range(0, len(fed), N)], data


def _documented(seed: int, epoch: int) -> np.ndarray:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, epoch]))).permutation(N)


def test_a_train_seed_gives_the_documented_order_every_epoch_over_the_models_life() -> None:
    block = f"train m on d\n    epochs 3\n    seed {TRAIN_SEED}\n"
    orders, _ = _orders([block, block.replace("epochs 3", "epochs 2")])
    assert len(orders) == 5
    for epoch, order in enumerate(orders):
        assert list(order) == list(_documented(TRAIN_SEED, epoch)), f"epoch {epoch}"
    assert len({tuple(o) for o in orders}) == 5  # every epoch differs


def test_without_a_train_seed_the_dataset_seed_orders_the_epochs() -> None:
    orders, data = _orders(["train m on d\n    epochs 3\n"])
    assert data.seed == DATA_SEED
    for epoch, order in enumerate(orders):
        assert list(order) == list(epoch_order(DATA_SEED, epoch, N)) == list(_documented(DATA_SEED, epoch))
    assert len({tuple(o) for o in orders}) == 3


@pytest.mark.parametrize("seed_line", ["", f"    seed {TRAIN_SEED}\n"])
def test_shuffle_false_keeps_the_stored_order(seed_line: str) -> None:
    orders, _ = _orders(["train m on d\n    epochs 2\n" + seed_line], PROGRAM + "    shuffle false\n")
    assert all(list(o) == list(range(N)) for o in orders)
