"""``unitsearch verify``: re-run a study's top designs on fresh seeds, beside the paper's winner."""

from __future__ import annotations

from typing import Annotated

import optuna
import typer

from ..search import VERIFY_FIRST_SEED, WorkerOptions, verification_for
from ..storage import DEFAULT_STORAGE
from .live import train_and_show
from .options import DataDirOpt, DeviceOpt, DevicesOpt, DownloadOpt, StorageOpt, ThreadsOpt


def verify(
    study: Annotated[str, typer.Option("--study", help="The study whose best designs are re-run.")] = "grammar",
    storage: StorageOpt = DEFAULT_STORAGE,
    top: Annotated[int, typer.Option("--top", min=1, help="How many of its best designs to re-run.")] = 5,
    seeds: Annotated[int, typer.Option("--seeds", min=2, help="Fresh seeds per design (2 or more, for paired tests).")] = 3,
    first_seed: Annotated[int, typer.Option("--first-seed", help="The fresh seeds are first-seed, first-seed + 1, ...")] = VERIFY_FIRST_SEED,
    reference: Annotated[str, typer.Option("--reference", help="A unit re-run beside them and tested against ('' for none).")] = "full_preact",
    data_dir: DataDirOpt = None,
    download: DownloadOpt = False,
    device: DeviceOpt = "auto",
    devices: DevicesOpt = None,
    threads: ThreadsOpt = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Local worker processes (default: the study's space's).")] = None,
) -> None:
    """Re-train the top designs of a study on fresh seeds, with the reference unit, in study STUDY-verify.

    A search that ranks many designs by few seeds favours the lucky ones; the new study's
    leaderboard ranks the re-runs on matched seeds and marks every design tied with the
    best, and its paired tests compare each design with the reference.
    """
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    v = verification_for(storage, study, top=top, seeds=seeds, first_seed=first_seed, reference=reference)
    options = WorkerOptions(threads=threads, data=v.data, data_dir=data_dir, download=download)
    train_and_show(storage, v.space.name, v.space, device=device, devices=devices, workers=workers, options=options, baseline=v.baseline)
