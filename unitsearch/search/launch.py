"""Launching a study from one machine: its name, how many local workers, and stopping them.

:func:`train_study` is what ``unitsearch run`` and ``unitsearch verify`` do: check the
devices and the data before anything is written, create or resume the study, train it in
this process or in local ``unitsearch worker`` processes, and wait for them. It prints
nothing; the caller passes hooks that show what happens. :func:`join_as_worker` starts
every worker, local or on another machine.

A Ctrl-C stops the local workers the way a terminal's would, and waits (at most
:data:`STOP_SECONDS`) for them to record their running trials as failed: the next run
queues those again, and no worker is left training as an orphan.
"""

from __future__ import annotations

import datetime
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from typing import Any, Protocol

import optuna

from .. import numerics
from ..errors import UserError
from ..limits import max_local_workers
from ..storage import TrialStatus, open_checkpoints, read_trial, redact, write_trial
from ..train import default_threads, resolve_device, set_cpu_threads
from .objective import TrialContext
from .plan import plan_status
from .runner import create_study, join_study, study_data, work
from .space import SearchSpace

__all__ = [
    "STOP_SECONDS", "Interrupted", "Started", "View", "WorkerOptions", "train_study", "join_as_worker", "default_study_name", "planned",
    "cap_workers", "worker_commands", "worker_endings", "check_workers", "failed_trials", "tag_worker",
]

STOP_SECONDS = 60  # after Ctrl-C, how long a run waits for its workers to record their trials as failed


class Interrupted(KeyboardInterrupt):
    """Training stopped on Ctrl-C (or SIGINT); the running trials are recorded as failed."""


@dataclass(frozen=True)
class WorkerOptions:
    """What every worker of a run is told: its CPU threads, when to stop, which data, the pre-filter.

    ``data`` None is the study's dataset; ``threads`` None is
    :func:`~unitsearch.train.default_threads` (one with the numerics pinned).
    """

    threads: int | None = None
    n_trials: int | None = None
    timeout: float | None = None
    data: str | None = None
    data_dir: str | None = None
    download: bool = False
    prefilter: bool = False
    checkpoints: str | None = None  # a folder, s3://..., or "none"; None: storage.open_checkpoints's default
    keep_checkpoints: bool = False

    def context(self, space: SearchSpace, device: str) -> TrialContext:
        """The worker's trial context on ``device``."""
        return TrialContext(
            space, resolve_device(device), data_name=self.data, data_dir=self.data_dir, download=self.download, prefilter=self.prefilter,
            checkpoints=open_checkpoints(self.checkpoints, keep=self.keep_checkpoints),
        )

    def flags(self) -> list[str]:
        """These options as ``unitsearch worker`` flags (``--threads`` apart: local workers split the cores).

        The checkpoint store is passed as the place it resolved to, so that a worker started
        from another folder keeps its checkpoints where the others do.
        """
        store = open_checkpoints(self.checkpoints)
        flags: list[str] = ["--checkpoints", store.location if store else "none"]
        for flag, value in (("--n-trials", self.n_trials), ("--timeout", self.timeout), ("--data", self.data), ("--data-dir", self.data_dir)):
            if value is not None:
                flags += [flag, str(value)]
        switches = (("--download", self.download), ("--prefilter", self.prefilter), ("--keep-checkpoints", self.keep_checkpoints))
        return flags + [flag for flag, on in switches if on]


@dataclass(frozen=True)
class Started:
    """A study created or resumed with its plan queued: what :func:`train_study` reports before training."""

    name: str
    storage: str  # the URL without its password
    planned: str  # what the plan will train, in words
    added: int  # trials queued now


class View(Protocol):
    """What the caller shows while trials train; refreshed after every epoch and trial, and every second."""

    def refresh(self, *, force: bool = False) -> None: ...


Watch = Callable[[optuna.Study, SearchSpace, int], AbstractContextManager[View]]  # (study, space, workers) -> a view


class _NoView:
    def refresh(self, *, force: bool = False) -> None:
        pass


def _unwatched(study: optuna.Study, space: SearchSpace, workers: int) -> AbstractContextManager[View]:
    return nullcontext(_NoView())


def _ignore(*_: Any) -> None:
    pass


def default_study_name(space: SearchSpace, *, profile: str | None = None, seed_offset: int = 0, plan: str | None = None) -> str:
    """The space's name, then the profile and plan if they are not the space's own, then the seed offset.

    Each (profile, plan, seeds) of a space gets its own study, so `run --profile cpu-long` beside
    the default `run` in one studies.db trains a new study instead of resuming the other.
    """
    name = space.name if profile in (None, space.profile) else f"{space.name}+{profile}"
    name = name if plan in (None, space.plan["kind"]) else f"{name}+{plan}"
    return name if not seed_offset else f"{name}+seed{seed_offset}"


def planned(sp: SearchSpace) -> str:
    """What the plan will train, in words."""
    if not sp.is_race:
        return f"{sp.n_trials} trials planned"
    p = sp.plan
    return f"a race of {p['min_seeds']} to {p['max_seeds']} seeds a design (at most {sp.n_trials} trials; alpha {p['alpha']}, {p['test']} test)"


def train_study(
    storage: str,
    name: str,
    sp: SearchSpace,
    *,
    device: str = "auto",
    devices: str | None = None,
    workers: int | None = None,
    options: WorkerOptions = WorkerOptions(),
    baseline: str = "original",
    on_start: Callable[[Started], None] = _ignore,
    say: Callable[[str], None] = _ignore,
    watch: Watch = _unwatched,
) -> bool:
    """Create or resume study ``name`` of space ``sp`` and train it here or with local workers.

    ``devices`` (comma-separated) go to the local workers in turn, one worker per device
    unless ``workers`` says otherwise. ``on_start`` is called once the study exists and its
    plan is queued; ``say`` with each line a person should read (fewer workers than asked,
    a worker that died, an interrupt); ``watch`` opens the view refreshed while trials train.

    Returns:
        Whether trials were trained: ``n_trials=0`` only creates the study and queues its
        plan, for ``unitsearch worker``s elsewhere.

    Raises:
        Interrupted: On Ctrl-C, once the running trials are recorded as failed.
        UserError: A bad device or data (before anything is written), or workers that died
            or trials of this run that failed (each cause said first) before the plan was done.
    """
    device_list = [d.strip() for d in devices.split(",")] if devices else [device]
    for d in device_list:
        resolve_device(d)  # fail before anything is written
    workers = workers or (len(device_list) if devices else sp.workers)
    # Before any torch work, the data check included: more threads than this process's share of
    # the cores makes torch's small ops crawl.
    set_cpu_threads(options.threads, workers=workers)
    if line := numerics.check():
        say(line)
    ctx = options.context(sp, device_list[0])
    ctx.data()  # a bad data name or folder fails here, before anything is written
    st, added = create_study(storage, name, sp, baseline=baseline, data=options.data)
    on_start(Started(name, redact(storage), planned(sp), added))
    if options.n_trials == 0:
        return False
    status = plan_status(st, sp)
    workers, why = cap_workers(workers, status.total - status.done)
    if why:
        say(why)
        set_cpu_threads(options.threads, workers=workers)  # the cores are shared by fewer processes
    since = datetime.datetime.now()  # Optuna's clock for datetime_start: the trials this run starts begin after it
    if workers == 1:
        _run_here(st, ctx, n_trials=options.n_trials, timeout=options.timeout, say=say, watch=watch)
    else:
        commands = worker_commands(name, workers=workers, devices=device_list, options=options)
        _run_workers(storage, st, sp, commands, say=say, watch=watch)
    failures = failed_trials(st.get_trials(deepcopy=False), since=since)
    for line in failures:
        say(line)
    status = plan_status(st, sp)
    if failures and not status.finished:
        raise UserError(
            f"trials of this run failed, and {status.done} of {status.total} trials are done: "
            "fix the cause above, then run the same command to train them again"
        )
    return True


def join_as_worker(
    storage: str,
    study: str,
    *,
    worker_index: int | None = None,
    device: str = "auto",
    options: WorkerOptions = WorkerOptions(),
) -> tuple[optuna.Study, TrialContext]:
    """Join an existing study as a worker: the study, and the context :func:`work` trains its trials in.

    ``worker_index`` is this worker's index among those started together (its sampler's
    seed); None for a worker started on its own. ``options.data`` must name the study's own dataset.
    """
    st, space = join_study(storage, study, worker=worker_index)
    set_cpu_threads(options.threads)
    ctx = replace(options, data=study_data(st, space, options.data)).context(space, device)
    ctx.on_epoch = tag_worker(worker_index)  # the live view of `run` shows who trains what
    return st, ctx


def tag_worker(index: int | None) -> Callable[[optuna.Trial, Any], None]:
    """An ``on_epoch`` hook that records, once per trial, which worker trains it (the live view shows it)."""
    label = f"worker {index}" if index is not None else f"{socket.gethostname()}:{os.getpid()}"

    def hook(trial: optuna.Trial, m: Any) -> None:
        if getattr(m, "epoch", 1) == 1:
            write_trial(trial, worker=label)

    return hook


def _run_here(
    st: optuna.Study, ctx: TrialContext, *, n_trials: int | None, timeout: float | None, say: Callable[[str], None], watch: Watch
) -> None:
    with watch(st, ctx.space, 1) as view:
        tag = tag_worker(0)

        def on_epoch(trial: optuna.Trial, m: Any) -> None:
            tag(trial, m)
            view.refresh()

        ctx.on_epoch = on_epoch
        try:
            work(st, ctx, n_trials=n_trials, timeout=timeout, on_trial=lambda s: view.refresh(force=True))
        except KeyboardInterrupt:
            say("interrupted: the running trial is recorded as failed; run the same command to resume")
            raise Interrupted from None


def cap_workers(requested: int, remaining: int, *, limit: int | None = None) -> tuple[int, str | None]:
    """The number of local workers to start, and a line saying why if it is fewer than asked.

    More workers than trials left would only wait; more than :func:`max_local_workers`
    would thrash one machine's cores and memory.
    """
    limit = limit or max_local_workers()
    n = max(1, min(requested, remaining, limit))
    if n == requested:
        return n, None
    if n == max(1, remaining) and remaining < limit:
        why = "no trial is left" if remaining <= 0 else f"only {remaining} trial{'s are' if remaining > 1 else ' is'} left"
    else:
        why = f"at most {limit} run on one machine"
    return n, f"starting {n} worker{'s' if n > 1 else ''}, not {requested}: {why}"


def worker_commands(
    study: str,
    *,
    workers: int,
    devices: list[str],
    options: WorkerOptions = WorkerOptions(),
    cores: int | None = None,
) -> list[list[str]]:
    """The command line of each local worker: the devices in turn, the CPU cores split between them.

    The storage URL is not on it (a password there would show in ``ps``); workers read it
    from ``$UNITSEARCH_STORAGE``.
    """
    per_worker = options.threads or (default_threads(workers) if cores is None else max(1, cores // workers))
    return [
        [
            sys.executable, "-m", "unitsearch", "worker", "--study", study, "--device", devices[i % len(devices)],
            "--threads", str(per_worker), "--worker-index", str(i), "--quiet", *options.flags(),
        ]
        for i in range(workers)
    ]


def _run_workers(
    url: str, st: optuna.Study, space: SearchSpace, commands: list[list[str]], *, say: Callable[[str], None], watch: Watch
) -> None:
    env = {**os.environ, "UNITSEARCH_STORAGE": url}
    procs: list[subprocess.Popen] = []
    # Ctrl-C only sets a flag: a KeyboardInterrupt raised inside a database call can be lost
    # there, and the interrupted workers would then be reported as errors.
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        for cmd in commands:
            procs.append(subprocess.Popen(cmd, env=env))
        with watch(st, space, len(commands)) as view:
            while not stop.is_set() and any(p.poll() is None for p in procs):
                view.refresh()
                stop.wait(1.0)
        if stop.is_set():
            say(f"interrupted: stopping workers (up to {STOP_SECONDS} s); their running trials are recorded as failed; run the same command to resume")
            _stop_workers(procs)
            raise Interrupted
    finally:
        signal.signal(signal.SIGINT, previous)
    status = plan_status(st, space)
    for line in check_workers(procs, done=status.done, total=status.total):
        say(line)


def _stop_workers(procs: list[subprocess.Popen]) -> None:
    """Forward the interrupt and wait, bounded, for the workers to record their trials as failed.

    A terminal's Ctrl-C reaches the workers too; the forwarded SIGINT covers `kill -INT`.
    Later Ctrl-Cs only set the flag again: stopping here would orphan the workers.
    """
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    deadline = time.monotonic() + STOP_SECONDS
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()  # its trial stays RUNNING until its heartbeat is stale; then it is retried
            p.wait(timeout=10)


def worker_endings(procs: Sequence[subprocess.Popen]) -> list[str]:
    """One phrase per worker that did not exit cleanly: which one, its pid, and how it ended."""
    out = []
    for i, p in enumerate(procs):
        rc = p.returncode
        if rc in (0, None):
            continue
        if rc < 0:
            try:
                how = f"was killed by {signal.Signals(-rc).name}"
            except ValueError:
                how = f"was killed by signal {-rc}"
        else:
            how = f"exited with status {rc}"
        out.append(f"worker {i} (pid {p.pid}) {how}")
    return out


def check_workers(procs: Sequence[subprocess.Popen], *, done: int, total: int) -> list[str]:
    """A warning per worker that died; an error instead if the plan is not finished without them.

    The other workers, and heartbeats, retry a dead worker's trial: when every (design, seed)
    is done, the run succeeded and its leaderboard is what the user wants to see.
    """
    endings = worker_endings(procs)
    if endings and done < total:
        raise UserError(
            f"{'; '.join(endings)} ({len(endings)} of {len(procs)} workers); {done} of {total} trials done: "
            "see their messages above, then run the same command to resume"
        )
    return [f"warning: {line}; the other workers finished its trials" for line in endings]


def failed_trials(trials: Sequence[optuna.trial.FrozenTrial], *, since: datetime.datetime) -> list[str]:
    """One line per cause of the trials started at ``since`` or later that failed, the most frequent first.

    Only the ``failed`` status counts: a pruned, diverged or skipped trial is a result, and an
    unused or duplicate one trained nothing by design.
    """
    reasons = Counter(
        r.reason or "its worker ended without recording why (killed, or its machine was lost)"
        for r in map(read_trial, trials)
        if r.status is TrialStatus.FAILED and r.datetime_start is not None and r.datetime_start >= since
    )
    return [f"{n} trial{'s' if n > 1 else ''} failed: {reason}" for reason, n in reasons.most_common()]
