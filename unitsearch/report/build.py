"""A study's whole report, built from its trials in one read: :func:`load_report`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from ..errors import UserError
from ..search.plan import race_state
from ..search.race import summary
from ..search.space import space_from_dict
from ..storage import DEFAULT_STORAGE, StoredStudy, describe, difference, experiment, open_storage, read_study, read_trial, redact
from ..units import UnitSpec, preset_name, resolve_unit
from .collect import Metric, TrialRecord, collect_trials, study_names
from .cost import cost_ledger
from .factors import factor_effects, param_importance
from .leaderboard import DesignRow, build_leaderboard
from .verdict import Verdict, make_verdict

__all__ = ["Report", "build_report", "load_report", "mixed_numerics", "DEFAULT_BASELINE"]

DEFAULT_BASELINE = "original"  # Fig. 4(a), the unit every row of Tables 1-2 is compared with


@dataclass
class Report:
    """Everything the exports and plots show."""

    study: str
    metric: Metric
    baseline: str | None  # the baseline as named (preset name or form); None if absent
    baseline_unit: str | None  # its canonical form
    rows: list[DesignRow]
    varying: list[str]  # context keys that are part of a design's name
    verdict: Verdict
    factors: dict[str, list[dict[str, Any]]]
    importance: dict[str, Any]
    cost: dict[str, Any]
    records: list[TrialRecord] = field(repr=False, default_factory=list)
    storage: str = ""  # URL with the password hidden
    warnings: list[str] = field(default_factory=list)  # one line each, printed before the verdict


def _state_counts(trials: list[FrozenTrial]) -> str:
    counts: dict[str, int] = {}
    for t in trials:
        counts[t.state.name.lower()] = counts.get(t.state.name.lower(), 0) + 1
    return ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no trials"


def _baseline(text: str | None, study: optuna.Study, records: list[TrialRecord]) -> tuple[str | None, str | None]:
    """The baseline's name and form; an explicit baseline that is not in the study is an error."""
    explicit = text is not None
    text = text if explicit else str(read_study(study).baseline or DEFAULT_BASELINE)
    present = {r.unit for r in records if r.used}
    designs = ", ".join(sorted({r.design for r in records if r.used}))
    try:
        form = resolve_unit(text).form
    except UserError as e:
        if explicit:
            why = f" ({e})" if "=" in text else ": not a preset name or a unit form"
            raise UserError(f"unknown baseline {text!r}{why}; designs in study {study.study_name!r}: {designs}") from None
        return None, None
    if form not in present:
        if explicit:
            raise UserError(f"baseline {text!r} is not a design in study {study.study_name!r}; designs in study: {designs}")
        return None, None
    return preset_name(UnitSpec.parse(form)) or form, form


def build_report(
    study: optuna.Study,
    trials: list[FrozenTrial] | None = None,
    *,
    metric: Metric | str = Metric.VAL,
    baseline: str | None = None,
    storage: str = "",
    name: str | None = None,
) -> Report:
    """The report of ``study`` (its trials read once unless given).

    Args:
        study: The study; only its name, user attributes and trials are read.
        trials: Its trials, if already read (or the pooled trials of several studies).
        metric: ``val`` or ``test``: which error a complete trial contributes.
        baseline: A preset name or canonical form; default the study's ``baseline``
            user attribute, else ``original``.
        storage: The storage URL to show (password hidden here).
        name: The name the report shows (default the study's).
    """
    metric = Metric(metric)
    name = name or study.study_name
    trials = study.get_trials(deepcopy=False) if trials is None else trials
    records, varying = collect_trials(trials, metric)
    if not any(r.used for r in records):
        what = "with a test error; try --metric val" if metric is Metric.TEST and records else "finished"
        raise UserError(f"study {name!r} has no {what} trials ({_state_counts(trials)})")
    base, form = _baseline(baseline, study, records)
    rule = answer_seeds(read_study(study).space)
    rows = build_leaderboard(records, baseline_unit=form, min_seeds=rule[0] if rule else 1)
    race = _race(study, trials, rows)
    cost = cost_ledger(records, [r.design for r in rows])
    cost["n_trials_in_study"] = len(trials)
    return Report(
        study=name,
        metric=metric,
        baseline=base,
        baseline_unit=form,
        rows=rows,
        varying=varying,
        verdict=make_verdict(rows, baseline_unit=form, seeds_fixed=race, answer_min_seeds=rule[1] if rule else None),
        factors=factor_effects(rows),
        importance=param_importance(rows),
        cost=cost,
        records=records,
        storage=redact(storage) if storage else "",
        warnings=[w for w in (mixed_numerics(records),) if w],
    )


def answer_seeds(space: dict[str, Any] | None) -> tuple[int, int] | None:
    """A sampled study's answer rule: (seeds a design needs to rank first, seeds it needs to be more than a single draw).

    A race gives the leaders their seeds, so its top is the best mean over its ``min_seeds``.
    Without a race only repeats get a second seed, and a random repeat is no better evidence
    than the best draw: the top is the best mean over any seeds, flagged as a single draw
    when it has one. None for a grid, which answers nothing of the kind.
    """
    if not space or (space.get("sampler") or {}).get("name", "grid") == "grid":
        return None
    plan = space.get("plan") or {}
    if plan.get("kind") == "race":
        k = int(plan.get("min_seeds", 2))
        return k, k
    return 1, 2


def mixed_numerics(records: list[TrialRecord]) -> str | None:
    """One line when the trials that enter the statistics were computed with different numerics.

    Rounding alone moves a small net's error by points (:mod:`unitsearch.numerics`), so
    trials of different kernels, threads or torch versions do not compare as seeds of one run.
    """
    counts = Counter(r.numerics or "not recorded" for r in records if r.used)
    if len(counts) < 2:
        return None
    parts = "; ".join(f"{n} trial{'s' if n != 1 else ''} with {k}" for k, n in counts.most_common())
    return f"warning: the trials were trained with different numerics ({parts}); their errors differ by rounding as well as by seed"


def _race(study: optuna.Study, trials: list[FrozenTrial], rows: list[DesignRow]) -> bool:
    """Give each row its standing in the study's race (:mod:`unitsearch.search.race`); False if no race."""
    stored = read_study(study)
    if not stored.space or (stored.space.get("plan") or {}).get("kind") != "race":
        return False
    space = space_from_dict(stored.space)
    lanes = summary(race_state(space, trials, baseline=stored.baseline).lanes)
    cell_of = {r.number: r.cell for r in map(read_trial, trials)}
    for row in rows:
        cell = next((cell_of[r.number] for r in row.records if cell_of.get(r.number) in lanes), None)
        row.race = lanes.get(cell) if cell is not None else None
    return True


def _setting(study: StoredStudy, data: str | None) -> dict[str, Any]:
    """The study's :func:`~unitsearch.storage.experiment`; a study that stored no dataset takes ``data``."""
    return experiment(study.space or {}, study.data or data or "")


def _check_poolable(studies: list[optuna.Study], trials: dict[str, list[FrozenTrial]]) -> None:
    """Studies pool only as fresh-seed runs of one experiment: one setting, no (design, seed) twice."""
    first = read_study(studies[0])
    for other in map(read_study, studies[1:]):
        data = first.data or other.data
        a, b = _setting(first, data), _setting(other, data)
        if a != b:
            a, b = difference(a, b)
            raise UserError(
                f"studies {first.name!r} ({describe(a)}) and {other.name!r} ({describe(b)}) "
                "were trained differently; only runs of one setting on other seeds pool"
            )
    seen: dict[tuple[Any, Any], str] = {}
    for study in studies:
        for r in map(read_trial, trials[study.study_name]):
            if r.state in (TrialState.COMPLETE, TrialState.PRUNED) and r.seed is not None:
                key = (r.unit, r.seed)
                if seen.setdefault(key, study.study_name) != study.study_name:
                    raise UserError(
                        f"studies {seen[key]!r} and {study.study_name!r} both trained seed {key[1]} of {key[0]}; "
                        "pool studies on disjoint seeds (run --seed-offset)"
                    )


def load_report(
    storage: str = DEFAULT_STORAGE,
    study_name: str | Sequence[str] | None = None,
    *,
    metric: Metric | str = Metric.VAL,
    baseline: str | None = None,
) -> Report:
    """Open ``storage`` read-only, pick the study and build its report.

    With no ``study_name`` the storage must hold exactly one study. Several names pool
    their trials into one report, named ``A + B``: the runs of one setting on disjoint
    seeds (``run --seed-offset``) then rank and test as one run with all their seeds.
    The engine is disposed before returning, so no connection (and no SQLite lock)
    outlives the read.
    """
    shown = redact(storage)
    rdb = open_storage(storage, read_only=True)
    try:
        names = study_names(rdb)
        if not names:
            raise UserError(f"storage {shown} holds no studies")
        wanted = [study_name] if isinstance(study_name, str) else list(dict.fromkeys(study_name or ()))
        if not wanted:
            if len(names) > 1:
                raise UserError(f"storage {shown} holds {len(names)} studies; pick one with --study: {', '.join(names)}")
            wanted = names[:1]
        for n in wanted:
            if n not in names:
                raise UserError(f"no study {n!r} in {shown}; studies: {', '.join(names)}")
        studies = [optuna.load_study(study_name=n, storage=rdb) for n in wanted]
        trials = {s.study_name: s.get_trials(deepcopy=False) for s in studies}
        if len(studies) > 1:
            _check_poolable(studies, trials)
        pooled = [t for n in wanted for t in trials[n]]
        return build_report(studies[0], pooled, metric=metric, baseline=baseline, storage=storage, name=" + ".join(wanted))
    finally:
        rdb.engine.dispose()
