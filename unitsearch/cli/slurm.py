"""``unitsearch slurm``: a study's workers as one Slurm job array; ``--status`` shows them beside the study."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import optuna
import typer

from ..errors import UserError
from ..render import Format
from ..search import WorkerOptions
from ..search.plan import plan_status
from ..search.runner import join_study
from ..search.slurm import ArraySpec, array_tasks, batch_script, check_budget, make_executor, parse_minutes, submit_array
from ..search.validate import check_run_numbers
from ..storage import check_url, read_study, record_array, redact
from .options import CheckpointsOpt, DataDirOpt, FormatOpt, KeepCheckpointsOpt, StorageOpt, ThreadsOpt
from .output import emit

DEFAULT_LOGS = "unitsearch-slurm"


def _sbatch_options(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, eq, value = item.partition("=")
        key = key.strip().lstrip("-")
        if not eq or not key:
            raise UserError(f"bad --sbatch {item!r}; expected KEY=VALUE, e.g. --sbatch constraint=a100")
        out[key] = value
    return out


def slurm(
    study: Annotated[str, typer.Option("--study", help="The study to train (create it without training: `unitsearch run --storage URL --n-trials 0`).")],
    storage: StorageOpt = "",
    array: Annotated[int, typer.Option("--array", min=1, max=10000, help="Array tasks: one worker each.")] = 1,
    parallel: Annotated[int | None, typer.Option("--parallel", min=1, help="At most this many tasks at once (the array's % cap; default: all).")] = None,
    gpus_per_task: Annotated[int, typer.Option("--gpus-per-task", min=0, help="GPUs per task (0: a CPU worker).")] = 1,
    cpus_per_task: Annotated[int | None, typer.Option("--cpus-per-task", min=1, help="CPU cores per task.")] = None,
    mem: Annotated[str | None, typer.Option("--mem", help="Memory per task, as sbatch reads it (16G).")] = None,
    time: Annotated[str, typer.Option("--time", help="Time limit per task: MINUTES, H:MM:SS or D-HH:MM:SS. A task that reaches it is requeued and its trial resumes.")] = "24:00:00",
    partition: Annotated[str | None, typer.Option("--partition", help="Slurm partition.")] = None,
    account: Annotated[str | None, typer.Option("--account", help="Slurm account.")] = None,
    qos: Annotated[str | None, typer.Option("--qos", help="Slurm quality of service.")] = None,
    sbatch: Annotated[list[str] | None, typer.Option("--sbatch", help="Another sbatch option as KEY=VALUE (repeat): --sbatch constraint=a100.")] = None,
    logs: Annotated[str, typer.Option("--logs", help="Folder for the tasks' logs and submitit's files (on a shared filesystem).")] = DEFAULT_LOGS,
    checkpoints: CheckpointsOpt = None,
    keep_checkpoints: KeepCheckpointsOpt = False,
    threads: ThreadsOpt = None,
    data_dir: DataDirOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the batch script and submit nothing.")] = False,
    status: Annotated[bool, typer.Option("--status", help="Show the study's progress and its arrays' tasks; submit nothing.")] = False,
    fmt: FormatOpt = Format.TABLE,
) -> None:
    """Submit workers of an existing study as one Slurm job array (through submitit).

    Each task runs a worker on its GPU with its array index as worker index. The study must
    be on a database every node reaches (PostgreSQL); trials checkpoint every epoch, so a
    preempted, timed-out or requeued task's trial goes on where it stopped.
    """
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if not storage:
        raise UserError("give the study's database with --storage postgresql://... (or $UNITSEARCH_STORAGE)")
    if check_url(storage).get_backend_name() == "sqlite":
        raise UserError(
            f"{redact(storage)!r} is a SQLite file, which the machines of a cluster cannot share: "
            "create the study on PostgreSQL (`unitsearch run --storage postgresql://... --n-trials 0`) and submit that"
        )
    st, space = join_study(storage, study, worker=None)
    if status:
        _status(st, space, fmt)
        return
    check_run_numbers(threads=threads)
    spec = ArraySpec(
        array=array, parallel=parallel, gpus_per_task=gpus_per_task or None, cpus_per_task=cpus_per_task, mem=mem,
        minutes=parse_minutes(time), partition=partition, account=account, qos=qos, extra=_sbatch_options(sbatch or []),
    )
    folder = Path(logs).expanduser().absolute()
    options = WorkerOptions(threads=threads, data_dir=data_dir, checkpoints=checkpoints, keep_checkpoints=keep_checkpoints)
    options = WorkerOptions(**{**options.__dict__, "checkpoints": _shared(options)})
    ex = make_executor(folder, study, spec)
    if dry_run:
        typer.echo(batch_script(ex, spec).rstrip("\n"))
        typer.echo(f"# dry run: nothing submitted; each task joins study {study!r} on {redact(storage)!r}, checkpoints in {options.checkpoints}")
        return
    check_budget(storage, spec)
    jobs = submit_array(storage, study, spec, folder=folder, options=options, device="auto" if gpus_per_task else "cpu")
    array_id = jobs[0].job_id.split("_")[0]
    record_array(st, array_id)
    typer.echo(
        f"submitted array {array_id}: {array} worker{'s' if array > 1 else ''} ({spec.concurrent} at a time) on study {study!r}; "
        f"logs in {folder}; watch with `unitsearch slurm --status --study {study}`"
    )


def _shared(options: WorkerOptions) -> str:
    """The checkpoint location every task uses: the one given, resolved here (a folder every node mounts)."""
    from ..storage import open_checkpoints

    store = open_checkpoints(options.checkpoints)
    return store.location if store else "none"


def _status(st: optuna.Study, space, fmt: Format) -> None:
    s = plan_status(st, space)
    arrays = read_study(st).slurm_arrays
    rows = [{"array": a, "task": task, "state": state, "where": where} for a in arrays for task, state, where in array_tasks(a)]
    typer.echo(f"study {st.study_name!r}: {s.done} of {s.expected or s.total} trials done, {s.running} running, {s.waiting} waiting, {s.failed} failed")
    if not arrays:
        typer.echo("no array submitted for this study yet (`unitsearch slurm --study NAME --array N`)")
    elif not rows:
        typer.echo(f"arrays {', '.join(arrays)}: no task left in the queue")
    else:
        emit(rows, fmt, "Slurm tasks")
