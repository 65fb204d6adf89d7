"""Fixtures for the data tests: small synthetic datasets and CIFAR folders written on the spot."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torchvision.datasets.cifar as tv_cifar

from unitsearch.data import ImageData, load_data

# CIFAR-10's five training batches and test batch, shrunk so a test reads them in milliseconds.
CIFAR_PER_BATCH = 20
CIFAR_TEST = 30


@pytest.fixture(scope="session")
def small_synthetic() -> ImageData:
    """A 16x16 synthetic dataset, small enough to build in well under a second."""
    return load_data("synthetic", image_size=16, train_size=600, val_size=200, test_size=100, seed=3)


def cifar_images(n: int, start: int) -> np.ndarray:
    """``n`` distinct CIFAR rows ``[n, 3072]`` (R plane, G plane, B plane); image i encodes i in pixel 0."""
    rng = np.random.default_rng(start)
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    ids = np.arange(start, start + n)
    data[:, 0], data[:, 1] = ids // 256, ids % 256  # red channel, first two pixels of the first row
    return data


def image_id(x) -> int:
    """The id ``cifar_images`` wrote into an image ``[3, H, W]`` (32x32 only)."""
    return int(x[0, 0, 0]) * 256 + int(x[0, 0, 1])


def _dump(path: Path, obj: dict) -> None:
    # Protocol 2, like the official archives, which were written by Python 2's cPickle.
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def write_cifar10(root: Path) -> Path:
    """Write ``root/cifar-10-batches-py`` in the format of the official python-version archive."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for b in range(1, 6):
        start = (b - 1) * CIFAR_PER_BATCH
        labels = [(start + i) % 10 for i in range(CIFAR_PER_BATCH)]
        _dump(folder / f"data_batch_{b}", {
            "batch_label": f"training batch {b} of 5",
            "labels": labels,
            "data": cifar_images(CIFAR_PER_BATCH, start),
            "filenames": [f"img_{start + i}.png" for i in range(CIFAR_PER_BATCH)],
        })
    _dump(folder / "test_batch", {
        "batch_label": "testing batch 1 of 1",
        "labels": [i % 10 for i in range(CIFAR_TEST)],
        "data": cifar_images(CIFAR_TEST, 1000),
        "filenames": [f"test_{i}.png" for i in range(CIFAR_TEST)],
    })
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    _dump(folder / "batches.meta", {"label_names": names, "num_cases_per_batch": CIFAR_PER_BATCH, "num_vis": 3072})
    return folder


def write_cifar100(root: Path) -> Path:
    """Write ``root/cifar-100-python`` (one ``train`` and one ``test`` file, fine and coarse labels)."""
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    n_train = 5 * CIFAR_PER_BATCH
    for name, n, start in (("train", n_train, 0), ("test", CIFAR_TEST, 1000)):
        _dump(folder / name, {
            "filenames": [f"{name}_{i}.png" for i in range(n)],
            "batch_label": f"{name}ing batch 1 of 1",
            "fine_labels": [(start + i) % 100 for i in range(n)],
            "coarse_labels": [(start + i) % 20 for i in range(n)],
            "data": cifar_images(n, start),
        })
    _dump(folder / "meta", {
        "fine_label_names": [f"fine_{i}" for i in range(100)],
        "coarse_label_names": [f"coarse_{i}" for i in range(20)],
    })
    return folder


@pytest.fixture
def trust_test_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let torchvision accept files this test wrote.

    torchvision compares every CIFAR file's md5 with the official archive's, which files
    written here cannot match. Only that comparison is replaced (by "the file exists");
    unpickling and reshaping stay torchvision's own code.
    """
    monkeypatch.setattr(tv_cifar, "check_integrity", lambda fpath, md5=None: os.path.isfile(fpath))
