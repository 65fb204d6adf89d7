"""``unitsearch run`` and ``unitsearch worker``: train a study's trials, here or on many machines."""

from __future__ import annotations

from typing import Annotated

import optuna
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..search import WorkerOptions, default_study_name, join_as_worker, load_space, with_overrides, work
from ..search.validate import check_run_numbers
from ..storage import DEFAULT_STORAGE, check_url
from ..train import PROFILES
from .live import train_and_show
from .options import (
    CheckpointsOpt, DataDirOpt, DataOpt, DeviceOpt, DevicesOpt, DownloadOpt, KeepCheckpointsOpt, NTrialsOpt, PrefilterOpt, StorageOpt,
    ThreadsOpt, TimeoutOpt,
)
from .supervise import sigterm_as_interrupt, stop_listening

console = Console(stderr=True)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=False
    )


@sigterm_as_interrupt
def run(
    space: Annotated[str, typer.Option("--space", help="A built-in space name (see `spaces list`) or a .toml path.")] = "paper_ablations",
    storage: StorageOpt = DEFAULT_STORAGE,
    study: Annotated[str | None, typer.Option("--study", help="Study name (default: the space's name, +PROFILE if --profile is not the space's, +seedN with --seed-offset).")] = None,
    profile: Annotated[str | None, typer.Option("--profile", help=f"Fidelity profile: {', '.join(PROFILES)} (default: the space's).")] = None,
    data: DataOpt = None,
    data_dir: DataDirOpt = None,
    download: DownloadOpt = False,
    device: DeviceOpt = "auto",
    devices: DevicesOpt = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Local worker processes on this study (default: one per --devices entry, else the space's).")] = None,
    n_trials: NTrialsOpt = None,
    timeout: TimeoutOpt = None,
    pruner: Annotated[str | None, typer.Option("--pruner", help="median, hyperband, successive_halving, wilcoxon or none.")] = None,
    seed_offset: Annotated[int, typer.Option("--seed-offset", help="Add this to every seed: the same plan on fresh seeds.")] = 0,
    plan: Annotated[str | None, typer.Option("--plan", help="grid or race (default: the space's); grid trains a race's designs on all its seeds.")] = None,
    prefilter: PrefilterOpt = False,
    threads: ThreadsOpt = None,
    checkpoints: CheckpointsOpt = None,
    keep_checkpoints: KeepCheckpointsOpt = False,
) -> None:
    """Create or resume a study and train its trials to the end; then print the leaderboard.

    Running the same command again after an interruption continues where it stopped.

    Exit status: 0 when the plan is done, or --n-trials or --timeout ended the run with no
    trial failed; 2 with one error line on bad input, or when trials of this run failed (a
    line per cause before it) or workers died and the plan is not done; 130 on Ctrl-C.
    """
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    check_url(storage)  # a malformed or in-memory storage fails before any data is loaded
    base = load_space(space)
    check_run_numbers(base, seed_offset=seed_offset, n_trials=n_trials, timeout=timeout, threads=threads)
    sp = with_overrides(base, profile=profile, pruner=pruner, seed_offset=seed_offset, plan=plan)
    name = study or default_study_name(base, profile=profile, seed_offset=seed_offset, plan=plan)
    options = WorkerOptions(threads, n_trials, timeout, data, data_dir, download, prefilter, checkpoints, keep_checkpoints)
    train_and_show(storage, name, sp, device=device, devices=devices, workers=workers, options=options)


@sigterm_as_interrupt
def worker(
    storage: StorageOpt = DEFAULT_STORAGE,
    study: Annotated[str, typer.Option("--study", help="The study to join (created by `unitsearch run`).")] = "paper_ablations",
    data: Annotated[str | None, typer.Option("--data", help="synthetic, cifar10, cifar100 or imagefolder (default: the study's).")] = None,
    data_dir: DataDirOpt = None,
    download: DownloadOpt = False,
    device: DeviceOpt = "auto",
    n_trials: NTrialsOpt = None,
    timeout: TimeoutOpt = None,
    prefilter: PrefilterOpt = False,
    threads: ThreadsOpt = None,
    checkpoints: CheckpointsOpt = None,
    keep_checkpoints: KeepCheckpointsOpt = False,
    worker_index: Annotated[
        int | None, typer.Option("--worker-index", min=0, help="This worker's index among those started together (e.g. $SLURM_ARRAY_TASK_ID): seeds its sampler from the space's seed. Default: an unseeded sampler.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress output.")] = False,
) -> None:
    """Join an existing study from any machine and take trials until its plan is done."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    check_run_numbers(n_trials=n_trials, timeout=timeout, threads=threads)
    try:  # a Ctrl-C while joining takes nothing: it, too, ends the worker quietly
        options = WorkerOptions(threads, n_trials, timeout, data, data_dir, download, prefilter, checkpoints, keep_checkpoints)
        st, ctx = join_as_worker(storage, study, worker_index=worker_index, device=device, options=options)
        if quiet:
            ran = work(st, ctx, n_trials=n_trials, timeout=timeout)
        else:
            with _progress() as progress:
                plan = progress.add_task("trials done", total=ctx.space.n_trials)
                ran = work(st, ctx, n_trials=n_trials, timeout=timeout, on_trial=lambda s: progress.update(plan, completed=s.done))
    except KeyboardInterrupt:
        stop_listening()
        if not quiet:
            console.print("interrupted: the running trial is recorded as failed and queued again; it goes on from its last checkpoint")
        raise typer.Exit(130) from None
    if not quiet:
        console.print(f"worker done: {ran} trials trained")
