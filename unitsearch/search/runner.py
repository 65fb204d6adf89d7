"""Creating or joining a study, and the worker loop that takes its trials.

Optuna with an RDB storage is the distributed engine: a worker anywhere pops a
waiting trial (grid plans) or asks the sampler (open spaces), trains it, and
writes the result; heartbeats let the others retry a trial whose worker died.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import optuna

from .. import numerics
from ..errors import UserError
from ..storage import NOT_RUN, describe, difference, experiment, open_storage, read_study, read_trial, redact, write_study
from ..train import default_threads, get_profile
from ..train.setup import data_request
from .failures import record_failures
from .objective import Objective, TrialContext
from .plan import PlanStatus, advance, enqueue_plan, plan_status, sampler_draws
from .samplers import make_pruner, make_sampler
from .space import SearchSpace, space_from_dict

__all__ = ["create_study", "join_study", "study_data", "work", "requeue_interrupted", "with_overrides", "STALE_POLL_SECONDS"]

STALE_POLL_SECONDS = 2.0  # how often an idle worker looks for retried or newly queued trials


def with_overrides(
    space: SearchSpace, *, profile: str | None = None, pruner: str | None = None, seed_offset: int = 0, plan: str | None = None
) -> SearchSpace:
    """The space with command-line overrides applied.

    ``plan="grid"`` turns a race into the grid of the same designs on its seeds
    (``max_seeds`` of them), the side-by-side comparison ``bench/race.py`` makes.
    """
    if profile is not None:
        get_profile(profile)
        space = replace(space, profile=profile)
    if pruner is not None:
        from .space import PRUNERS

        if pruner not in PRUNERS:
            raise UserError(f"unknown pruner {pruner!r}; allowed: {', '.join(PRUNERS)}")
        space = replace(space, pruner={"name": pruner} if pruner != space.pruner["name"] else space.pruner)
    if seed_offset:
        space = replace(space, seeds=[s + seed_offset for s in space.seeds])
    if plan is not None and plan != space.plan["kind"]:
        from .space import PLANS

        if plan not in PLANS:
            raise UserError(f"unknown plan {plan!r}; allowed: {', '.join(PLANS)}")
        if plan == "grid":
            space = replace(space, seeds=space.race_seeds, plan={"kind": "grid"})
        else:
            raise UserError(f"search space {space.name} has no [plan] table for a race; add one (kind = \"race\", min_seeds, ...)")
    return space


def _study(storage, name: str, space: SearchSpace, *, create: bool, worker: int | None = 0) -> optuna.Study:
    sampler = make_sampler(space, worker=worker)
    try:
        pruner = make_pruner(space.pruner["name"], space.pruner, space.max_epochs)
    except (TypeError, ValueError) as e:
        raise UserError(f"search space {space.name}: bad [pruner] settings: {e}") from None
    if create:
        return optuna.create_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner, direction="minimize", load_if_exists=True)
    return optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)


def create_study(url: str, name: str, space: SearchSpace, *, baseline: str = "original", data: str | None = None) -> tuple[optuna.Study, int]:
    """Create or resume the study, store its space, and queue the (cell, seed) pairs it lacks.

    ``data`` is the dataset its trials train on (None: the profile's). A study is resumed
    only with the profile, training settings (under ``[train]`` or fixed in ``[factors]``),
    fixed network factors, factor choices and ranges, and data its trials were trained with
    (:func:`unitsearch.storage.experiment`): a leaderboard that mixed two of them would compare
    designs across experiments, and Optuna fails a trial whose factor choices changed.

    Returns:
        The study and the number of trials newly queued.
    """
    data = data or data_request(space.profile).name
    storage = open_storage(url)
    study = _study(storage, name, space, create=True)
    stored = read_study(study)
    if stored.space is not None:
        before, now = experiment(stored.space, stored.data or data), experiment(space.to_dict(), data)
        if before != now:
            was, asks = difference(before, now)
            raise UserError(
                f"study {name!r} in {redact(url)!r} was trained with {describe(was)}; this run asks for {describe(asks)}. "
                "Resume it with the same settings, or start a new study with --study NAME"
            )
    write_study(study, space=space.to_dict(), data=data, baseline=baseline, n_planned=space.n_trials, numerics=numerics.describe(threads=default_threads()))
    added = enqueue_plan(study, space) if space.is_grid or space.is_race else 0
    return study, added


def join_study(url: str, name: str, *, worker: int | None = 0) -> tuple[optuna.Study, SearchSpace]:
    """Open an existing study from any machine, with the space its creator stored.

    ``worker`` is this worker's index among those ``run`` started (its sampler seed, see
    :func:`make_sampler`); None for a worker started on its own.
    """
    storage = open_storage(url, must_exist=True)  # a mistyped path must not become an empty database
    try:
        summaries = optuna.get_all_study_names(storage)
    except Exception as e:  # noqa: BLE001  (the storage says why in one line)
        raise UserError(f"cannot read studies from {redact(url)!r}: {str(e).splitlines()[0]}") from None
    if name not in summaries:
        raise UserError(f"no study {name!r} in {redact(url)!r}; studies there: {', '.join(summaries) or 'none'} (create one with `unitsearch run`; `--n-trials 0` creates it and queues its plan without training)")
    stored = read_study(optuna.load_study(study_name=name, storage=storage))
    if stored.space is None:
        raise UserError(f"study {name!r} was not created by unitsearch (it has no stored space)")
    space = space_from_dict(stored.space)
    return _study(storage, name, space, create=False, worker=worker), space


def study_data(study: optuna.Study, space: SearchSpace, data: str | None = None) -> str:
    """The dataset a worker joining ``study`` trains on: the study's own; ``data`` must name the same."""
    stored = read_study(study).data or data_request(space.profile).name
    if data is not None and data != stored:
        raise UserError(f"study {study.study_name!r} trains on {stored!r}, not {data!r}: leave out --data, or create a new study for {data!r}")
    return stored


class _Interrupts:
    """Ctrl-C (SIGINT) for a worker: noted by the handler, acted on only where it is safe.

    A KeyboardInterrupt raised wherever the signal lands can land inside a write to the
    study: inside Optuna's ``report`` or ``set_user_attr`` it cuts the write short, and it can
    leave the SQLite write lock held, so the worker cannot record its trial as failed
    ("database is locked"; the trial stays RUNNING). Inside ``ask`` it could leave a
    trial RUNNING without a heartbeat, so no worker would ever take its (cell, seed) again.
    So the handler only sets a flag: the training loop asks it before every step (``stop``)
    and raises there, where Optuna records the trial as FAIL, and the loop between trials
    checks it too. Later SIGINTs (a terminal signals every process of the job, and ``run``
    forwards one more) only set the flag again.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def __enter__(self) -> _Interrupts:
        if threading.current_thread() is threading.main_thread():  # only the main thread gets signals
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum, frame) -> None:
        self.requested = True

    def stop(self) -> bool:
        return self.requested

    def check(self) -> None:
        if self.requested:
            raise KeyboardInterrupt

    def sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.check()
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))

    def guard(self, objective: Callable[[optuna.Trial], float]) -> Callable[[optuna.Trial], float]:
        def run(trial: optuna.Trial) -> float:
            self.check()  # noted while Optuna handed out this trial: fail it now, it is ours
            return objective(trial)

        return run


def _sampled_all(study: optuna.Study, space: SearchSpace, status: PlanStatus) -> bool:
    """Whether a sampled space has drawn its budget: ``n_trials`` draws, or designs in a race.

    Every draw counts, one that failed too (else a sampler whose trials all fail would draw
    for ever), and in a race one that repeats a design (turned away as a duplicate), so a
    sampler that keeps proposing known designs still ends. A retried trial is not a draw.
    """
    drawn = sampler_draws(study.get_trials(deepcopy=False))
    if not space.is_race:
        return drawn >= status.total or status.done + status.running >= status.total
    return drawn >= int(space.sampler["n_trials"])


def requeue_interrupted(study: optuna.Study, number: int | None) -> bool:
    """Queue an interrupted trial again at once, its attributes (its checkpoint) included.

    The copy waits for the next worker, here or elsewhere (a requeued Slurm task), and goes on
    from the trial's last checkpoint, if it had one. A sampled trial interrupted before it
    took its design is left: the sampler draws again.
    """
    if number is None:
        return False
    t = next((t for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.FAIL,)) if t.number == number), None)
    if t is None or read_trial(t).status in NOT_RUN or "plan_key" not in t.user_attrs:
        return False
    optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=None)(study, t)
    return True


def work(
    study: optuna.Study,
    ctx: TrialContext,
    *,
    n_trials: int | None = None,
    timeout: float | None = None,
    on_trial: Callable[[PlanStatus], None] | None = None,
) -> int:
    """Take trials until the plan is done, ``n_trials`` ran, or ``timeout`` seconds passed.

    An idle worker waits while other trials run, because a trial whose worker
    died comes back as a waiting retry once its heartbeat is stale.

    Raises:
        KeyboardInterrupt: On SIGINT (in the main thread); the trial it interrupted is
            recorded as FAIL, and the next ``run`` queues its (cell, seed) again.

    Returns:
        The number of trials this worker ran.
    """
    ctx.data()  # load (and check) the data before taking a trial
    start, ran = time.monotonic(), 0
    space = ctx.space
    with _Interrupts() as interrupts:
        guarded = interrupts.guard(record_failures(Objective(ctx, stop=interrupts.stop)))
        taken: list[int] = []  # the number of the trial this worker holds, or held last

        def objective(trial: optuna.Trial) -> float:
            taken[:] = [trial.number]
            return guarded(trial)

        while n_trials is None or ran < n_trials:
            interrupts.check()
            if timeout is not None and time.monotonic() - start >= timeout:
                break
            optuna.storages.fail_stale_trials(study)
            if space.is_race:
                advance(study, space)  # the next seeds of the designs still in the race
            status = plan_status(study, space)
            if on_trial is not None:
                on_trial(status)
            if status.finished:
                break
            if status.waiting == 0 and (space.is_grid or _sampled_all(study, space, status)):
                if status.running == 0:
                    break  # nothing queued, nothing that could come back: `run` re-queues what is missing
                interrupts.sleep(STALE_POLL_SECONDS)  # a running trial may free the next seed of its design
                continue
            try:
                study.optimize(objective, n_trials=1, catch=(Exception,), gc_after_trial=False)
            except KeyboardInterrupt:
                requeue_interrupted(study, taken[0] if taken else None)
                raise
            ran += 1
        interrupts.check()
    if on_trial is not None:
        on_trial(plan_status(study, space))
    return ran
