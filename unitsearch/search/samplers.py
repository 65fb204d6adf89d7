"""The space's sampler for one worker, and its pruner.

Every sampler a space file can name is here, each with one line of help (:data:`SAMPLER_HELP`,
which ``unitsearch spaces show`` prints) and the settings its ``[sampler]`` table may give
(:func:`sampler_settings`, which :mod:`.validate` checks a file against).
"""

from __future__ import annotations

import hashlib
import inspect
from typing import Any

import optuna

from .evolution import EvolutionSampler, LocalSearchSampler
from .space import SearchSpace

__all__ = ["make_sampler", "make_pruner", "SAMPLER_HELP", "sampler_settings"]

SAMPLER_HELP = {
    "grid": "every cell on every seed, queued by the plan (nothing is sampled)",
    "tpe": "tree-structured Parzen estimator (Optuna's TPESampler, multivariate, constant liar; n_startup_trials random first)",
    "random": "independent uniform draws (Optuna's RandomSampler; a design may come up twice)",
    "gp": "Gaussian-process Bayesian optimisation (Optuna's GPSampler; a noisy objective unless deterministic_objective)",
    "random_unique": "random search without replacement (Optuna's BruteForceSampler; choices and int ranges only)",
    "evolution": "regularised evolution (population 16, tournament 4, one-factor mutation; Real et al. 2019)",
    "local": "local search: untried one-factor neighbours of the best trial, then the next best (White et al. 2020)",
}

_CLASSES: dict[str, type[optuna.samplers.BaseSampler]] = {
    "tpe": optuna.samplers.TPESampler,
    "random": optuna.samplers.RandomSampler,
    "gp": optuna.samplers.GPSampler,
    "random_unique": optuna.samplers.BruteForceSampler,
    "evolution": EvolutionSampler,
    "local": LocalSearchSampler,
}
# Arguments that take Python objects (a callable, another sampler): a TOML file cannot give one.
_CODE_ONLY = ("gamma", "weights", "constraints_func", "independent_sampler")


def sampler_settings(name: str) -> dict[str, inspect.Parameter]:
    """The ``[sampler]`` keys sampler ``name`` takes besides ``name`` and ``n_trials``: its constructor's."""
    if name == "grid":
        return {}
    params = inspect.signature(_CLASSES[name]).parameters
    return {k: p for k, p in params.items() if k not in _CODE_ONLY}


def make_sampler(space: SearchSpace, *, worker: int | None = 0) -> optuna.samplers.BaseSampler:
    """The space's sampler for one worker.

    Every worker builds its own sampler, so one seed for all of them would make them all
    propose the same designs. A space's ``seed`` therefore seeds worker 0 as given and
    worker ``i`` with a seed mixed from (seed, i); a worker with no index (``worker=None``:
    one started by hand, anywhere) gets an unseeded sampler.
    """
    opts = {k: v for k, v in space.sampler.items() if k not in ("name", "n_trials")}
    if opts.get("seed") is not None:
        opts["seed"] = _worker_seed(int(opts["seed"]), worker)
    name = space.sampler["name"]
    if name == "tpe":
        # Optuna 5 changed the defaults of these two; the space says what it means.
        opts.setdefault("multivariate", True)
        opts.setdefault("constant_liar", True)
        return optuna.samplers.TPESampler(**opts)
    if name == "grid":
        return optuna.samplers.RandomSampler(seed=0)  # every trial is enqueued, none sampled
    return _CLASSES[name](**opts)


def _worker_seed(seed: int, worker: int | None) -> int | None:
    if worker is None:
        return None
    if worker == 0:
        return seed
    digest = hashlib.sha256(f"unitsearch-sampler:{seed}:{worker}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def make_pruner(name: str, opts: dict[str, Any], max_epochs: int) -> optuna.pruners.BasePruner:
    """A pruner on per-epoch validation error; which trials it may stop is :mod:`.pruning`'s rule."""
    opts = {k: v for k, v in opts.items() if k != "name"}
    if name == "median":
        return optuna.pruners.MedianPruner(**opts)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(**{"max_resource": max_epochs, **opts})
    if name == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(**opts)
    if name == "wilcoxon":
        return optuna.pruners.WilcoxonPruner(**opts)
    return optuna.pruners.NopPruner()
