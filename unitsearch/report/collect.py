"""Read a study, read-only: its trials as per-seed records grouped by unit design.

The report never writes to the storage: tables are not created, stale trials are
not failed, and the SQLAlchemy engine is disposed after the one read, so workers
that still write to the same database are never blocked by a report.

Which number a trial contributes (its per-seed error) depends on how it ended
(:mod:`unitsearch.storage.trial`):

* ``complete``: its ``val_error`` (or ``test_error`` with ``Metric.TEST``).
* ``diverged``: its stored value, the chance error; both metrics use it.
* ``pruned``: its last reported validation error. It stopped early, so this
  number is biased upwards; that is the point of pruning (the pruner judged it
  would not catch up), and it keeps the loser in the ranking instead of silently
  dropping it. With ``Metric.TEST`` it still is the validation error.
* ``skipped`` (pre-filter), ``failed``, running, ``unused`` and ``duplicate`` trials: excluded.

When one (design, seed) pair has several trials (a retried cell), the one used is
a finished one (``complete``/``diverged``) before a ``pruned`` one, then the latest.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from ..errors import UserError
from ..storage.trial import StoredTrial, TrialStatus, finite, read_trial
from ..units import UnitSpec, preset_name

__all__ = ["Metric", "TrialRecord", "CONTEXT_KEYS", "study_names", "design_label", "collect_trials"]

# A unit design is its canonical form, plus these when they vary within a study.
CONTEXT_KEYS = ("depth", "width", "bottleneck")
_USED_ORDER = {TrialStatus.COMPLETE: 0, TrialStatus.DIVERGED: 0, TrialStatus.PRUNED: 1}  # which trial of a (design, seed) pair counts


class Metric(str, enum.Enum):
    """Which error ranks the designs."""

    VAL = "val"  # validation error, the objective the search minimised
    TEST = "test"  # test error, where complete trials stored one


@dataclass(frozen=True)
class TrialRecord:
    """One trial as the report sees it.

    ``error`` is the per-seed error (None when the trial is excluded) and ``used``
    says whether it enters the statistics (see the module docstring).
    """

    number: int
    status: str  # complete, diverged, pruned, skipped, failed or running
    unit: str  # canonical form
    preset: str | None
    h: str
    f: str
    branch: str
    seed: int | None
    depth: int | None = None
    width: int | None = None
    bottleneck: bool | None = None
    params: int | None = None
    error: float | None = None
    final_train_loss: float | None = None
    epochs: int = 0
    planned_epochs: int | None = None  # config.epochs, for epochs saved by pruning
    wall_seconds: float = 0.0
    curve: tuple[dict[str, Any], ...] = ()
    numerics: str | None = None  # what it computed with (unitsearch.numerics.describe)
    design: str = ""  # grouping key, set once the whole study is seen
    used: bool = False

    @property
    def context(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in CONTEXT_KEYS}


def study_names(storage: optuna.storages.BaseStorage) -> list[str]:
    """The names of the studies in ``storage``, sorted."""
    return sorted(s.study_name for s in storage.get_all_studies())


def _error(r: StoredTrial, metric: Metric) -> float | None:
    if r.status is TrialStatus.COMPLETE:
        return finite(r.test_error) if metric is Metric.TEST else finite(r.val_error if r.val_error is not None else r.value)
    if r.status is TrialStatus.DIVERGED:
        return finite(r.value if r.value is not None else r.val_error)
    if r.status is TrialStatus.PRUNED:
        return r.last_error
    return None


def _record(t: FrozenTrial, metric: Metric) -> TrialRecord | None:
    r = read_trial(t)
    if r.unit is None:
        return None  # a trial that has not started its cell yet
    try:
        spec = UnitSpec.parse(str(r.unit))
        unit, h, f, branch, preset = spec.form, spec.h_form, spec.f_form, spec.branch_form, preset_name(spec)
    except UserError:  # an unparseable form still gets its row, under its stored name
        unit, h, f, branch = str(r.unit), str(r.h or ""), str(r.f or ""), str(r.branch or "")
        preset = r.preset or None
    loss = finite(r.final_train_loss if r.final_train_loss is not None else (r.curve[-1].get("train_loss") if r.curve else None))
    return TrialRecord(
        number=r.number,
        status=r.status.value,
        unit=unit, preset=preset, h=h, f=f, branch=branch,
        seed=r.seed,
        depth=r.depth, width=r.width, bottleneck=r.bottleneck,
        params=r.params_count,
        error=_error(r, metric),
        final_train_loss=loss,
        epochs=int(r.epochs or len(r.curve)),
        planned_epochs=r.planned_epochs,
        wall_seconds=finite(r.wall_seconds) or 0.0,
        curve=r.curve,
        numerics=r.numerics,
    )


def design_label(rec: TrialRecord, varying: list[str]) -> str:
    """The preset name (or the form), with the context that varies: ``full_preact [depth=56]``."""
    name = rec.preset or rec.unit
    if not varying:
        return name
    return f"{name} [{', '.join(f'{k}={getattr(rec, k)}' for k in varying)}]"


def collect_trials(trials: list[FrozenTrial], metric: Metric = Metric.VAL) -> tuple[list[TrialRecord], list[str]]:
    """Per-trial records with their design and whether they enter the statistics.

    Args:
        trials: The study's trials (``study.get_trials(deepcopy=False)``).
        metric: Which error a complete trial contributes.

    Returns:
        The records (trials that never stored a unit are left out) and the context
        keys that vary within the study (part of each design's name).
    """
    records = [r for r in (_record(t, metric) for t in trials) if r is not None]
    varying = [k for k in CONTEXT_KEYS if len({getattr(r, k) for r in records}) > 1]
    records = [replace(r, design=design_label(r, varying)) for r in records]
    chosen: dict[tuple[str, Any], int] = {}  # (design, seed) -> index of the record used
    for i, r in enumerate(records):
        if r.error is None or r.status not in _USED_ORDER:
            continue
        key = (r.design, r.seed if r.seed is not None else f"trial {r.number}")
        j = chosen.get(key)
        if j is None or (_USED_ORDER[r.status], -r.number, -i) < (_USED_ORDER[records[j].status], -records[j].number, -j):
            chosen[key] = i
    used = set(chosen.values())
    return [replace(r, used=i in used) for i, r in enumerate(records)], varying
