"""A run's state at the end of an epoch: enough to go on as if it had never stopped.

:func:`unitsearch.train.train` hands a :class:`Checkpoint` to its ``on_checkpoint`` hook after
every epoch and takes one back as ``resume``. It holds the weights and batch-norm statistics,
the optimiser's momentum, the SGD step (the schedule is a function of it), the warm-up's
state, the divergence check's reference loss, the generator that draws the data order, crops
and flips, torch's global generators (dropout shortcut masks), and the curve so far. A run
resumed from epoch k on the same numerics ends with the same weights, curve and errors, to
the last digit, as one trained straight through.

:meth:`Checkpoint.to_bytes` and :meth:`Checkpoint.from_bytes` are the stored form (``torch.save``
of plain tensors and numbers; loaded with ``weights_only``, so a stored file runs no code).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, fields
from typing import Any

import torch

__all__ = ["Checkpoint", "CheckpointError"]

FORMAT = 1  # bumped when the stored fields change


class CheckpointError(ValueError):
    """A stored checkpoint that cannot be read, or that belongs to another trial's setup."""


@dataclass
class Checkpoint:
    """The state after epoch ``epoch`` (1-based) of a run whose setup hashes to ``fingerprint``."""

    epoch: int
    step: int
    warmup: bool
    reference: float | None
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    generator: torch.Tensor
    rng: torch.Tensor
    cuda_rng: list[torch.Tensor] = field(default_factory=list)
    curve: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0  # wall time of the epochs before it
    fingerprint: str = ""

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        torch.save({"format": FORMAT, **{f.name: getattr(self, f.name) for f in fields(self)}}, buf)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, *, fingerprint: str = "") -> Checkpoint:
        """The checkpoint in ``data``; with ``fingerprint``, it must be that setup's.

        Raises:
            CheckpointError: Not a checkpoint of this format, or of another setup.
        """
        try:
            stored = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
        except Exception as e:  # noqa: BLE001  (a truncated or foreign file)
            raise CheckpointError(f"unreadable checkpoint ({type(e).__name__})") from None
        if not isinstance(stored, dict) or stored.pop("format", None) != FORMAT:
            raise CheckpointError(f"not a checkpoint of format {FORMAT}")
        try:
            ckpt = cls(**stored)
        except TypeError as e:
            raise CheckpointError(f"checkpoint fields do not match: {e}") from None
        if fingerprint and ckpt.fingerprint != fingerprint:
            raise CheckpointError("checkpoint of another setup (its network, recipe or data differ)")
        return ckpt
