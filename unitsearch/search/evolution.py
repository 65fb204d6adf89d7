"""Two samplers from the NAS literature that move through a space one factor at a time.

* :class:`EvolutionSampler`, regularised evolution (Real et al. 2019, "Regularized Evolution
  for Image Classifier Architecture Search", Algorithm 1): the population is the last
  ``population_size`` finished trials in trial-number order, so the oldest member leaves as
  each new one finishes (ageing, not the worst leaving); a child is the winner of a
  ``tournament_size`` tournament drawn from it with exactly one factor changed. Until
  ``population_size`` trials have finished, every trial is a random draw.
* :class:`LocalSearchSampler`, local search (White et al. 2020, "Local Search is State of the
  Art for Neural Architecture Search Benchmarks"): an untried one-factor neighbour of the best
  finished trial; once every neighbour of it has been tried, of the next best; a random design
  when nothing has finished or every neighbour of every finished trial has been tried.

A one-factor move changes a categorical factor to another of its choices and draws an int or
float range again (local search steps a linear int range by one instead). Both samplers work
on the factors every finished trial drew (Optuna's intersection search space); a factor outside
it is drawn at random. They read the whole study, not the share of it Optuna hands a sampler
under a Hyperband pruner (the trials of one bracket): the population and the designs tried are
the study's. A finished trial is a COMPLETE one, scored by its value, or a PRUNED one,
scored by its last intermediate value (its validation error at the epoch it stopped); a pruned
trial with no epoch (the pre-filter skipped it) has no score. Each trial's draws come from a
generator seeded with (seed, trial number), so a proposal is a function of the seed, the trial
number and the finished trials: a restarted worker proposes what it proposed before.
"""

from __future__ import annotations

import math
import random
import secrets
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.search_space import intersection_search_space
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

__all__ = ["EvolutionSampler", "LocalSearchSampler", "PARENT_KEY", "scored_trials"]

PARENT_KEY = "unitsearch:parent"  # system attribute: the trial a child was made from
_TRIED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.FAIL)
_REDRAWS = 64  # attempts at a value (or a design) different from the ones to avoid


@dataclass(frozen=True)
class Scored:
    """A finished trial with its score (lower is better, whatever the study's direction)."""

    number: int
    score: float
    params: dict[str, Any]


def _trials(study: Study, states: tuple[TrialState, ...]) -> list[FrozenTrial]:
    """Every trial of the study in ``states``, whatever Hyperband bracket the caller's trial is in."""
    return study._storage.get_all_trials(study._study_id, deepcopy=False, states=states)


def scored_trials(study: Study) -> list[Scored]:
    """The study's finished trials that have a score, in trial-number order."""
    sign = -1.0 if study.direction == StudyDirection.MAXIMIZE else 1.0
    out = []
    for t in _trials(study, (TrialState.COMPLETE, TrialState.PRUNED)):
        if t.state == TrialState.COMPLETE:
            value = t.value
        else:
            value = t.intermediate_values[t.last_step] if t.last_step is not None else None
        if value is not None and math.isfinite(value):
            out.append(Scored(t.number, sign * float(value), dict(t.params)))
    return sorted(out, key=lambda s: s.number)


class _OneFactorSampler(optuna.samplers.BaseSampler):
    """What both samplers share: the search space, the per-trial generator, random draws."""

    def __init__(self, *, seed: int | None = None) -> None:
        self._seed = secrets.randbits(32) if seed is None else int(seed)

    def reseed_rng(self) -> None:
        self._seed = secrets.randbits(32)

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return intersection_search_space(_trials(study, (TrialState.COMPLETE, TrialState.PRUNED)), include_pruned=True)

    def sample_independent(self, study: Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution) -> Any:
        return self._draw(study, trial, self._rng(trial, param_name), param_name, param_distribution)

    def sample_relative(self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        self._raise_error_if_multi_objective(study)
        if not search_space:
            return {}
        rng = self._rng(trial, "relative")
        usable = [s for s in scored_trials(study) if set(search_space) <= set(s.params)]
        found = self._propose(study, trial, search_space, usable, rng)
        if found is None:
            return {}
        parent, params = found
        if parent is not None:
            study._storage.set_trial_system_attr(trial._trial_id, PARENT_KEY, parent)
        return params

    def _propose(
        self, study: Study, trial: FrozenTrial, space: dict[str, BaseDistribution], usable: list[Scored], rng: random.Random
    ) -> tuple[int | None, dict[str, Any]] | None:
        """(the parent's number or None, the params), or None for independent random draws."""
        raise NotImplementedError

    def _rng(self, trial: FrozenTrial, what: str) -> random.Random:
        return random.Random(f"{self._seed}:{trial.number}:{what}")  # a str seed is hashed (SHA-512), never salted

    @staticmethod
    def _draw(study: Study, trial: FrozenTrial, rng: random.Random, name: str, dist: BaseDistribution) -> Any:
        return optuna.samplers.RandomSampler(seed=rng.getrandbits(32)).sample_independent(study, trial, name, dist)

    def _redraw(self, study: Study, trial: FrozenTrial, rng: random.Random, name: str, dist: BaseDistribution, current: Any) -> Any:
        """Another value of ``dist`` than ``current``: another choice, or a new draw of a range."""
        if isinstance(dist, CategoricalDistribution):
            at = dist.to_internal_repr(current)
            return dist.choices[rng.choice([i for i in range(len(dist.choices)) if i != at])]
        for _ in range(_REDRAWS):
            value = self._draw(study, trial, rng, name, dist)
            if value != current:
                return value
        return next(iter(_steps(dist, current)), current)  # a narrow log range kept drawing the same value


class EvolutionSampler(_OneFactorSampler):
    """Regularised evolution (Real et al. 2019): an ageing population, a tournament, one mutation.

    Args:
        population_size: Finished trials in the population (the paper's P); until this many
            have finished, every trial is a random draw.
        tournament_size: Members drawn (without replacement) for each tournament (the paper's
            S); its best is the parent. Equal to ``population_size``, the parent is always the
            population's best.
        seed: Seeds every draw, with the trial's number.
    """

    def __init__(self, *, population_size: int = 16, tournament_size: int = 4, seed: int | None = None) -> None:
        super().__init__(seed=seed)
        self.population_size = _whole("population_size", population_size, 2)
        self.tournament_size = _whole("tournament_size", tournament_size, 1, self.population_size, "population_size")

    def _propose(self, study: Study, trial: FrozenTrial, space: dict[str, BaseDistribution], usable: list[Scored], rng: random.Random):
        if len(usable) < self.population_size:
            return None  # warm-up: the paper's random initial population
        population = usable[-self.population_size :]
        parent = min(rng.sample(population, self.tournament_size), key=lambda s: (s.score, s.number))
        params = {name: parent.params[name] for name in space}
        movable = [name for name, dist in space.items() if not dist.single()]
        if movable:
            name = rng.choice(movable)
            params[name] = self._redraw(study, trial, rng, name, space[name], params[name])
        return parent.number, params


class LocalSearchSampler(_OneFactorSampler):
    """Local search (White et al. 2020): an untried one-factor neighbour of the best trial so far.

    The neighbours of a design change one factor: a categorical to each other choice, a linear
    int range one step either way, a log int or float range to a new draw (never "tried").

    Args:
        seed: Seeds every draw, with the trial's number.
    """

    def __init__(self, *, seed: int | None = None) -> None:
        super().__init__(seed=seed)

    def _propose(self, study: Study, trial: FrozenTrial, space: dict[str, BaseDistribution], usable: list[Scored], rng: random.Random):
        names = list(space)

        def key(params: dict[str, Any]) -> tuple:
            return tuple(params[n] for n in names)

        tried = {
            key(t.params)
            for t in _trials(study, _TRIED)
            if t.number != trial.number and set(names) <= set(t.params)
        }
        for parent in sorted(usable, key=lambda s: (s.score, s.number)):
            moves = [(n, v) for n, v in _neighbours(parent.params, space) if v is _DRAW or key({**parent.params, n: v}) not in tried]
            if moves:
                name, value = rng.choice(moves)
                if value is _DRAW:
                    value = self._redraw(study, trial, rng, name, space[name], parent.params[name])
                return parent.number, {**{n: parent.params[n] for n in names}, name: value}
        for _ in range(_REDRAWS):  # nothing finished, or a local optimum everywhere: restart at random
            params = {n: self._draw(study, trial, rng, n, d) for n, d in space.items()}
            if key(params) not in tried:
                break
        return None, params


_DRAW = object()  # a neighbour that is a new draw of the factor


def _neighbours(params: dict[str, Any], space: dict[str, BaseDistribution]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for name, dist in space.items():
        if dist.single():
            continue
        if isinstance(dist, CategoricalDistribution):
            at = dist.to_internal_repr(params[name])
            out += [(name, c) for i, c in enumerate(dist.choices) if i != at]
        elif isinstance(dist, IntDistribution) and not dist.log:
            out += [(name, v) for v in _steps(dist, params[name])]
        else:
            out.append((name, _DRAW))
    return out


def _whole(name: str, value: Any, low: int, high: int | None = None, high_name: str = "") -> int:
    """``value`` as an int in [low, high]; a ValueError that names the setting otherwise."""
    fraction = isinstance(value, float) and not value.is_integer()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or fraction or value < low or (high is not None and value > high):
        if high is None:
            bound = f"of at least {low}"
        else:
            bound = f"from {low} to {high_name} ({high})" if high_name else f"from {low} to {high}"
        raise ValueError(f"{name} must be a whole number {bound}, got {value!r}")
    return int(value)


def _steps(dist: BaseDistribution, value: Any) -> list[Any]:
    """The values one step either side of ``value`` inside an int or float range."""
    assert isinstance(dist, (IntDistribution, FloatDistribution))
    step = dist.step or (dist.high - dist.low) / 100
    return [v for v in (value - step, value + step) if dist.low <= v <= dist.high]
