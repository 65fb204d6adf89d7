"""The cost ledger: epochs trained, epochs pruning saved, wall time, per design and in total.

A pruned trial saved the epochs it did not train: its planned epochs
(``config.epochs``, the trial's own plan) or, when it did not store a config,
the most epochs any complete trial of the study ran, minus the epochs it
trained. A trial skipped by the pre-filter saved its whole plan; that is
counted apart, as ``epochs_saved_by_skipping``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..storage import TrialStatus
from .collect import TrialRecord

__all__ = ["cost_ledger"]

_STATUSES = tuple(s.value for s in TrialStatus)


def _saved(r: TrialRecord, full_default: int | None) -> int:
    full = r.planned_epochs if r.planned_epochs is not None else full_default
    return max(0, full - r.epochs) if full is not None else 0


def cost_ledger(records: Sequence[TrialRecord], designs: Sequence[str] | None = None) -> dict[str, Any]:
    """Totals and a per-design breakdown (in ``designs`` order when given).

    Returns:
        ``{"n_trials", "trials_by_status", "epochs_trained", "epochs_saved_by_pruning",
        "epochs_saved_by_skipping", "wall_seconds", "by_design": [{"design", "trials",
        "epochs_trained", "epochs_saved_by_pruning", "wall_seconds"}]}``
    """
    complete = [r.epochs for r in records if r.status == TrialStatus.COMPLETE]
    full_default = max(complete) if complete else None
    by: dict[str, dict[str, Any]] = {}
    for d in designs or ():
        by[d] = {"design": d, "trials": 0, "epochs_trained": 0, "epochs_saved_by_pruning": 0, "wall_seconds": 0.0}
    pruned = skipped = 0
    for r in records:
        e = by.setdefault(
            r.design, {"design": r.design, "trials": 0, "epochs_trained": 0, "epochs_saved_by_pruning": 0, "wall_seconds": 0.0}
        )
        e["trials"] += 1
        e["epochs_trained"] += r.epochs
        e["wall_seconds"] += r.wall_seconds
        if r.status == TrialStatus.PRUNED:
            s = _saved(r, full_default)
            e["epochs_saved_by_pruning"] += s
            pruned += s
        elif r.status == TrialStatus.SKIPPED:
            skipped += _saved(r, full_default)
    return {
        "n_trials": len(records),
        "trials_by_status": {s: sum(r.status == s for r in records) for s in _STATUSES},
        "epochs_trained": sum(r.epochs for r in records),
        "epochs_saved_by_pruning": pruned,
        "epochs_saved_by_skipping": skipped,
        "wall_seconds": sum(r.wall_seconds for r in records),
        "by_design": list(by.values()),
    }
