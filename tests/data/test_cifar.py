"""CIFAR through the real torchvision loader, from folders the tests write in the official format."""

from __future__ import annotations

import pytest
import torch

from unitsearch.data import DataError, load_data

from .conftest import CIFAR_PER_BATCH, CIFAR_TEST, cifar_images, image_id, write_cifar10, write_cifar100

N_TRAIN = 5 * CIFAR_PER_BATCH


def test_cifar10_reads_through_torchvision(tmp_path, trust_test_files):
    write_cifar10(tmp_path)
    data = load_data("cifar10", data_dir=tmp_path, val_size=20, seed=0)
    assert data.name == "cifar10" and data.num_classes == 10 and data.image_size == 32
    assert data.train_x.shape == (N_TRAIN - 20, 3, 32, 32) and data.train_x.dtype == torch.uint8
    assert data.val_x.shape == (20, 3, 32, 32)
    assert data.test_x.shape == (CIFAR_TEST, 3, 32, 32)
    assert data.train_y.dtype == torch.int64
    # pixels come back in the archive's layout: row i is R plane, G plane, B plane of image i
    first_test = torch.from_numpy(cifar_images(CIFAR_TEST, 1000)).view(-1, 3, 32, 32)
    assert torch.equal(data.test_x, first_test)
    assert data.test_y.tolist() == [i % 10 for i in range(CIFAR_TEST)]


def test_val_is_held_out_from_train_by_a_seeded_permutation(tmp_path, trust_test_files):
    write_cifar10(tmp_path)
    data = load_data("cifar10", data_dir=tmp_path, val_size=25, seed=4)
    train_ids = {image_id(x) for x in data.train_x}
    val_ids = {image_id(x) for x in data.val_x}
    assert not train_ids & val_ids
    assert train_ids | val_ids == set(range(N_TRAIN))
    for x, y in zip(data.val_x, data.val_y):
        assert int(y) == image_id(x) % 10  # labels travel with their images
    again = load_data("cifar10", data_dir=tmp_path, val_size=25, seed=4)
    other = load_data("cifar10", data_dir=tmp_path, val_size=25, seed=5)
    assert torch.equal(again.val_x, data.val_x) and again.fingerprint == data.fingerprint
    assert {image_id(x) for x in other.val_x} != val_ids and other.fingerprint != data.fingerprint


def test_size_caps_and_default_val(tmp_path, trust_test_files):
    write_cifar10(tmp_path)
    data = load_data("cifar10", data_dir=tmp_path, val_size=10, train_size=30, test_size=7)
    assert (len(data.train_y), len(data.val_y), len(data.test_y)) == (30, 10, 7)
    # the paper's 5000-image validation split does not fit in 100 images
    with pytest.raises(DataError, match="val size 5000"):
        load_data("cifar10", data_dir=tmp_path)


def test_resize_happens_once_at_load(tmp_path, trust_test_files):
    write_cifar10(tmp_path)
    data = load_data("cifar10", data_dir=tmp_path, val_size=10, image_size=16)
    assert data.image_size == 16 and data.train_x.dtype == torch.uint8
    assert data.val_x.shape[-2:] == (16, 16) and data.test_x.shape[-2:] == (16, 16)


def test_cifar100_reads_through_torchvision(tmp_path, trust_test_files):
    write_cifar100(tmp_path)
    data = load_data("CIFAR100", data_dir=tmp_path, val_size=10)
    assert data.name == "cifar100" and data.num_classes == 100
    assert len(data.train_y) == N_TRAIN - 10 and len(data.test_y) == CIFAR_TEST
    assert data.test_y.tolist() == [(1000 + i) % 100 for i in range(CIFAR_TEST)]  # fine labels


def test_missing_directory_is_one_line_naming_it(tmp_path):
    with pytest.raises(DataError) as info:
        load_data("cifar10", data_dir=tmp_path / "nowhere")
    message = str(info.value)
    assert "\n" not in message
    assert str(tmp_path / "nowhere" / "cifar-10-batches-py") in message
    assert "data_batch_1" in message and "--download" in message


def test_missing_file_is_named(tmp_path):
    folder = write_cifar10(tmp_path)
    (folder / "test_batch").unlink()
    with pytest.raises(DataError, match="test_batch"):
        load_data("cifar10", data_dir=tmp_path)


def test_files_that_are_not_the_official_ones_are_rejected(tmp_path):
    # torchvision's own md5 check runs in production: hand-written files do not pass it
    write_cifar10(tmp_path)
    with pytest.raises(DataError, match="corrupt or not the official ones") as info:
        load_data("cifar10", data_dir=tmp_path, val_size=10)
    assert "\n" not in str(info.value)


def test_unpicklable_file_is_a_data_error(tmp_path, trust_test_files):
    folder = write_cifar10(tmp_path)
    (folder / "data_batch_3").write_bytes(b"this is not a pickle")
    with pytest.raises(DataError, match="corrupt"):
        load_data("cifar10", data_dir=tmp_path, val_size=10)


def test_failed_download_is_a_data_error(tmp_path, monkeypatch):
    import urllib.error

    import torchvision.datasets.cifar as tv_cifar

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(tv_cifar, "download_and_extract_archive", offline)
    with pytest.raises(DataError, match="download into .* failed") as info:
        load_data("cifar10", data_dir=tmp_path, download=True)
    assert "\n" not in str(info.value)
