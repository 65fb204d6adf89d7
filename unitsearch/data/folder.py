"""Any folder of images, read by torchvision's ImageFolder: ``DIR/train/<class>/*`` and ``DIR/val/<class>/*``.

This is the ImageNet layout, and the one a user's own data is easiest to put in.
Unlike the embedded set and CIFAR, such data does not fit on the device, so the
images are decoded and augmented by a ``DataLoader`` with worker processes and
pinned memory, and only the batches travel to the device.

Augmentation is the standard ImageNet one (fb.resnet.torch, torchvision's
reference scripts): a random-resized crop (the scale and aspect-ratio
augmentation of Szegedy et al. 2015) and a horizontal flip for training; for
validation, resize the shorter side to 256/224 of the image size and take the
centre crop. Images are normalised with the ImageNet channel statistics, as in
both of those: computing a folder's own would mean decoding all of it first.

Every problem a folder can have is found before training starts and reported in
one line: a missing folder, an empty class, class lists that differ between
train/ and val/, and files PIL cannot open (every file's header is read once).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import datasets, transforms

from ._errors import DataError

__all__ = ["FolderData", "read_folder"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_SPLITS = ("train", "val")
_EXTENSIONS = ", ".join(datasets.folder.IMG_EXTENSIONS)


def _load(path: str) -> Image.Image:
    """torchvision's PIL loader, with an error that names the file (a worker's traceback would not)."""
    try:
        return datasets.folder.pil_loader(path)
    except (OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"image {path} cannot be read ({type(exc).__name__}); expected an image file PIL can open") from None


class _Split(Dataset):
    """The samples of one ImageFolder split (or a subset of them) under one transform."""

    def __init__(self, samples: list[tuple[str, int]], transform: transforms.Compose) -> None:
        self.samples, self.transform = samples, transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        path, target = self.samples[i]
        return self.transform(_load(path)), target


def _transforms(image_size: int) -> tuple[transforms.Compose, transforms.Compose]:
    """(training, evaluation) transforms at ``image_size``: the standard ImageNet pair."""
    normalize = transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)
    train = transforms.Compose(
        [transforms.RandomResizedCrop(image_size), transforms.RandomHorizontalFlip(), transforms.ToTensor(), normalize]
    )
    resize = round(image_size * 256 / 224)  # 256 for 224, the usual single-crop evaluation
    evaluate = transforms.Compose([transforms.Resize(resize), transforms.CenterCrop(image_size), transforms.ToTensor(), normalize])
    return train, evaluate


def default_workers() -> int:
    """Loader processes: every core this process may use but one (which drives the GPU), at most 16.

    Decoding and cropping a full-size ImageNet JPEG takes a core a few milliseconds, and a ResNet-152
    on one modern GPU wants about 2,000 images a second: every core is needed.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(16, cores - 1))


@dataclass
class FolderData:
    """An image folder's train and val splits, loaded batch by batch onto ``device``.

    Attributes:
        name: ``"imagefolder"``.
        root: The folder holding ``train/`` and ``val/``.
        classes: Class names (the sub-folder names, sorted); labels index this tuple.
        image_size: Height and width of every batch's images.
        train_samples: ``(path, label)`` of every training image used.
        val_samples: ``(path, label)`` of every validation image used.
        fingerprint: 16 hex digits over the configuration, the class names, and every file's path and size.
        device: Where batches are sent.
        workers: Loader processes (0 decodes in the training process).
    """

    name: str
    root: Path
    classes: tuple[str, ...]
    image_size: int
    train_samples: list[tuple[str, int]]
    val_samples: list[tuple[str, int]]
    fingerprint: str
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    workers: int = field(default_factory=default_workers)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def n_train(self) -> int:
        return len(self.train_samples)

    @property
    def n_val(self) -> int:
        return len(self.val_samples)

    @property
    def n_test(self) -> int:
        return 0  # no test split: the val/ folder is what the paper's ImageNet numbers are measured on

    def to(self, device: torch.device | str) -> FolderData:
        """A copy whose batches go to ``device`` (the images themselves stay on disk)."""
        return replace(self, device=torch.device(device))

    def _loader(self, samples: list, transform, batch_size: int, *, shuffle: bool, seed: int = 0, drop_last: bool = False) -> DataLoader:
        return DataLoader(
            _Split(samples, transform),
            batch_size=batch_size,
            shuffle=shuffle,
            drop_last=drop_last,
            num_workers=self.workers,
            pin_memory=self.device.type == "cuda",
            generator=torch.Generator().manual_seed(seed),  # shuffle order and every worker's augmentation seed
        )

    def _to_device(self, loader: DataLoader, channels_last: bool) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        non_blocking = self.device.type == "cuda"  # pinned host memory: the copy overlaps compute
        try:
            for x, y in loader:
                yield x.to(self.device, non_blocking=non_blocking, memory_format=fmt), y.to(self.device, non_blocking=non_blocking)
        except DataError as exc:
            # A worker's error comes back with its traceback in the message: keep its last line.
            raise DataError(str(exc).strip().splitlines()[-1].split("DataError: ", 1)[-1]) from None

    def train_batches(
        self, batch_size: int, *, generator: torch.Generator, augment: bool = True, channels_last: bool = False, drop_last: bool = False
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One shuffled epoch; the loader's seed is drawn from ``generator``, so a run's seed fixes every epoch."""
        seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device).item())
        train_tf, eval_tf = _transforms(self.image_size)
        loader = self._loader(self.train_samples, train_tf if augment else eval_tf, batch_size, shuffle=True, seed=seed, drop_last=drop_last)
        yield from self._to_device(loader, channels_last)

    def eval_batches(self, split: str, batch_size: int, *, channels_last: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """A split in order, resized and centre-cropped."""
        if split not in _SPLITS:
            raise DataError(f"image folder {self.root} has no {split} split; expected one of: {', '.join(_SPLITS)}")
        samples = self.train_samples if split == "train" else self.val_samples
        yield from self._to_device(self._loader(samples, _transforms(self.image_size)[1], batch_size, shuffle=False), channels_last)


def _scan(root: Path, split: str) -> tuple[list[str], list[tuple[str, int]]]:
    """Class names and samples of ``root/split`` through ImageFolder; missing or empty folders are DataErrors."""
    where = root / split
    if not where.is_dir():
        raise DataError(f"image folder {root} has no {split}/ directory; expected {root}/train/<class>/* and {root}/val/<class>/*")
    try:
        folder = datasets.ImageFolder(str(where), allow_empty=True)
    except FileNotFoundError:
        raise DataError(f"{where} holds no class folders; expected {where}/<class>/<image>") from None
    counts = [0] * len(folder.classes)
    for _, target in folder.samples:
        counts[target] += 1
    empty = [c for c, n in zip(folder.classes, counts) if n == 0]
    if empty:
        raise DataError(f"class folder {where / empty[0]} holds no images ({len(empty)} empty in {split}/); expected files ending in {_EXTENSIONS}")
    return folder.classes, folder.samples


def _check_readable(samples: list[tuple[str, int]], root: Path, h) -> None:
    """Open every file's header (cheap: PIL reads pixels lazily) and hash its path (within the folder) and size."""
    bad: list[str] = []
    for path, target in samples:
        try:
            with Image.open(path) as img:
                img.size  # noqa: B018 -- the header is parsed by now
        except (OSError, ValueError, SyntaxError):
            bad.append(path)
        h.update(f"{os.path.relpath(path, root)}|{target}|{os.path.getsize(path)}\n".encode())
    if bad:
        more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
        raise DataError(f"image {bad[0]}{more} cannot be read; expected image files PIL can open ({_EXTENSIONS})")


def _subset(samples: list[tuple[str, int]], size: int | None, seed: int, split: str) -> list[tuple[str, int]]:
    """At most ``size`` samples, drawn at random (files are sorted by class, so the head would drop classes)."""
    if size is None or size >= len(samples):
        return samples
    g = torch.Generator().manual_seed(int.from_bytes(hashlib.sha256(f"{seed}:{split}".encode()).digest()[:4], "little"))
    keep = torch.randperm(len(samples), generator=g)[:size].sort().values
    return [samples[i] for i in keep.tolist()]


def read_folder(
    data_dir: str | Path | None,
    *,
    image_size: int,
    train_size: int | None = None,
    val_size: int | None = None,
    seed: int = 0,
    workers: int | None = None,
) -> FolderData:
    """Scan and check ``data_dir``; the images are read later, batch by batch.

    Args:
        data_dir: The folder holding ``train/<class>/`` and ``val/<class>/``.
        image_size: Height and width of the crops.
        train_size: Cap on training images, drawn at random with ``seed`` (None: all).
        val_size: Cap on validation images, likewise (None: all).
        seed: Seed of those draws.
        workers: Loader processes (None: every core but one, at most 16).

    Raises:
        DataError: The folder or a split is missing, a class is empty, train/ and val/
            name different classes, or a file cannot be opened as an image.
    """
    if data_dir is None:
        raise DataError("dataset 'imagefolder' needs --data-dir DIR; expected DIR/train/<class>/* and DIR/val/<class>/*")
    root = Path(data_dir).expanduser().resolve()
    if not root.is_dir():
        raise DataError(f"image folder {root} does not exist; expected a directory holding train/<class>/ and val/<class>/")
    train_classes, train = _scan(root, "train")
    val_classes, val = _scan(root, "val")
    if train_classes != val_classes:
        only_train = sorted(set(train_classes) - set(val_classes)) or ["-"]
        only_val = sorted(set(val_classes) - set(train_classes)) or ["-"]
        raise DataError(
            f"class folders differ between {root}/train and {root}/val (only in train: {', '.join(only_train[:5])}; "
            f"only in val: {', '.join(only_val[:5])}); expected the same class names in both"
        )
    train, val = _subset(train, train_size, seed, "train"), _subset(val, val_size, seed, "val")
    h = hashlib.sha256(f"imagefolder|size={image_size}|seed={seed}|classes={','.join(train_classes)}\n".encode())
    _check_readable(train, root, h)
    _check_readable(val, root, h)
    return FolderData(
        name="imagefolder",
        root=root,
        classes=tuple(train_classes),
        image_size=int(image_size),
        train_samples=train,
        val_samples=val,
        fingerprint=h.hexdigest()[:16],
        workers=default_workers() if workers is None else int(workers),
    )
