"""`unitsearch slurm` against a real single-node Slurm and a throw-away PostgreSQL.

The array's tasks are `unitsearch worker`s started by Slurm through submitit. Each test
submits a smoke study and waits for the array to leave the queue; a requeue (`scontrol
requeue`: SIGTERM, then Slurm starts the task again) and a preemption warning (USR2, after
which submitit's ``checkpoint()`` requeues the task) must each leave the interrupted trial to
go on from its checkpoint, and every (design, seed) must be finished exactly once.
"""

from __future__ import annotations

import re
import signal

import pytest

from unitsearch.search import create_study, load_space
from unitsearch.storage import read_trial

from ..conftest import pg

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

GRID = """
profile = "smoke"
seeds = [0, 1]

[train]
epochs = 3

[factors]
unit = ["original", "full_preact"]

[pruner]
name = "none"
"""

LONG = """
profile = "smoke"
seeds = [0]

[train]
epochs = 40

[factors]
unit = ["full_preact"]

[pruner]
name = "none"
"""


def _submit(search_cli, slurm, url: str, study: str, *args: str) -> str:
    res = search_cli.run(
        "slurm", "--study", study, "--storage", url, "--gpus-per-task", "0", "--cpus-per-task", "1", "--time", "60",
        "--logs", str(search_cli.cwd / "logs"), "--checkpoints", str(search_cli.cwd / "checkpoints"), *args, env=slurm.env,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    m = re.search(r"submitted array (\d+)", res.stdout)
    assert m, res.stdout
    return m.group(1)


def _logs(search_cli) -> str:
    return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted((search_cli.cwd / "logs").glob("*.out")))


def test_an_array_of_three_trains_every_design_and_seed_once(search_cli, slurm, outcome):
    # A server with few connections: an array that would not fit is refused; one that fits runs.
    if pg.find_bindir() is None:
        pytest.skip(pg.MISSING_REASON)
    with pg.PostgresServer(max_connections=12) as server:
        url = server.create_database("grid")
        create_study(url, "grid", load_space(search_cli.space(GRID, name="grid")))
        refused = search_cli.run("slurm", "--study", "grid", "--storage", url, "--array", "8", "--gpus-per-task", "0", env=slurm.env)
        assert refused.returncode == 2 and "workers fit" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1, refused.stderr

        job = _submit(search_cli, slurm, url, "grid", "--array", "3", "--parallel", "2")
        status = search_cli.run("slurm", "--study", "grid", "--storage", url, "--status", env=slurm.env)
        assert status.returncode == 0 and "trials done" in status.stdout and job in status.stdout, status.stdout + status.stderr
        slurm.wait_gone(job, timeout=240)
        done, trials = outcome(url, "grid")
        assert len(done) == 4 and set(done.values()) == {1}, (done, _logs(search_cli))
        workers = {read_trial(t).worker for t in trials if t.state.name == "COMPLETE"}
        assert workers <= {"worker 0", "worker 1", "worker 2"} and workers, workers  # each task's array index


@pytest.mark.parametrize("how", ["requeue", "preempt"])
def test_a_requeued_or_preempted_task_resumes_its_trial(how, postgres_url, search_cli, slurm, outcome, checkpointed, poll):
    create_study(postgres_url, "long", load_space(search_cli.space(LONG, name="long")))
    job = _submit(search_cli, slurm, postgres_url, "long", "--array", "1")
    (running,) = poll(checkpointed(postgres_url, "long", 2), timeout=180, what="a checkpoint of epoch 2")
    if how == "requeue":
        slurm.requeue(job)  # SIGTERM to the task, then Slurm starts it again
    else:
        slurm.scancel(job, f"--signal={signal.SIGUSR2.name[3:]}")  # the warning Slurm sends before preempting
        slurm.release(job, timeout=60)  # submitit requeued it; Slurm holds a requeued job ~2 min otherwise
    slurm.wait_gone(job, timeout=300)

    done, trials = outcome(postgres_url, "long")
    assert set(done.values()) == {1} and len(done) == 1, (done, _logs(search_cli))
    (stopped,) = [t for t in trials if t.number == running.number]
    assert stopped.state.name == "FAIL" and "interrupted" in read_trial(stopped).reason
    (resumed,) = [t for t in trials if t.state.name == "COMPLETE"]
    assert (read_trial(resumed).resumed_from or 0) >= 2, (read_trial(resumed), _logs(search_cli))
    assert sorted(resumed.intermediate_values) == list(range(1, 41))
