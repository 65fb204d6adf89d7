"""Signal propagation of one unit design at initialisation (paper Sec. 3, Eqs. 4-8).

Three views, each measured per unit index l = 0 .. L, where x_l is the input of
unit l and x_L the output of the last unit (the paper's notation):

* **forward** -- the RMS of x_l. Eq. 4 makes x_L a sum of residuals; without
  normalisation each addition of an independent residual of the same size
  doubles the variance, so the RMS grows by about sqrt(2) per unit.
* **backward** -- ``||dE/dx_l|| / ||dE/dx_L||`` with E the cross-entropy of the
  batch, twice: through the whole network (Eq. 5 as it is) and through the
  shortcuts alone (Eq. 5's first term, ``1``; Eq. 8's, ``prod lambda_i``). The
  second is what the paper argues about: with identity h and f it is exactly 1
  inside a stage, with ``h = lambda * x`` it shrinks like lambda per unit.
* **shattering** (Balduzzi et al. 2017, "The shattered gradients problem") -- the
  correlation between dE/dx_l for a batch x and for x plus a little noise: deep
  plain networks make the gradients of nearby inputs look like white noise.

The model is in **train mode**: BN normalises with the batch's own statistics,
as in the first training step, which is what the design has to survive. Norms
are Frobenius norms over the whole batch tensor, so the option-A shortcut at a
stage boundary (subsample, zero-pad channels) shows as a step in the ratios.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch

from .. import limits
from ..errors import UserError
from ..models import ResNet, build_resnet
from ..units import UnitSpec, preset_name
from ._probe import Probe, probe, rng_scope

__all__ = ["Diagnosis", "build_for_probe", "check_batch", "diagnose_unit", "log_slope"]

# Ratios of zero (a shortcut scaled by 0) enter the log-slope fit as this floor.
_LOG_FLOOR = 1e-30


@dataclass
class Diagnosis:
    """The per-unit measurements of one design and one summary number per view.

    Lists have ``L + 1`` entries: index l < L is the input of unit l, index L the
    output of the last unit.

    Attributes:
        unit: The canonical form of the design (``UnitSpec.form``, as given, not bottleneck-expanded).
        preset: Its preset name, or ``""``.
        depth, width, bottleneck, num_classes: The network.
        units_per_stage: n; unit l is in stage ``l // n``.
        batch: Images in the batch.
        seed: Seed of the initialisation (and of the noise and dropout masks).
        noise: Size of the perturbation for the shattering view, relative to the RMS of x.
        zero_init_residual: Whether each branch's last BN (or conv) started at zero.
        loss: Cross-entropy of the batch at initialisation.
        act_rms: RMS of x_l.
        grad_ratio: ``||dE/dx_l|| / ||dE/dx_L||`` through the whole network.
        shortcut_ratio: The same ratio through the shortcuts alone (Eqs. 5 and 8, first term).
        grad_corr: Mean per-image correlation of dE/dx_l for x and for x + noise.
        input_grad_corr: The same correlation for dE/dx at the network's input.
    """

    unit: str
    preset: str
    depth: int
    width: int
    bottleneck: bool
    num_classes: int
    units_per_stage: int
    batch: int
    seed: int
    noise: float
    zero_init_residual: bool
    loss: float
    act_rms: list[float]
    grad_ratio: list[float]
    shortcut_ratio: list[float]
    grad_corr: list[float]
    input_grad_corr: float
    summary: dict[str, float] = field(init=False)

    def __post_init__(self) -> None:
        L = len(self.act_rms) - 1
        self.summary = {
            # Eq. 5 / Eq. 8 at l = 0: how much of dE/dx_L reaches the first unit.
            "grad_ratio_first": self.grad_ratio[0],
            "shortcut_ratio_first": self.shortcut_ratio[0],
            # log10 change per unit the gradient travels back; log10(0.5) = -0.301 for lambda = 0.5.
            "grad_log10_per_unit": log_slope(self.grad_ratio),
            "shortcut_log10_per_unit": log_slope(self.shortcut_ratio),
            # Eq. 4: how much the forward signal grows from x_0 to x_L.
            "act_growth": _ratio(self.act_rms[L], self.act_rms[0]),
            "grad_corr_first": self.grad_corr[0],
        }

    def to_dict(self) -> dict:
        """Everything, per-unit lists included, as plain Python values."""
        return asdict(self)


def log_slope(ratios: list[float]) -> float:
    """Least-squares slope of ``log10(ratio_l)`` against ``L - l``, the units between x_l and x_L.

    Negative when the gradient shrinks on its way back to the first units. Ratios
    of zero count as 1e-30; NaN when a ratio is not finite.
    """
    L = len(ratios) - 1
    if L < 1 or not all(math.isfinite(r) for r in ratios):
        return math.nan
    xs = [float(L - l) for l in range(L + 1)]
    ys = [math.log10(max(r, _LOG_FLOOR)) for r in ratios]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((a - mx) ** 2 for a in xs)
    return sum((a - mx) * (b - my) for a, b in zip(xs, ys)) / sxx


def _noise_seed(seed: int) -> int:
    return (seed * 0x9E3779B1 + 0x7F4A7C15) % 2**63


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan


def _norm_ratios(grads: list[torch.Tensor]) -> list[float]:
    norms = [float(g.double().norm()) for g in grads]
    return [_ratio(n, norms[-1]) for n in norms]


def _rms(t: torch.Tensor) -> float:
    return float(t.double().pow(2).mean().sqrt())


def _corr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Pearson correlation per image over all its entries, averaged over the batch.

    Per image, so that the images with the largest loss do not dominate; an image
    whose gradient is zero in either pass contributes 0 (no shared direction).
    """
    a, b = a.double().flatten(1), b.double().flatten(1)
    a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
    den = a.norm(dim=1) * b.norm(dim=1)
    r = torch.where(den > 0, (a * b).sum(1) / den.clamp_min(1e-300), torch.zeros_like(den))
    return float(r.mean())


def check_batch(x: torch.Tensor, y: torch.Tensor, num_classes: int) -> None:
    """A :class:`UserError` unless x is ``[B, 3, H, W]`` with B >= 2 and y holds B labels below ``num_classes``."""
    if x.dim() != 4 or x.shape[1] != 3:
        raise UserError(f"input batch has shape {tuple(x.shape)}; expected [B, 3, H, W]")
    limits.batch_size("batch of images", x.shape[0], low=limits.MIN_BN_BATCH)
    if y.shape != (x.shape[0],):
        raise UserError(f"labels have shape {tuple(y.shape)}; expected [{x.shape[0]}]")
    if int(y.min()) < 0 or int(y.max()) >= num_classes:
        raise UserError(f"labels span {int(y.min())}..{int(y.max())}; expected 0..{num_classes - 1}")


def build_for_probe(
    spec: UnitSpec, *, depth: int, width: int, bottleneck: bool, num_classes: int, seed: int,
    zero_init_residual: bool = False, device: torch.device | str = "cpu",
) -> ResNet:
    """The network as a training run would start it: seeded He init, train mode.

    Seeds the global RNG: call it inside :func:`rng_scope`.

    Parameter gradients are switched off: the probes need gradients with respect to
    activations only, which saves the weight-gradient convolutions.
    """
    torch.manual_seed(seed)
    model = build_resnet(spec, depth=depth, width=width, bottleneck=bottleneck, num_classes=num_classes,
                         zero_init_residual=zero_init_residual)
    model.to(device).train()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def diagnose_unit(
    spec: UnitSpec,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    depth: int,
    width: int = 16,
    bottleneck: bool = False,
    num_classes: int = 10,
    seed: int = 0,
    noise: float = 0.01,
    zero_init_residual: bool = False,
) -> Diagnosis:
    """Measure the forward, backward and shattering views of ``spec`` at initialisation.

    Three passes over the batch: the full network on x, the full network on
    ``x + noise * rms(x) * N(0, 1)``, and the shortcuts alone on x. All three draw
    the same dropout masks. The caller's global RNG state is left as it was.

    Args:
        spec: The unit design.
        x: Normalised float images ``[B, 3, H, W]``, B >= 2 (BN needs a batch). A batch
            of real images is better than noise: it has the structure training sees.
        y: int64 labels ``[B]`` in ``0 .. num_classes - 1``.
        depth: 6n+2 (basic) or 9n+2 (bottleneck).
        width: Channels of the first stage.
        bottleneck: Bottleneck units.
        num_classes: Size of the linear head.
        seed: Seed of the initialisation, the noise and the dropout masks.
        noise: Perturbation for the shattering view, relative to the RMS of x. Small
            (1%): the question is whether *nearby* inputs get unrelated gradients.
        zero_init_residual: Start every branch at zero (the last BN's gamma = 0), so
            F = 0 and dF/dx = 0: the network is its shortcuts, and Eq. 8 holds exactly.

    Returns:
        The :class:`Diagnosis`. Deterministic given the arguments.
    """
    check_batch(x, y, num_classes)
    if not noise > 0:
        raise UserError(f"noise {noise} is invalid; expected a number > 0 (e.g. 0.01)")
    x, y = x.float(), y.long().to(x.device)
    with rng_scope(x.device):
        model = build_for_probe(spec, depth=depth, width=width, bottleneck=bottleneck, num_classes=num_classes,
                                seed=seed, zero_init_residual=zero_init_residual, device=x.device)
        # Its own stream: noise drawn from the seed that made x (normal_batch) would be
        # x itself, and BN is blind to x -> 1.01 x.
        gen = torch.Generator(device="cpu").manual_seed(_noise_seed(seed))
        delta = torch.randn(x.shape, generator=gen).to(x.device) * (noise * _rms(x))
        masks = seed + 1  # the same dropout masks in all three passes
        full: Probe = probe(model, x, y, mask_seed=masks)
        near: Probe = probe(model, x + delta, y, mask_seed=masks)
        direct: Probe = probe(model, x, y, mask_seed=masks, shortcut_only=True)
    return Diagnosis(
        unit=spec.form,
        preset=preset_name(spec) or "",
        depth=depth,
        width=width,
        bottleneck=bottleneck,
        num_classes=num_classes,
        units_per_stage=len(model.units) // 3,  # the CIFAR layout's stages are equal; 1-conv units count double
        batch=int(x.shape[0]),
        seed=seed,
        noise=noise,
        zero_init_residual=zero_init_residual,
        loss=full.loss,
        act_rms=[_rms(a) for a in full.acts],
        grad_ratio=_norm_ratios(full.grads),
        shortcut_ratio=_norm_ratios(direct.grads),
        grad_corr=[_corr(a, b) for a, b in zip(full.grads, near.grads)],
        input_grad_corr=_corr(full.input_grad, near.input_grad),
    )
