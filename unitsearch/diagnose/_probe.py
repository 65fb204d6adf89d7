"""One forward and backward pass that records every unit's input and its gradient.

The paper follows a signal through the stack of units (Eqs. 4-6)::

    x_L = x_l + sum_{i=l}^{L-1} F(x_i)                                    (4)
    dE/dx_l = dE/dx_L * (1 + d/dx_l sum_{i=l}^{L-1} F(x_i))               (5)

so a probe needs, per unit l, the tensor x_l that enters unit l and the final
output x_L of the last unit, and their gradients. Forward pre-hooks on
``model.units[l]`` catch x_l, a forward hook on the last unit catches x_L, and
``retain_grad`` keeps their gradients after ``backward``.

With ``shortcut_only`` the same forward pass (same values, same dropout masks)
detaches every residual branch F and every gate g, so the backward pass follows
the shortcuts alone. That is the first term of Eq. 5 (``dE/dx_L * 1``) and, for a
scaled shortcut, of Eq. 8 (``dE/dx_L * prod_i lambda_i``): the part of the
gradient that reaches x_l without passing through any weight layer. The ops of f
after each addition stay in that path, as they are in the network.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..models import ResNet

__all__ = ["Probe", "probe", "rng_scope"]


@dataclass
class Probe:
    """What one pass saw.

    Attributes:
        acts: ``L + 1`` tensors, detached: x_0 .. x_{L-1} (the inputs of the units)
            and x_L (the output of the last unit).
        grads: dE/dx_l for the same ``L + 1`` tensors (zeros where no gradient arrived).
        input_grad: dE/dx with respect to the network's input images.
        loss: The cross-entropy E of the batch.
    """

    acts: list[torch.Tensor]
    grads: list[torch.Tensor]
    input_grad: torch.Tensor
    loss: float


def rng_scope(device: torch.device):
    """A context that restores the global RNG state(s) on exit.

    The probe reseeds the global generator (dropout shortcuts draw their masks from
    it); the caller's random stream, e.g. a trial's training run, must not notice.
    """
    if device.type == "cuda":
        return torch.random.fork_rng(devices=[device.index or 0], device_type="cuda")
    return torch.random.fork_rng(devices=[])


def _detach_output(_module: nn.Module, _inputs, output: torch.Tensor) -> torch.Tensor:
    return output.detach()


def probe(model: ResNet, x: torch.Tensor, y: torch.Tensor, *, mask_seed: int, shortcut_only: bool = False) -> Probe:
    """Run ``model`` on one batch and back-propagate the cross-entropy loss.

    Args:
        model: The network, in the mode the caller wants (train mode: BN uses the
            batch's statistics, as in a training step).
        x: Float images ``[B, 3, H, W]`` on the model's device.
        y: int64 labels ``[B]``.
        mask_seed: The global RNG is seeded with this just before the forward pass,
            so that passes over nearby inputs draw the same dropout masks.
        shortcut_only: Detach every residual branch and gate, so the gradient
            follows the shortcuts alone (the first term of Eqs. 5 and 8).

    Returns:
        The unit inputs x_0 .. x_{L-1}, the output x_L, their gradients and the loss.
    """
    seen: list[torch.Tensor] = []

    def keep(t: torch.Tensor) -> None:
        if t.requires_grad:
            t.retain_grad()
        seen.append(t)

    def keep_last(_m: nn.Module, _inputs, out: torch.Tensor) -> torch.Tensor:
        keep(out)
        # A pre-activation net's final_act may start with an in-place ReLU; hand it a copy
        # so that x_L (and its gradient) stays the output of the last addition.
        return out.clone()

    handles = [u.register_forward_pre_hook(lambda _m, inputs: keep(inputs[0])) for u in model.units]
    handles.append(model.units[-1].register_forward_hook(keep_last))
    if shortcut_only:
        for unit in model.units:
            handles.append(unit.branch.register_forward_hook(_detach_output))
            if unit.gate is not None:  # the gate g(x) is a weight layer too (Table 1)
                handles.append(unit.gate.register_forward_hook(_detach_output))
    model.zero_grad(set_to_none=True)
    inp = x.detach().clone().requires_grad_(True)
    try:
        torch.manual_seed(mask_seed)
        loss = F.cross_entropy(model(inp), y)
        loss.backward()
    finally:
        for h in handles:
            h.remove()
    grads = [t.grad.detach() if t.grad is not None else torch.zeros_like(t) for t in seen]
    input_grad = inp.grad.detach() if inp.grad is not None else torch.zeros_like(inp)
    return Probe([t.detach() for t in seen], grads, input_grad, float(loss.detach()))
