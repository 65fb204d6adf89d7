"""Workers of an existing study as one Slurm job array, submitted through submitit.

Each array task is one ``unitsearch worker``: it joins the study on the task's GPU (Slurm
sets ``CUDA_VISIBLE_DEVICES``), with its array index as its worker index, and takes trials
until the plan is done. The storage URL travels in the job's environment
(``$UNITSEARCH_STORAGE``), never in a file or on a command line.

Preemption and requeue:

- Slurm's warning signal (``--signal=USR2@SECONDS``, which submitit asks for) and SIGTERM stop
  the running trial at its next step: it is recorded as interrupted and queued again at once,
  its last epoch's checkpoint attached (:func:`unitsearch.search.runner.requeue_interrupted`).
- After the warning, submitit's ``checkpoint()`` requeues the task; after a bare SIGTERM
  (``scontrol requeue``, a preemption without warning) Slurm requeues it itself. Either way the
  task that comes back, or any other worker, goes on from the checkpoint.
- A task killed outright leaves its trial to the heartbeat, whose retry resumes it too.

:func:`connection_budget` keeps an array within the PostgreSQL server's free connections:
each worker holds at most :data:`~unitsearch.storage.engine.CONNECTIONS_PER_WORKER`.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy
import submitit

from ..errors import UserError
from ..storage import check_url, redact
from ..storage.urls import scrub
from ..storage.engine import CONNECTIONS_PER_WORKER

__all__ = ["ArraySpec", "SlurmWorker", "connection_budget", "parse_minutes", "make_executor", "batch_script", "submit_array", "array_tasks"]

SIGNAL_DELAY_S = 120  # Slurm's warning before a time limit: long enough for one epoch's checkpoint to land


@dataclass(frozen=True)
class ArraySpec:
    """What the array asks Slurm for, each task: ``array`` tasks, at most ``parallel`` at once."""

    array: int
    parallel: int | None = None
    gpus_per_task: int | None = 1
    cpus_per_task: int | None = None
    mem: str | None = None
    minutes: int = 24 * 60
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    extra: dict[str, str] = field(default_factory=dict)  # other sbatch options, as --KEY=VALUE

    @property
    def concurrent(self) -> int:
        return min(self.array, self.parallel or self.array)


def parse_minutes(text: str) -> int:
    """A Slurm time limit (``MINUTES``, ``H:MM:SS``, ``D-HH[:MM[:SS]]``) in whole minutes, at least one."""
    m = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", text.strip())
    if not m:
        raise UserError(f"bad --time {text!r}; expected MINUTES, H:MM:SS or D-HH:MM:SS")
    days, a, b, c = (int(g) if g else 0 for g in m.groups())
    if m.group(1) is None and m.group(3) is None:
        minutes = a  # plain minutes
    elif m.group(1) is None:
        minutes = a * 60 + b + (c > 0) if m.group(4) is not None else a + (b > 0)  # H:MM:SS, or MM:SS
    else:
        minutes = days * 1440 + a * 60 + b + (c > 0)
    if minutes < 1:
        raise UserError(f"bad --time {text!r}: a task needs at least one minute")
    return minutes


def connection_budget(url: str) -> tuple[int, int] | None:
    """The PostgreSQL server's (free connections, max_connections); None for another database.

    Free is ``max_connections`` less the superuser reserve and the client connections open now.
    """
    parsed = check_url(url)
    if parsed.get_backend_name() != "postgresql":
        return None
    engine = sqlalchemy.create_engine(parsed, poolclass=sqlalchemy.pool.NullPool, connect_args={"connect_timeout": 10})
    try:
        with engine.connect() as conn:
            row = conn.exec_driver_sql(
                "SELECT current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int, "
                "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')"
            ).one()
    except Exception as e:  # noqa: BLE001  (one line: the server says why)
        cause = getattr(e, "orig", None) or e
        raise UserError(f"cannot read max_connections from {redact(url)!r}: {scrub(str(cause).strip().splitlines()[0], parsed)}") from None
    finally:
        engine.dispose()
    most, reserved, used = (int(x) for x in row)
    return max(0, most - reserved - used + 1), most  # +1: this check's own connection closes


def check_budget(url: str, spec: ArraySpec) -> None:
    """Refuse an array whose workers would take more connections than the server has free."""
    budget = connection_budget(url)
    if budget is None:
        return
    free, most = budget
    need = spec.concurrent * CONNECTIONS_PER_WORKER
    if need > free:
        fits = free // CONNECTIONS_PER_WORKER
        raise UserError(
            f"{spec.concurrent} workers at once need up to {need} connections; {redact(url)!r} has {free} free of "
            f"max_connections={most}: at most {fits} workers fit (use --parallel {fits}, or raise max_connections)"
        )


class SlurmWorker(submitit.helpers.Checkpointable):
    """One array task: ``unitsearch worker`` on the study, its array index as worker index.

    Pickled by submitit; holds the study name and the worker options, not the storage URL.
    """

    def __init__(self, study: str, options: Any, device: str = "auto") -> None:
        self.study, self.options, self.device = study, options, device

    def __call__(self) -> int:
        from .launch import join_as_worker
        from .runner import work

        url = os.environ.get("UNITSEARCH_STORAGE")
        if not url:
            raise UserError("UNITSEARCH_STORAGE is not set in the job's environment: submit with `unitsearch slurm`")
        index = int(os.environ.get("SLURM_ARRAY_TASK_ID") or 0)
        warned = []

        def stop(signum: int, frame: Any) -> None:  # a flag only: the trial stops at its next step
            if signum != signal.SIGTERM:
                warned.append(signum)
            handler = signal.getsignal(signal.SIGINT)
            if callable(handler):
                handler(signal.SIGINT, frame)

        usr = getattr(signal, "SIG" + submitit.slurm.slurm.SlurmJobEnvironment.USR_SIG)  # the warning submitit asks Slurm for
        submitit_handler = signal.getsignal(usr)
        signal.signal(usr, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            st, ctx = join_as_worker(url, self.study, worker_index=index, device=self.device, options=self.options)
            return work(st, ctx, n_trials=self.options.n_trials, timeout=self.options.timeout)
        except KeyboardInterrupt:
            if warned and callable(submitit_handler):
                submitit_handler(usr, None)  # submitit: checkpoint() and requeue this task, then exit
            return 0


def make_executor(folder: str | Path, study: str, spec: ArraySpec) -> submitit.SlurmExecutor:
    """submitit's Slurm executor for ``spec``: logs and pickles in ``folder`` (a shared one)."""
    ex = submitit.SlurmExecutor(folder=folder, max_num_timeout=1000)  # time limits end a task, not the study
    params: dict[str, Any] = {
        "job_name": f"unitsearch-{study}", "time": spec.minutes, "array_parallelism": spec.parallel or spec.array,
        "signal_delay_s": SIGNAL_DELAY_S, "stderr_to_stdout": True,
    }
    for key in ("gpus_per_task", "cpus_per_task", "mem", "partition", "account", "qos"):
        if getattr(spec, key) is not None:
            params[key] = getattr(spec, key)
    extra = {k.replace("-", "_"): v for k, v in spec.extra.items()}
    clash = sorted(set(extra) & {*params, "array", "signal", "output", "error", "requeue"})
    if clash:
        raise UserError(f"--sbatch {clash[0]}=... is set by `unitsearch slurm` itself; use its own option")
    if extra:
        params["additional_parameters"] = extra
    try:
        ex.update_parameters(**params)
    except ValueError as e:
        raise UserError(f"bad Slurm option: {str(e).splitlines()[0]}") from None
    return ex


def batch_script(ex: submitit.SlurmExecutor, spec: ArraySpec) -> str:
    """The sbatch script ``submit_array`` would submit (``--dry-run``)."""
    dry = submitit.SlurmExecutor(folder=ex.folder, max_num_timeout=ex.max_num_timeout)
    dry.update_parameters(**ex.parameters)
    dry.parameters["map_count"] = spec.array  # as submitit's array submission sets it
    return dry._make_submission_file_text(dry._submitit_command_str, "dry-run")


def submit_array(url: str, study: str, spec: ArraySpec, *, folder: str | Path, options: Any, device: str = "auto") -> list[submitit.Job]:
    """Submit ``spec.array`` workers of ``study`` as one array; the URL goes in the job's environment."""
    ex = make_executor(folder, study, spec)
    previous = os.environ.get("UNITSEARCH_STORAGE")
    os.environ["UNITSEARCH_STORAGE"] = url  # sbatch exports the submitter's environment to the job
    try:
        with ex.batch():
            jobs = [ex.submit(SlurmWorker(study, options, device)) for _ in range(spec.array)]
    except FileNotFoundError:
        raise UserError("sbatch not found: run `unitsearch slurm` on a Slurm login node (or use --dry-run)") from None
    except subprocess.CalledProcessError as e:
        out = (e.output or b"").decode(errors="replace").strip() if isinstance(e.output, bytes) else str(e.output or "").strip()
        raise UserError(f"sbatch refused the array: {(out.splitlines() or [str(e)])[-1]}") from None
    finally:
        if previous is None:
            os.environ.pop("UNITSEARCH_STORAGE", None)
        else:
            os.environ["UNITSEARCH_STORAGE"] = previous
    return jobs


def array_tasks(job_id: str) -> list[tuple[str, str, str]]:
    """The array's tasks as Slurm lists them: (task id, state, reason or node); empty once they are gone."""
    try:
        proc = subprocess.run(["squeue", "-h", "-r", "-j", job_id, "-o", "%i|%T|%R"], capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        raise UserError("squeue not found: run `unitsearch slurm --status` on a Slurm login node") from None
    if proc.returncode != 0:
        return []
    return [tuple(line.split("|", 2)) for line in proc.stdout.splitlines() if line.count("|") == 2]  # type: ignore[misc]
