"""The plan: which (cell, seed) pairs are queued, each once, under a stable key.

Optuna's GridSampler can run a grid point twice when workers race, so a grid
space is not sampled: each (cell, seed) becomes one WAITING trial (Optuna pops
a waiting trial for exactly one worker), keyed by ``plan_key``. Enqueueing is
idempotent: a key that already has a live or finished trial is skipped, so any
number of restarts never trains a pair twice and never skips one. Two workers
that enqueue the same key at the same moment leave two waiting trials; the one
that starts later yields (``Objective``'s duplicate check), so it trains once.

A grid plan queues every cell on every seed at once. A race plan
(:mod:`.race`) queues every cell's first seeds, and :func:`advance`, which every
worker calls between trials, queues the next seeds of the designs still in the
race: a pure function of the finished trials, so whichever worker calls it
queues the same pairs.
"""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import TrialState

from ..errors import UserError
from ..storage import NOT_RUN, StoredTrial, read_study, read_trial, trial_attrs
from ..units import resolve_unit
from .race import Lane, RaceRule, Replay, Result, next_seeds
from .space import UNIT_FACTORS, Range, SearchSpace

__all__ = [
    "PlanItem", "plan_items", "protected_items", "cell_key", "plan_key", "enqueue_plan", "advance", "left_race", "race_state", "RaceState",
    "PlanStatus", "plan_status", "sampler_draws", "DONE_STATES", "LIVE_STATES",
]

DONE_STATES = (TrialState.COMPLETE, TrialState.PRUNED)
LIVE_STATES = (TrialState.WAITING, TrialState.RUNNING)


def cell_key(space: SearchSpace, values: dict[str, Any]) -> str:
    """The cell as canonical JSON: the unit by its canonical form, then the other factors."""
    v = {k: val for k, val in values.items() if k not in UNIT_FACTORS}
    v["unit"] = space.unit_of(values).form
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


def plan_key(cell: str, seed: int) -> str:
    return f"{cell}#seed={seed}"


@dataclass(frozen=True)
class PlanItem:
    params: dict[str, Any]  # the choice factors, as Optuna params
    cell: str
    seed: int

    @property
    def key(self) -> str:
        return plan_key(self.cell, self.seed)


def plan_items(space: SearchSpace, *, baseline: str | None = None) -> list[PlanItem]:
    """The pairs a grid space queues at the start, seeds innermost so early results cover all designs.

    A race queues every cell's first ``min_seeds`` seeds, and every seed of its protected
    cells (the ``baseline`` and the plan's ``protect`` list).
    """
    cells = [(c, cell_key(space, c)) for c in space.cells()]
    if not space.is_race:
        return [PlanItem(c, key, s) for s in space.seeds for c, key in cells]
    protected = protected_cells(space, [key for _, key in cells], baseline=baseline)
    first = space.race_seeds[: int(space.plan["min_seeds"])]
    return [PlanItem(c, key, s) for s in space.race_seeds for c, key in cells if s in first or key in protected]


def _protected_forms(space: SearchSpace, baseline: str | None) -> set[str]:
    names = [baseline] if baseline else []
    return {resolve_unit(u).form for u in [*names, *space.plan.get("protect", [])]}


def protected_cells(space: SearchSpace, cells: list[str], *, baseline: str | None) -> frozenset[str]:
    """The cells a race never eliminates: those whose unit is the baseline or in ``protect``."""
    forms = _protected_forms(space, baseline)
    return frozenset(c for c in cells if json.loads(c).get("unit") in forms)


MAX_SCANNED_CELLS = 100_000  # a sampled space larger than this is not searched for its protected designs


def protected_items(space: SearchSpace, *, baseline: str | None) -> list[PlanItem]:
    """A sampled race's protected designs that its space holds, on every seed of the race.

    The baseline and the designs the question names are measured on the same seeds as each
    other from the start, whatever the sampler proposes, so that the search's answer can be
    compared with them on matched seeds. A space with a range factor, or too many cells to
    scan, holds no design at one setting that could be named: nothing is queued.
    """
    if any(isinstance(v, Range) for v in space.factors.values()) or space.n_cells > MAX_SCANNED_CELLS:
        return []
    forms = _protected_forms(space, baseline)
    held = []
    for cell in space.cells():
        try:
            if space.unit_of(cell).form in forms:
                held.append((cell, cell_key(space, cell)))
        except UserError:
            continue  # a combination the grammar cannot build is no design at all
    return [PlanItem(c, key, s) for s in space.race_seeds for c, key in held]


def _enqueue(study: optuna.Study, items: list[PlanItem], trials: list[optuna.trial.FrozenTrial]) -> int:
    taken = {r.plan_key for r in map(read_trial, trials) if r.state in DONE_STATES + LIVE_STATES}
    added = 0
    for item in items:
        if item.key not in taken:
            study.enqueue_trial(item.params, user_attrs=trial_attrs(plan_key=item.key, cell=item.cell, seed=item.seed))
            taken.add(item.key)
            added += 1
    return added


def enqueue_plan(study: optuna.Study, space: SearchSpace) -> int:
    """Enqueue the pairs that have no live or finished trial; returns how many were added.

    For a race, also the seeds that failed (a resumed run trains them again) and the next
    seeds of the designs still in the race.
    """
    baseline = read_study(study).baseline
    trials = study.get_trials(deepcopy=False)
    items = plan_items(space, baseline=baseline) if space.is_grid else []
    if space.is_race and not space.is_grid:
        items += protected_items(space, baseline=baseline)
    if space.is_race:
        state = race_state(space, trials, baseline=baseline, study=study)
        tried = {(c, s) for c, seeds in state.attempted.items() for s in seeds}  # failed ones are queued again
        items += [PlanItem(state.params[c], c, s) for c, s in sorted(tried, key=lambda k: (k[1], k[0])) if c in state.params]
        items = [i for i in items if i.cell not in state.lanes or state.lanes[i.cell].out is None]  # no seed for a design that left
    added = _enqueue(study, items, trials)
    return added + (advance(study, space) if space.is_race else 0)


def _counts(r: StoredTrial) -> bool:
    """A trial that took its (cell, seed): not one the objective turned away (unused, duplicate)."""
    return r.plan_key is not None and r.status not in NOT_RUN


@dataclass
class RaceState:
    """A race's standing, read from the study's trials."""

    lanes: dict[str, Lane]
    rule: RaceRule
    attempted: dict[str, set[int]]
    live: dict[str, set[int]]
    params: dict[str, dict[str, Any]]  # a cell's Optuna params, to queue its next seed
    finished: int  # (cell, seed) pairs with a finished trial

    @property
    def queued(self) -> list[tuple[str, int]]:
        return next_seeds(self.lanes, self.attempted, self.live, self.rule)

    def expected_trials(self, undrawn: int = 0) -> int:
        """The trials this race is expected to take: an estimate for the time left, not a bound.

        A design that left took the seeds it tried; a protected one takes every seed; one
        still in the race takes as many as the unprotected designs that are decided took on
        average (out, or at every seed), at least what it has tried, and before any is
        decided one seed more than the first ones. In a sampled race each of the ``undrawn``
        designs the sampler has yet to propose takes that average too.
        """
        rule = self.rule
        decided = [len(self.attempted.get(c, ())) for c, lane in self.lanes.items()
                   if not lane.protected and (lane.out is not None or len(lane.errors) >= rule.max_seeds)]
        typical = sum(decided) / len(decided) if decided else min(rule.max_seeds, rule.min_seeds + 1)
        n = 0.0
        for c, lane in self.lanes.items():
            tried = len(self.attempted.get(c, ()))
            n += tried if lane.out is not None else rule.max_seeds if lane.protected else max(tried, typical)
        return round(n + undrawn * typical)


def _error(r: StoredTrial) -> float:
    if r.state is TrialState.COMPLETE and r.value is not None:
        return float(r.value)
    if r.intermediate_values:
        return float(r.intermediate_values[max(r.intermediate_values)])
    return float("inf")  # skipped by the pre-filter before its first epoch


def race_state(
    space: SearchSpace, trials: list[optuna.trial.FrozenTrial], *, baseline: str | None, study: optuna.Study | None = None
) -> RaceState:
    """Replay the finished trials through the race's rules (:class:`.race.Replay`).

    With ``study``, the replay is kept for it and fed only the trials that finished since
    the last call (when they finished after those already fed; else it starts over), so a
    worker's bookkeeping does not grow with the study. The state's lanes are the kept
    replay's: read them, do not change them.
    """
    mine = [r for r in map(read_trial, trials) if _counts(r)]
    grid = {cell_key(space, c): c for c in space.cells()} if space.is_grid else {}
    cells = list(dict.fromkeys([*grid, *(r.cell for r in mine)]))
    params = dict(grid)  # a grid cell is its choice factors' values: the params of its trials
    for r in mine:
        params.setdefault(r.cell, r.params)
    rule = RaceRule(
        seeds=tuple(space.race_seeds),
        min_seeds=int(space.plan["min_seeds"]),
        alpha=float(space.plan["alpha"]),
        test=str(space.plan["test"]),
        protected=protected_cells(space, cells, baseline=baseline),
        max_trials=space.plan.get("max_trials"),
    )
    done = sorted((r for r in mine if r.state in DONE_STATES), key=lambda r: (r.datetime_complete or r.datetime_start, r.number))
    results = [Result(r.cell, r.seed, _error(r), r.state is TrialState.PRUNED) for r in done]
    replay = _REPLAYS.get(study) if study is not None else None
    if replay is not None and replay.rule == rule and replay.results == results[: len(replay.results)]:
        replay.add_cells(cells)
        lanes = replay.feed(results[len(replay.results) :])
    else:
        replay = Replay(cells, rule)
        lanes = replay.feed(results)
        if study is not None:
            _REPLAYS[study] = replay
    attempted: dict[str, set[int]] = {}
    live: dict[str, set[int]] = {}
    for r in mine:
        attempted.setdefault(r.cell, set()).add(r.seed)
        if r.state in LIVE_STATES:
            live.setdefault(r.cell, set()).add(r.seed)
    finished = len({(r.cell, r.seed) for r in results})
    return RaceState(lanes, rule, attempted, live, params, finished)


_REPLAYS: weakref.WeakKeyDictionary[optuna.Study, Replay] = weakref.WeakKeyDictionary()  # a worker's replay of its study


def left_race(study: optuna.Study, space: SearchSpace, cell: str) -> bool:
    """Whether ``cell`` has left the study's race (its seeds queued before then need not train)."""
    lane = race_state(space, study.get_trials(deepcopy=False), baseline=read_study(study).baseline, study=study).lanes.get(cell)
    return lane is not None and lane.out is not None


def sampler_draws(trials: list[optuna.trial.FrozenTrial]) -> int:
    """The designs a sampler has drawn: trials it proposed, not queued ones (plan seeds, retries)."""
    return sum("fixed_params" not in t.system_attrs for t in trials)


def advance(study: optuna.Study, space: SearchSpace) -> int:
    """Queue the next seeds of the designs still in the race; returns how many were added.

    The worker that calls it is about to take a trial: when none is waiting it is idle, and
    the race may give a design still in it a seed beside a running one (:func:`.race.next_seeds`).
    In a sampled race it is not idle while the sampler has draws left: it takes a new design,
    so a proposal enters on one seed and gets the next only once that seed has kept it in the race.
    """
    trials = study.get_trials(deepcopy=False)
    state = race_state(space, trials, baseline=read_study(study).baseline, study=study)
    drawing = not space.is_grid and sampler_draws(trials) < int(space.sampler["n_trials"])
    idle = int(not drawing and not any(t.state is TrialState.WAITING for t in trials))
    pairs = next_seeds(state.lanes, state.attempted, state.live, state.rule, idle=idle)
    items = [PlanItem(state.params[c], c, s) for c, s in pairs]
    return _enqueue(study, items, trials)


@dataclass(frozen=True)
class PlanStatus:
    total: int  # trials the plan (or the sampler budget) asks for at most
    done: int  # finished: complete or pruned (diverged counts as complete)
    waiting: int
    running: int
    failed: int
    expected: int | None = None  # a race's estimate of the trials it takes (RaceState.expected_trials); else total

    @property
    def finished(self) -> bool:
        return self.done >= self.total


def plan_status(study: optuna.Study, space: SearchSpace, trials: list[optuna.trial.FrozenTrial] | None = None) -> PlanStatus:
    """How far the plan is; ``trials`` are the study's, if already read."""
    trials = study.get_trials(deepcopy=False) if trials is None else trials
    count = lambda s: sum(t.state is s for t in trials)  # noqa: E731
    if space.is_race:
        state = race_state(space, trials, baseline=read_study(study).baseline, study=study)
        total = _race_total(space, state)
        undrawn = 0 if space.is_grid else max(0, int(space.sampler["n_trials"]) - sampler_draws(trials))
        expected = min(total, max(state.finished, state.expected_trials(undrawn)))
        return PlanStatus(total, state.finished, count(TrialState.WAITING), count(TrialState.RUNNING), count(TrialState.FAIL), expected)
    if space.is_grid:
        keys = {i.key for i in plan_items(space)}
        done = len({r.plan_key for r in map(read_trial, trials) if r.state in DONE_STATES} & keys)
    else:
        done = sum(t.state in DONE_STATES for t in trials)
    return PlanStatus(space.n_trials, done, count(TrialState.WAITING), count(TrialState.RUNNING), count(TrialState.FAIL))


def _race_total(space: SearchSpace, state: RaceState) -> int:
    """Trials the race takes if nobody else leaves it: seeds run by those out, every seed for the rest."""
    n = sum(len(state.attempted.get(c, ())) if lane.out else state.rule.max_seeds for c, lane in state.lanes.items())
    if space.is_grid:
        return min(n, space.n_trials)
    # a sampled race: the sampler's draws, and beside them the protected designs it was given
    protected = sum(lane.protected for lane in state.lanes.values())
    n += max(0, int(space.sampler["n_trials"]) - (len(state.lanes) - protected)) * state.rule.min_seeds
    return min(n, space.n_trials + protected * state.rule.max_seeds)
