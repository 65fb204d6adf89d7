"""The ResNet builder: one spec in, one network out, in the CIFAR or the ImageNet layout."""

from .config import IMAGENET_DEPTHS, Arch, Downsample, ResNetConfig, Stage, parse_arch
from .resnet import ResidualUnit, ResNet, build_resnet, count_macs, count_params

__all__ = [
    "IMAGENET_DEPTHS",
    "Arch",
    "Downsample",
    "ResNet",
    "ResNetConfig",
    "ResidualUnit",
    "Stage",
    "build_resnet",
    "count_macs",
    "count_params",
    "parse_arch",
]
