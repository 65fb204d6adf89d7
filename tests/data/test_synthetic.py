"""The embedded synthetic dataset: deterministic, balanced, the declared shapes, no colour shortcut."""

from __future__ import annotations

import pytest
import torch

from unitsearch.data import DatasetName, load_data
from unitsearch.data.synthetic import CLASS_NAMES, NUM_CLASSES, generate


def test_same_seed_is_bit_identical():
    a = load_data(image_size=16, train_size=300, val_size=100, test_size=100, seed=7)
    b = load_data(DatasetName.SYNTHETIC, image_size=16, train_size=300, val_size=100, test_size=100, seed=7)
    for split in ("train", "val", "test"):
        assert torch.equal(getattr(a, f"{split}_x"), getattr(b, f"{split}_x"))
        assert torch.equal(getattr(a, f"{split}_y"), getattr(b, f"{split}_y"))
    assert a.fingerprint == b.fingerprint
    assert a.mean == b.mean and a.std == b.std


def test_different_seed_gives_different_data():
    a = load_data(image_size=16, train_size=300, val_size=100, test_size=100, seed=0)
    b = load_data(image_size=16, train_size=300, val_size=100, test_size=100, seed=1)
    assert not torch.equal(a.train_x, b.train_x)
    assert not torch.equal(a.val_x, b.val_x)
    assert a.fingerprint != b.fingerprint


def test_splits_are_distinct_streams():
    x_train, _ = generate(200, image_size=16, seed=0, split="train")
    x_val, _ = generate(200, image_size=16, seed=0, split="val")
    assert not torch.equal(x_train, x_val)


def test_fewer_images_are_a_prefix_of_more():
    small_x, small_y = generate(250, image_size=16, seed=0, split="train")
    big_x, big_y = generate(700, image_size=16, seed=0, split="train")
    assert torch.equal(small_x, big_x[:250]) and torch.equal(small_y, big_y[:250])


@pytest.mark.parametrize("size", [16, 32])
def test_shapes_dtypes_and_range(size):
    x, y = generate(120, image_size=size, seed=0, split="train")
    assert x.shape == (120, 3, size, size) and x.dtype == torch.uint8
    assert y.shape == (120,) and y.dtype == torch.int64
    assert 0 <= int(y.min()) and int(y.max()) < NUM_CLASSES
    # images use the whole intensity range, not a washed-out band
    assert int(x.min()) < 20 and int(x.max()) > 235


def test_classes_are_balanced():
    _, y = generate(2000, image_size=16, seed=5, split="train")
    assert y.bincount(minlength=NUM_CLASSES).tolist() == [200] * NUM_CLASSES
    assert len(CLASS_NAMES) == NUM_CLASSES


def test_requested_sizes(small_synthetic):
    assert small_synthetic.name == "synthetic" and small_synthetic.num_classes == 10
    assert small_synthetic.image_size == 16
    sizes = len(small_synthetic.train_y), len(small_synthetic.val_y), len(small_synthetic.test_y)
    assert sizes == (600, 200, 100)


@pytest.mark.slow
def test_default_split_sizes_are_16k_2k_2k():
    data = load_data(image_size=16)
    assert (len(data.train_y), len(data.val_y), len(data.test_y)) == (16000, 2000, 2000)
    assert data.train_x.shape == (16000, 3, 16, 16)


def test_val_images_do_not_appear_in_train(small_synthetic):
    train = {bytes(img.numpy().tobytes()) for img in small_synthetic.train_x}
    assert not any(bytes(img.numpy().tobytes()) in train for img in small_synthetic.val_x)


def test_mean_colour_does_not_name_the_class():
    # Colours are drawn independently of the class: a nearest-centroid classifier on an
    # image's mean colour must stay near chance (10%), or a net could skip the shapes.
    x, y = generate(3000, image_size=16, seed=0, split="train")
    feats = x.float().mean(dim=(2, 3))
    fit, held = slice(0, 2000), slice(2000, 3000)
    centroids = torch.stack([feats[fit][y[fit] == k].mean(0) for k in range(NUM_CLASSES)])
    pred = torch.cdist(feats[held], centroids).argmin(1)
    assert (pred == y[held]).float().mean().item() < 0.16


def test_channel_stats_come_from_the_train_split(small_synthetic):
    flat = small_synthetic.train_x.double().transpose(0, 1).reshape(3, -1)
    assert small_synthetic.mean == pytest.approx(tuple(flat.mean(1).tolist()))
    assert small_synthetic.std == pytest.approx(tuple(flat.std(1, unbiased=False).tolist()))
