"""CIFAR-10 and CIFAR-100 through torchvision's dataset classes, as uint8 tensors.

torchvision reads the python-version archives (``cifar-10-batches-py`` and
``cifar-100-python`` under a root folder) and verifies every file's md5 before
unpickling. Its failure is a bare ``RuntimeError("Dataset not found or
corrupted")``, which does not say which folder or file it looked for, so this
module first checks that the folder and every file are there (a missing one is
a ``DataError`` naming it), then lets torchvision verify and read them; a file
that fails the md5 check or does not unpickle becomes a ``DataError`` too. We
keep torchvision's md5 check on purpose: a search compares errors to the
paper's, which is only meaningful on the official files.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torchvision import datasets

from ._errors import DataError

__all__ = ["RawCifar", "read_cifar", "resize"]

# name -> (torchvision class, number of classes, title for messages)
_VARIANTS = {
    "cifar10": (datasets.CIFAR10, 10, "CIFAR-10"),
    "cifar100": (datasets.CIFAR100, 100, "CIFAR-100"),
}


@dataclass
class RawCifar:
    """The official splits, unshuffled: uint8 ``[N, 3, 32, 32]`` images and int64 labels."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    num_classes: int


def expected_files(name: str) -> tuple[str, list[str]]:
    """The folder name torchvision looks for under the root, and the files it must hold."""
    cls = _VARIANTS[name][0]
    files = [f for f, _ in cls.train_list + cls.test_list] + [cls.meta["filename"]]
    return cls.base_folder, files


def read_cifar(name: str, *, data_dir: Path, download: bool = False) -> RawCifar:
    """Read the official training and test sets of ``"cifar10"`` or ``"cifar100"``.

    Args:
        name: ``"cifar10"`` or ``"cifar100"``.
        data_dir: The root folder; the extracted archive folder lies inside it.
        download: Let torchvision fetch and extract the archive when files are missing.

    Returns:
        The two official splits as tensors.

    Raises:
        DataError: A folder or file is missing, a file is corrupt, or the download failed.
    """
    cls, num_classes, title = _VARIANTS[name]
    root = Path(data_dir).expanduser().resolve()
    folder, files = expected_files(name)
    where = root / folder
    missing = [f for f in files if not (where / f).is_file()]
    if missing and not download:
        what = f"file {where / missing[0]}" if where.is_dir() else f"directory {where}"
        raise DataError(
            f"{title} not found: expected {what} ({', '.join(files)}, extracted from the python-version "
            f"archive {cls.filename}); pass --download, or extract that archive into {root}"
        )
    try:
        train = cls(str(root), train=True, download=download)
        test = cls(str(root), train=False, download=False)
    except (RuntimeError, pickle.UnpicklingError, EOFError, KeyError, ValueError, OSError) as exc:
        if missing:  # we were asked to download and it did not work (no network, disk full)
            raise DataError(
                f"{title} download into {root} failed ({_short(exc)}); expected a network connection, "
                f"or extract {cls.filename} into {root} yourself"
            ) from None
        raise DataError(
            f"{title} files in {where} are corrupt or not the official ones ({_short(exc)}); expected the "
            f"untouched python-version archive {cls.filename}: delete the directory and pass --download"
        ) from None
    return RawCifar(
        train_x=_to_tensor(train.data),
        train_y=torch.as_tensor(train.targets, dtype=torch.int64),
        test_x=_to_tensor(test.data),
        test_y=torch.as_tensor(test.targets, dtype=torch.int64),
        num_classes=num_classes,
    )


def resize(x: torch.Tensor, size: int, *, chunk: int = 5000) -> torch.Tensor:
    """Resize uint8 images once, antialiased, and store them as uint8 again.

    Done at load time, not per batch, so a 16x16 search costs nothing extra per step.
    Chunked so 50k images never sit in memory as float all at once.
    """
    out = torch.empty(x.shape[0], x.shape[1], size, size, dtype=torch.uint8)
    for i in range(0, x.shape[0], chunk):
        part = x[i : i + chunk].float()
        part = F.interpolate(part, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        out[i : i + chunk] = part.round().clamp(0, 255).to(torch.uint8)
    return out


def _to_tensor(hwc) -> torch.Tensor:
    """torchvision keeps HWC numpy arrays (for PIL); the trainer wants NCHW tensors."""
    return torch.from_numpy(hwc).permute(0, 3, 1, 2).contiguous()


def _short(exc: BaseException) -> str:
    """One line from an exception: its type and first line, without torchvision's advice."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
