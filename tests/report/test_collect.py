"""unitsearch.report.collect: which number each trial contributes, and reading storages."""

from __future__ import annotations

import optuna
import pytest

from unitsearch.errors import UserError
from unitsearch.report.collect import Metric, collect_trials
from unitsearch.storage import open_storage, redact

from .conftest import make_trial


def _stored(trials):
    """The trials as a study returns them (numbered)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study()
    study.add_trials(trials)
    return study.get_trials(deepcopy=False)


def _used(records):
    out: dict[str, dict[int, float]] = {}
    for r in records:
        if r.used:
            assert r.seed not in out.get(r.design, {}), "one trial per (design, seed)"
            out.setdefault(r.design, {})[r.seed] = r.error
    return out


@pytest.mark.parametrize("metric", list(Metric))
def test_per_seed_errors_follow_the_rules(ablation, metric):
    trials, val, test = ablation
    records, varying = collect_trials(_stored(trials), metric)
    assert varying == []
    assert _used(records) == (val if metric is Metric.VAL else test)


def test_excluded_and_retried_trials(ablation):
    records, _ = collect_trials(_stored(ablation[0]))
    by = {(r.design, r.status): r for r in records}
    assert not by[("conv_shortcut", "failed")].used
    assert not by[("shortcut_gate_0", "skipped")].used and by[("shortcut_gate_0", "skipped")].error is None
    fp = [r for r in records if r.design == "full_preact" and r.seed == 4]
    assert [(r.status, r.used) for r in fp] == [("pruned", False), ("complete", True)]
    assert len(records) == len(ablation[0]) - 1  # the running trial stored no unit yet


def test_pruned_uses_last_intermediate_value():
    t = make_trial("original", 0, "pruned", 33.0, epochs=3)
    (rec,), _ = collect_trials(_stored([t]))
    assert rec.error == 33.0 == t.intermediate_values[3] and rec.used


def test_varying_context_is_part_of_the_design():
    trials = [make_trial("original", 0, "complete", 7.0, depth=20), make_trial("original", 0, "complete", 6.0, depth=56)]
    records, varying = collect_trials(_stored(trials))
    assert varying == ["depth"]
    assert sorted(r.design for r in records) == ["original [depth=20]", "original [depth=56]"]
    assert all(r.used for r in records)


def test_redact_hides_password():
    shown = redact("postgresql://alice:s3cret@db.example/studies")
    assert "s3cret" not in shown and "alice" in shown


def test_open_storage_missing_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'nope.db'}"
    with pytest.raises(UserError, match="does not exist"):
        open_storage(url, read_only=True)
    assert not (tmp_path / "nope.db").exists()  # reading never creates a database
