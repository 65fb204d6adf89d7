"""One builder from a :class:`UnitSpec` to a CIFAR-style ResNet.

Stem conv3x3, three stages of width w, 2w, 4w (bottleneck outputs 4x that),
stride 2 at the first unit of stages 2 and 3, global average pool, linear head
(paper Sec. 4 and appendix; fb.resnet.torch / resnet-1k-layers layouts).

Pre-activation units (a branch that starts with BN and/or ReLU) follow the
paper's appendix: the stem is a bare conv, the first unit and every unit with a
projection shortcut apply that pre-activation *before* splitting into the two
paths, and an extra activation follows the last addition before pooling.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import torch
from torch import nn

from .. import limits
from ..errors import UserError
from ..units import Op, ShortcutKind, UnitSpec
from .layers import Gate, ScaledDropout, ZeroPadShortcut, conv1x1, conv3x3, make_ops

__all__ = ["Downsample", "ResNetConfig", "ResidualUnit", "ResNet", "build_resnet", "count_params", "count_macs"]


class Downsample(str, enum.Enum):
    """How an identity-type shortcut changes shape (fb.resnet.torch's shortcut types)."""

    A = "A"  # subsample + zero-pad channels: parameter-free (the paper's CIFAR ResNets)
    B = "B"  # 1x1 projection where the shape changes (the paper's pre-act ResNet-164/1001)


@dataclass(frozen=True)
class ResNetConfig:
    """The network around the units.

    Args:
        depth: 6n+2 for basic units, 9n+2 for bottleneck units (110 -> n=18; 164 -> n=18).
        width: Channels of the first stage; stages are w, 2w, 4w (paper: 16).
        bottleneck: 1x1-3x3-1x1 units whose outputs are 4x the stage width.
        num_classes: Size of the linear head.
        downsample: Shortcut at shape changes; None = A for basic, B for bottleneck,
            as in the paper's experiments.
        zero_init_residual: Zero the last BN (or conv) of every branch so each unit
            starts as its shortcut (Goyal et al. 2017; torchvision's option of the same name).
    """

    depth: int = 110
    width: int = 16
    bottleneck: bool = False
    num_classes: int = 10
    downsample: Downsample | None = None
    zero_init_residual: bool = False

    def __post_init__(self) -> None:
        limits.check_network(self.depth, self.width, bottleneck=self.bottleneck, num_classes=self.num_classes)

    @property
    def units_per_stage(self) -> int:
        per_unit = 3 if self.bottleneck else 2
        n, rem = divmod(self.depth - 2, 3 * per_unit)
        if rem or n < 1:
            kind, rule = ("bottleneck", "9n+2 (11, 20, 29, ..., 164, 1001)") if self.bottleneck else ("basic", "6n+2 (8, 14, 20, 32, 56, 110, ...)")
            raise UserError(f"depth {self.depth} is not valid for {kind} units; allowed: {rule}")
        return n

    @property
    def shortcut_type(self) -> Downsample:
        return Downsample(self.downsample) if self.downsample else (Downsample.B if self.bottleneck else Downsample.A)


class ResidualUnit(nn.Module):
    """``y = h(x) + F(x)``, ``x_next = f(y)`` (paper Eqs. 1-2)."""

    def __init__(self, spec: UnitSpec, in_chs: int, out_chs: int, stride: int, *, share_preact: bool, projection: bool) -> None:
        super().__init__()
        kind, ops = spec.shortcut.kind, list(spec.branch)
        # Pre-activation applied before the split feeds both paths (paper appendix).
        self.preact = nn.Sequential(*make_ops(spec.preact, in_chs)) if share_preact else nn.Identity()
        if share_preact:
            ops = ops[len(spec.preact) :]
        self.branch = _build_branch(ops, in_chs, out_chs, stride, bottleneck=spec.branch.count(Op.CONV) == 3)
        self.shortcut = _build_shortcut(spec, in_chs, out_chs, stride, projection, preactivated=share_preact)
        self.gate = Gate(in_chs, out_chs, stride, spec.shortcut.params[0]) if kind in (ShortcutKind.EXCLUSIVE_GATE, ShortcutKind.SHORTCUT_GATE) else None
        self.exclusive = kind is ShortcutKind.EXCLUSIVE_GATE
        self.shortcut_scale = spec.shortcut.params[0] if kind is ShortcutKind.SCALE else 1.0
        self.branch_scale = spec.shortcut.branch_scale
        self.post = nn.Sequential(*make_ops(spec.post, out_chs, input_is_shared=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.preact(x)
        s = self.shortcut(x)  # shortcut h(x)
        r = self.branch(x)  # residual branch F(x)
        if self.gate is not None:
            g = self.gate(x)
            s = s * (1.0 - g)
            r = r * g if self.exclusive else r
        if self.shortcut_scale != 1.0:
            s = s * self.shortcut_scale
        if self.branch_scale != 1.0:
            r = r * self.branch_scale
        return self.post(s + r)  # x_next = f(y)

    def last_branch_layer(self) -> nn.Module:
        """The branch's last BN, else its last conv: what zero-init zeroes."""
        layers = [m for m in self.branch if isinstance(m, (nn.BatchNorm2d, nn.Conv2d))]
        last_conv = max(i for i, m in enumerate(layers) if isinstance(m, nn.Conv2d))
        bns = [m for m in layers[last_conv:] if isinstance(m, nn.BatchNorm2d)]
        return bns[-1] if bns else layers[last_conv]


def _build_branch(ops: list[Op], in_chs: int, out_chs: int, stride: int, *, bottleneck: bool) -> nn.Sequential:
    """Convs in order; BN/ReLU take the channel count of the tensor they see."""
    if bottleneck:
        # Stride on the first 1x1, as in the paper's code (resnet-1k-layers): ResNet-164
        # then costs the 244.5M conv MACs of ../shared/paper.md.
        mid = out_chs // 4
        convs = [conv1x1(in_chs, mid, stride), conv3x3(mid, mid), conv1x1(mid, out_chs)]
    else:
        convs = [conv3x3(in_chs, out_chs, stride), conv3x3(out_chs, out_chs)]
    layers: list[nn.Module] = []
    chs, i = in_chs, 0
    for op in ops:
        if op is Op.CONV:
            layers.append(convs[i])
            chs, i = convs[i].out_channels, i + 1
        else:
            layers.extend(make_ops((op,), chs, input_is_shared=not layers))
    return nn.Sequential(*layers)


def _build_shortcut(spec: UnitSpec, in_chs: int, out_chs: int, stride: int, projection: bool, *, preactivated: bool) -> nn.Module:
    kind = spec.shortcut.kind
    if kind is ShortcutKind.CONV1X1 or projection:
        # A projection on a pre-activated input needs no BN of its own (resnet-1k-layers);
        # on a raw input it is conv-BN like the branch (option B of the original ResNet).
        conv = conv1x1(in_chs, out_chs, stride)
        proj = conv if preactivated else nn.Sequential(conv, nn.BatchNorm2d(out_chs))
        return nn.Sequential(proj, ScaledDropout(spec.shortcut.params[0])) if kind is ShortcutKind.DROPOUT else proj
    base = ZeroPadShortcut(in_chs, out_chs, stride) if (stride > 1 or in_chs != out_chs) else nn.Identity()
    if kind is ShortcutKind.DROPOUT:
        return nn.Sequential(base, ScaledDropout(spec.shortcut.params[0]))
    return base


class ResNet(nn.Module):
    """A CIFAR-style ResNet whose every unit is built from one spec."""

    def __init__(self, spec: UnitSpec, cfg: ResNetConfig) -> None:
        super().__init__()
        self.spec, self.cfg = spec.expanded(cfg.bottleneck), cfg
        spec, n = self.spec, cfg.units_per_stage
        pre = spec.preact
        # Post-activation nets put BN-ReLU in the stem; pre-activation nets leave the
        # stem bare and let the first unit's pre-activation do it (paper appendix).
        self.stem = nn.Sequential(conv3x3(3, cfg.width), *([] if pre else make_ops((Op.BN, Op.RELU), cfg.width, input_is_shared=False)))
        expansion = 4 if cfg.bottleneck else 1
        units: list[ResidualUnit] = []
        prev_chs = cfg.width
        for stage, stage_width in enumerate((cfg.width, 2 * cfg.width, 4 * cfg.width)):
            out_chs = stage_width * expansion
            for i in range(n):
                stride = 2 if (stage > 0 and i == 0) else 1
                changes_shape = stride > 1 or prev_chs != out_chs
                projection = changes_shape and cfg.shortcut_type is Downsample.B
                share = bool(pre) and (not units or projection or spec.shortcut.kind is ShortcutKind.CONV1X1)
                units.append(ResidualUnit(spec, prev_chs, out_chs, stride, share_preact=share, projection=projection))
                prev_chs = out_chs
        self.units = nn.Sequential(*units)
        # The extra activation after the last addition of a pre-activation net.
        # Not in place: the last unit's output may itself be a ReLU's output, which its backward needs.
        self.final_act = nn.Sequential(*make_ops(pre, prev_chs))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(prev_chs, cfg.num_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """He initialisation (He et al. 2015), as in the paper and fb.resnet.torch."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)
        for m in self.modules():
            if isinstance(m, Gate):
                m.reset_bias()
        if self.cfg.zero_init_residual:
            for unit in self.units:
                nn.init.zeros_(unit.last_branch_layer().weight)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.final_act(self.units(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def build_resnet(spec: UnitSpec, cfg: ResNetConfig | None = None, **overrides) -> ResNet:
    """The ResNet for ``spec``; keyword overrides replace fields of ``cfg``."""
    cfg = ResNetConfig(**{**(cfg.__dict__ if cfg else {}), **overrides})
    return ResNet(spec, cfg)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, image_size: int = 32) -> int:
    """Multiply-accumulates of the convolutions and the head for one image."""
    limits.check_image(image_size, max((m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)), default=1) // 4 or 1)
    total = 0

    def hook(m: nn.Module, _inp, out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(m, nn.Conv2d):
            total += out[0].numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, 3, image_size, image_size, device=next(model.parameters()).device))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return total
