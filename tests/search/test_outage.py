"""A study database that goes away: workers wait it out, lose nothing and tell nothing twice.

A real PostgreSQL is stopped (connections cut, as a restart or failover does) for 25 s while
`unitsearch run --workers 2` trains; it comes back on the same port. The run must end by
itself with every (design, seed) finished exactly once, no traceback on screen, and the
trials that were running must go on (alive through the outage, or resumed from their
checkpoint), not start over. A second test drives the retry rules without a server.
"""

from __future__ import annotations

import time

import optuna
import pytest
import sqlalchemy.exc

from unitsearch.storage import read_trial
from unitsearch.storage.resilient import ResilientStorage, StorageUnavailable, transient

SPACE = """
profile = "smoke"
seeds = [0, 1]

[train]
epochs = 12

[factors]
unit = ["original", "full_preact", "relu_preact"]

[pruner]
name = "none"
"""


@pytest.mark.slow
def test_workers_ride_out_a_postgres_outage(postgres_server, search_cli, outcome, checkpointed, reap, poll):
    url = postgres_server.create_database("outage")
    run = search_cli.popen("run", "--space", search_cli.space(SPACE, name="outage"), "--storage", url, "--workers", "2")
    reap.append(run)

    running = poll(checkpointed(url, "outage", 1, n=2, procs=[run]), timeout=180, what="two trials past their first checkpoint")
    postgres_server.halt()
    time.sleep(25)
    postgres_server.resume()

    out, _ = run.communicate(timeout=300)
    assert run.returncode == 0, out
    assert "Traceback" not in out, out
    assert "lost the study database" in out and "is back after" in out, out

    done, trials = outcome(url, "outage")
    assert len(done) == 6 and set(done.values()) == {1}, done
    keys = {t.user_attrs["plan_key"] for t in running}
    for t in trials:
        r = read_trial(t)
        if r.plan_key in keys and t.state.name == "COMPLETE":
            # alive through the outage (the same trial), or resumed from its checkpoint: never from epoch 0
            assert t.number in {x.number for x in running} or (r.resumed_from or 0) >= 1, (t.number, r.resumed_from)


class _Flaky:
    """A backend whose calls fail with a lost connection ``failures`` times, then work."""

    def __init__(self, failures: int, *, commit_then_fail: bool = False) -> None:
        self.failures, self.calls, self.commit_then_fail = failures, 0, commit_then_fail
        self.state = optuna.trial.TrialState.RUNNING

    def get_heartbeat_interval(self):
        return 1

    def set_trial_state_values(self, trial_id, state, values=None):
        self.calls += 1
        if self.state != optuna.trial.TrialState.RUNNING:
            raise optuna.exceptions.UpdateFinishedTrialError("finished")
        if self.commit_then_fail and self.calls == 1:
            self.state = state  # the commit went through, the answer did not
        if self.calls <= self.failures:
            raise sqlalchemy.exc.OperationalError("UPDATE", {}, Exception("server closed the connection unexpectedly"))
        self.state = state
        return True

    def get_trial(self, trial_id):
        return type("T", (), {"state": self.state})()

    def set_trial_user_attr(self, trial_id, key, value):
        raise optuna.exceptions.StorageInternalError("bad data") from ValueError("value too long")


def test_retries_through_an_outage_and_tells_once():
    lines = []
    flaky = _Flaky(3)
    storage = ResilientStorage(flaky, "'db'", bound=30, say=lines.append)
    assert storage.set_trial_state_values(1, optuna.trial.TrialState.COMPLETE, [1.0]) is True
    assert flaky.calls == 4 and lines[0].startswith("warning: lost the study database 'db'") and "is back after" in lines[1]

    # The first attempt committed, then the connection dropped: the retry sees it told, and does not fail.
    flaky = _Flaky(1, commit_then_fail=True)
    storage = ResilientStorage(flaky, "'db'", bound=30, say=lines.append)
    assert storage.set_trial_state_values(1, optuna.trial.TrialState.COMPLETE, [1.0]) is True and flaky.calls == 2


def test_gives_up_past_the_bound_with_one_line_and_never_retries_bad_data():
    storage = ResilientStorage(_Flaky(10**6), "'db'", bound=1, say=lambda line: None)
    with pytest.raises(StorageUnavailable, match="unreachable for 1 s .*server closed the connection.*this worker stops"):
        storage.set_trial_state_values(1, optuna.trial.TrialState.COMPLETE, [1.0])
    with pytest.raises(optuna.exceptions.StorageInternalError):  # a data error fails at once
        storage.set_trial_user_attr(1, "k", "v")
    assert not transient(optuna.exceptions.StorageInternalError("x"))


def test_no_trial_is_stale_until_a_grace_period_after_the_database_came_back():
    class Backend(_Flaky):
        grace_period = 3

        def _get_stale_trial_ids(self, study_id):
            self.calls += 1
            if self.calls == 1:
                raise sqlalchemy.exc.OperationalError("SELECT", {}, Exception("connection refused"))
            return [7]

    storage = ResilientStorage(Backend(0), "'db'", bound=30, say=lambda line: None)
    assert storage._get_stale_trial_ids(1) == []  # just back: the others' heartbeats come first
    storage._back_at -= 3
    assert storage._get_stale_trial_ids(1) == [7]
