"""The cost ledger: epochs trained and saved, wall time."""

from __future__ import annotations

from dataclasses import replace

import optuna

from unitsearch.report import build_report, cost_ledger
from unitsearch.report.collect import collect_trials

from .conftest import EPOCHS


def test_cost_ledger_totals(ablation):
    trials = ablation[0]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study()
    study.add_trials(trials)
    stored = study.get_trials(deepcopy=False)
    cost = build_report(study).cost
    attrs = [t.user_attrs for t in stored if "unit" in t.user_attrs]
    assert cost["n_trials"] == len(attrs) and cost["n_trials_in_study"] == len(stored)
    assert cost["epochs_trained"] == sum(a["epochs"] for a in attrs)
    assert cost["wall_seconds"] == sum(a["wall_seconds"] for a in attrs)
    pruned = [a for a in attrs if a["status"] == "pruned"]
    assert cost["epochs_saved_by_pruning"] == sum(EPOCHS - a["epochs"] for a in pruned) > 0
    assert cost["epochs_saved_by_skipping"] == EPOCHS  # one skipped trial
    assert cost["trials_by_status"]["running"] == 0 and cost["trials_by_status"]["failed"] == 1
    by = {d["design"]: d for d in cost["by_design"]}
    assert by["full_preact"]["trials"] == 6 and by["full_preact"]["epochs_saved_by_pruning"] == EPOCHS - 2
    assert sum(d["epochs_trained"] for d in cost["by_design"]) == cost["epochs_trained"]


def test_planned_epochs_fall_back_to_longest_complete_run(ablation):
    records, _ = collect_trials(ablation[0])
    records = [replace(r, planned_epochs=None) for r in records]
    cost = cost_ledger(records)
    longest = max(r.epochs for r in records if r.status == "complete")
    assert cost["epochs_saved_by_pruning"] == sum(longest - r.epochs for r in records if r.status == "pruned")
