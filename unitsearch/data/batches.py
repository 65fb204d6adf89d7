"""Batches made on the data's device: the paper's augmentation and normalisation.

The images sit on the device as uint8 and every batch is cut, augmented and
normalised there, vectorised over the batch (the airbench way): no loader
processes, no Python loop over images, so a GPU never waits for the CPU.

Augmentation follows the paper (Sec. 4, after He et al. 2016a): pad 4 pixels,
take a random 32x32 crop, flip horizontally with probability 1/2. The pad is
scaled with the image (2 pixels at 16x16) so the crop moves images by the same
fraction of their width. As in fb.resnet.torch, normalisation comes first and
the pad is zeros afterwards, i.e. the padded border is the mean colour.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F

from .. import limits
from ._dataset import ImageData
from ._errors import DataError
from .folder import FolderData

__all__ = ["eval_batches", "normalize", "pad_for", "train_batches"]

_SPLITS = ("train", "val", "test")


def pad_for(image_size: int) -> int:
    """The crop padding: the paper's 4 pixels at 32x32, scaled with the image (at least 1)."""
    return max(1, round(4 * image_size / 32))


def normalize(x: torch.Tensor, data: ImageData) -> torch.Tensor:
    """uint8 images to float32, per channel ``(x - mean) / std`` with the training split's statistics."""
    mean = torch.tensor(data.mean, dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
    std = torch.tensor(data.std, dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
    return (x.float() - mean) / std


def train_batches(
    data: ImageData | FolderData,
    batch_size: int,
    *,
    generator: torch.Generator,
    augment: bool = True,
    channels_last: bool = False,
    drop_last: bool = False,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """One epoch of shuffled, augmented, normalised training batches.

    Args:
        data: The dataset; batches are made on its device.
        batch_size: Images per batch (the paper uses 128).
        generator: Source of the shuffle, crops and flips; all draws happen on the
            generator's device, so a seeded CPU generator gives the same epoch on any device.
        augment: Pad-and-crop plus horizontal flip; off gives shuffled clean images.
        channels_last: Return ``x`` in channels-last memory format (faster convs on GPUs).
        drop_last: Skip the last batch when it is smaller than ``batch_size``.

    Yields:
        ``(x, y)``: float32 ``[B, 3, H, W]`` and int64 ``[B]`` on the data's device.
    """
    limits.batch_size("batch size", batch_size)
    if isinstance(data, FolderData):  # too big for the device: a DataLoader decodes and augments it
        yield from data.train_batches(batch_size, generator=generator, augment=augment, channels_last=channels_last, drop_last=drop_last)
        return
    n, device = data.train_x.shape[0], data.train_x.device
    order = torch.randperm(n, generator=generator, device=generator.device).to(device)
    stop = n - n % batch_size if drop_last else n
    pad = pad_for(data.image_size)
    for start in range(0, stop, batch_size):
        idx = order[start : start + batch_size]
        x = normalize(data.train_x[idx], data)
        if augment:
            x = _crop_and_flip(x, pad, generator)
        yield _layout(x, channels_last), data.train_y[idx]


def eval_batches(
    data: ImageData | FolderData, split: str, batch_size: int, *, channels_last: bool = False
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """A split in order, normalised, without augmentation.

    Args:
        data: The dataset.
        split: ``"train"``, ``"val"`` or ``"test"``.
        batch_size: Images per batch (the last one may be smaller).
        channels_last: Return ``x`` in channels-last memory format.

    Yields:
        ``(x, y)``: float32 ``[B, 3, H, W]`` and int64 ``[B]`` on the data's device.
    """
    if split not in _SPLITS:
        raise DataError(f"unknown split {split!r}; expected one of: {', '.join(_SPLITS)}")
    limits.batch_size("batch size", batch_size)
    if isinstance(data, FolderData):
        yield from data.eval_batches(split, batch_size, channels_last=channels_last)
        return
    images, labels = getattr(data, f"{split}_x"), getattr(data, f"{split}_y")
    if images is None:
        raise DataError(f"dataset {data.name!r} has no {split} split; expected one of: train, val")
    for start in range(0, images.shape[0], batch_size):
        x = normalize(images[start : start + batch_size], data)
        yield _layout(x, channels_last), labels[start : start + batch_size]


def _crop_and_flip(x: torch.Tensor, pad: int, generator: torch.Generator) -> torch.Tensor:
    """Random crop of the zero-padded batch plus random horizontal flip, as one gather."""
    b, c, h, w = x.shape
    gen_device = generator.device
    dy = torch.randint(0, 2 * pad + 1, (b,), generator=generator, device=gen_device).to(x.device)
    dx = torch.randint(0, 2 * pad + 1, (b,), generator=generator, device=gen_device).to(x.device)
    flip = (torch.rand(b, generator=generator, device=gen_device) < 0.5).to(x.device)

    padded = F.pad(x, (pad, pad, pad, pad))  # zeros after normalising: the mean colour
    rows = dy[:, None] + torch.arange(h, device=x.device)  # [B, H]
    cols = dx[:, None] + torch.arange(w, device=x.device)  # [B, W]
    cols = torch.where(flip[:, None], cols.flip(1), cols)  # a flip reads the crop's columns backwards
    batch = torch.arange(b, device=x.device)[:, None, None, None]
    chan = torch.arange(c, device=x.device)[None, :, None, None]
    return padded[batch, chan, rows[:, None, :, None], cols[:, None, None, :]]


def _layout(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x.contiguous()
