"""Table 3's "ResNet-110 (1-layer skip)": units whose branch is one 3x3 conv, depth 3n+2."""

from __future__ import annotations

import pytest
from torch import nn

from unitsearch.errors import UserError
from unitsearch.models import ResNetConfig, build_resnet, count_macs, count_params
from unitsearch.units import PRESETS

ONE_LAYER = ["original_1layer", "full_preact_1layer"]


@pytest.mark.parametrize("name", ONE_LAYER)
def test_resnet110_with_one_layer_skip_has_36_units_per_stage(name):
    model = build_resnet(PRESETS[name].spec, depth=110)
    assert len(model.units) == 3 * 36
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 1 + 108  # the stem, then one conv per unit (option A shortcuts have none)
    # 108 3x3 convs is the same conv stack as 54 two-conv units: the same weights and MACs.
    two_layer = build_resnet(PRESETS["original"].spec, depth=110)
    assert count_macs(model) == count_macs(two_layer)
    bns = sum(m.num_features for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    assert count_params(model) - 2 * bns == count_params(two_layer) - 2 * sum(
        m.num_features for m in two_layer.modules() if isinstance(m, nn.BatchNorm2d)
    )


@pytest.mark.parametrize("name", ONE_LAYER)
def test_one_layer_units_build_the_paper_order(name):
    unit = build_resnet(PRESETS[name].spec, depth=11, width=4).units[1]
    kinds = [type(m).__name__ for m in unit.branch] + ["|"] + [type(m).__name__ for m in unit.post]
    expected = {"original_1layer": ["Conv2d", "BatchNorm2d", "|", "ReLU"], "full_preact_1layer": ["BatchNorm2d", "ReLU", "Conv2d", "|"]}
    assert kinds == expected[name]


def test_depth_rule_is_3n_plus_2():
    assert [s.units for s in ResNetConfig(depth=110).stages(1)] == [36, 36, 36]
    assert [s.units for s in ResNetConfig(depth=20).stages(1)] == [6, 6, 6]
    with pytest.raises(UserError, match=r"3n\+2"):
        ResNetConfig(depth=21).stages(1)
