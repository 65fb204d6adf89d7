"""One builder from a :class:`UnitSpec` to a ResNet, in the CIFAR or the ImageNet layout.

CIFAR layout: stem conv3x3, three stages of width w, 2w, 4w (bottleneck outputs
4x that), stride 2 at the first unit of stages 2 and 3, global average pool,
linear head (paper Sec. 4 and appendix; fb.resnet.torch / resnet-1k-layers).
ImageNet layout: stem conv7x7/2 and max pool 3x3/2, four stages w..8w, the rest
alike (paper Sec. 5; fb.resnet.torch's resnet.lua / preresnet.lua, torchvision).

Pre-activation units (a branch that starts with BN and/or ReLU) follow the
paper's appendix: the first unit's pre-activation is applied once before it
splits into the two paths (in the ImageNet layout it sits in the stem, before
the max pool, as in preresnet.lua), every unit with a projection shortcut
pre-activates before splitting too, and an extra activation follows the last
addition before pooling.
"""

from __future__ import annotations

import torch
from torch import nn

from .. import limits
from ..units import Op, ShortcutKind, UnitSpec
from .config import Arch, Downsample, ResNetConfig
from .layers import Gate, ScaledDropout, ZeroPadShortcut, conv1x1, conv3x3, make_ops

__all__ = ["Arch", "Downsample", "ResNetConfig", "ResidualUnit", "ResNet", "build_resnet", "count_params", "count_macs"]


class ResidualUnit(nn.Module):
    """``y = h(x) + F(x)``, ``x_next = f(y)`` (paper Eqs. 1-2)."""

    def __init__(
        self,
        spec: UnitSpec,
        in_chs: int,
        out_chs: int,
        stride: int,
        *,
        share_preact: bool,
        projection: bool,
        preact_in_stem: bool = False,
        stride_on_3x3: bool = False,
    ) -> None:
        super().__init__()
        kind, ops = spec.shortcut.kind, list(spec.branch)
        # Pre-activation applied before the split feeds both paths (paper appendix);
        # with preact_in_stem the stem has applied it already.
        self.preact = nn.Sequential(*make_ops(spec.preact, in_chs)) if share_preact else nn.Identity()
        if share_preact or preact_in_stem:
            ops = ops[len(spec.preact) :]
        self.branch = _build_branch(ops, in_chs, out_chs, stride, n_convs=spec.n_convs, stride_on_3x3=stride_on_3x3)
        preactivated = bool(spec.preact) and (share_preact or preact_in_stem)
        self.shortcut = _build_shortcut(spec, in_chs, out_chs, stride, projection, preactivated=preactivated)
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


def _build_branch(ops: list[Op], in_chs: int, out_chs: int, stride: int, *, n_convs: int, stride_on_3x3: bool) -> nn.Sequential:
    """Convs in order; BN/ReLU take the channel count of the tensor they see."""
    if n_convs == 3:
        # CIFAR: stride on the first 1x1, as in the paper's code (resnet-1k-layers), which
        # gives ResNet-164 the paper's 244.5M conv MACs. ImageNet: stride on the 3x3, as in
        # fb.resnet.torch and torchvision, so the 1x1 does not skip 3 of every 4 pixels.
        mid = out_chs // 4
        s1, s3 = (1, stride) if stride_on_3x3 else (stride, 1)
        convs = [conv1x1(in_chs, mid, s1), conv3x3(mid, mid, s3), conv1x1(mid, out_chs)]
    elif n_convs == 2:
        convs = [conv3x3(in_chs, out_chs, stride), conv3x3(out_chs, out_chs)]
    else:  # Table 3's 1-layer skip: the branch is one 3x3 conv
        convs = [conv3x3(in_chs, out_chs, stride)]
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
    """A ResNet whose every unit is built from one spec."""

    def __init__(self, spec: UnitSpec, cfg: ResNetConfig) -> None:
        super().__init__()
        self.spec, self.cfg = spec.expanded(cfg.bottleneck), cfg
        spec, imagenet = self.spec, cfg.arch is Arch.IMAGENET
        stages = cfg.stages(spec.n_convs)
        pre = spec.preact
        self.stem = _build_stem(pre, cfg.width, imagenet=imagenet)
        expansion = 4 if cfg.bottleneck else 1
        units: list[ResidualUnit] = []
        prev_chs = cfg.width
        for stage in stages:
            out_chs = stage.width * expansion
            for i in range(stage.units):
                stride = stage.stride if i == 0 else 1
                changes_shape = stride > 1 or prev_chs != out_chs
                projection = changes_shape and cfg.shortcut_type is Downsample.B
                in_stem = imagenet and not units
                share = bool(pre) and not in_stem and (not units or projection or spec.shortcut.kind is ShortcutKind.CONV1X1)
                units.append(
                    ResidualUnit(
                        spec, prev_chs, out_chs, stride, share_preact=share, projection=projection,
                        preact_in_stem=in_stem, stride_on_3x3=imagenet,
                    )
                )
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


def _build_stem(pre: tuple[Op, ...], width: int, *, imagenet: bool) -> nn.Sequential:
    """The layers before the first unit.

    Post-activation nets put BN-ReLU in the stem. Pre-activation nets on CIFAR leave
    the stem a bare conv and let the first unit pre-activate before its split (paper
    appendix); on ImageNet that pre-activation sits in the stem, before the max pool
    (preresnet.lua), so the first unit sees the pooled, activated stem output.
    """
    acts = make_ops(pre if pre else (Op.BN, Op.RELU), width, input_is_shared=False)
    if not imagenet:
        return nn.Sequential(conv3x3(3, width), *([] if pre else acts))
    conv = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
    return nn.Sequential(conv, *acts, nn.MaxPool2d(3, stride=2, padding=1))


def build_resnet(spec: UnitSpec, cfg: ResNetConfig | None = None, **overrides) -> ResNet:
    """The ResNet for ``spec``; keyword overrides replace fields of ``cfg``."""
    cfg = ResNetConfig(**{**(cfg.__dict__ if cfg else {}), **overrides})
    return ResNet(spec, cfg)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, image_size: int = 32) -> int:
    """Multiply-accumulates of every ``nn.Conv2d`` for one image: stem, branches, projection and gate convs.

    The linear head, BN and the element-wise ops are not counted: at these sizes the
    convolutions are nearly all of the work, and stored MACs are comparable only if the rule stays.
    """
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
