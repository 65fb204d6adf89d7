"""Small layers the builder composes: the op table, shortcuts and gates."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..units import Op

__all__ = ["OP_FACTORIES", "make_ops", "conv3x3", "conv1x1", "ZeroPadShortcut", "ScaledDropout", "Gate"]


def conv3x3(in_chs: int, out_chs: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_chs, out_chs, 3, stride=stride, padding=1, bias=False)


def conv1x1(in_chs: int, out_chs: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_chs, out_chs, 1, stride=stride, bias=False)


# Name -> factory of the non-conv ops: (channels where the op sits, may it work in place).
OP_FACTORIES: dict[Op, Callable[[int, bool], nn.Module]] = {
    Op.BN: lambda chs, _inplace: nn.BatchNorm2d(chs),
    Op.RELU: lambda _chs, inplace: nn.ReLU(inplace=inplace),
}


def make_ops(ops: tuple[Op, ...], chs: int, *, input_is_shared: bool = True) -> list[nn.Module]:
    """Modules for a run of non-conv ops at ``chs`` channels.

    An op works in place only on a tensor made inside the same run: the first op
    of a branch sees the unit's input, which the shortcut still needs.
    """
    return [OP_FACTORIES[op](chs, i > 0 or not input_is_shared) for i, op in enumerate(ops)]


class ZeroPadShortcut(nn.Module):
    """Option A down-sampling shortcut: subsample, then pad new channels with zeros (no parameters)."""

    def __init__(self, in_chs: int, out_chs: int, stride: int) -> None:
        super().__init__()
        self.stride, self.extra = stride, out_chs - in_chs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra)) if self.extra else x


class ScaledDropout(nn.Module):
    """Dropout on the shortcut without the 1/(1-p) rescaling.

    The paper's dropout shortcut "statistically imposes a scale of lambda with an
    expectation of 0.5 on the shortcut" (Sec. 3.1): the kept signal is not rescaled,
    so in expectation it is multiplied by (1 - p), as in the original dropout.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x * (1.0 - self.p)
        keep = torch.empty_like(x).bernoulli_(1.0 - self.p)
        return x * keep


class Gate(nn.Module):
    """g(x) = sigmoid(conv1x1(x) + b_g), the gate of Table 1's gating rows.

    The bias starts at b_g: a very negative b_g makes the unit start near identity
    (1 - g ~ 1), which is why b_g = -6 trains and b_g = 0 does not (Sec. 3.1).
    """

    def __init__(self, in_chs: int, out_chs: int, stride: int, bias_init: float) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_chs, out_chs, 1, stride=stride, bias=True)
        self.bias_init = bias_init

    def reset_bias(self) -> None:
        nn.init.constant_(self.conv.bias, self.bias_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.conv(x))
