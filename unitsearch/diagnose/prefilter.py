"""A zero-cost pre-filter: skip designs whose shortcut path loses the gradient at initialisation.

The paper's argument against scaled, gated and dropped shortcuts (Eqs. 7-8): with
``x_{l+1} = lambda_l * x_l + F(x_l)``::

    dE/dx_l = dE/dx_L * (prod_{i=l}^{L-1} lambda_i  +  d/dx_l sum_i F^(x_i))      (8)

The first term is the only one that does not pass through a weight layer; when
the product of lambdas vanishes (lambda < 1, a gate 1 - g ~ 0.5, a dropout mask)
or explodes (lambda > 1), the gradient reaches the early units only through the
branches, and the paper finds such networks hard to optimise (Table 1, "fail").

The score is that first term at the first unit, measured rather than derived:
``||dE/dx_0|| / ||dE/dx_L||`` with every residual branch and gate detached, so
the ReLUs and BNs of f and the stage boundaries count as they do in the network.
The *whole* gradient is not a useful score: BN makes each branch invariant to
the scale of its input, and at initialisation the full gradient of a BN network
grows on its way back, plain networks included (Yang et al. 2019), so it never
falls below a threshold.

The cost is one shortcut-only forward and backward pass of a fresh network on one
batch, with parameter gradients off: a small fraction of one training epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..errors import UserError
from ..units import UnitSpec
from ._probe import probe, rng_scope
from .diagnosis import build_for_probe, check_batch
from .inputs import normal_batch

__all__ = ["PrefilterResult", "prefilter", "verdict"]


@dataclass(frozen=True)
class PrefilterResult:
    """The pre-filter's decision on one design.

    Attributes:
        keep: Train it (False: record it as skipped).
        score: The shortcut-path gradient ratio at the first unit (Eq. 8's first term).
        reason: One line saying why, with the numbers.
    """

    keep: bool
    score: float
    reason: str


def verdict(score: float, min_grad_ratio: float, max_grad_ratio: float | None = None) -> PrefilterResult:
    """Keep or skip a design with this score.

    Args:
        score: ``||dE/dx_0|| / ||dE/dx_L||`` through the shortcuts alone.
        min_grad_ratio: Skip below this: the product of Eq. 8 vanishes.
        max_grad_ratio: Skip above this, if given: the product explodes.
    """
    if not math.isfinite(score):
        return PrefilterResult(False, score, "prefilter: the loss or its gradient is not finite at initialisation")
    if score < min_grad_ratio:
        return PrefilterResult(
            False, score,
            f"prefilter: shortcut gradient reaching unit 0 is {score:.3g} of dE/dx_L, below {min_grad_ratio:g} "
            "(the product of Eq. 8 vanishes)",
        )
    if max_grad_ratio is not None and score > max_grad_ratio:
        return PrefilterResult(
            False, score,
            f"prefilter: shortcut gradient reaching unit 0 is {score:.3g} of dE/dx_L, above {max_grad_ratio:g} "
            "(the product of Eq. 8 explodes)",
        )
    return PrefilterResult(True, score, f"prefilter: shortcut gradient ratio {score:.3g} >= {min_grad_ratio:g}")


def prefilter(
    spec: UnitSpec,
    *,
    depth: int,
    width: int,
    bottleneck: bool,
    num_classes: int,
    image_size: int,
    min_grad_ratio: float,
    seed: int = 0,
    x: torch.Tensor | None = None,
    y: torch.Tensor | None = None,
    batch: int = 32,
    max_grad_ratio: float | None = None,
) -> PrefilterResult:
    """Decide before training whether ``spec`` is worth training at this size.

    Args:
        spec: The unit design.
        depth, width, bottleneck, num_classes: The network, as it would be trained.
        image_size: Height and width of the default batch.
        min_grad_ratio: Threshold on the score (a space file's ``[prefilter] min_grad_ratio``).
        seed: Seed of the initialisation, the default batch and dropout masks.
        x: Normalised images ``[B, 3, H, W]``; default: a fixed seeded standard-normal
            batch of ``batch`` images. Real images are better (they have the spatial
            structure training sees); noise is enough to expose a vanishing product.
        y: Labels for ``x``; default: seeded uniform labels.
        batch: Size of the default batch.
        max_grad_ratio: Optional upper threshold, for shortcuts that amplify (lambda > 1).

    Returns:
        ``PrefilterResult(keep, score, reason)``. The caller's global RNG is untouched.
    """
    if not min_grad_ratio >= 0:
        raise UserError(f"min_grad_ratio {min_grad_ratio} is invalid; expected a number >= 0 (e.g. 1e-3)")
    if x is None or y is None:
        x, y = normal_batch(image_size, batch, num_classes, seed=seed)
    check_batch(x, y, num_classes)
    with rng_scope(x.device):
        model = build_for_probe(spec, depth=depth, width=width, bottleneck=bottleneck, num_classes=num_classes,
                                seed=seed, device=x.device)
        grads = probe(model, x.float(), y.long().to(x.device), mask_seed=seed + 1, shortcut_only=True).grads
    first, last = float(grads[0].double().norm()), float(grads[-1].double().norm())
    score = first / last if last > 0 else math.nan
    return verdict(score, min_grad_ratio, max_grad_ratio)

