"""The ResNet builder: one spec in, one network out."""

from .resnet import Downsample, ResidualUnit, ResNet, ResNetConfig, build_resnet, count_macs, count_params

__all__ = ["Downsample", "ResNet", "ResNetConfig", "ResidualUnit", "build_resnet", "count_macs", "count_params"]
