"""The dataset object every trainer receives, and the one function that builds it."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from . import cifar, folder, synthetic
from ._errors import DataError
from .folder import FolderData

__all__ = ["DataError", "DatasetName", "ImageData", "load_data"]


class DatasetName(str, enum.Enum):
    """A dataset ``load_data`` knows how to build."""

    SYNTHETIC = "synthetic"  # embedded, procedurally generated; no files, no network
    CIFAR10 = "cifar10"  # CIFAR-10 python version, read with torchvision
    CIFAR100 = "cifar100"  # CIFAR-100 python version, read with torchvision
    IMAGEFOLDER = "imagefolder"  # DIR/train/<class>/* and DIR/val/<class>/*, read batch by batch (ImageNet's layout)


# Synthetic split sizes when none are given: on 16k images a ResNet-56 of width 8 at
# 16x16 takes about 25 s an epoch on one CPU core and 8 epochs end near 35% error,
# far from both chance and zero (measured; see synthetic.py).
_SYNTHETIC_TRAIN = 16000
_SYNTHETIC_VAL = 2000
_SYNTHETIC_TEST = 2000
# The paper tunes on a 45k/5k split of the CIFAR training set.
_CIFAR_VAL = 5000


@dataclass
class ImageData:
    """Images as uint8 tensors on one device, split into train / val / test.

    Attributes:
        name: The dataset's name (a ``DatasetName`` value).
        num_classes: Number of classes; labels are ``0 .. num_classes - 1``.
        train_x: uint8 ``[N, 3, H, W]`` training images.
        train_y: int64 ``[N]`` training labels.
        val_x: Validation images, held out from the training set.
        val_y: Validation labels.
        test_x: Test images, or None when there is no test split.
        test_y: Test labels, or None.
        mean: Per-channel mean of the training split, 0..255 scale.
        std: Per-channel standard deviation of the training split, 0..255 scale.
        fingerprint: Short hex digest of the configuration and every tensor's bytes.
    """

    name: str
    num_classes: int
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor | None
    test_y: torch.Tensor | None
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    fingerprint: str

    @property
    def image_size(self) -> int:
        """Height (= width) of every image in pixels."""
        return int(self.train_x.shape[-1])

    @property
    def device(self) -> torch.device:
        """The device the images live on."""
        return self.train_x.device

    @property
    def n_train(self) -> int:
        return int(self.train_y.shape[0])

    @property
    def n_val(self) -> int:
        return int(self.val_y.shape[0])

    @property
    def n_test(self) -> int:
        return 0 if self.test_y is None else int(self.test_y.shape[0])

    def to(self, device: torch.device | str) -> ImageData:
        """A copy with every tensor on ``device``; images stay uint8 (4x less memory than float)."""

        def move(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(device)

        return replace(
            self,
            train_x=move(self.train_x), train_y=move(self.train_y),
            val_x=move(self.val_x), val_y=move(self.val_y),
            test_x=move(self.test_x), test_y=move(self.test_y),
        )


def parse_name(name: str | DatasetName) -> DatasetName:
    """The ``DatasetName`` for ``name`` (case-insensitive), or a DataError listing the choices."""
    try:
        return DatasetName(str(getattr(name, "value", name)).strip().lower())
    except ValueError:
        allowed = ", ".join(d.value for d in DatasetName)
        raise DataError(f"unknown dataset {name!r}; expected one of: {allowed}") from None


def load_data(
    name: str | DatasetName = "synthetic",
    *,
    data_dir: str | Path | None = None,
    download: bool = False,
    image_size: int = 32,
    train_size: int | None = None,
    val_size: int | None = None,
    test_size: int | None = None,
    seed: int = 0,
) -> ImageData | FolderData:
    """Build a dataset on the CPU; move it with ``ImageData.to``.

    Args:
        name: ``"synthetic"`` (default), ``"cifar10"``, ``"cifar100"`` or ``"imagefolder"``.
        data_dir: Folder holding ``cifar-10-batches-py`` / ``cifar-100-python`` (CIFAR;
            default ``./data``), or ``train/<class>/`` and ``val/<class>/`` (imagefolder, required).
        download: Let torchvision download CIFAR into ``data_dir`` when it is missing.
        image_size: Image height and width. Synthetic images are drawn at this size;
            CIFAR is resized once here (antialiased) when it is not 32.
        train_size: Cap on the training split (None: all of it; synthetic: 16000).
        val_size: Validation images held out from the training set (None: 5000 for
            CIFAR as in the paper's 45k/5k split, 2000 for synthetic).
        test_size: Cap on the test split (None: the full official test set; synthetic: 2000).
        seed: Seed of the validation hold-out (CIFAR) or of the whole generation (synthetic).

    Returns:
        The splits as uint8 images with int64 labels, the training split's per-channel
        mean and std, and a fingerprint of exactly this data; for ``imagefolder`` a
        :class:`FolderData` that reads its images batch by batch (``train_size`` and
        ``val_size`` cap its splits, there is no test split).
    """
    dataset = parse_name(name)
    if not 8 <= int(image_size) <= 256:
        raise DataError(f"image size {image_size} is out of range; expected 8 to 256 pixels")
    for label, value, least in (("train size", train_size, 1), ("val size", val_size, 1), ("test size", test_size, 0)):
        if value is not None and int(value) < least:
            raise DataError(f"{label} {value} is invalid; expected a whole number >= {least}")

    if dataset is DatasetName.IMAGEFOLDER:
        return folder.read_folder(data_dir, image_size=image_size, train_size=train_size, val_size=val_size, seed=seed)
    if dataset is DatasetName.SYNTHETIC:
        splits = _synthetic_splits(image_size, train_size, val_size, test_size, seed)
        num_classes = synthetic.NUM_CLASSES
    else:
        root = Path(data_dir) if data_dir is not None else Path("data")
        raw = cifar.read_cifar(dataset.value, data_dir=root, download=download)
        splits = _cifar_splits(raw, image_size, train_size, val_size, test_size, seed)
        num_classes = raw.num_classes
    train_x, train_y, val_x, val_y, test_x, test_y = splits

    mean, std = _channel_stats(train_x)
    config = f"{dataset.value}|size={image_size}|seed={seed}|n={len(train_y)},{len(val_y)},{len(test_y)}"
    return ImageData(
        name=dataset.value,
        num_classes=num_classes,
        train_x=train_x, train_y=train_y,
        val_x=val_x, val_y=val_y,
        test_x=test_x if len(test_y) else None,
        test_y=test_y if len(test_y) else None,
        mean=mean,
        std=std,
        fingerprint=_fingerprint(config, (train_x, train_y, val_x, val_y, test_x, test_y)),
    )


def _synthetic_splits(
    image_size: int, train_size: int | None, val_size: int | None, test_size: int | None, seed: int
) -> tuple[torch.Tensor, ...]:
    """Each split from its own random stream, so changing one size leaves the others as they were."""
    sizes = {
        "train": _SYNTHETIC_TRAIN if train_size is None else int(train_size),
        "val": _SYNTHETIC_VAL if val_size is None else int(val_size),
        "test": _SYNTHETIC_TEST if test_size is None else int(test_size),
    }
    out: list[torch.Tensor] = []
    for split, n in sizes.items():
        out.extend(synthetic.generate(n, image_size=image_size, seed=seed, split=split))
    return tuple(out)


def _cifar_splits(
    raw: cifar.RawCifar,
    image_size: int,
    train_size: int | None,
    val_size: int | None,
    test_size: int | None,
    seed: int,
) -> tuple[torch.Tensor, ...]:
    """Validation held out of the official training set; the test split is the official test set."""
    n_all = raw.train_x.shape[0]
    n_val = _CIFAR_VAL if val_size is None else int(val_size)
    if n_val >= n_all:
        raise DataError(f"val size {n_val} leaves no training images; expected fewer than {n_all}")
    train_idx, val_idx = _hold_out(n_all, n_val, seed)
    if train_size is not None:
        train_idx = train_idx[: int(train_size)]
    # The test split is the head of the official test set, the same for every seed.
    n_test = raw.test_x.shape[0] if test_size is None else int(test_size)
    xs = [raw.train_x[train_idx], raw.train_x[val_idx], raw.test_x[:n_test]]
    ys = [raw.train_y[train_idx], raw.train_y[val_idx], raw.test_y[:n_test]]
    if image_size != raw.train_x.shape[-1]:
        xs = [cifar.resize(x, image_size) for x in xs]
    return xs[0], ys[0], xs[1], ys[1], xs[2], ys[2]


def _hold_out(n: int, n_val: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of the training and validation parts: a seeded permutation, each part in file order."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[n_val:].sort().values, perm[:n_val].sort().values


def _channel_stats(x: torch.Tensor) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """Per-channel mean and std of uint8 images on the 0..255 scale, in float64 for exactness."""
    flat = x.transpose(0, 1).reshape(x.shape[1], -1).double()
    mean = flat.mean(dim=1)
    std = flat.std(dim=1, unbiased=False).clamp(min=1e-3)  # a constant channel must not divide by 0
    return tuple(mean.tolist()), tuple(std.tolist())  # type: ignore[return-value]


def _fingerprint(config: str, tensors: tuple[torch.Tensor, ...]) -> str:
    """16 hex digits of sha256 over the configuration and the bytes of every tensor."""
    h = hashlib.sha256(config.encode())
    for t in tensors:
        h.update(str(tuple(t.shape)).encode())
        h.update(t.contiguous().numpy().tobytes())
    return h.hexdigest()[:16]
