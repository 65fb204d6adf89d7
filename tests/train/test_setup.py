"""One trial setup: a unit, a profile and overrides become a network, a recipe and a data request."""

from __future__ import annotations

import pytest

from unitsearch.errors import UserError
from unitsearch.train import Warmup, get_profile
from unitsearch.train.setup import DataRequest, setup_trial
from unitsearch.units import PRESETS

SPEC = PRESETS["full_preact"].spec


def test_none_leaves_the_profile_s_value_and_a_setting_replaces_it():
    prof = get_profile("cpu")
    same = setup_trial(SPEC, "cpu", depth=None, lr=None, data=None)
    assert (same.net.depth, same.net.width, same.config.lr, same.config.epochs) == (prof.depth, prof.width, 0.1, prof.train["epochs"])
    assert same.data == DataRequest("synthetic", prof.image_size, prof.train_size, prof.val_size)
    other = setup_trial(SPEC, "cpu", depth=20, lr=0.05, seed=7, data="cifar10", image_size=32)
    assert (other.net.depth, other.config.lr, other.config.seed) == (20, 0.05, 7)
    assert (other.data.name, other.data.image_size) == ("cifar10", 32)


def test_an_unknown_setting_names_the_allowed_ones():
    with pytest.raises(UserError, match=r"unknown setting 'colour'; allowed: depth, width, bottleneck, arch, data, .*\blr\b"):
        setup_trial(SPEC, "cpu", colour="red")


def test_a_depth_the_unit_cannot_have_fails_before_any_data_is_loaded():
    with pytest.raises(UserError, match=r"depth 33 is not valid for basic units"):
        setup_trial(SPEC, "cpu", depth=33)


def test_a_space_file_s_float_depth_is_a_whole_number():
    assert setup_trial(SPEC, "cpu", depth=32.0).net.depth == 32


def test_warmup_is_decided_never_left_auto():
    for unit, depth in (("original", 110), ("original", 20), ("full_preact", 110)):
        assert setup_trial(PRESETS[unit].spec, "cpu", depth=depth).config.warmup is not Warmup.AUTO
