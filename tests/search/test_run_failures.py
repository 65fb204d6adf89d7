"""What a run says about the trials it failed: one line per cause, only this run's, only real failures."""

from __future__ import annotations

import datetime

import optuna
from optuna.trial import TrialState

from unitsearch.search.launch import failed_trials


def _trial(study: optuna.Study, state: TrialState, status: str, reason: str = "") -> None:
    trial = study.ask()
    trial.set_user_attr("status", status)
    trial.set_user_attr("reason", reason)
    study.tell(trial, 90.0 if state is TrialState.COMPLETE else None, state=state)


def test_one_line_per_cause_of_this_runs_failures_the_most_frequent_first():
    study = optuna.create_study()
    _trial(study, TrialState.FAIL, "failed", "OSError: an earlier run's")
    since = datetime.datetime.now()
    _trial(study, TrialState.FAIL, "failed", "SpecError: it builds only bottleneck units")
    for _ in range(2):
        _trial(study, TrialState.FAIL, "failed", "ValueError: bad")
    _trial(study, TrialState.FAIL, "running")  # failed by another worker's heartbeat: it stored no reason
    _trial(study, TrialState.COMPLETE, "diverged", "diverged: training loss 1e9")  # a result
    _trial(study, TrialState.PRUNED, "pruned", "pruned after epoch 1")  # a result
    _trial(study, TrialState.FAIL, "duplicate", "taken elsewhere")  # trained nothing by design
    assert failed_trials(study.trials, since=since) == [
        "2 trials failed: ValueError: bad",
        "1 trial failed: SpecError: it builds only bottleneck units",
        "1 trial failed: its worker ended without recording why (killed, or its machine was lost)",
    ]
    assert failed_trials(study.trials, since=datetime.datetime.now()) == []
