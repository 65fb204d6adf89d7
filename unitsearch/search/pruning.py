"""Which trials the pruner may stop: never the baseline, a race's protected designs, or a last epoch."""

from __future__ import annotations

from collections.abc import Collection

import optuna

from ..storage import read_study
from ..units import resolve_unit
from .space import SearchSpace

__all__ = ["may_prune", "baseline_form", "protected_forms"]


def baseline_form(study: optuna.Study) -> str | None:
    """The canonical form of the study's baseline (``create_study`` stores it; None if it has none)."""
    baseline = read_study(study).baseline
    return resolve_unit(baseline).form if baseline else None


def protected_forms(study: optuna.Study, space: SearchSpace) -> frozenset[str]:
    """The units whose trials are never pruned: the baseline, and in a race its protected designs."""
    names = [n for n in [read_study(study).baseline] if n]
    names += list(space.plan.get("protect", [])) if space.is_race else []
    return frozenset(resolve_unit(n).form for n in names)


def may_prune(unit: str, epoch: int, epochs: int, *, protected: Collection[str] = ()) -> bool:
    """Whether the pruner is asked after ``epoch`` of ``epochs`` in a trial of ``unit``.

    Never after the last epoch: nothing is left to save, and the trial belongs among the
    completed ones the median pruner compares with. Never for a protected unit (the
    baseline, and a race's verdict designs): the report compares every design with the
    baseline on matched seeds, and a pruned trial would make that a comparison with an
    early epoch.
    """
    return epoch < epochs and unit not in protected
