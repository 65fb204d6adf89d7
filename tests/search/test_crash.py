"""Surviving crashes: a worker killed mid-trial, and Ctrl-C on ``unitsearch run``.

A killed worker's trial stops sending heartbeats; once it is stale another worker
records it as FAIL and :class:`optuna.storages.RetryHeartbeatStaleTrialCallback` queues
it again (system attribute ``failed_trial``). Ctrl-C records the interrupted trials as
FAIL at once, and the next ``run`` queues their (cell, seed) again. The conftest sets a
1 s heartbeat and a 3 s grace period for the worker processes.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from unitsearch.search import create_study, load_space
from unitsearch.storage import read_trial

from ..conftest import in_objective

# A few seconds per trial on the smoke profile: long enough to catch a worker mid-trial.
SLOW = """
profile = "smoke"
seeds = [{seeds}]

[train]
epochs = 8

[factors]
unit = [{units}]

[pruner]
name = "none"
"""


def _space(units: list[str], seeds: list[int]) -> str:
    return SLOW.format(units=", ".join(f'"{u}"' for u in units), seeds=", ".join(map(str, seeds)))




@pytest.mark.slow
def test_a_killed_workers_trial_is_failed_retried_and_trained_once(storage_url, search_cli, outcome, reap, poll, running_trials):
    space = load_space(search_cli.space(_space(["original", "full_preact", "relu_preact"], [0]), name="slow"))
    create_study(storage_url, "slow", space)
    workers = [search_cli.popen("worker", "--storage", storage_url, "--study", "slow", "--threads", "1", "--quiet") for _ in range(2)]
    reap.extend(workers)

    # Two trials training means each worker holds one: whichever is killed dies mid-trial.
    running = poll(running_trials(storage_url, "slow", 2, workers, where=in_objective), timeout=120, what="both workers training")
    workers[0].send_signal(signal.SIGKILL)
    workers[0].wait(timeout=10)
    output, _ = workers[1].communicate(timeout=120)
    assert workers[1].returncode == 0, output

    done, trials = outcome(storage_url, "slow")
    assert len(done) == 3 and set(done.values()) == {1}, done
    failed = [t for t in trials if t.state.name == "FAIL"]
    assert len(failed) == 1 and failed[0].number in {t.number for t in running}
    killed = failed[0]
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == killed.number]
    assert len(retries) == 1, [t.system_attrs for t in trials]
    assert retries[0].state.name == "COMPLETE" and retries[0].user_attrs["plan_key"] == killed.user_attrs["plan_key"]
    assert not [t for t in trials if t.state.name in ("RUNNING", "WAITING")]


RACE = """
[plan]
kind = "race"
protect = ["full_preact"]
"""


@pytest.mark.slow
@pytest.mark.parametrize("plan", ["grid", "race"])
def test_ctrl_c_stops_run_and_the_next_run_trains_the_rest_once(tmp_path, search_cli, outcome, reap, poll, plan, running_trials):
    url = f"sqlite:///{tmp_path}/study.db"
    space = search_cli.space(_space(["original", "full_preact"], [0, 1]) + (RACE if plan == "race" else ""), name="slow")
    # Its own session, so that the second Ctrl-C below can go to the whole job, as a terminal's does.
    proc = search_cli.popen("run", "--space", space, "--storage", url, "--workers", "2", start_new_session=True)
    reap.append(proc)
    running = poll(running_trials(url, "slow", 2, [proc], where=in_objective), timeout=120, what="both workers training")

    proc.send_signal(signal.SIGINT)  # `kill -INT`: only `run` gets it and forwards it to its workers
    time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)  # an impatient second Ctrl-C reaches every process of the job
    output, _ = proc.communicate(timeout=90)
    assert proc.returncode == 130, output
    assert "interrupted" in output and "Traceback" not in output, output

    done, trials = outcome(url, "slow")
    assert not [t for t in trials if t.state.name == "RUNNING"]  # nothing left for a heartbeat to find
    states = {t.number: t.state.name for t in trials}
    assert all(states[t.number] in ("FAIL", "COMPLETE") for t in running), states
    assert "FAIL" in states.values()
    # Each worker stopped itself at its next step and said so; none had to be killed (a killed one stays "running").
    stopped = [read_trial(t) for t in trials if t.state.name == "FAIL"]
    assert all(r.stored_status == "failed" and r.reason.startswith("interrupted") for r in stopped), stopped

    # One thread: two on a busy two-core machine can spin each other to a crawl in tiny steps.
    again = search_cli.run("run", "--space", space, "--storage", url, "--threads", "1", timeout=180)
    assert again.returncode == 0, again.stdout + again.stderr
    done, trials = outcome(url, "slow")
    assert len(done) == 4 and set(done.values()) == {1}, done
    assert not [t for t in trials if t.state.name in ("RUNNING", "WAITING")]


def test_a_ctrl_c_during_a_write_to_the_study_stops_the_trial_at_its_next_step(tmp_path, monkeypatch):
    """The interrupt is noted, not raised, inside Optuna's bookkeeping: the write finishes, the
    next training step ends the trial, and Optuna records it as FAIL. Raised inside the write,
    it cut the write short (here epoch 1's value would be lost), and it could leave the write
    lock held, so that recording the trial as failed ended in "database is locked"."""
    import sqlalchemy
    import torch

    from unitsearch.search.objective import TrialContext
    from unitsearch.search.runner import work
    from unitsearch.storage import engine, open_checkpoints

    monkeypatch.setattr(engine, "SQLITE_BUSY_TIMEOUT", 2)  # a lock left held fails in seconds, not minutes
    path = tmp_path / "slow.toml"
    path.write_text(_space(["original"], [0]))
    space = load_space(str(path))
    study, _ = create_study(f"sqlite:///{tmp_path}/study.db", "slow", space)
    sent = []

    def interrupt_mid_write(conn, cursor, statement, *args):
        if not sent and statement.startswith("INSERT INTO trial_intermediate_values"):
            sent.append(statement)
            signal.raise_signal(signal.SIGINT)  # its handler runs right here, inside the transaction

    sqlalchemy.event.listen(sqlalchemy.engine.Engine, "after_cursor_execute", interrupt_mid_write)
    try:
        with pytest.raises(KeyboardInterrupt):
            work(study, TrialContext(space, torch.device("cpu"), checkpoints=open_checkpoints(str(tmp_path / "checkpoints"))))
    finally:
        sqlalchemy.event.remove(sqlalchemy.engine.Engine, "after_cursor_execute", interrupt_mid_write)
    assert sent
    trials = study.get_trials(deepcopy=False)
    (trial,) = [t for t in trials if t.state.name == "FAIL"]
    assert list(trial.intermediate_values) == [1]  # epoch 1 was recorded whole; epoch 2 never finished
    # Queued again at once, it carries the checkpoint of epoch 1 (the interrupt came before epoch 2's).
    (retry,) = [t for t in trials if t.state.name == "WAITING"]
    assert retry.system_attrs["failed_trial"] == trial.number and retry.user_attrs["checkpoint"]["epoch"] == 1
