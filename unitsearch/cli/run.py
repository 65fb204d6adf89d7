"""``unitsearch run`` and ``unitsearch worker``: train a study's trials, here or on many machines."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import Annotated

import optuna
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rich.markup import escape

from ..errors import UserError
from ..search import SearchSpace, TrialContext, create_study, join_study, load_space, plan_status, study_data, with_overrides, work
from ..storage import DEFAULT_STORAGE, check_url, redact
from ..render import safe_text
from ..search.validate import check_run_numbers
from ..train import PROFILES, resolve_device, set_cpu_threads
from .live import LiveView, tag_worker
from .supervise import cap_workers, check_workers, sigterm_as_interrupt

console = Console(stderr=True)

# The URL can come from the environment, which keeps a password out of `ps` and job logs.
StorageOpt = Annotated[
    str, typer.Option("--storage", envvar="UNITSEARCH_STORAGE", help="SQLAlchemy URL of the study database (PostgreSQL for many machines).")
]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu, cuda, cuda:N or mps.")]
NTrialsOpt = Annotated[int | None, typer.Option("--n-trials", help="Stop after this many trials (per worker).")]
TimeoutOpt = Annotated[float | None, typer.Option("--timeout", help="Take no new trial after this many seconds.")]
ThreadsOpt = Annotated[int | None, typer.Option("--threads", help="CPU threads per worker (default: cores / workers).")]


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=False
    )


def _print_leaderboard(url: str, study: str) -> None:
    from ..report import load_report, print_report

    print_report(load_report(url, study))


@sigterm_as_interrupt
def run(
    space: Annotated[str, typer.Option("--space", help="A built-in space name (see `spaces list`) or a .toml path.")] = "paper_ablations",
    storage: StorageOpt = DEFAULT_STORAGE,
    study: Annotated[str | None, typer.Option("--study", help="Study name (default: the space's name, +PROFILE if --profile is not the space's, +seedN with --seed-offset).")] = None,
    profile: Annotated[str | None, typer.Option("--profile", help=f"Fidelity profile: {', '.join(PROFILES)} (default: the space's).")] = None,
    data: Annotated[str | None, typer.Option("--data", help="synthetic, cifar10, cifar100 or imagefolder (default: the profile's).")] = None,
    data_dir: Annotated[str | None, typer.Option("--data-dir", help="Folder holding cifar-10-batches-py / cifar-100-python, or train/<class>/ and val/<class>/ for imagefolder.")] = None,
    download: Annotated[bool, typer.Option("--download", help="Download CIFAR into --data-dir if it is missing.")] = False,
    device: DeviceOpt = "auto",
    devices: Annotated[str | None, typer.Option("--devices", help="Comma-separated devices, one per worker in turn (cuda:0,cuda:1).")] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Local worker processes on this study (default: one per --devices entry, else the space's).")] = None,
    n_trials: NTrialsOpt = None,
    timeout: TimeoutOpt = None,
    pruner: Annotated[str | None, typer.Option("--pruner", help="median, hyperband, successive_halving, wilcoxon or none.")] = None,
    seed_offset: Annotated[int, typer.Option("--seed-offset", help="Add this to every seed: the same plan on fresh seeds.")] = 0,
    plan: Annotated[str | None, typer.Option("--plan", help="grid or race (default: the space's); grid trains a race's designs on all its seeds.")] = None,
    prefilter: Annotated[bool, typer.Option("--prefilter", help="Skip designs whose gradient collapses at initialisation.")] = False,
    threads: ThreadsOpt = None,
) -> None:
    """Create or resume a study and train its trials to the end; then print the leaderboard.

    Running the same command again after an interruption continues where it stopped.
    """
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    check_url(storage)  # a malformed or in-memory storage fails before any data is loaded
    base = load_space(space)
    check_run_numbers(base, seed_offset=seed_offset, n_trials=n_trials, timeout=timeout, threads=threads)
    sp = with_overrides(base, profile=profile, pruner=pruner, seed_offset=seed_offset, plan=plan)
    name = study or default_study_name(base, profile=profile, seed_offset=seed_offset, plan=plan)
    train_study(
        storage, name, sp, device=device, devices=devices, workers=workers, threads=threads, n_trials=n_trials,
        timeout=timeout, data=data, data_dir=data_dir, download=download, prefilter=prefilter,
    )


def default_study_name(space: SearchSpace, *, profile: str | None = None, seed_offset: int = 0, plan: str | None = None) -> str:
    """The space's name, then the profile and plan if they are not the space's own, then the seed offset.

    Each (profile, plan, seeds) of a space gets its own study, so `run --profile cpu-long` beside
    the default `run` in one studies.db trains a new study instead of resuming the other.
    """
    name = space.name if profile in (None, space.profile) else f"{space.name}+{profile}"
    name = name if plan in (None, space.plan["kind"]) else f"{name}+{plan}"
    return name if not seed_offset else f"{name}+seed{seed_offset}"


def train_study(
    storage: str,
    name: str,
    sp: SearchSpace,
    *,
    device: str = "auto",
    devices: str | None = None,
    workers: int | None = None,
    threads: int | None = None,
    n_trials: int | None = None,
    timeout: float | None = None,
    data: str | None = None,
    data_dir: str | None = None,
    download: bool = False,
    prefilter: bool = False,
    baseline: str = "original",
) -> None:
    """Create or resume study ``name`` of space ``sp``, train it here or with local workers, print it."""
    device_list = [d.strip() for d in devices.split(",")] if devices else [device]
    for d in device_list:
        resolve_device(d)  # fail before anything is written
    workers = workers or (len(device_list) if devices else sp.workers)
    # Before any torch work, the data check included: more threads than this process's share of
    # the cores makes torch's small ops crawl (0.3 s became 29 s for the smoke data on 2 busy cores).
    set_cpu_threads(threads, workers=workers)
    ctx = TrialContext(sp, resolve_device(device_list[0]), data_name=data, data_dir=data_dir, download=download, prefilter=prefilter)
    ctx.data()  # a bad --data or --data-dir fails here, before anything is written
    st, added = create_study(storage, name, sp, baseline=baseline, data=data)
    console.print(f"study [bold]{escape(safe_text(name))}[/] in {escape(safe_text(redact(storage)))}: {planned(sp)}, {added} queued now", highlight=False)
    if n_trials == 0:
        return  # only create the study and queue its plan, for `unitsearch worker`s elsewhere
    status = plan_status(st, sp)
    workers, why = cap_workers(workers, status.total - status.done)
    if why:
        console.print(why, highlight=False)
        set_cpu_threads(threads, workers=workers)  # the cores are shared by fewer processes
    if workers == 1:
        _run_here(st, ctx, n_trials, timeout)
    else:
        commands = worker_commands(
            name, workers=workers, devices=device_list, threads=threads, n_trials=n_trials, timeout=timeout,
            data=data, data_dir=data_dir, download=download, prefilter=prefilter,
        )
        _run_workers(storage, st, sp, commands)
    _print_leaderboard(storage, name)


def planned(sp: SearchSpace) -> str:
    """What the plan will train, in words."""
    if not sp.is_race:
        return f"{sp.n_trials} trials planned"
    p = sp.plan
    return f"a race of {p['min_seeds']} to {p['max_seeds']} seeds a design (at most {sp.n_trials} trials; alpha {p['alpha']}, {p['test']} test)"


def _run_here(st: optuna.Study, ctx: TrialContext, n_trials: int | None, timeout: float | None) -> None:
    with LiveView(st, ctx.space, console=console) as live:
        tag = tag_worker(0)

        def on_epoch(trial: optuna.Trial, m) -> None:
            tag(trial, m)
            live.refresh()

        ctx.on_epoch = on_epoch
        try:
            work(st, ctx, n_trials=n_trials, timeout=timeout, on_trial=lambda s: live.refresh(force=True))
        except KeyboardInterrupt:
            console.print("interrupted: the running trial is recorded as failed; run the same command to resume")
            raise typer.Exit(130) from None


STOP_SECONDS = 60  # after Ctrl-C, how long `run` waits for its workers to record their trials as failed


def worker_commands(
    study: str,
    *,
    workers: int,
    devices: list[str],
    threads: int | None = None,
    cores: int | None = None,
    n_trials: int | None = None,
    timeout: float | None = None,
    data: str | None = None,
    data_dir: str | None = None,
    download: bool = False,
    prefilter: bool = False,
) -> list[list[str]]:
    """The command line of each local worker: the devices in turn, the CPU cores split between them.

    The storage URL is not on it (a password there would show in ``ps``); workers read it
    from ``$UNITSEARCH_STORAGE``.
    """
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    per_worker = threads or max(1, cores // workers)
    commands = []
    for i in range(workers):
        cmd = [
            sys.executable, "-m", "unitsearch", "worker", "--study", study, "--device", devices[i % len(devices)],
            "--threads", str(per_worker), "--worker-index", str(i), "--quiet",
        ]
        for flag, value in (("--n-trials", n_trials), ("--timeout", timeout), ("--data", data), ("--data-dir", data_dir)):
            if value is not None:
                cmd += [flag, str(value)]
        cmd += ["--download"] if download else []
        cmd += ["--prefilter"] if prefilter else []
        commands.append(cmd)
    return commands


def _run_workers(url: str, st: optuna.Study, space: SearchSpace, commands: list[list[str]]) -> None:
    env = {**os.environ, "UNITSEARCH_STORAGE": url}
    procs: list[subprocess.Popen] = []
    # Ctrl-C only sets a flag: a KeyboardInterrupt raised inside a database call could be lost
    # there (seen once: `run` then reported its interrupted workers as errors, exit 2).
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        for cmd in commands:
            procs.append(subprocess.Popen(cmd, env=env))
        with LiveView(st, space, console=console, workers=len(commands)) as live:
            while not stop.is_set() and any(p.poll() is None for p in procs):
                live.refresh()
                stop.wait(1.0)
        if stop.is_set():
            _stop_workers(procs)
            raise typer.Exit(130)
    finally:
        signal.signal(signal.SIGINT, previous)
    status = plan_status(st, space)
    check_workers(procs, done=status.done, total=status.total, console=console)


def _stop_workers(procs: list[subprocess.Popen]) -> None:
    """Forward the interrupt and wait, bounded, for the workers to record their trials as failed.

    A terminal's Ctrl-C reaches the workers too; the forwarded SIGINT covers `kill -INT`.
    Later Ctrl-Cs only set the flag again: stopping here would orphan the workers.
    """
    console.print(f"interrupted: stopping workers (up to {STOP_SECONDS} s); their running trials are recorded as failed; run the same command to resume")
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


@sigterm_as_interrupt
def worker(
    storage: StorageOpt = DEFAULT_STORAGE,
    study: Annotated[str, typer.Option("--study", help="The study to join (created by `unitsearch run`).")] = "paper_ablations",
    data: Annotated[str | None, typer.Option("--data", help="synthetic, cifar10, cifar100 or imagefolder (default: the study's).")] = None,
    data_dir: Annotated[str | None, typer.Option("--data-dir", help="Folder holding the CIFAR files, or the image folder.")] = None,
    download: Annotated[bool, typer.Option("--download", help="Download CIFAR into --data-dir if it is missing.")] = False,
    device: DeviceOpt = "auto",
    n_trials: NTrialsOpt = None,
    timeout: TimeoutOpt = None,
    prefilter: Annotated[bool, typer.Option("--prefilter", help="Skip designs whose gradient collapses at initialisation.")] = False,
    threads: ThreadsOpt = None,
    worker_index: Annotated[
        int | None, typer.Option("--worker-index", min=0, help="This worker's index among those started together (e.g. $SLURM_ARRAY_TASK_ID): seeds its sampler from the space's seed. Default: an unseeded sampler.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress output.")] = False,
) -> None:
    """Join an existing study from any machine and take trials until its plan is done."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    check_run_numbers(n_trials=n_trials, timeout=timeout, threads=threads)
    try:  # a Ctrl-C while joining takes nothing: it, too, ends the worker quietly
        st, space = join_study(storage, study, worker=worker_index)
        set_cpu_threads(threads)
        data = study_data(st, space, data)
        ctx = TrialContext(space, resolve_device(device), data_name=data, data_dir=data_dir, download=download, prefilter=prefilter)
        ctx.on_epoch = tag_worker(worker_index)  # the live view of `run` shows who trains what
        if quiet:
            ran = work(st, ctx, n_trials=n_trials, timeout=timeout)
        else:
            with _progress() as progress:
                plan = progress.add_task("trials done", total=space.n_trials)
                ran = work(st, ctx, n_trials=n_trials, timeout=timeout, on_trial=lambda s: progress.update(plan, completed=s.done))
    except KeyboardInterrupt:
        if not quiet:
            console.print("interrupted: the running trial is recorded as failed; `unitsearch run` queues it again")
        raise typer.Exit(130) from None
    if not quiet:
        console.print(f"worker done: {ran} trials trained")
