"""``unitsearch verify``: re-run a study's top designs on fresh seeds, beside the paper's winner."""

from __future__ import annotations

from typing import Annotated

import optuna
import typer

from .. import limits
from ..report import load_report
from ..search import join_study, study_data
from ..storage import DEFAULT_STORAGE
from ..search.verify import VERIFY_FIRST_SEED, verify_space
from ..units import resolve_unit
from .run import DeviceOpt, StorageOpt, ThreadsOpt, train_study


def verify(
    study: Annotated[str, typer.Option("--study", help="The study whose best designs are re-run.")] = "grammar",
    storage: StorageOpt = DEFAULT_STORAGE,
    top: Annotated[int, typer.Option("--top", min=1, help="How many of its best designs to re-run.")] = 5,
    seeds: Annotated[int, typer.Option("--seeds", min=2, help="Fresh seeds per design (2 or more, for paired tests).")] = 3,
    first_seed: Annotated[int, typer.Option("--first-seed", help="The fresh seeds are first-seed, first-seed + 1, ...")] = VERIFY_FIRST_SEED,
    reference: Annotated[str, typer.Option("--reference", help="A unit re-run beside them and tested against ('' for none).")] = "full_preact",
    data_dir: Annotated[str | None, typer.Option("--data-dir", help="Folder holding the CIFAR files, for a study trained on CIFAR.")] = None,
    download: Annotated[bool, typer.Option("--download", help="Download CIFAR into --data-dir if it is missing.")] = False,
    device: DeviceOpt = "auto",
    devices: Annotated[str | None, typer.Option("--devices", help="Comma-separated devices, one per worker in turn.")] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Local worker processes (default: the study's space's).")] = None,
    threads: ThreadsOpt = None,
) -> None:
    """Re-train the top designs of a study on fresh seeds, with the reference unit, in study STUDY-verify.

    A search that ranks many designs by few seeds favours the lucky ones; the new study's
    leaderboard ranks the re-runs on matched seeds and marks every design tied with the
    best, and its paired tests compare each design with the reference.
    """
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    limits.whole("--seeds", seeds, 2, 1000)
    limits.whole("--first-seed", first_seed, 0, limits.MAX_SEED - seeds)  # every fresh seed fits 64 bits
    limits.whole("--top", top, 1, 1000)
    st, space = join_study(storage, study)  # names the studies there if STUDY is not one of them
    data = study_data(st, space)  # the re-runs train on the study's data
    ranked = [r for r in load_report(storage, study).rows if r.rank is not None]  # best first
    units = list(dict.fromkeys(r.unit for r in ranked))[:top]
    ref = resolve_unit(reference).form if reference else None
    if ref is not None and ref not in units:
        units.append(ref)
    fresh = list(range(first_seed, first_seed + seeds))
    sp = verify_space(space, units, seeds=fresh, name=f"{study}-verify")
    train_study(
        storage, sp.name, sp, device=device, devices=devices, workers=workers, threads=threads,
        data=data, data_dir=data_dir, download=download, baseline=ref or "original",
    )
