"""Image data: folders of PNG/JPEG files, pixel scaling and normalisation,
and the seeded augmentation of training batches (SPEC §2.2).

Images are float32 ``[N, C, H, W]`` (channels first, as in PyTorch) with
pixels scaled to [0, 1], then normalised when asked. Decoding uses Pillow;
every problem with a file is a :class:`~volta_core.train.data_error.DataError`
naming it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from volta_core.present import plural
from volta_core.train.data_error import DataError

#: File endings read as images (case-insensitive), as torchvision's ImageFolder.
IMAGE_SUFFIXES: Final = (".png", ".jpg", ".jpeg")
#: Pillow's mode for each channel count.
_MODES: Final = {1: "L", 3: "RGB"}


@dataclass(frozen=True, slots=True)
class ImageFolder:
    """A decoded image folder: pixels ``[N, C, H, W]`` in [0, 1], class ids, class names."""

    x: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...]


def load_image_folder(root: Path, shown: str, channels: int, size: tuple[int, int] | None) -> ImageFolder:
    """Every image of ``root``'s class sub-folders, decoded to ``channels`` and
    resized (bilinear) to ``size`` when given.

    Class ids follow the sorted sub-folder names and files are read in sorted
    order, as torchvision's ImageFolder, so the result does not depend on the
    file system. ``shown`` is the folder as the program wrote it (messages).
    """
    from PIL import Image, UnidentifiedImageError  # decoding needs Pillow only here

    if not root.is_dir():
        raise DataError("is not a folder (an `images` dataset reads a folder of class sub-folders)",
                         path=shown, key="source", help="point `source` at the folder that holds one sub-folder per class")  # fmt: skip
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise DataError("has no class sub-folders", path=shown, key="source",
                         help="put the images of each class in a sub-folder named after the class")  # fmt: skip
    files: list[tuple[Path, int]] = []
    for label, name in enumerate(classes):
        found = sorted(p for p in (root / name).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not found:
            raise DataError(f"class folder `{name}` holds no PNG or JPEG files", path=f"{shown}/{name}", key="source")
        files += [(p, label) for p in found]
    pixels: list[np.ndarray] = []
    first: tuple[str, tuple[int, int]] | None = None
    for path, _ in files:
        where = f"{shown}/{path.parent.name}/{path.name}"
        try:
            with Image.open(path) as img:
                img.load()
                if size is None:
                    if first is None:
                        first = (where, (img.height, img.width))
                    elif (img.height, img.width) != first[1]:
                        raise DataError(
                            f"is {img.height}×{img.width} pixels, but `{first[0]}` is {first[1][0]}×{first[1][1]}",
                            path=where, key="source", help="add `size H W` to resize every image to one size",
                        )
                    decoded = img.convert(_MODES[channels])
                else:
                    decoded = img.convert(_MODES[channels]).resize((size[1], size[0]), Image.Resampling.BILINEAR)
        except UnidentifiedImageError:  # Pillow's message repeats the absolute path: say it plainly
            raise DataError("cannot be decoded as an image (not PNG or JPEG data, or truncated)", path=where,
                            key="source", help="remove or replace the file") from None  # fmt: skip
        except (OSError, SyntaxError, ValueError) as exc:
            raise DataError(f"cannot be decoded as an image ({_reason(exc)})", path=where, key="source",
                             help="remove or replace the file") from None  # fmt: skip
        array = np.asarray(decoded, dtype=np.uint8)
        pixels.append(array[None] if array.ndim == 2 else array.transpose(2, 0, 1))
    x = scale_pixels(np.stack(pixels))
    y = np.array([label for _, label in files], dtype=np.int64)
    return ImageFolder(x, y, tuple(classes))


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "…"


def scale_pixels(x: np.ndarray) -> np.ndarray:
    """``uint8`` pixels scaled to [0, 1] as float32 (divided by 255 in float32, as
    torchvision's ``ToTensor``); other numbers as float32, unchanged."""
    if x.dtype == np.uint8:
        return np.divide(x, np.float32(255), dtype=np.float32)
    return x.astype(np.float32, copy=False)


def as_images(x: np.ndarray) -> np.ndarray:
    """An array of examples as ``[N, C, H, W]``: ``[N, H, W]`` gets one channel."""
    return x[:, None] if x.ndim == 3 else x


def normalize(x: np.ndarray, values: Sequence[float]) -> np.ndarray:
    """``(x - mean) / std`` per channel of ``[N, C, H, W]`` (in place); ``values`` is
    one mean and one std, or C means then C stds."""
    channels = x.shape[1]
    if len(values) not in (2, 2 * channels):
        per_channel = "" if channels == 1 else f" or {2 * channels} (a mean per channel, then a std per channel)"
        raise DataError(
            f"`normalize` has {len(values)} values; images with {plural(channels, 'channel')} take 2 "
            f"(one mean, one std){per_channel}", key="normalize",
        )
    half = len(values) // 2
    mean = np.array(values[:half], np.float32).reshape(1, -1, 1, 1)
    std = np.array(values[half:], np.float32).reshape(1, -1, 1, 1)
    if np.any(std <= 0):
        raise DataError("`normalize` needs standard deviations above 0", key="normalize")
    x -= mean
    x /= std
    return x


@dataclass(frozen=True, slots=True)
class Augmentation:
    """``augment flip`` (``crop`` 0) and ``augment crop P`` settings of a dataset."""

    flip: bool = False
    crop: int = 0

    def __bool__(self) -> bool:
        return self.flip or self.crop > 0

    def draws(self, seed: int, epoch: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Per example of the epoch's order: whether to flip, and the crop offsets
        (row, column) in ``[0, 2P]``. From ``SeedSequence([seed, epoch, 1])``:
        deterministic, replayable, independent of the batch size."""
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, epoch, 1])))
        flips = rng.random(n) < 0.5 if self.flip else np.zeros(n, bool)
        offsets = rng.integers(0, 2 * self.crop + 1, size=(n, 2)) if self.crop else np.zeros((n, 2), np.int64)
        return flips, offsets

    def apply(self, x: np.ndarray, flips: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """A new batch: each image flipped horizontally where ``flips``, then
        zero-padded by P and cropped back to its size at ``offsets``."""
        out = np.where(flips[:, None, None, None], x[..., ::-1], x)
        if self.crop:
            p = self.crop
            padded = np.pad(out, ((0, 0), (0, 0), (p, p), (p, p)))
            h, w = x.shape[2], x.shape[3]
            out = np.stack([padded[i, :, r : r + h, c : c + w] for i, (r, c) in enumerate(offsets)])
        return np.ascontiguousarray(out, dtype=np.float32)


#: No augmentation (the default of every dataset).
NO_AUGMENTATION: Final = Augmentation()
