"""On-device batches: the paper's pad-crop-flip augmentation and per-channel normalisation."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from unitsearch.data import DataError, eval_batches, normalize, pad_for, train_batches


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_pad_scales_with_image_size():
    # the paper pads 4 pixels at 32x32 (Sec. 4); the same fraction is 2 pixels at 16x16
    assert pad_for(32) == 4 and pad_for(16) == 2 and pad_for(64) == 8 and pad_for(8) == 1


def test_train_batches_shapes_and_count(small_synthetic):
    batches = list(train_batches(small_synthetic, 128, generator=_gen()))
    assert len(batches) == 5  # 600 = 4 * 128 + 88
    x, y = batches[0]
    assert x.shape == (128, 3, 16, 16) and x.dtype == torch.float32
    assert y.shape == (128,) and y.dtype == torch.int64
    assert batches[-1][0].shape[0] == 600 - 4 * 128
    assert len(list(train_batches(small_synthetic, 128, generator=_gen(), drop_last=True))) == 4


def test_an_epoch_visits_every_image_once(small_synthetic):
    ys = torch.cat([y for _, y in train_batches(small_synthetic, 100, generator=_gen(), augment=False)])
    assert ys.bincount(minlength=10).tolist() == small_synthetic.train_y.bincount(minlength=10).tolist()


def test_same_seed_same_epoch_different_seed_different(small_synthetic):
    a = [x for x, _ in train_batches(small_synthetic, 64, generator=_gen(1))]
    b = [x for x, _ in train_batches(small_synthetic, 64, generator=_gen(1))]
    c = [x for x, _ in train_batches(small_synthetic, 64, generator=_gen(2))]
    assert all(torch.equal(p, q) for p, q in zip(a, b))
    assert not torch.equal(a[0], c[0])


def test_augmentation_is_a_padded_crop_with_optional_flip(small_synthetic):
    """Every augmented image is one of the (2p+1)^2 crops of the zero-padded image, maybe mirrored."""
    data = small_synthetic
    pad = pad_for(data.image_size)
    g_plain, g_aug = _gen(9), _gen(9)
    plain_x, plain_y = next(train_batches(data, 256, generator=g_plain, augment=False))
    aug_x, aug_y = next(train_batches(data, 256, generator=g_aug))
    assert torch.equal(plain_y, aug_y)  # the shuffle is drawn first, so both runs pick the same images
    padded = F.pad(plain_x, (pad, pad, pad, pad))
    size = data.image_size
    flips, shifts, changed = 0, 0, 0
    for i in range(aug_x.shape[0]):
        match = None
        for dy in range(2 * pad + 1):
            for dx in range(2 * pad + 1):
                crop = padded[i, :, dy : dy + size, dx : dx + size]
                for flip in (False, True):
                    if torch.equal(crop.flip(-1) if flip else crop, aug_x[i]):
                        match = (dy, dx, flip)
        assert match is not None, f"image {i} is not a crop/flip of its source"
        flips += match[2]
        shifts += match[:2] != (pad, pad)
        changed += not torch.equal(aug_x[i], plain_x[i])
    assert 0.35 < flips / 256 < 0.65  # flipped with probability 1/2
    assert shifts > 200  # 1 - 1/25 of crops at 16x16 are moved
    assert changed > 240


def test_channels_last(small_synthetic):
    x, _ = next(train_batches(small_synthetic, 32, generator=_gen(), channels_last=True))
    assert x.is_contiguous(memory_format=torch.channels_last)
    x, _ = next(eval_batches(small_synthetic, "val", 32, channels_last=True))
    assert x.is_contiguous(memory_format=torch.channels_last)


def test_normalisation_gives_zero_mean_unit_std(small_synthetic):
    x = torch.cat([x for x, _ in eval_batches(small_synthetic, "train", 256)])
    assert x.mean(dim=(0, 2, 3)).abs().max().item() < 1e-3
    assert (x.std(dim=(0, 2, 3)) - 1).abs().max().item() < 1e-3
    x = torch.cat([x for x, _ in train_batches(small_synthetic, 256, generator=_gen())])
    assert x.mean(dim=(0, 2, 3)).abs().max().item() < 0.05  # the mean-colour pad keeps it near 0


def test_eval_batches_in_order(small_synthetic):
    batches = list(eval_batches(small_synthetic, "val", 64))
    assert [x.shape[0] for x, _ in batches] == [64, 64, 64, 8]
    assert torch.equal(torch.cat([y for _, y in batches]), small_synthetic.val_y)
    assert torch.equal(batches[0][0], normalize(small_synthetic.val_x[:64], small_synthetic))
    assert sum(x.shape[0] for x, _ in eval_batches(small_synthetic, "test", 64)) == 100


def test_unknown_split_is_a_data_error(small_synthetic):
    with pytest.raises(DataError, match="expected one of: train, val, test"):
        next(eval_batches(small_synthetic, "holdout", 64))


def test_missing_test_split_is_a_data_error(small_synthetic):
    from dataclasses import replace

    no_test = replace(small_synthetic, test_x=None, test_y=None)
    with pytest.raises(DataError, match="no test split"):
        next(eval_batches(no_test, "test", 64))


def test_to_keeps_uint8_and_moves_every_tensor(small_synthetic):
    moved = small_synthetic.to("cpu")
    assert moved is not small_synthetic
    assert moved.train_x.dtype == torch.uint8 and moved.test_x is not None
    assert moved.fingerprint == small_synthetic.fingerprint
    if torch.cuda.is_available():
        gpu = small_synthetic.to("cuda")
        assert all(t.is_cuda for t in (gpu.train_x, gpu.train_y, gpu.val_x, gpu.val_y, gpu.test_x, gpu.test_y))
        x, y = next(train_batches(gpu, 32, generator=_gen()))
        assert x.is_cuda and y.is_cuda
