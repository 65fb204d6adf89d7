"""bench/prune_replay.py: a no-pruner study played again through a pruner, without training."""

from __future__ import annotations

import datetime
import importlib.util
from pathlib import Path

import optuna
from optuna.trial import TrialState

from unitsearch.units import resolve_unit

_path = Path(__file__).parents[2] / "bench" / "prune_replay.py"
_spec = importlib.util.spec_from_file_location("prune_replay", _path)
prune_replay = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(prune_replay)

BASE = resolve_unit("original").form
OTHER = resolve_unit("full_preact").form


class _AlwaysPrune(optuna.pruners.BasePruner):
    def prune(self, study, trial) -> bool:
        return True


def _trial(number: int, unit: str, curve: list[float]) -> optuna.trial.FrozenTrial:
    t = optuna.trial.create_trial(
        value=curve[-1],
        intermediate_values={epoch: v for epoch, v in enumerate(curve, 1)},
        user_attrs={"unit": unit, "status": "complete", "epochs": len(curve), "val_error": curve[-1], "config": {"epochs": 3},
                    "curve": [{"epoch": e, "val_error": v, "seconds": 1.0} for e, v in enumerate(curve, 1)]},
    )
    t.number = number
    t.datetime_start = datetime.datetime(2026, 1, 1) + datetime.timedelta(seconds=number)
    return t


def test_every_trial_but_the_baselines_stops_where_the_pruner_says():
    trials = [_trial(0, BASE, [80.0, 60.0, 50.0]), _trial(1, OTHER, [70.0, 40.0, 30.0]), _trial(2, OTHER, [90.0, 85.0, 80.0])]
    out = {t.number: t for t in prune_replay.replay(trials, _AlwaysPrune(), BASE, workers=2)}
    assert out[0] is trials[0]  # the baseline is trained whole
    for n in (1, 2):
        assert out[n].state is TrialState.PRUNED and out[n].user_attrs["status"] == "pruned"
        assert out[n].user_attrs["epochs"] == 1 and out[n].value == trials[n].intermediate_values[1]
        assert list(out[n].intermediate_values) == [1] and len(out[n].user_attrs["curve"]) == 1
    assert trials[1].state is TrialState.COMPLETE and len(trials[1].intermediate_values) == 3  # the study's trials are untouched


def test_no_pruner_keeps_every_curve_whole_and_a_trial_without_a_curve_passes_through():
    trials = [_trial(i, OTHER, [90.0 - i, 80.0 - i, 70.0 - i]) for i in range(4)]
    trials[2].intermediate_values = {}  # diverged in its first epoch
    out = prune_replay.replay(trials, optuna.pruners.NopPruner(), BASE, workers=2)
    assert sorted(t.number for t in out) == [0, 1, 2, 3] and all(t.state is TrialState.COMPLETE for t in out)
    assert all(t is trials[t.number] for t in out)


def test_the_median_pruner_stops_a_trial_worse_than_the_finished_ones():
    good = [_trial(i, OTHER, [50.0, 40.0, 30.0]) for i in range(3)]
    bad = _trial(3, OTHER, [90.0, 90.0, 90.0])
    out = {t.number: t for t in prune_replay.replay([*good, bad], optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0), BASE, workers=1)}
    assert all(out[i].state is TrialState.COMPLETE for i in range(3))
    assert out[3].state is TrialState.PRUNED and out[3].user_attrs["epochs"] == 1
