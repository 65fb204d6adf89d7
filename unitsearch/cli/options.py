"""The options several commands share, defined once: the same flag means the same thing everywhere."""

from __future__ import annotations

from typing import Annotated

import typer

from ..render import Format

# The URL can come from the environment, which keeps a password out of `ps` and job logs.
StorageOpt = Annotated[
    str, typer.Option("--storage", envvar="UNITSEARCH_STORAGE", help="SQLAlchemy URL of the study database (PostgreSQL for many machines).")
]
ReadStorageOpt = Annotated[str, typer.Option("--storage", envvar="UNITSEARCH_STORAGE", help="Optuna storage URL, read only.")]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu, cuda, cuda:N or mps.")]
DevicesOpt = Annotated[str | None, typer.Option("--devices", help="Comma-separated devices, one per worker in turn (cuda:0,cuda:1).")]
ThreadsOpt = Annotated[int | None, typer.Option("--threads", help="CPU threads per worker (default: 1 with the numerics pinned, else cores / workers; part of the numerics).")]
NTrialsOpt = Annotated[int | None, typer.Option("--n-trials", help="Stop after this many trials (per worker).")]
TimeoutOpt = Annotated[float | None, typer.Option("--timeout", help="Take no new trial after this many seconds.")]
DataOpt = Annotated[str | None, typer.Option("--data", help="synthetic, cifar10, cifar100 or imagefolder (default: the profile's).")]
DataDirOpt = Annotated[
    str | None,
    typer.Option("--data-dir", help="Folder holding cifar-10-batches-py / cifar-100-python, or train/<class>/ and val/<class>/ for imagefolder."),
]
DownloadOpt = Annotated[bool, typer.Option("--download", help="Download CIFAR into --data-dir if it is missing.")]
PrefilterOpt = Annotated[bool, typer.Option("--prefilter", help="Skip designs whose gradient collapses at initialisation.")]
CheckpointsOpt = Annotated[
    str | None,
    typer.Option(
        "--checkpoints", envvar="UNITSEARCH_CHECKPOINTS",
        help="Where trials keep a checkpoint every epoch, to resume after a crash, an interrupt or a requeue: a folder every worker can reach, s3://BUCKET/PREFIX, or none (default: ./unitsearch-checkpoints).",
    ),
]
KeepCheckpointsOpt = Annotated[bool, typer.Option("--keep-checkpoints", help="Keep the checkpoints of finished trials (default: removed when a trial ends).")]
FormatOpt = Annotated[Format, typer.Option("--format", help="Output format (json for scripts).")]
