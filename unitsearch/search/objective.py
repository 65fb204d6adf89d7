"""The Optuna objective: one trial trains one (design, seed) and stores what it saw.

Training knows nothing of Optuna; here its per-epoch callback becomes
``trial.report`` / ``trial.should_prune``, and its result becomes user
attributes (see docs/DESIGN.md for every key).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import optuna
import torch

from ..data import ImageData, load_data
from ..models import build_resnet, count_macs, count_params
from ..train import EpochMetrics, TrainConfig, get_profile, train
from ..units import preset_name, resolve_unit
from .manifest import manifest
from .plan import DONE_STATES, cell_key, left_race, plan_key
from .space import Range, SearchSpace

__all__ = ["TrialContext", "Objective", "make_sampler", "make_pruner", "may_prune", "baseline_form", "protected_forms", "NotRun"]

_NET_DEFAULTS = ("depth", "width", "bottleneck", "arch")


class NotRun(Exception):
    """The trial trains nothing: its (cell, seed) is taken, its design left the race, or the plan has no waiting trial left.

    Optuna records it as FAIL with ``status`` ``unused`` or ``duplicate``; the report ignores it.
    """


def make_sampler(space: SearchSpace, *, worker: int | None = 0) -> optuna.samplers.BaseSampler:
    """The space's sampler for one worker.

    Every worker builds its own sampler, so one seed for all of them would make them all
    propose the same designs (seen: two local TPE workers drew identical start-up trials).
    A space's ``seed`` therefore seeds worker 0 as given and worker ``i`` with a seed mixed
    from (seed, i); a worker with no index (``worker=None``: one started by hand, anywhere)
    gets an unseeded sampler.
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


def baseline_form(study: optuna.Study) -> str | None:
    """The canonical form of the study's baseline (``create_study`` stores it; None if it has none)."""
    baseline = study.user_attrs.get("baseline")
    return resolve_unit(baseline).form if baseline else None


def protected_forms(study: optuna.Study, space: SearchSpace) -> frozenset[str]:
    """The units whose trials are never pruned: the baseline, and in a race its protected designs."""
    names = [n for n in [study.user_attrs.get("baseline")] if n]
    names += list(space.plan.get("protect", [])) if space.is_race else []
    return frozenset(resolve_unit(n).form for n in names)


def may_prune(unit: str, epoch: int, epochs: int, *, protected: Collection[str] = ()) -> bool:
    """Whether the pruner is asked after ``epoch`` of ``epochs`` in a trial of ``unit``.

    Never after the last epoch: nothing is left to save, and the trial belongs among the
    completed ones the median pruner compares with. Never for a protected unit (the
    baseline, and a race's verdict designs): the report compares every design with the
    baseline on matched seeds, and a pruned trial would make that a comparison with an
    early epoch.
    """
    return epoch < epochs and unit not in protected


def _worker_seed(seed: int, worker: int | None) -> int | None:
    if worker is None:
        return None
    if worker == 0:
        return seed
    digest = hashlib.sha256(f"unitsearch-sampler:{seed}:{worker}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def make_pruner(name: str, opts: dict[str, Any], max_epochs: int) -> optuna.pruners.BasePruner:
    """A pruner on per-epoch validation error."""
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


@dataclass
class TrialContext:
    """What a worker process holds across trials: the device, the data, progress hooks."""

    space: SearchSpace
    device: torch.device
    data_name: str | None = None  # None: the profile's dataset
    data_dir: str | None = None
    download: bool = False
    prefilter: bool = False
    on_epoch: Callable[[optuna.Trial, EpochMetrics], None] | None = None
    _data: dict[tuple, ImageData] = field(default_factory=dict)

    def data(self) -> ImageData:
        profile = get_profile(self.space.profile)
        key = (self.data_name or profile.dataset, profile.image_size, profile.train_size, profile.val_size)
        if key not in self._data:
            data = load_data(
                key[0], data_dir=self.data_dir, download=self.download, image_size=profile.image_size, train_size=profile.train_size, val_size=profile.val_size
            )
            self._data[key] = data.to(self.device)
        return self._data[key]


class Objective:
    """Callable objective for ``study.optimize``.

    Args:
        ctx: The worker's device, data and hooks.
        stop: Asked before every training step; True ends the trial with KeyboardInterrupt,
            which Optuna records as FAIL. Training is the only place a trial stops early, so
            an interrupt never cuts into a write to the study.
    """

    def __init__(self, ctx: TrialContext, *, stop: Callable[[], bool] | None = None) -> None:
        self.ctx = ctx
        self.stop = stop

    def _values(self, trial: optuna.Trial) -> dict[str, Any]:
        """The choice and range factors of this trial (fixed by the plan, or sampled)."""
        values = {}
        for name, spec in self.ctx.space.factors.items():
            if isinstance(spec, list):
                values[name] = trial.suggest_categorical(name, spec)
            elif isinstance(spec, Range):
                if spec.integer:
                    values[name] = trial.suggest_int(name, int(spec.low), int(spec.high), log=spec.log)
                else:
                    values[name] = trial.suggest_float(name, spec.low, spec.high, log=spec.log)
        return values

    def __call__(self, trial: optuna.Trial) -> float:
        space, ctx = self.ctx.space, self.ctx
        attrs = trial.user_attrs
        if space.is_grid and "plan_key" not in attrs:
            trial.set_user_attr("status", "unused")
            trial.set_user_attr("reason", "plan exhausted: another worker took the last waiting trial")
            raise NotRun("plan exhausted")
        values = self._values(trial)
        seed = int(attrs["seed"]) if "seed" in attrs else _sampled_seed(space, trial.number)
        cell = attrs.get("cell") or cell_key(space, values)
        key = plan_key(cell, seed)
        if (space.is_grid or space.is_race) and _taken_elsewhere(trial, key):
            trial.set_user_attr("status", "duplicate")
            trial.set_user_attr("reason", f"{key} already has a running or finished trial")
            raise NotRun("duplicate")
        if space.is_race and "seed" in attrs and left_race(trial.study, space, cell):
            trial.set_user_attr("status", "unused")
            trial.set_user_attr("reason", f"{key} was queued before its design left the race")
            raise NotRun("left the race")

        profile = get_profile(space.profile)
        fixed = {**space.fixed, **values}
        net = {k: fixed.get(k, getattr(profile, k)) for k in _NET_DEFAULTS}
        train_overrides = {k: v for k, v in fixed.items() if k in TrainConfig.__dataclass_fields__}
        cfg = profile.train_config(**{**space.train, **train_overrides, "seed": seed})
        spec = space.unit_of(values)
        protected = protected_forms(trial.study, space)
        data = ctx.data()

        torch.manual_seed(seed)
        model = build_resnet(
            spec, depth=int(net["depth"]), width=int(net["width"]), bottleneck=bool(net["bottleneck"]), num_classes=data.num_classes, arch=str(net["arch"])
        ).to(ctx.device)
        form = model.spec.form
        pre = preset_name(spec) or ""
        h, branch, f = (part.split("=", 1)[1] for part in spec.form.split(";"))
        for k, v in {
            "plan_key": key, "cell": cell, "seed": seed, "unit": spec.form, "built_unit": form, "preset": pre,
            "h": h, "branch": branch, "f": f, "profile": space.profile, "depth": int(net["depth"]), "width": int(net["width"]),
            "bottleneck": model.cfg.bottleneck, "arch": model.cfg.arch.value, "params": count_params(model), "macs": count_macs(model, data.image_size),
            "config": cfg.to_dict(), "manifest": manifest(ctx.device, data), "status": "running", "reason": "", "curve": [],
        }.items():
            trial.set_user_attr(k, v)

        if ctx.prefilter and space.prefilter.get("min_grad_ratio") is not None:
            from ..diagnose import prefilter as run_prefilter

            verdict = run_prefilter(
                spec, depth=int(net["depth"]), width=int(net["width"]), bottleneck=bool(net["bottleneck"]), num_classes=data.num_classes,
                image_size=data.image_size, min_grad_ratio=float(space.prefilter["min_grad_ratio"]), seed=seed,
            )
            trial.set_user_attr("prefilter_score", verdict.score)
            if not verdict.keep:
                trial.set_user_attr("status", "skipped")
                trial.set_user_attr("reason", verdict.reason)
                raise optuna.TrialPruned(verdict.reason)

        curve: list[dict[str, float]] = []

        def on_epoch(m: EpochMetrics) -> None:
            curve.append(m.to_dict())
            trial.set_user_attr("curve", curve)
            trial.report(m.val_error, m.epoch)
            if ctx.on_epoch is not None:
                ctx.on_epoch(trial, m)
            if may_prune(spec.form, m.epoch, cfg.epochs, protected=protected) and trial.should_prune():
                _finish(trial, "pruned", f"pruned after epoch {m.epoch} at validation error {m.val_error:.2f}%", curve, m.epoch, start)
                raise optuna.TrialPruned()

        start = time.perf_counter()
        try:
            result = train(model, data, cfg, callback=on_epoch, stop=self.stop)
        except optuna.TrialPruned:
            raise
        except Exception as e:
            trial.set_user_attr("status", "failed")
            trial.set_user_attr("reason", f"{type(e).__name__}: {e}"[:500])
            raise
        _finish(trial, result.status, result.reason, curve, result.epochs, start)
        trial.set_user_attr("final_train_loss", _finite(result.final_train_loss))
        trial.set_user_attr("val_error", result.val_error)
        trial.set_user_attr("test_error", result.test_error)
        trial.set_user_attr("images_per_s", result.images_per_s)
        return result.val_error


def _sampled_seed(space: SearchSpace, number: int) -> int:
    """A sampled design's seed: a race's first (its next seeds are queued), else the seeds in turn."""
    return space.race_seeds[0] if space.is_race else space.seeds[number % len(space.seeds)]


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _finish(trial: optuna.Trial, status: str, reason: str, curve: list[dict], epochs: int, start: float) -> None:
    trial.set_user_attr("status", status)
    trial.set_user_attr("reason", reason)
    trial.set_user_attr("epochs", epochs)
    trial.set_user_attr("wall_seconds", time.perf_counter() - start)
    if curve:
        trial.set_user_attr("final_train_loss", curve[-1]["train_loss"])
        trial.set_user_attr("val_error", curve[-1]["val_error"])
        trial.set_user_attr("images_per_s", sum(c["images_per_s"] for c in curve) / len(curve))


def _taken_elsewhere(trial: optuna.Trial, key: str) -> bool:
    """Another trial holds this key (two `run`s raced to enqueue the plan): the later starter yields."""
    trials = trial.study.get_trials(deepcopy=False, states=DONE_STATES + (optuna.trial.TrialState.RUNNING,))
    me = next(t for t in trials if t.number == trial.number)
    order = lambda t: (t.datetime_start, t.number)  # noqa: E731
    return any(
        t.number != me.number
        and t.user_attrs.get("plan_key") == key
        and (t.state in DONE_STATES or order(t) < order(me))
        for t in trials
    )
