"""The ImageNet layout: exact parameter counts against torchvision and fb.resnet.torch's preresnet.lua."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from unitsearch.errors import UserError
from unitsearch.models import IMAGENET_DEPTHS, ResNetConfig, build_resnet, count_macs, count_params
from unitsearch.units import PRESETS


def _imagenet(preset: str, depth: int, **kw) -> nn.Module:
    return build_resnet(PRESETS[preset].spec, depth=depth, width=64, num_classes=1000, arch="imagenet", **kw)


@pytest.mark.parametrize(
    "depth, expected",
    [(18, 11_689_512), (34, 21_797_672), (50, 25_557_032), (101, 44_549_160), pytest.param(152, 60_192_808, marks=pytest.mark.slow)],
)
def test_original_unit_is_torchvisions_resnet(depth, expected):
    ours = count_params(_imagenet("original", depth))
    theirs = count_params(getattr(torchvision.models, f"resnet{depth}")(weights=None))
    assert ours == theirs == expected


@pytest.mark.parametrize(
    "depth, expected",
    [(50, 25_549_352), (101, 44_541_480), pytest.param(152, 60_185_128, marks=pytest.mark.slow), pytest.param(200, 64_666_152, marks=pytest.mark.slow)],
)
def test_full_preact_matches_preresnet_lua(depth, expected):
    # preresnet.lua: convs without bias, projection shortcuts without BN (they see a
    # pre-activated input), a final BN-ReLU before the pool.
    model = _imagenet("full_preact", depth)
    assert count_params(model) == expected
    projections = [u.shortcut for u in model.units if isinstance(u.shortcut, nn.Conv2d)]
    assert len(projections) == 4


def test_conv_macs_match_torchvisions_resnet50():
    # Same layout, stride on the 3x3 of a bottleneck in both; 64 px keeps the forward cheap.
    assert count_macs(_imagenet("original", 50), 64) == count_macs(torchvision.models.resnet50(weights=None), 64)


def test_preact_imagenet_puts_the_first_activation_in_the_stem():
    model = _imagenet("full_preact", 50)
    assert [type(m).__name__ for m in model.stem] == ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d"]
    first = model.units[0]
    assert isinstance(first.preact, nn.Identity) and isinstance(first.branch[0], nn.Conv2d)
    assert [type(m).__name__ for m in model.final_act] == ["BatchNorm2d", "ReLU"]
    # Later shape-changing units pre-activate once before the split (paper appendix).
    assert sum(not isinstance(u.preact, nn.Identity) for u in model.units) == 3


@pytest.mark.parametrize("preset", ["original", "full_preact", "bn_after_add", "relu_preact", "exclusive_gate_-6"])
@pytest.mark.parametrize("depth", [18, 50])
def test_imagenet_nets_train_one_step_at_a_small_size(preset, depth):
    torch.manual_seed(0)
    model = build_resnet(PRESETS[preset].spec, depth=depth, width=8, num_classes=5, arch="imagenet")
    out = model(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 5)
    out.logsumexp(1).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_depth_names_the_unit_type():
    assert {d: ResNetConfig(depth=d, arch="imagenet").bottleneck for d in IMAGENET_DEPTHS} == {
        18: False, 34: False, 50: True, 101: True, 152: True, 200: True
    }
    assert [s.units for s in ResNetConfig(depth=200, arch="imagenet").stages()] == [3, 24, 36, 3]


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"depth": 110, "arch": "imagenet"}, "allowed: 18, 34, 50, 101, 152, 200"),
        ({"depth": 50, "arch": "mobile"}, "allowed: cifar, imagenet"),
    ],
)
def test_bad_imagenet_config_names_the_allowed_values(kwargs, needle):
    with pytest.raises(UserError) as info:
        ResNetConfig(**kwargs)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_one_conv_units_build_only_the_cifar_layout():
    with pytest.raises(UserError, match="allowed: --arch cifar"):
        build_resnet(PRESETS["full_preact_1layer"].spec, depth=18, arch="imagenet")
