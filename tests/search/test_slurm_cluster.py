"""The single-node Slurm the suite starts (tests/slurm.py): an array runs every task, and a requeue restarts at once."""

from __future__ import annotations

import time

import pytest

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


def _until(slurm, job: str, predicate, *, timeout: float, what: str) -> None:
    """Poll ``predicate``; on timeout fail with the job's states and the daemons' logs as they are then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout} s waiting for {what}; job {job}: {slurm.squeue(job)}\n{slurm.log()}")


def test_an_array_of_three_runs_each_task_once(slurm, tmp_path):
    job = slurm.sbatch(
        ["--array=0-2", f"--output={tmp_path}/%A_%a.out", "--wrap", f"echo $SLURM_ARRAY_TASK_ID > {tmp_path}/task-$SLURM_ARRAY_TASK_ID"],
        cwd=tmp_path,
    )
    files = [tmp_path / f"task-{i}" for i in range(3)]
    _until(slurm, job, lambda: all(f.exists() for f in files), timeout=30, what="a file from each of the three tasks")
    assert [f.read_text().strip() for f in files] == ["0", "1", "2"]
    assert sorted(slurm.wait_gone(job, timeout=30)) == [(str(i), "COMPLETED") for i in range(3)]


def test_a_requeued_job_starts_again_within_seconds(slurm, tmp_path):
    starts = tmp_path / "starts"
    job = slurm.sbatch(
        ["--requeue", f"--output={tmp_path}/%j.out", "--wrap", f'echo "start ${{SLURM_RESTART_COUNT:-0}}" >> {starts}; sleep 120'],
        cwd=tmp_path,
    )
    try:
        _until(slurm, job, lambda: starts.exists() and starts.read_text() == "start 0\n", timeout=30, what="the job to start")
        slurm.requeue(job)  # without StartTime=now Slurm would hold it about two minutes
        _until(slurm, job, lambda: starts.read_text() == "start 0\nstart 1\n", timeout=20, what=f"the restart (starts: {starts.read_text()!r})")
        assert slurm.squeue(job) == [(None, "RUNNING")]
    finally:
        slurm.scancel(job)
    assert slurm.wait_gone(job, timeout=20) == [(None, "CANCELLED")]
