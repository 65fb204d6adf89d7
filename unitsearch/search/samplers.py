"""The space's sampler for one worker, and its pruner."""

from __future__ import annotations

import hashlib
from typing import Any

import optuna

from .space import SearchSpace

__all__ = ["make_sampler", "make_pruner"]


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
    if name == "random":
        return optuna.samplers.RandomSampler(**opts)
    return optuna.samplers.RandomSampler(seed=0)  # grid: every trial is enqueued, none sampled


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
