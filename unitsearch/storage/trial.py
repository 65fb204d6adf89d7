"""What a trial stores, as code: its status, its user-attribute keys, one writer and one reader.

The study stays a plain Optuna study. A trial's objective value is its validation error in
percent (minimised); its intermediate values are the validation error per epoch (step =
epoch, from 1). Everything else is a user attribute whose key is a field of
:class:`StoredTrial`. :func:`write_trial` is the only code that sets one (the plan when it
queues a pair, the objective while it trains, the failure wrapper, the live view's worker
tag), and :func:`read_trial` the only code that reads them back (the plan, the race, the
report, the cost ledger, the live view and the benches).

How a trial's status maps onto Optuna's state:

========== ============= =====================================================================
status     Optuna state  meaning
========== ============= =====================================================================
complete   COMPLETE      trained every epoch
diverged   COMPLETE      its loss blew up; its value is the chance error ``100 * (1 - 1/classes)``
pruned     PRUNED        the pruner stopped it; its value is its last epoch's validation error
skipped    PRUNED        the pre-filter stopped it before its first epoch
failed     FAIL          an exception, an interrupt, or its worker died (heartbeat)
running    RUNNING       in training (also read for a trial that has not stored a status)
unused     FAIL          trained nothing: no waiting trial left, or its design left the race
duplicate  FAIL          trained nothing: its (cell, seed) has another running or finished trial
========== ============= =====================================================================

A trial failed by another worker's heartbeat keeps the ``running`` it stored (Optuna freezes a
finished trial's attributes); :func:`read_trial` reads it as ``failed`` from its state.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import math
import weakref
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

__all__ = ["TrialStatus", "NOT_RUN", "StoredTrial", "ATTRS", "trial_attrs", "write_trial", "read_trial", "finite"]


class TrialStatus(str, enum.Enum):
    """A trial's ``status`` attribute (the table in the module docstring)."""

    COMPLETE = "complete"
    DIVERGED = "diverged"
    PRUNED = "pruned"
    SKIPPED = "skipped"
    FAILED = "failed"
    RUNNING = "running"
    UNUSED = "unused"
    DUPLICATE = "duplicate"


NOT_RUN = (TrialStatus.UNUSED, TrialStatus.DUPLICATE)  # the objective trained nothing


@dataclass(frozen=True)
class StoredTrial:
    """One trial as stored: its Optuna bookkeeping, then one field per user attribute.

    An attribute the trial never stored reads as None (a waiting trial has only the
    plan's three: ``plan_key``, ``cell`` and ``seed``).
    """

    # Optuna's own record of the trial.
    number: int
    state: TrialState
    status: TrialStatus  # from ``state`` and the stored status (module docstring)
    value: float | None = None
    intermediate_values: dict[int, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    datetime_start: datetime.datetime | None = None
    datetime_complete: datetime.datetime | None = None
    # Set when the pair is queued (search.plan).
    plan_key: str | None = None  # "<cell>#seed=<seed>", unique among live and finished trials
    cell: str | None = None  # the cell's factor values, canonical JSON (sorted keys)
    seed: int | None = None  # training seed
    # Set when the trial starts (search.objective).
    unit: str | None = None  # the unit's canonical form (UnitSpec.form)
    built_unit: str | None = None  # the form the network was built from (bottleneck-expanded)
    preset: str | None = None  # preset name, "" when the unit is not one
    h: str | None = None  # UnitSpec.h_form
    branch: str | None = None  # UnitSpec.branch_form
    f: str | None = None  # UnitSpec.f_form ("id" for none)
    profile: str | None = None  # fidelity profile name
    depth: int | None = None
    width: int | None = None
    bottleneck: bool | None = None
    arch: str | None = None  # network layout: "cifar" or "imagenet"
    params_count: int | None = None  # stored under the key "params"
    macs: int | None = None  # conv and linear multiply-accumulates per image
    config: dict[str, Any] | None = None  # the TrainConfig the trial ran with
    manifest: dict[str, Any] | None = None  # versions, device name, dataset fingerprint, git commit
    numerics: str | None = None  # torch version, kernels and threads (unitsearch.numerics.describe)
    stored_status: str | None = None  # stored under the key "status"; ``status`` is what it means
    reason: str | None = None  # why a trial is not complete ("" when it is); a failed trial always has one
    prefilter_score: float | None = None
    # Set while it trains (search.objective, the live view's worker tag).
    worker: str | None = None  # "worker N" (its --worker-index) or "host:pid"; set at its first epoch
    curve: tuple[dict[str, Any], ...] = ()  # per epoch: epoch, train_loss, train_acc, val_loss, val_error, lr, seconds, images_per_s
    checkpoint: dict[str, Any] | None = None  # {"id", "epoch"}: its last stored checkpoint (storage.checkpoints)
    resumed_from: int | None = None  # the epoch it went on from: a retry of an interrupted or lost trial
    # Set when it ends.
    final_train_loss: float | None = None
    val_error: float | None = None  # percent
    test_error: float | None = None  # percent; complete trials of data with a test split
    epochs: int | None = None  # epochs trained
    wall_seconds: float | None = None
    images_per_s: float | None = None  # mean training throughput

    @property
    def last_error(self) -> float | None:
        """The last epoch's validation error (a pruned trial's number), else its value."""
        if self.intermediate_values:
            return finite(self.intermediate_values[max(self.intermediate_values)])
        return finite(self.value if self.value is not None else self.val_error)

    @property
    def planned_epochs(self) -> int | None:
        """The epochs its config planned (None when it stored no config)."""
        epochs = self.config.get("epochs") if isinstance(self.config, dict) else None
        return int(epochs) if epochs is not None else None


# Field names that differ from the stored key.
_KEY_OF = {"params_count": "params", "stored_status": "status"}
_OPTUNA = ("number", "state", "status", "value", "intermediate_values", "params", "datetime_start", "datetime_complete")
ATTRS: tuple[str, ...] = tuple(_KEY_OF.get(f.name, f.name) for f in dataclasses.fields(StoredTrial) if f.name not in _OPTUNA)
_KEYS = frozenset(ATTRS)
_FIELD_OF = {key: name for name, key in _KEY_OF.items()}


def trial_attrs(**attrs: Any) -> dict[str, Any]:
    """User attributes as stored: only known keys (:data:`ATTRS`), a status as its text.

    Raises:
        KeyError: A key that is not part of the trial record (a bug, not an input error).
    """
    unknown = sorted(set(attrs) - _KEYS)
    if unknown:
        raise KeyError(f"not a trial attribute: {', '.join(unknown)}; known: {', '.join(ATTRS)}")
    return {k: v.value if isinstance(v, enum.Enum) else v for k, v in attrs.items()}


def write_trial(trial: optuna.Trial, **attrs: Any) -> None:
    """Store ``attrs`` on a running trial, each under its key (see :class:`StoredTrial`)."""
    for key, value in trial_attrs(**attrs).items():
        trial.set_user_attr(key, value)


def finite(x: Any) -> float | None:
    """``x`` as a float, or None when it is missing, not a number, or not finite."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _status(state: TrialState, stored: Any) -> TrialStatus:
    if stored in NOT_RUN:
        return TrialStatus(stored)
    if state is TrialState.COMPLETE:
        return TrialStatus(stored) if stored in ("complete", "diverged") else TrialStatus.COMPLETE
    if state is TrialState.PRUNED:
        return TrialStatus(stored) if stored in ("pruned", "skipped") else TrialStatus.PRUNED
    if state is TrialState.FAIL:
        return TrialStatus.FAILED
    return TrialStatus.RUNNING


_FINISHED: dict[int, tuple[weakref.ref, StoredTrial]] = {}  # id(frozen trial) -> (it, its record)


def read_trial(t: FrozenTrial) -> StoredTrial:
    """The record of trial ``t``; attributes it never stored read as None.

    A finished trial never changes, and Optuna's cached storage hands out the same frozen
    trial on every read: its record is kept while that object lives, so the plan, the race
    and the duplicate check, which read every trial around every trial, cost only the new ones.
    """
    if not t.state.is_finished():
        return _read(t)
    hit = _FINISHED.get(id(t))
    if hit is not None and hit[0]() is t:
        return hit[1]
    record = _read(t)
    key = id(t)
    _FINISHED[key] = (weakref.ref(t, lambda _, key=key: _FINISHED.pop(key, None)), record)
    return record


def _read(t: FrozenTrial) -> StoredTrial:
    a = t.user_attrs
    known = {_FIELD_OF.get(k, k): v for k, v in a.items() if k in _KEYS}
    curve = known.pop("curve", None) or ()
    seed = known.pop("seed", None)
    return StoredTrial(
        number=t.number,
        state=t.state,
        status=_status(t.state, a.get("status")),
        value=t.value,
        intermediate_values=dict(t.intermediate_values),
        params=dict(t.params),
        datetime_start=t.datetime_start,
        datetime_complete=t.datetime_complete,
        seed=int(seed) if seed is not None else None,
        curve=tuple(c for c in curve if isinstance(c, dict)),
        **known,
    )

