"""The trial record: what the objective writes is what the plan, the race and the report read."""

from __future__ import annotations

import optuna
import pytest
import torch
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState, create_trial

from unitsearch.search import Objective, TrialContext, load_space
from unitsearch.storage import ATTRS, NOT_RUN, TrialStatus, read_trial, trial_attrs, write_trial
from unitsearch.train import prepare_run

SPACE = """
profile = "smoke"
seeds = [3]

[factors]
unit = ["original"]

[train]
epochs = 1

[sampler]
name = "random"
n_trials = 1

[pruner]
name = "none"
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One smoke trial trained by the search objective, as a frozen trial."""
    path = tmp_path_factory.mktemp("space") / "one.toml"
    path.write_text(SPACE)
    study = optuna.create_study()
    study.optimize(Objective(TrialContext(load_space(str(path)), torch.device("cpu"))), n_trials=1)
    return study.trials[0]


def test_the_objective_writes_only_known_attributes_and_every_one_reads_back(trained):
    assert trained.state is TrialState.COMPLETE
    assert set(trained.user_attrs) <= set(ATTRS)
    r = read_trial(trained)
    assert r.status is TrialStatus.COMPLETE and r.stored_status == "complete"
    assert (r.unit, r.preset, r.seed, r.epochs, r.params_count) == (
        trained.user_attrs["unit"], "original", 3, 1, trained.user_attrs["params"]
    )
    assert (r.h, r.branch, r.f) == ("identity", "conv-bn-relu-conv-bn", "relu")
    assert r.planned_epochs == 1 and len(r.curve) == 1 and r.last_error == pytest.approx(trained.value)


def test_unitsearch_train_sets_up_what_a_study_trial_trains(trained):
    """One setup for both: the same seed gives the same recipe and the same network."""
    run = prepare_run("original", profile="smoke", seed=3, epochs=1)
    assert run.config.to_dict() == trained.user_attrs["config"]
    assert run.config.warmup.value == "off"  # decided by the setup, never left "auto"
    assert sum(p.numel() for p in run.model.parameters()) == trained.user_attrs["params"]
    assert (run.net.depth, run.net.width, run.net.bottleneck) == tuple(trained.user_attrs[k] for k in ("depth", "width", "bottleneck"))


def test_an_unknown_attribute_is_refused_and_a_status_is_stored_as_text():
    with pytest.raises(KeyError, match="not a trial attribute: colour"):
        trial_attrs(colour="red")
    study = optuna.create_study()
    trial = study.ask()
    write_trial(trial, status=TrialStatus.PRUNED, reason="why")
    assert trial.user_attrs == {"status": "pruned", "reason": "why"}


def _trial(state: TrialState, status: str | None) -> optuna.trial.FrozenTrial:
    value = 50.0 if state in (TrialState.COMPLETE, TrialState.PRUNED) else None
    attrs = {"plan_key": "{}#seed=0", "cell": "{}", "seed": 0, **({"status": status} if status else {})}
    return create_trial(
        state=state, value=value if state is TrialState.COMPLETE else None, params={"unit": "a"},
        distributions={"unit": CategoricalDistribution(["a"])}, user_attrs=attrs,
        intermediate_values={1: 50.0} if state is TrialState.PRUNED else {},
    )


@pytest.mark.parametrize(
    "state, stored, status",
    [
        (TrialState.COMPLETE, "complete", TrialStatus.COMPLETE),
        (TrialState.COMPLETE, "diverged", TrialStatus.DIVERGED),
        (TrialState.COMPLETE, None, TrialStatus.COMPLETE),
        (TrialState.PRUNED, "pruned", TrialStatus.PRUNED),
        (TrialState.PRUNED, "skipped", TrialStatus.SKIPPED),
        (TrialState.PRUNED, "running", TrialStatus.PRUNED),
        (TrialState.FAIL, "failed", TrialStatus.FAILED),
        (TrialState.FAIL, "running", TrialStatus.FAILED),  # its worker died: the heartbeat failed it
        (TrialState.FAIL, "unused", TrialStatus.UNUSED),
        (TrialState.FAIL, "duplicate", TrialStatus.DUPLICATE),
        (TrialState.RUNNING, "running", TrialStatus.RUNNING),
        (TrialState.WAITING, None, TrialStatus.RUNNING),
    ],
)
def test_status_is_read_from_the_state_and_the_stored_status(state, stored, status):
    r = read_trial(_trial(state, stored))
    assert r.status is status
    assert (r.status in NOT_RUN) == (stored in ("unused", "duplicate"))


def test_a_queued_trial_has_only_the_plan_s_three_attributes():
    r = read_trial(_trial(TrialState.WAITING, None))
    assert (r.plan_key, r.cell, r.seed) == ("{}#seed=0", "{}", 0)
    assert r.unit is None and r.config is None and r.curve == () and r.planned_epochs is None
