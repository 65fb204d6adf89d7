"""The race plan: seeds go to the designs that are still in contention.

A race (F-Race, irace) trains every design on the same first seeds, then gives
more seeds only to the designs that a paired test cannot yet tell apart from the
best. The rules, all of them a pure function of the finished trials:

* **Start.** Every design gets the first ``min_seeds`` seeds. The protected
  designs (the study's baseline and the designs the verdict names) get all
  ``max_seeds`` from the start and never leave the race: their seed count is
  fixed before the run, so the verdict's paired test is a fixed-n test and its
  p-value means what it says. Testing the verdict's pair after each seed and
  stopping when it is significant would inflate its false positives
  (``bench/race_null.py`` measures both).
* **Elimination.** The finished trials are replayed in the order they finished.
  After each, every unprotected design still in the race that shares at least
  ``min_seeds`` seeds with the current best is tested against it: a one-sided
  paired test on the shared seeds (paired t, or Wilcoxon signed-rank) that it is
  worse; ``p < alpha`` takes it out, for good. The best is the design in the
  race with the lowest mean error over at least ``min_seeds`` seeds.
* **Pruning.** A design that the epoch pruner stopped on a seed leaves the race
  then: its error there is an early epoch's, so it can be neither the best nor
  fairly compared. Protected designs are never pruned.
* **No barrier.** A design in the race gets its next seed as soon as every seed
  it was given has finished (asynchronous racing, as ASHA is to successive
  halving): a worker never waits for a slow design of another round.
* **No idle worker.** When a worker finds nothing queued (and, in a sampled race,
  the sampler has no draw left: until then it takes a new design), the best design
  still in the race (then the next best) takes its next seed while one is still
  training, rather than leave that worker idle until the running seed decides.
  A seed given so, whose design then leaves the race before it starts, is turned
  away unused; one that has started trains and counts. The protected designs'
  seed count is fixed up front either way, so the verdict stays a fixed-n test.
* **End.** Nothing is left to decide once every design has left or has
  ``max_seeds`` seeds; a budget of ``max_trials`` trials ends it sooner.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special, stats

__all__ = ["RaceRule", "Result", "Exit", "Lane", "RACE_TESTS", "Replay", "standings", "next_seeds", "worse_p", "summary"]

RACE_TESTS = ("t", "wilcoxon")


@dataclass(frozen=True)
class RaceRule:
    """How a race runs (the space file's ``[plan]`` table)."""

    seeds: tuple[int, ...]  # in the order they are given out; len = max_seeds
    min_seeds: int
    alpha: float  # elimination level of the one-sided paired test
    test: str = "t"  # "t" (paired t) or "wilcoxon" (signed-rank)
    protected: frozenset[str] = frozenset()  # cells never eliminated, given every seed up front
    max_trials: int | None = None  # a budget for the whole race

    @property
    def max_seeds(self) -> int:
        return len(self.seeds)


@dataclass(frozen=True)
class Result:
    """One finished trial as the race sees it."""

    cell: str
    seed: int
    error: float
    pruned: bool = False


@dataclass(frozen=True)
class Exit:
    """When and why a design left the race."""

    seeds: int  # the seeds it had finished then
    reason: str  # "pruned" or the test's name
    p: float | None = None  # the test's one-sided p against the best
    best: str | None = None  # the best design's cell then


@dataclass
class Lane:
    """One design's standing in the race."""

    cell: str
    protected: bool = False
    errors: dict[int, float] = field(default_factory=dict)  # seed -> error, finished trials
    out: Exit | None = None

    @property
    def mean(self) -> float:
        return sum(self.errors.values()) / len(self.errors) if self.errors else math.inf


def worse_p(a: Mapping[int, float], b: Mapping[int, float], test: str = "t") -> tuple[float | None, int]:
    """One-sided p that ``a`` is worse (higher error) than ``b`` on their shared seeds, and how many.

    A difference that is the same positive number on every seed is as strong as evidence
    gets (p = 0); scipy gives NaN there. Wilcoxon's exact test cannot reach 0.05 below
    five seeds: pair it with a larger ``min_seeds`` or a paired t.
    """
    seeds = sorted(set(a) & set(b))
    if len(seeds) < 2:
        return None, len(seeds)
    d = np.array([a[s] - b[s] for s in seeds], dtype=float)
    if np.allclose(d, d[0]):
        return (0.0 if d[0] > 0 else 1.0), len(seeds)
    if test == "wilcoxon":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return float(stats.wilcoxon(d, alternative="greater").pvalue), len(seeds)
    # scipy.stats.ttest_1samp(d, 0, alternative="greater"), through its t distribution
    # directly: a race replays hundreds of these per trial, and this is 50x faster.
    t = d.mean() / (d.std(ddof=1) / math.sqrt(len(d)))
    return float(special.stdtr(len(d) - 1, -t)), len(seeds)


def _best(lanes: Iterable[Lane], min_seeds: int) -> Lane | None:
    ready = [lane for lane in lanes if lane.out is None and len(lane.errors) >= min_seeds]
    return min(ready, key=lambda lane: (lane.mean, lane.cell), default=None)


class Replay:
    """The race's standings, fed the finished trials in the order they finished.

    ``feed`` may be called again with the results that finished since: a worker keeps one
    replay and feeds it only what is new, so the bookkeeping around a trial stays flat as a
    study grows. The best lane is kept up to date as results come in (only the lane that got
    a result, or the best itself leaving or worsening, can change it), which
    :func:`standings`'s full rescan after every result made quadratic in a sampled race.
    """

    def __init__(self, cells: Iterable[str], rule: RaceRule) -> None:
        self.rule = rule
        self.lanes: dict[str, Lane] = {}
        self.results: list[Result] = []
        self._best: Lane | None = None
        self._seen: tuple[str, int] | None = None  # the best and its seed count when every lane was last tested
        self.add_cells(cells)

    def add_cells(self, cells: Iterable[str]) -> None:
        for c in cells:
            if c not in self.lanes:
                self.lanes[c] = Lane(c, protected=c in self.rule.protected)

    def feed(self, results: Iterable[Result]) -> dict[str, Lane]:
        rule, lanes = self.rule, self.lanes
        for r in results:
            self.results.append(r)
            lane = lanes.setdefault(r.cell, Lane(r.cell, protected=r.cell in rule.protected))
            if lane.out is not None:
                continue  # a trial that was queued before its design left: it changes nothing
            before = (lane.mean, lane.cell)
            lane.errors[r.seed] = r.error
            if r.pruned and not lane.protected:
                lane.out = Exit(len(lane.errors), "pruned")
                if lane is self._best:
                    self._best = _best(lanes.values(), rule.min_seeds)
                continue
            self._update_best(lane, before)
            best = self._best
            if best is None:
                continue
            # Only a new best, or new seeds of the best, can change another lane's test.
            changed = self._seen != (best.cell, len(best.errors))
            self._seen = (best.cell, len(best.errors))
            for other in lanes.values() if changed else [lane]:
                if other is best or other.out is not None or other.protected:
                    continue
                p, n = worse_p(other.errors, best.errors, rule.test)
                if p is not None and n >= rule.min_seeds and p < rule.alpha:
                    other.out = Exit(len(other.errors), rule.test, p, best.cell)
        return lanes

    def _update_best(self, lane: Lane, before: tuple[float, str]) -> None:
        """The best after ``lane`` (the only one that changed, from ``before``) got a result."""
        best, key = self._best, (lane.mean, lane.cell)
        if lane is best:
            if key > before:  # the best got worse: another may lead now
                self._best = _best(self.lanes.values(), self.rule.min_seeds)
        elif len(lane.errors) >= self.rule.min_seeds and (best is None or key < (best.mean, best.cell)):
            self._best = lane


def standings(cells: Iterable[str], results: Sequence[Result], rule: RaceRule) -> dict[str, Lane]:
    """Every design's lane after replaying ``results`` in the order they finished."""
    return Replay(cells, rule).feed(results)


def next_seeds(
    lanes: Mapping[str, Lane], attempted: Mapping[str, set[int]], live: Mapping[str, set[int]], rule: RaceRule, *, idle: int = 0
) -> list[tuple[str, int]]:
    """The (cell, seed) pairs to queue now, protected designs first.

    Args:
        lanes: From :func:`standings`.
        attempted: Per cell, every seed that has or had a trial (failed ones too: `run`
            queues those again when it resumes, so a trial that always fails is not
            retried in a loop).
        live: Per cell, the seeds with a waiting or running trial.
        idle: Workers that would find nothing to train: when the rules above queue
            nothing, up to this many designs still in the race take their next seed
            beside one that is training, best first.
    """
    budget = math.inf if rule.max_trials is None else rule.max_trials - sum(map(len, attempted.values()))
    out: list[tuple[str, int]] = []
    order = sorted(lanes.values(), key=lambda lane: (not lane.protected, lane.mean, lane.cell))
    for lane in order:
        if budget <= 0:
            break
        tried = attempted.get(lane.cell, set())
        if lane.out is not None or live.get(lane.cell) or set(lane.errors) != tried:
            continue  # out, still training, or a failed seed that waits for `run` to queue it again
        wanted = rule.seeds if lane.protected else rule.seeds[: max(rule.min_seeds, len(tried) + 1)]
        for seed in (s for s in wanted if s not in tried):
            if budget <= 0:
                break
            out.append((lane.cell, seed))
            budget -= 1
    if out or idle <= 0:
        return out
    for lane in order:
        tried, running = attempted.get(lane.cell, set()), live.get(lane.cell, set())
        if budget <= 0 or idle <= 0:
            break
        if lane.out is not None or lane.protected or not running or set(lane.errors) | running != tried:
            continue  # out, fixed up front, handled above, or a failed seed waiting to be queued again
        seed = next((s for s in rule.seeds if s not in tried), None)
        if seed is not None:
            out.append((lane.cell, seed))
            budget, idle = budget - 1, idle - 1
    return out


def summary(lanes: Mapping[str, Lane]) -> dict[str, dict[str, Any]]:
    """Per cell, what the report stores: seeds finished, and the exit if it left."""
    return {
        c: {"seeds": len(lane.errors), "protected": lane.protected, "out": None if lane.out is None else vars(lane.out)}
        for c, lane in lanes.items()
    }
