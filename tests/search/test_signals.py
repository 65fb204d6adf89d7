"""SIGTERM, as ``timeout``, Slurm and systemd send it, and a worker that dies while the plan finishes."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from ..conftest import in_objective

# A few seconds per trial on the smoke profile: long enough to signal a run mid-trial.
SLOW = """
profile = "smoke"
seeds = [0, 1]

[train]
epochs = 8

[factors]
unit = ["original", "full_preact"]

[pruner]
name = "none"
"""


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"




@pytest.mark.slow
def test_sigterm_stops_run_and_leaves_no_worker_process(tmp_path, search_cli, outcome, reap, poll, running_trials):
    url = f"sqlite:///{tmp_path}/study.db"
    space = search_cli.space(SLOW, name="slow")
    proc = search_cli.popen("run", "--space", space, "--storage", url, "--workers", "2", "--threads", "1")
    reap.append(proc)
    running = poll(running_trials(url, "slow", 2, [proc], where=in_objective), timeout=180, what="both workers training")
    workers = _children(proc.pid)
    assert len(workers) == 2, workers

    proc.send_signal(signal.SIGTERM)  # to `run` alone, as a scheduler does
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, output
    assert "interrupted" in output and "Traceback" not in output, output
    assert not [pid for pid in workers if _alive(pid)], "a worker outlived run"

    _, trials = outcome(url, "slow")
    assert not [t for t in trials if t.state.name == "RUNNING"]
    stopped = [t for t in trials if t.number in {r.number for r in running}]
    assert all(t.state.name in ("FAIL", "COMPLETE") for t in stopped)
    for t in stopped:
        if t.state.name == "FAIL":
            assert t.user_attrs["status"] == "failed" and "interrupted" in t.user_attrs["reason"]


@pytest.mark.slow
def test_a_dead_worker_is_named_and_the_finished_plan_still_reports(tmp_path, search_cli, outcome, reap, poll, running_trials):
    url = f"sqlite:///{tmp_path}/study.db"
    space = search_cli.space(SLOW, name="slow")
    proc = search_cli.popen("run", "--space", space, "--storage", url, "--workers", "2", "--threads", "1")
    reap.append(proc)
    poll(running_trials(url, "slow", 2, [proc], where=in_objective), timeout=180, what="both workers training")
    victim = sorted(_children(proc.pid))[0]
    os.kill(victim, signal.SIGKILL)

    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, output
    assert f"(pid {victim}) was killed by SIGKILL" in output, output
    assert "Leaderboard" in output
    done, _ = outcome(url, "slow")
    assert len(done) == 4 and set(done.values()) == {1}
