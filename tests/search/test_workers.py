"""Many workers, one database: every (cell, seed) of the plan trained exactly once.

The workers are real processes started by ``unitsearch run --workers N``; Optuna's
RDB storage is all that coordinates them.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest
import torch
from typer.testing import CliRunner

from unitsearch.cli import app
from unitsearch.errors import UserError
from unitsearch.search.launch import WorkerOptions, check_workers, worker_commands

# 5 units x 2 seeds on the smoke profile: about a second per trial.
FIVE_BY_TWO = """
description = "five units, two seeds"
profile = "smoke"
seeds = [0, 1]

[factors]
unit = ["original", "bn_after_add", "relu_before_add", "relu_preact", "full_preact"]

[pruner]
name = "none"
"""


def _children_cmdlines(parent: int) -> list[str]:
    """Command lines of ``parent``'s child processes, as any user on the machine can read them."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == parent:
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
    return found


@pytest.mark.slow
def test_three_workers_train_every_cell_seed_exactly_once(storage_url, search_cli, outcome, reap, poll):
    space = search_cli.space(FIVE_BY_TWO, name="five")
    proc = search_cli.popen("run", "--space", space, "--storage", storage_url, "--workers", "3")
    reap.append(proc)
    if sys.platform.startswith("linux"):
        # The URL (with its password) reaches the workers through the environment, not `ps`.
        def three_workers():
            found = [c for c in _children_cmdlines(proc.pid) if " worker " in c]
            return found if len(found) == 3 else proc.poll() is not None

        workers = poll(three_workers, timeout=60, what="three workers")
        if isinstance(workers, list):
            assert not any(storage_url in w or "pg-test-secret" in w for w in workers), workers
    output, _ = proc.communicate(timeout=240)
    assert proc.returncode == 0, output
    assert "locked" not in output

    done, trials = outcome(storage_url, "five")
    assert len(done) == 10 and set(done.values()) == {1}, done  # none missing, none twice
    assert not [t for t in trials if t.state.name in ("RUNNING", "WAITING")]
    # The only failures allowed are a worker that lost the race for the last waiting trial.
    failed = [t for t in trials if t.state.name == "FAIL"]
    assert all(t.user_attrs.get("status") in ("unused", "duplicate") for t in failed), [t.user_attrs for t in failed]
    assert not any("locked" in str(t.user_attrs.get("reason", "")) for t in trials)
    assert "Leaderboard" in output


def test_local_workers_split_the_cores_and_take_the_devices_in_turn():
    cmds = worker_commands("s", workers=2, devices=["cpu"], cores=2)
    assert len(cmds) == 2
    for cmd in cmds:
        assert cmd[:4] == [sys.executable, "-m", "unitsearch", "worker"]
        assert cmd[cmd.index("--threads") + 1] == "1"  # 2 cores, 2 workers
        assert cmd[cmd.index("--device") + 1] == "cpu"
        assert cmd[cmd.index("--study") + 1] == "s" and "--quiet" in cmd
        assert "--storage" not in cmd  # the URL travels in $UNITSEARCH_STORAGE
    assert [c[c.index("--worker-index") + 1] for c in cmds] == ["0", "1"]  # each its own sampler seed

    gpus = worker_commands("s", workers=4, devices=["cuda:0", "cuda:1"], cores=16, options=WorkerOptions(n_trials=3, data="cifar10", download=True))
    assert [c[c.index("--device") + 1] for c in gpus] == ["cuda:0", "cuda:1", "cuda:0", "cuda:1"]
    assert all(c[c.index("--threads") + 1] == "4" for c in gpus)
    assert all(c[c.index("--n-trials") + 1] == "3" and c[c.index("--data") + 1] == "cifar10" and "--download" in c for c in gpus)

    threads = lambda cmd: cmd[cmd.index("--threads") + 1]  # noqa: E731
    assert threads(worker_commands("s", workers=3, devices=["cpu"], cores=2)[0]) == "1"  # never zero
    assert threads(worker_commands("s", workers=2, devices=["cpu"], cores=8, options=WorkerOptions(threads=3))[1]) == "3"  # --threads wins


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("extra", [[], ["--workers", "2"]])
def test_gpus_asked_for_on_a_cpu_machine_are_one_line_and_exit_2(tmp_path, monkeypatch, extra):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "five.toml").write_text(FIVE_BY_TWO)
    result = CliRunner().invoke(app, ["run", "--space", str(tmp_path / "five.toml"), "--devices", "cuda:0,cuda:1", *extra])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert lines == ["error: device 'cuda:0' asked for, but no CUDA GPU is visible; allowed here: auto, cpu"]
    assert not (tmp_path / "studies.db").exists()


def test_a_dead_worker_is_a_warning_when_the_plan_finished_and_an_error_when_it_did_not():
    procs = [SimpleNamespace(pid=10, returncode=0), SimpleNamespace(pid=11, returncode=-9), SimpleNamespace(pid=12, returncode=3)]
    assert check_workers(procs, done=4, total=4) == [
        "warning: worker 1 (pid 11) was killed by SIGKILL; the other workers finished its trials",
        "warning: worker 2 (pid 12) exited with status 3; the other workers finished its trials",
    ]
    with pytest.raises(UserError) as e:
        check_workers(procs, done=3, total=4)
    assert str(e.value).startswith("worker 1 (pid 11) was killed by SIGKILL; worker 2 (pid 12) exited with status 3 (2 of 3 workers); 3 of 4 trials done")
    assert check_workers(procs[:1], done=0, total=4) == []  # a clean exit says nothing, even with trials left


def test_the_storage_url_can_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("UNITSEARCH_STORAGE", f"postgresql://u:s3cretpw@127.0.0.1:{_closed_port()}/db")
    result = CliRunner().invoke(app, ["worker", "--study", "five"])
    assert result.exit_code == 2
    assert "cannot open storage 'postgresql://u:***@127.0.0.1" in result.output and "s3cretpw" not in result.output
    assert not (tmp_path / "studies.db").exists()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_with_zero_trials_only_creates_the_study_for_workers_elsewhere(tmp_path, monkeypatch, outcome):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "five.toml").write_text(FIVE_BY_TWO)
    url = f"sqlite:///{tmp_path}/s.db"
    result = CliRunner().invoke(app, ["run", "--space", str(tmp_path / "five.toml"), "--storage", url, "--n-trials", "0"])
    assert result.exit_code == 0, result.output
    assert "10 trials planned, 10 queued now" in " ".join(result.output.split())
    done, trials = outcome(url, "five")
    assert not done and len(trials) == 10 and {t.state.name for t in trials} == {"WAITING"}


def _first_proposals(worker: int | None, n: int = 8) -> list[dict]:
    from unitsearch.search import load_space, make_sampler

    space = load_space("grammar")
    study = optuna.create_study(sampler=make_sampler(space, worker=worker))
    proposals = []
    for _ in range(n):
        trial = study.ask()
        proposals.append({k: trial.suggest_categorical(k, v) for k, v in space.choices.items()})
        study.tell(trial, 50.0)
    return proposals


def test_workers_of_one_sampled_study_do_not_propose_the_same_designs():
    # With one seed in every worker, two local TPE workers would draw identical start-up trials.
    assert _first_proposals(0) == _first_proposals(0)  # worker 0 keeps the space's seed: reproducible
    assert _first_proposals(0) != _first_proposals(1)
    assert _first_proposals(1) != _first_proposals(2)
    assert _first_proposals(None) != _first_proposals(None)  # a worker started alone is unseeded
