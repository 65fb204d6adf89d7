"""A trial stopped mid-training goes on from its last checkpoint and ends as if it had never stopped.

SIGTERM (a scheduler's stop, or Slurm's preemption) records the trial as failed and queues
it again at once; SIGKILL leaves it to the heartbeat, whose retry carries the same checkpoint.
Either way the next worker resumes it, and its curve, errors and final weights equal those of
the same (design, seed) trained straight through in another study. The conftest sets a 1 s
heartbeat and a 3 s grace period for the worker processes.
"""

from __future__ import annotations

import signal

import pytest

from unitsearch.search import create_study, load_space
from unitsearch.storage import read_trial

SPACE = """
profile = "smoke"
seeds = [0]

[train]
epochs = 10

[factors]
unit = ["full_preact"]

[pruner]
name = "none"
"""

_TIMING = ("seconds", "images_per_s")


def _curve(t) -> list[dict]:
    return [{k: v for k, v in c.items() if k not in _TIMING} for c in read_trial(t).curve]


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_stopped_trial_resumes_and_ends_as_the_straight_run(how, storage_url, search_cli, outcome, checkpointed, reap, poll):
    space = load_space(search_cli.space(SPACE, name="resume"))
    create_study(storage_url, "stopped", space)
    create_study(storage_url, "straight", space)
    worker = lambda study: search_cli.popen("worker", "--storage", storage_url, "--study", study, "--quiet")  # noqa: E731

    first = worker("stopped")
    reap.append(first)
    (running,) = poll(checkpointed(storage_url, "stopped", 3, procs=[first]), timeout=120, what="a checkpoint of epoch 3")
    first.send_signal(how)
    first.communicate(timeout=60)

    second = worker("stopped")
    straight = worker("straight")
    reap.extend([second, straight])
    for p in (second, straight):
        out, _ = p.communicate(timeout=240)
        assert p.returncode == 0, out

    _, trials = outcome(storage_url, "stopped")
    (stopped,) = [t for t in trials if t.number == running.number]
    assert stopped.state.name == "FAIL"
    (resumed,) = [t for t in trials if t.state.name == "COMPLETE"]
    assert resumed.system_attrs["failed_trial"] == stopped.number
    r = read_trial(resumed)
    assert r.resumed_from is not None and r.resumed_from >= 3, r
    assert sorted(resumed.intermediate_values) == list(range(1, 11))

    _, others = outcome(storage_url, "straight")
    (reference,) = others
    ref = read_trial(reference)
    assert ref.resumed_from is None
    assert _curve(resumed) == _curve(reference)
    assert (resumed.value, r.test_error, r.final_train_loss) == (reference.value, ref.test_error, ref.final_train_loss)
    assert r.checkpoint is None and not any((search_cli.cwd / "checkpoints").glob("ckpt-*"))  # removed once it ended


def test_a_retry_whose_checkpoint_is_gone_starts_over(tmp_path):
    import torch

    from unitsearch.search.objective import TrialContext
    from unitsearch.search.runner import work
    from unitsearch.storage import open_checkpoints

    path = tmp_path / "s.toml"
    path.write_text(SPACE.replace("epochs = 10", "epochs = 2"))
    space = load_space(str(path))
    study, _ = create_study(f"sqlite:///{tmp_path}/study.db", "resume", space)
    (waiting,) = study.get_trials(deepcopy=False)
    study._storage.set_trial_user_attr(waiting._trial_id, "checkpoint", {"id": "ckpt-gone", "epoch": 1})  # as a retry would carry it
    work(study, TrialContext(space, torch.device("cpu"), checkpoints=open_checkpoints(str(tmp_path / "ck"))))
    done = [read_trial(t) for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    assert len(done) == 1 and done[0].resumed_from == 0 and len(done[0].curve) == 2
