"""The batch a diagnosis looks at: real images when there are some, seeded noise otherwise."""

from __future__ import annotations

from pathlib import Path

import torch

from .. import limits
from ..errors import UserError

__all__ = ["DATA_CHOICES", "data_batch", "normal_batch"]

# "normal" is the pre-filter's own batch (below); the others go through unitsearch.data.
DATA_CHOICES = ("synthetic", "cifar10", "cifar100", "normal")


def normal_batch(image_size: int, batch: int, num_classes: int, *, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed batch of standard-normal images and uniform labels.

    Normalised images have zero mean and unit variance per channel, so this batch
    has the right first two moments, but none of the spatial structure of real
    images: use :func:`data_batch` when a dataset is at hand.

    Args:
        image_size: Height and width.
        batch: Number of images (at least 2: BN in train mode needs a batch).
        num_classes: Labels are drawn from ``0 .. num_classes - 1``.
        seed: Seed of a private generator; the global RNG is not touched.

    Returns:
        float32 images ``[batch, 3, image_size, image_size]`` and int64 labels ``[batch]``.
    """
    limits.batch_size("batch", batch, low=limits.MIN_BN_BATCH)
    if image_size < 4:
        raise UserError(f"image size {image_size} is too small; expected at least 4 (two stride-2 stages)")
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 3, image_size, image_size, generator=gen)
    y = torch.randint(0, num_classes, (batch,), generator=gen)
    return x, y


def data_batch(
    name: str, *, image_size: int, batch: int, seed: int = 0, data_dir: str | Path | None = None,
    num_classes: int = 10,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """The first ``batch`` training images of a dataset, normalised as training sees them.

    Falls back to :func:`normal_batch` for ``name == "normal"`` and when
    :mod:`unitsearch.data` cannot be imported.

    Args:
        name: ``synthetic``, ``cifar10``, ``cifar100`` or ``normal``.
        image_size: Height and width (CIFAR is resized by the data module when not 32).
        batch: Number of images.
        seed: Seed of the dataset (synthetic generation, CIFAR hold-out) or of the noise.
        data_dir: Folder holding the CIFAR files.
        num_classes: Classes of the ``normal`` batch (datasets bring their own).

    Returns:
        Images ``[batch, 3, S, S]`` (float32, per-channel standardised), labels and the
        dataset's number of classes.
    """
    if name not in DATA_CHOICES:
        raise UserError(f"unknown data {name!r}; allowed: {', '.join(DATA_CHOICES)}")
    limits.batch_size("batch", batch, low=limits.MIN_BN_BATCH)
    try:
        from ..data import load_data
    except ImportError:
        load_data = None
    if name == "normal" or load_data is None:
        return (*normal_batch(image_size, batch, num_classes, seed=seed), num_classes)
    small = {"train_size": batch, "val_size": 1, "test_size": 0} if name == "synthetic" else {}
    data = load_data(name, data_dir=data_dir, image_size=image_size, seed=seed, **small)
    if data.train_x.shape[0] < batch:
        raise UserError(f"dataset {name!r} has {data.train_x.shape[0]} training images; expected at least {batch}")
    mean = torch.tensor(data.mean, dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.tensor(data.std, dtype=torch.float32).view(1, -1, 1, 1)
    x = (data.train_x[:batch].float() - mean) / std
    return x, data.train_y[:batch].long(), int(data.num_classes)
