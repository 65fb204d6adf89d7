"""A failing trial records why, and never stays ``running``."""

from __future__ import annotations

import optuna
import pytest

from unitsearch.search.failures import record_failures


def _starts_then(error: BaseException):
    def objective(trial: optuna.Trial) -> float:
        trial.set_user_attr("status", "running")  # as the objective does once the network is built
        raise error

    return objective


@pytest.mark.parametrize(
    "error, reason",
    [(RuntimeError("CUDA out of memory"), "RuntimeError: CUDA out of memory"), (MemoryError(), "MemoryError"), (KeyboardInterrupt(), "interrupted")],
)
def test_a_failing_trial_records_failed_and_a_reason(error, reason):
    study = optuna.create_study()
    with pytest.raises(type(error)):
        study.optimize(record_failures(_starts_then(error)), n_trials=1, catch=())
    (trial,) = study.trials
    assert trial.state is optuna.trial.TrialState.FAIL
    assert trial.user_attrs["status"] == "failed" and reason in trial.user_attrs["reason"]


def test_a_prune_keeps_its_own_status():
    def objective(trial):
        trial.set_user_attr("status", "skipped")
        raise optuna.TrialPruned()

    study = optuna.create_study()
    study.optimize(record_failures(objective), n_trials=1)
    assert study.trials[0].user_attrs["status"] == "skipped"
