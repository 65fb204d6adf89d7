"""The Optuna objective: one trial trains one (design, seed) and stores what it saw.

Training knows nothing of Optuna; here its per-epoch callback becomes
``trial.report`` / ``trial.should_prune``, and its result becomes the trial's record
(:mod:`unitsearch.storage.trial`, written only through ``write_trial``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import optuna
import torch

from .. import numerics
from ..data import ImageData
from ..models import build_resnet, count_macs, count_params
from ..storage import CheckpointStore, TrialStatus, finite, read_trial, write_trial
from ..train import Checkpoint, CheckpointError, EpochMetrics, train
from ..train.setup import NET_SETTINGS, TRAIN_SETTINGS, DataRequest, TrialSetup, data_request, setup_trial
from ..units import preset_name
from .manifest import manifest
from .plan import DONE_STATES, cell_key, left_race, plan_key
from .pruning import may_prune, protected_forms
from .space import Range, SearchSpace

__all__ = ["TrialContext", "Objective", "NotRun"]


class NotRun(Exception):
    """The trial trains nothing: its (cell, seed) is taken, its design left the race, or the plan has no waiting trial left.

    Optuna records it as FAIL with ``status`` ``unused`` or ``duplicate``; the report ignores it.
    """


@dataclass
class TrialContext:
    """What a worker process holds across trials: the device, the data, progress hooks."""

    space: SearchSpace
    device: torch.device
    data_name: str | None = None  # None: the profile's dataset
    data_dir: str | None = None
    download: bool = False
    prefilter: bool = False
    checkpoints: CheckpointStore | None = None  # None: trials keep no checkpoint and a retry starts over
    on_epoch: Callable[[optuna.Trial, EpochMetrics], None] | None = None
    _data: dict[DataRequest, ImageData] = field(default_factory=dict)

    def data(self, request: DataRequest | None = None) -> ImageData:
        """The images of ``request`` on the device, loaded once (default: the space's profile's)."""
        request = request or data_request(self.space.profile, data=self.data_name)
        if request not in self._data:
            self._data[request] = request.load(data_dir=self.data_dir, download=self.download).to(self.device)
        return self._data[request]


@dataclass(frozen=True)
class _Claim:
    """The (cell, seed) a trial trains, with its sampled or queued factor values."""

    values: dict[str, Any]
    seed: int
    cell: str

    @property
    def key(self) -> str:
        return plan_key(self.cell, self.seed)


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

    def __call__(self, trial: optuna.Trial) -> float:
        claim = self._claim(trial)
        setup = self._setup(claim)
        data = self.ctx.data(setup.data)
        torch.manual_seed(claim.seed)
        model = build_resnet(setup.spec, setup.network(data.num_classes)).to(self.ctx.device)
        self._start(trial, claim, setup, model, data)
        self._prefilter(trial, setup, data)
        return self._train(trial, setup, model, data)

    def _claim(self, trial: optuna.Trial) -> _Claim:
        """The trial's (cell, seed); :class:`NotRun` when it must train nothing."""
        space, attrs = self.ctx.space, trial.user_attrs
        if space.is_grid and "plan_key" not in attrs:
            write_trial(trial, status=TrialStatus.UNUSED, reason="plan exhausted: another worker took the last waiting trial")
            raise NotRun("plan exhausted")
        values = self._values(trial)
        seed = int(attrs["seed"]) if "seed" in attrs else _sampled_seed(space, trial.number)
        claim = _Claim(values, seed, attrs.get("cell") or cell_key(space, values))
        if (space.is_grid or space.is_race) and _taken_elsewhere(trial, claim.key):
            write_trial(trial, status=TrialStatus.DUPLICATE, reason=f"{claim.key} already has a running or finished trial")
            raise NotRun("duplicate")
        if space.is_race and "seed" in attrs and left_race(trial.study, space, claim.cell):
            write_trial(trial, status=TrialStatus.UNUSED, reason=f"{claim.key} was queued before its design left the race")
            raise NotRun("left the race")
        return claim

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

    def _setup(self, claim: _Claim) -> TrialSetup:
        """The space's profile with its ``[train]`` table, its fixed and this trial's factors, and the seed."""
        space = self.ctx.space
        factors = {k: v for k, v in {**space.fixed, **claim.values}.items() if k in NET_SETTINGS or k in TRAIN_SETTINGS}
        settings = {**space.train, **factors, "seed": claim.seed, "data": self.ctx.data_name}
        return setup_trial(space.unit_of(claim.values), space.profile, **settings)

    def _start(self, trial: optuna.Trial, claim: _Claim, setup: TrialSetup, model: torch.nn.Module, data: ImageData) -> None:
        """Write what the trial trains, before the first epoch."""
        spec, net = setup.spec, model.cfg
        write_trial(
            trial, plan_key=claim.key, cell=claim.cell, seed=claim.seed, unit=spec.form, built_unit=model.spec.form,
            preset=preset_name(spec) or "", h=spec.h_form, branch=spec.branch_form, f=spec.f_form, profile=setup.profile,
            depth=net.depth, width=net.width, bottleneck=net.bottleneck, arch=net.arch.value, params=count_params(model),
            macs=count_macs(model, data.image_size), config=setup.config.to_dict(), manifest=manifest(self.ctx.device, data),
            numerics=numerics.describe(self.ctx.device.type),
            status=TrialStatus.RUNNING, reason="", curve=[], resumed_from=None,
        )

    def _prefilter(self, trial: optuna.Trial, setup: TrialSetup, data: ImageData) -> None:
        """With ``--prefilter``: skip a design whose gradient collapses at initialisation."""
        threshold = self.ctx.space.prefilter.get("min_grad_ratio")
        if not self.ctx.prefilter or threshold is None:
            return
        from ..diagnose import prefilter

        net = setup.net
        verdict = prefilter(
            setup.spec, depth=net.depth, width=net.width, bottleneck=net.bottleneck, num_classes=data.num_classes,
            image_size=data.image_size, min_grad_ratio=float(threshold), seed=setup.config.seed,
        )
        write_trial(trial, prefilter_score=verdict.score)
        if not verdict.keep:
            write_trial(trial, status=TrialStatus.SKIPPED, reason=verdict.reason)
            raise optuna.TrialPruned(verdict.reason)

    def _train(self, trial: optuna.Trial, setup: TrialSetup, model: torch.nn.Module, data: ImageData) -> float:
        """Train, from its predecessor's checkpoint if it has one, reporting every epoch to the pruner; write how it ended."""
        cfg, ctx = setup.config, self.ctx
        protected = protected_forms(trial.study, ctx.space)
        saved = _Saved(ctx.checkpoints, trial, _fingerprint(setup, model))
        resume = saved.resume()
        curve: list[dict[str, float]] = list(resume.curve) if resume else []
        for m in curve:  # the epochs it does not train again count for the pruner as they did
            trial.report(m["val_error"], int(m["epoch"]))
        start = time.perf_counter() - (resume.seconds if resume else 0.0)

        def on_epoch(m: EpochMetrics) -> None:
            curve.append(m.to_dict())
            write_trial(trial, curve=curve)
            trial.report(m.val_error, m.epoch)
            if ctx.on_epoch is not None:
                ctx.on_epoch(trial, m)
            if may_prune(setup.spec.form, m.epoch, cfg.epochs, protected=protected) and trial.should_prune():
                _finish(trial, TrialStatus.PRUNED, f"pruned after epoch {m.epoch} at validation error {m.val_error:.2f}%", curve, m.epoch, start)
                raise optuna.TrialPruned()

        try:
            result = train(model, data, cfg, callback=on_epoch, stop=self.stop, resume=resume, on_checkpoint=saved.save)
        except optuna.TrialPruned:
            saved.discard()
            raise
        except Exception as e:
            write_trial(trial, status=TrialStatus.FAILED, reason=f"{type(e).__name__}: {e}"[:500])
            raise
        _finish(trial, TrialStatus(result.status), result.reason, curve, result.epochs, start)
        write_trial(
            trial, final_train_loss=finite(result.final_train_loss), val_error=result.val_error,
            test_error=result.test_error, images_per_s=result.images_per_s,
        )
        saved.discard()
        return result.val_error


class _Saved:
    """A trial's checkpoints: the one it inherited, each epoch's, and their removal once it ends.

    A retried trial inherits its predecessor's ``checkpoint`` attribute (Optuna's retry
    callbacks copy the attributes); one that cannot be read, or that another setup wrote,
    is left alone and the trial starts over, saying so in ``resumed_from`` (0).
    """

    def __init__(self, store: CheckpointStore | None, trial: optuna.Trial, fingerprint: str) -> None:
        self.store, self.trial, self.fingerprint = store, trial, fingerprint
        held = trial.user_attrs.get("checkpoint")
        self.current: str | None = held.get("id") if isinstance(held, dict) and isinstance(held.get("id"), str) else None

    def resume(self) -> Checkpoint | None:
        if self.store is None or self.current is None:
            return None
        data = self.store.load(self.current)
        try:
            ckpt = Checkpoint.from_bytes(data, fingerprint=self.fingerprint) if data is not None else None
        except CheckpointError:
            ckpt = None
        write_trial(self.trial, resumed_from=ckpt.epoch if ckpt else 0)
        if ckpt is None:
            self.current = None  # not ours to remove: it may be another setup's
        return ckpt

    def save(self, ckpt: Checkpoint) -> None:
        if self.store is None:
            return
        ckpt.fingerprint = self.fingerprint
        new = self.store.save(ckpt.to_bytes())
        write_trial(self.trial, checkpoint={"id": new, "epoch": ckpt.epoch})  # the database points at it before the old one goes
        if self.current is not None:
            self.store.remove(self.current)
        self.current = new

    def discard(self) -> None:
        """The trial ended with a result: its checkpoint is no longer needed, unless kept."""
        if self.store is None or self.current is None or self.store.keep:
            return
        write_trial(self.trial, checkpoint=None)
        self.store.remove(self.current)
        self.current = None


def _fingerprint(setup: TrialSetup, model: torch.nn.Module) -> str:
    """What must match for a checkpoint to go on: the unit, network, recipe and data."""
    return hashlib.sha256(repr((setup.spec.form, model.cfg, setup.config.to_dict(), setup.data)).encode()).hexdigest()[:16]


def _sampled_seed(space: SearchSpace, number: int) -> int:
    """A sampled design's seed: a race's first (its next seeds are queued), else the seeds in turn."""
    return space.race_seeds[0] if space.is_race else space.seeds[number % len(space.seeds)]


def _finish(trial: optuna.Trial, status: TrialStatus, reason: str, curve: list[dict], epochs: int, start: float) -> None:
    write_trial(trial, status=status, reason=reason, epochs=epochs, wall_seconds=time.perf_counter() - start)
    if curve:
        write_trial(
            trial, final_train_loss=curve[-1]["train_loss"], val_error=curve[-1]["val_error"],
            images_per_s=sum(c["images_per_s"] for c in curve) / len(curve),
        )


def _taken_elsewhere(trial: optuna.Trial, key: str) -> bool:
    """Another trial holds this key (two `run`s raced to enqueue the plan): the later starter yields."""
    trials = trial.study.get_trials(deepcopy=False, states=DONE_STATES + (optuna.trial.TrialState.RUNNING,))
    me = next(t for t in trials if t.number == trial.number)
    order = lambda t: (t.datetime_start, t.number)  # noqa: E731
    return any(
        t.number != me.number
        and read_trial(t).plan_key == key
        and (t.state in DONE_STATES or order(t) < order(me))
        for t in trials
    )
