"""Read a study, read-only: its trials as per-seed records grouped by unit design.

The report never writes to the storage: tables are not created, stale trials are
not failed, and the SQLAlchemy engine is disposed after the one read, so workers
that still write to the same database are never blocked by a report.

Which number a trial contributes (its per-seed error) depends on how it ended
(docs/DESIGN.md, "What every trial stores"):

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
import math
from dataclasses import dataclass, replace
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ..errors import UserError
from ..units import UnitSpec, preset_name
from ..urls import driver_hint, redact, refuse_ephemeral, require_existing, scrub

__all__ = ["Metric", "TrialRecord", "CONTEXT_KEYS", "safe_url", "open_storage", "study_names", "design_label", "collect_trials"]

# A unit design is its canonical form, plus these when they vary within a study.
CONTEXT_KEYS = ("depth", "width", "bottleneck")
_USED_ORDER = {"complete": 0, "diverged": 0, "pruned": 1}  # which trial of a (design, seed) pair counts


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
    design: str = ""  # grouping key, set once the whole study is seen
    used: bool = False

    @property
    def context(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in CONTEXT_KEYS}


def safe_url(url: str) -> str:
    """The storage URL with its password and secret query parameters masked, for messages and reports."""
    return redact(url)


def open_storage(url: str) -> optuna.storages.RDBStorage:
    """An RDB storage for reading: no tables are created and a missing SQLite file is an error."""
    shown = safe_url(url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise UserError(f"bad storage URL {shown!r}; expected e.g. sqlite:///studies.db or postgresql://user@host/db") from None
    refuse_ephemeral(parsed, shown)
    require_existing(parsed, shown)
    if parsed.get_backend_name() == "sqlite":
        kwargs = {"connect_args": {"timeout": 30}}  # a writer holds the lock only while it commits: wait
    else:
        kwargs = {"connect_args": {"connect_timeout": 10}}  # an unreachable server fails in seconds
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")  # the driver the workers use (search.storage)
    try:
        return optuna.storages.RDBStorage(
            parsed.render_as_string(hide_password=False), engine_kwargs=kwargs, skip_table_creation=True
        )
    except ImportError as e:  # Optuna re-raises the driver's ModuleNotFoundError as a plain ImportError
        raise UserError(driver_hint(getattr(e.__cause__, "name", None) or e.name, shown)) from None
    except Exception as e:  # noqa: BLE001  (driver, schema or connection errors become one line)
        cause = getattr(e, "orig", None) or e.__cause__ or e
        first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        raise UserError(f"cannot read Optuna studies from {shown}: {scrub(first, parsed)}") from None


def study_names(storage: optuna.storages.BaseStorage) -> list[str]:
    """The names of the studies in ``storage``, sorted."""
    return sorted(s.study_name for s in storage.get_all_studies())


def _finite(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _status(t: FrozenTrial) -> str:
    attr = t.user_attrs.get("status")
    if attr in ("unused", "duplicate"):  # the objective trained nothing (search.objective.NotRun)
        return attr
    if t.state is TrialState.COMPLETE:
        return attr if attr in ("complete", "diverged") else "complete"
    if t.state is TrialState.PRUNED:
        return attr if attr in ("pruned", "skipped") else "pruned"
    if t.state is TrialState.FAIL:
        return "failed"
    return "running"


def _error(t: FrozenTrial, status: str, metric: Metric) -> float | None:
    a = t.user_attrs
    if status == "complete":
        return _finite(a.get("test_error")) if metric is Metric.TEST else _finite(a.get("val_error", t.value))
    if status == "diverged":
        return _finite(t.value if t.value is not None else a.get("val_error"))
    if status == "pruned":
        if t.intermediate_values:
            return _finite(t.intermediate_values[max(t.intermediate_values)])
        return _finite(t.value if t.value is not None else a.get("val_error"))
    return None


def _record(t: FrozenTrial, metric: Metric) -> TrialRecord | None:
    a = t.user_attrs
    if "unit" not in a:
        return None  # a trial that has not started its cell yet
    try:
        spec = UnitSpec.parse(str(a["unit"]))
        unit, h, branch = spec.form, spec.shortcut.form, "-".join(o.value for o in spec.branch)
        f = "-".join(o.value for o in spec.post) or "id"
        preset = preset_name(spec)
    except UserError:  # an unparseable form still gets its row, under its stored name
        unit, h, f, branch = str(a["unit"]), str(a.get("h", "")), str(a.get("f", "")), str(a.get("branch", ""))
        preset = a.get("preset") or None
    status = _status(t)
    curve = tuple(c for c in a.get("curve") or () if isinstance(c, dict))
    loss = _finite(a.get("final_train_loss", curve[-1].get("train_loss") if curve else None))
    config = a.get("config") if isinstance(a.get("config"), dict) else {}
    seed = a.get("seed")
    return TrialRecord(
        number=t.number,
        status=status,
        unit=unit,
        preset=preset,
        h=h,
        f=f,
        branch=branch,
        seed=int(seed) if seed is not None else None,
        depth=a.get("depth"),
        width=a.get("width"),
        bottleneck=a.get("bottleneck"),
        params=a.get("params"),
        error=_error(t, status, metric),
        final_train_loss=loss,
        epochs=int(a.get("epochs") or len(curve)),
        planned_epochs=int(config["epochs"]) if config.get("epochs") is not None else None,
        wall_seconds=_finite(a.get("wall_seconds")) or 0.0,
        curve=curve,
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
