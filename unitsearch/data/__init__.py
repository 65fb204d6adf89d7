"""Datasets: embedded synthetic images and CIFAR-10/100 as uint8 tensors on one device,
and any image folder (ImageNet's layout) read batch by batch by a DataLoader.

``load_data`` builds an :class:`ImageData` (train / val / test splits, the training
split's channel statistics, a fingerprint); ``train_batches`` and ``eval_batches``
cut it into normalised float batches on its device, with the paper's augmentation
for training.
"""

from __future__ import annotations

from ._dataset import DatasetName, ImageData, load_data, parse_name
from ._errors import DataError
from .folder import FolderData, read_folder
from .batches import eval_batches, normalize, pad_for, train_batches

__all__ = [
    "DataError",
    "DatasetName",
    "FolderData",
    "ImageData",
    "eval_batches",
    "load_data",
    "normalize",
    "pad_for",
    "parse_name",
    "read_folder",
    "train_batches",
]
