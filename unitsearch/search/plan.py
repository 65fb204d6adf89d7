"""The plan of a grid space: every (cell, seed) enqueued once, under a stable key.

Optuna's GridSampler can run a grid point twice when workers race, so a grid
space is not sampled: each (cell, seed) becomes one WAITING trial (Optuna pops
a waiting trial for exactly one worker), keyed by ``plan_key``. Enqueueing is
idempotent: a key that already has a live or finished trial is skipped, so any
number of restarts never trains a pair twice and never skips one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import TrialState

from .space import SearchSpace

__all__ = ["PlanItem", "plan_items", "cell_key", "plan_key", "enqueue_plan", "PlanStatus", "plan_status", "DONE_STATES", "LIVE_STATES"]

DONE_STATES = (TrialState.COMPLETE, TrialState.PRUNED)
LIVE_STATES = (TrialState.WAITING, TrialState.RUNNING)


def cell_key(space: SearchSpace, values: dict[str, Any]) -> str:
    """The cell as canonical JSON: the unit by its canonical form, then the other factors."""
    v = {k: val for k, val in values.items() if k not in ("unit", "h", "f", "branch", "branch_pre", "branch_mid", "branch_post")}
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


def plan_items(space: SearchSpace) -> list[PlanItem]:
    """Every (cell, seed) of a grid space, seeds innermost so early results cover all designs."""
    cells = space.cells()
    return [PlanItem(c, cell_key(space, c), s) for s in space.seeds for c in cells]


def enqueue_plan(study: optuna.Study, space: SearchSpace) -> int:
    """Enqueue the pairs that have no live or finished trial; returns how many were added."""
    taken = {
        t.user_attrs.get("plan_key")
        for t in study.get_trials(deepcopy=False, states=DONE_STATES + LIVE_STATES)
    }
    added = 0
    for item in plan_items(space):
        if item.key not in taken:
            study.enqueue_trial(item.params, user_attrs={"plan_key": item.key, "cell": item.cell, "seed": item.seed})
            added += 1
    return added


@dataclass(frozen=True)
class PlanStatus:
    total: int  # trials the plan (or the sampler budget) asks for
    done: int  # finished: complete or pruned (diverged counts as complete)
    waiting: int
    running: int
    failed: int

    @property
    def finished(self) -> bool:
        return self.done >= self.total


def plan_status(study: optuna.Study, space: SearchSpace) -> PlanStatus:
    trials = study.get_trials(deepcopy=False)
    if space.is_grid:
        keys = {i.key for i in plan_items(space)}
        done = len({t.user_attrs.get("plan_key") for t in trials if t.state in DONE_STATES} & keys)
    else:
        done = sum(t.state in DONE_STATES for t in trials)
    count = lambda s: sum(t.state is s for t in trials)  # noqa: E731
    return PlanStatus(space.n_trials, done, count(TrialState.WAITING), count(TrialState.RUNNING), count(TrialState.FAIL))
