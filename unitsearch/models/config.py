"""The network around the units: layout, depth, width, shortcuts at shape changes.

Two layouts, one per dataset family of the paper:

* ``cifar`` (Sec. 4): a 3x3 stem and three stages of width w, 2w, 4w; the depth
  counts every conv, so it is 6n+2 for basic units, 9n+2 for bottlenecks and 3n+2
  for the 1-conv units of Table 3's "1-layer skip" row.
* ``imagenet`` (Sec. 5, Tables 4-5): a 7x7 stride-2 stem and a 3x3 max pool, then
  four stages of width w, 2w, 4w, 8w (w = 64) whose unit counts come from the
  depth, as in the original ResNet (He et al. 2016a, Table 1), fb.resnet.torch and
  torchvision: 18 and 34 are basic, 50 to 200 are bottleneck nets.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .. import limits
from ..errors import UserError

__all__ = ["Arch", "Downsample", "IMAGENET_DEPTHS", "ResNetConfig", "Stage", "parse_arch"]


class Arch(str, enum.Enum):
    """The layout of the network around the units."""

    CIFAR = "cifar"  # 3x3 stem, three stages w, 2w, 4w (the paper's CIFAR nets)
    IMAGENET = "imagenet"  # 7x7/2 stem + max pool, four stages w..8w (the paper's ImageNet nets)


class Downsample(str, enum.Enum):
    """How an identity-type shortcut changes shape (fb.resnet.torch's shortcut types)."""

    A = "A"  # subsample + zero-pad channels: parameter-free (the paper's CIFAR ResNets)
    B = "B"  # 1x1 projection where the shape changes (pre-act ResNet-164/1001, every ImageNet net)


# ImageNet depth -> (units per stage, bottleneck). The depth counts the convs on the
# longest path: 2 per basic unit, 3 per bottleneck, plus the stem and the head.
IMAGENET_DEPTHS: dict[int, tuple[tuple[int, int, int, int], bool]] = {
    18: ((2, 2, 2, 2), False),
    34: ((3, 4, 6, 3), False),
    50: ((3, 4, 6, 3), True),
    101: ((3, 4, 23, 3), True),
    152: ((3, 8, 36, 3), True),
    200: ((3, 24, 36, 3), True),  # the paper's pre-act ResNet-200 (Table 5), as in fb.resnet.torch
}


@dataclass(frozen=True)
class Stage:
    """One stage: how many units, their width (bottleneck outputs are 4x) and the first unit's stride."""

    units: int
    width: int
    stride: int


def parse_arch(value: Arch | str) -> Arch:
    """The ``Arch`` for ``value``, or a UserError naming the allowed values."""
    try:
        return Arch(getattr(value, "value", value))
    except ValueError:
        raise UserError(f"unknown arch {value!r}; allowed: {', '.join(a.value for a in Arch)}") from None


@dataclass(frozen=True)
class ResNetConfig:
    """The network around the units.

    Args:
        depth: CIFAR layout: 6n+2 for basic units, 9n+2 for bottleneck units, 3n+2
            for 1-conv units (110 -> n=18; 164 -> n=18; 110 with 1-layer skip -> n=36).
            ImageNet layout: 18, 34, 50, 101, 152 or 200.
        width: Channels of the first stage (paper: 16 on CIFAR, 64 on ImageNet).
        bottleneck: 1x1-3x3-1x1 units whose outputs are 4x the stage width. In the
            ImageNet layout the depth decides it (18 and 34 are basic, the rest bottleneck),
            so this field is set from the depth there.
        num_classes: Size of the linear head.
        downsample: Shortcut at shape changes; None = A for CIFAR basic nets, B otherwise,
            as in the paper's experiments.
        zero_init_residual: Zero the last BN (or conv) of every branch so each unit
            starts as its shortcut (Goyal et al. 2017; torchvision's option of the same name).
        arch: ``cifar`` (default) or ``imagenet``.
    """

    depth: int = 110
    width: int = 16
    bottleneck: bool = False
    num_classes: int = 10
    downsample: Downsample | None = None
    zero_init_residual: bool = False
    arch: Arch = Arch.CIFAR

    def __post_init__(self) -> None:
        arch = parse_arch(self.arch)
        object.__setattr__(self, "arch", arch)
        limits.check_network(self.depth, self.width, bottleneck=self.bottleneck, num_classes=self.num_classes)
        if arch is Arch.IMAGENET:
            if self.depth not in IMAGENET_DEPTHS:
                raise UserError(f"depth {self.depth} is not valid for the imagenet arch; allowed: {', '.join(map(str, IMAGENET_DEPTHS))}")
            object.__setattr__(self, "bottleneck", IMAGENET_DEPTHS[self.depth][1])

    def stages(self, n_convs: int = 2) -> tuple[Stage, ...]:
        """The stages for units of ``n_convs`` convs (3 in a bottleneck build); a bad depth names the rule."""
        per_unit = 3 if self.bottleneck else n_convs
        if self.arch is Arch.IMAGENET:
            if per_unit == 1:
                raise UserError("1-conv units build only the cifar arch; allowed: --arch cifar")
            counts = IMAGENET_DEPTHS[self.depth][0]
            return tuple(Stage(n, self.width * 2**i, 1 if i == 0 else 2) for i, n in enumerate(counts))
        n, rem = divmod(self.depth - 2, 3 * per_unit)
        if rem or n < 1:
            kind, rule = {
                1: ("1-conv", "3n+2 (5, 8, 11, ..., 110)"),
                2: ("basic", "6n+2 (8, 14, 20, 32, 56, 110, ...)"),
                3: ("bottleneck", "9n+2 (11, 20, 29, ..., 164, 1001)"),
            }[per_unit]
            raise UserError(f"depth {self.depth} is not valid for {kind} units; allowed: {rule}")
        return tuple(Stage(n, self.width * 2**i, 1 if i == 0 else 2) for i in range(3))

    @property
    def units_per_stage(self) -> int:
        """Units in the first stage (every stage of a CIFAR net) for 2-conv basic or bottleneck units."""
        return self.stages()[0].units

    @property
    def shortcut_type(self) -> Downsample:
        if self.downsample:
            return Downsample(self.downsample)
        return Downsample.B if (self.bottleneck or self.arch is Arch.IMAGENET) else Downsample.A
