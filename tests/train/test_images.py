"""Image data (SPEC §2.2): `images` folders, npz image arrays, normalisation
and seeded augmentation; bad files get diagnostics naming the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from volta_core.lang import Session
from volta_core.train.data import DataError, load_dataset
from volta_core.train.images import Augmentation


def _png(path: Path, pixels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def _folder(root: Path, size: tuple[int, int] = (4, 5)) -> Path:
    rng = np.random.default_rng(0)
    for cls, count in (("zebra", 2), ("ant", 3)):
        for i in range(count):
            _png(root / cls / f"{i}.png", rng.integers(0, 256, (*size, 3), dtype=np.uint8))
    return root


def test_an_image_folder_is_read_like_torchvision_image_folder(tmp_path: Path) -> None:
    _folder(tmp_path / "imgs")
    data = load_dataset("d", {"type": "images", "source": "imgs", "shuffle": False}, tmp_path)
    assert data.sample_shape == (3, 4, 5) and data.n_features == 60 and data.n_classes == 2
    # classes in sorted folder-name order: ant = 0, zebra = 1; files in sorted order
    assert data.train.y.tolist() == [0, 0, 0, 1, 1]
    first = np.asarray(Image.open(tmp_path / "imgs" / "ant" / "0.png")).transpose(2, 0, 1) / 255
    np.testing.assert_allclose(data.train.x[0], first, rtol=0, atol=1e-7)
    assert data.train.x.dtype == np.float32 and data.train.x.min() >= 0 and data.train.x.max() <= 1


def test_channels_size_and_normalize(tmp_path: Path) -> None:
    _folder(tmp_path / "imgs")
    grey = load_dataset("d", {"type": "images", "source": "imgs", "channels": 1, "size": [8, 6], "shuffle": False},
                        tmp_path)  # fmt: skip
    assert grey.sample_shape == (1, 8, 6)
    img = Image.open(tmp_path / "imgs" / "ant" / "0.png").convert("L").resize((6, 8), Image.Resampling.BILINEAR)
    np.testing.assert_allclose(grey.train.x[0, 0], np.asarray(img) / 255, atol=1e-7)
    props = {"type": "images", "source": "imgs", "shuffle": False}
    raw = load_dataset("d", props, tmp_path).train.x
    norm = load_dataset("d", {**props, "normalize": [0.5, 0.5, 0.5, 0.2, 0.25, 0.5]}, tmp_path).train.x
    np.testing.assert_allclose(norm[:, 1], (raw[:, 1] - 0.5) / 0.25, rtol=1e-6)
    one = load_dataset("d", {**props, "normalize": [0.5, 0.5]}, tmp_path).train.x
    np.testing.assert_allclose(one, (raw - 0.5) / 0.5, rtol=1e-6)
    with pytest.raises(DataError, match=r"`normalize` has 4 values; images with 3 channels take 2"):
        load_dataset("d", {**props, "normalize": [0.5, 0.5, 0.5, 0.5]}, tmp_path)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda r: (r / "ant").mkdir(parents=True), r"`imgs/ant`: class folder `ant` holds no PNG or JPEG files"),
        (lambda r: r.mkdir(), r"`imgs`: has no class sub-folders"),
        (lambda r: r.write_text("x"), r"`imgs`: is not a folder"),
        (lambda r: (_folder(r), (r / "ant" / "9.png").write_bytes((r / "ant" / "0.png").read_bytes()[:40])),
         r"`imgs/ant/9.png`: cannot be decoded as an image"),
        (lambda r: (_folder(r), _png(r / "zebra" / "7.png", np.zeros((9, 5, 3), np.uint8))),
         r"`imgs/zebra/7.png`: is 9×5 pixels, but `imgs/ant/0.png` is 4×5"),
    ],
)
def test_bad_image_folders_name_the_file(tmp_path: Path, setup, message: str) -> None:  # type: ignore[no-untyped-def]
    setup(tmp_path / "imgs")
    with pytest.raises(DataError, match=message):
        load_dataset("d", {"type": "images", "source": "imgs"}, tmp_path)


def test_npz_image_arrays_keep_their_shape_and_uint8_is_scaled(tmp_path: Path) -> None:
    x = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    np.savez(tmp_path / "a.npz", x=x, y=np.array([0, 1]))
    data = load_dataset("d", {"type": "npz", "source": "a.npz", "shuffle": False}, tmp_path)
    assert data.sample_shape == (1, 3, 4)
    np.testing.assert_allclose(data.train.x[:, 0], x / 255, atol=1e-7)
    floats = np.random.default_rng(1).random((2, 2, 3, 4)).astype(np.float32)
    np.savez(tmp_path / "b.npz", x=floats, y=np.array([0, 1]))
    same = load_dataset("d", {"type": "npz", "source": "b.npz", "shuffle": False}, tmp_path)
    assert np.array_equal(same.train.x, floats)


def test_augmentation_is_seeded_per_epoch_and_replayable(tmp_path: Path) -> None:
    x = np.random.default_rng(2).random((10, 1, 4, 4)).astype(np.float32)
    np.savez(tmp_path / "a.npz", x=x, y=np.arange(10) % 2)
    props = {"type": "npz", "source": "a.npz", "augment": (["flip"], ["crop", 1]), "seed": 3, "shuffle": False}
    data = load_dataset("d", props, tmp_path)
    assert data.augment == Augmentation(flip=True, crop=1)
    epoch0 = [b[0] for b in data.batches(0, 4)]
    assert all(np.array_equal(a, b) for a, b in zip(epoch0, [b[0] for b in data.batches(0, 4)], strict=True))
    epoch1 = np.concatenate([b[0] for b in data.batches(1, 4)])
    assert not np.array_equal(np.concatenate(epoch0), epoch1)
    # the batch size does not change what an example becomes
    assert np.array_equal(np.concatenate(epoch0), np.concatenate([b[0] for b in data.batches(0, 3)]))
    # each augmented image is the original, maybe flipped, zero-padded by 1 and cropped back
    flips, offsets = data.augment.draws(3, 0, 10)
    for i, out in enumerate(np.concatenate(epoch0)):
        img = x[i, :, :, ::-1] if flips[i] else x[i]
        padded = np.pad(img, ((0, 0), (1, 1), (1, 1)))
        r, c = offsets[i]
        assert np.array_equal(out, padded[:, r : r + 4, c : c + 4])
    assert flips.any() and not flips.all() and len({tuple(o) for o in offsets}) > 1


def test_augment_and_normalize_need_images(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"`augment` needs images, but the examples have shape \[2\]"):
        load_dataset("d", {"type": "blobs", "augment": "flip"}, tmp_path)
    with pytest.raises(DataError, match=r"`augment crop` is not an augmentation"):
        load_dataset("d", {"type": "blobs", "augment": "crop"}, tmp_path)


def _run(tmp_path: Path, text: str) -> tuple[Session, str]:
    out: list[str] = []
    session = Session(stdout=out.append, base_dir=tmp_path)
    result = session.run(text, "p.vt")
    return session, "".join(out) + "".join(f"{d.code}: {d.message}\n" for d in result.errors)


def test_a_flat_model_trains_on_an_image_folder_and_shapes_must_match(tmp_path: Path) -> None:
    _folder(tmp_path / "imgs")
    model = "model m\n    input image 3 4 5\n    layer flatten\n    layer dense 2\n    loss cross_entropy\n"
    data = 'dataset d\n    type images\n    source "imgs"\n    batch 2\n    augment flip\n    seed 1\n'
    _, text = _run(tmp_path, model + data + "train m on d\n    epochs 2\n")
    assert "trained m: 2 epochs, 6 steps" in text
    grey = data.replace("    batch 2\n", "    batch 2\n    channels 1\n")
    _, text = _run(tmp_path, model + grey + "train m on d\n")
    assert "E0506: `d` has images [1, 4, 5] but model `m` takes [3, 4, 5]" in text


def test_infer_on_an_image_model_reads_npz_arrays_or_flat_csv_rows(tmp_path: Path) -> None:
    x = np.random.default_rng(4).integers(0, 256, (3, 1, 4, 5), dtype=np.uint8)
    np.savez(tmp_path / "in.npz", x=x)
    flat = x.reshape(3, -1).astype(np.float32) / np.float32(255)
    header = ",".join(f"p{i}" for i in range(20))
    rows = "\n".join(",".join(repr(float(v)) for v in row) for row in flat)
    (tmp_path / "in.csv").write_text(f"{header}\n{rows}\n", encoding="utf-8")
    model = "model m\n    input image 1 4 5\n    layer conv 2 3 pad same\n    layer flatten\n    layer dense 3\n    loss cross_entropy\n"
    session, text = _run(tmp_path, model + 'infer m on "in.npz" as "a.csv"\ninfer m on "in.csv" as "b.csv"\n')
    assert "wrote 3 predictions to a.csv" in text and "wrote 3 predictions to b.csv" in text
    a = np.loadtxt(tmp_path / "a.csv", delimiter=",", skiprows=1)
    b = np.loadtxt(tmp_path / "b.csv", delimiter=",", skiprows=1)
    net = session.globals["m"].net  # type: ignore[union-attr]
    np.testing.assert_allclose(a, net.predict(flat.reshape(3, 1, 4, 5)), rtol=1e-6)
    assert np.array_equal(a, b)  # uint8 pixels scaled exactly as the CSV's values
    np.savez(tmp_path / "bad.npz", x=np.zeros((2, 3, 3)))
    _, text = _run(tmp_path, model + 'infer m on "bad.npz" as "c.csv"\n')
    assert "E0623: `" in text and "examples of shape [3, 3] (float64) do not fit model `m`, which takes [1, 4, 5]" in text


def test_infer_on_a_file_without_as_prints_the_predictions(tmp_path: Path) -> None:
    x = np.random.default_rng(8).integers(0, 256, (2, 1, 4, 5), dtype=np.uint8)
    np.savez(tmp_path / "in.npz", x=x)
    model = "model m\n    input image 1 4 5\n    layer flatten\n    layer dense 3\n    loss cross_entropy\n"
    session, text = _run(tmp_path, model + 'infer m on "in.npz"\n')
    lines = [line for line in text.splitlines() if line.startswith("class ")]
    probs = session.globals["m"].net.predict(x.astype(np.float32) / np.float32(255))  # type: ignore[union-attr]
    assert lines == [f"class {int(np.argmax(p))}  probabilities " + " ".join(f"{v:.4f}" for v in p) for p in probs]
    assert not list(tmp_path.glob("*.csv"))


def test_infer_says_when_the_model_learnt_on_normalised_images_and_reads_raw_values(tmp_path: Path) -> None:
    """`infer` feeds file and row values as they are; after training on a dataset with
    `normalize` it says so (once per infer), and not for weights loaded from a file or a
    dataset without `normalize`."""
    _folder(tmp_path / "imgs")
    np.savez(tmp_path / "in.npz", x=np.zeros((2, 3, 4, 5), np.uint8))
    dataset = 'dataset d\n    type images\n    source "imgs"\n    normalize 0.5 0.25\n    batch 5\n'
    plain = dataset.replace("    normalize 0.5 0.25\n", "").replace("dataset d", "dataset p")
    model = "model m\n    input image 3 4 5\n    layer flatten\n    layer dense 2\n    loss cross_entropy\n"
    note = "note: `m` was trained on `d`, which normalises its images (`normalize 0.5 0.25`); infer feeds the values"
    _, text = _run(tmp_path, dataset + plain + model + "train m on d\n    epochs 1\n"
                   'infer m on "in.npz"\ninfer m on "in.npz" as "o.csv"\nsave m as "w.safetensors"\n'
                   'load m from "w.safetensors"\ninfer m on "in.npz"\n'
                   "train m on d\n    epochs 1\ntrain m on p\n    epochs 1\ninfer m on \"in.npz\"\n")
    assert text.count(note) == 2, text
    assert note + " of `in.npz` as they are: normalise them the same way" in text
    before_load, after_load = text.split("loaded m from w.safetensors")
    assert before_load.count("note: `m`") == 2 and "note: `m`" not in after_load
