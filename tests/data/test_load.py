"""load_data's argument checks: every mistake is a one-line DataError that says what is expected."""

from __future__ import annotations

import pytest

from unitsearch.data import DataError, DatasetName, load_data, parse_name
from unitsearch.errors import UserError


def test_data_error_is_a_user_error():
    assert issubclass(DataError, UserError)


@pytest.mark.parametrize("name", ["synthetic", "SYNTHETIC", " cifar10 ", DatasetName.CIFAR100])
def test_parse_name(name):
    assert isinstance(parse_name(name), DatasetName)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"name": "imagenet"}, "expected one of: synthetic, cifar10, cifar100"),
        ({"image_size": 4}, "expected 8 to 256"),
        ({"train_size": 0}, "train size 0"),
        ({"val_size": -1}, "val size -1"),
        ({"test_size": -5}, "test size -5"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(DataError, match=match) as info:
        load_data(**kwargs)
    assert "\n" not in str(info.value)


def test_zero_test_images_means_no_test_split():
    data = load_data(image_size=16, train_size=50, val_size=20, test_size=0)
    assert data.test_x is None and data.test_y is None


def test_fingerprint_is_short_hex_and_tracks_the_config():
    a = load_data(image_size=16, train_size=50, val_size=20, test_size=20)
    b = load_data(image_size=16, train_size=60, val_size=20, test_size=20)
    assert len(a.fingerprint) == 16 and int(a.fingerprint, 16) >= 0
    assert a.fingerprint != b.fingerprint
