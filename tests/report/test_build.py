"""load_report: picking the study, bad input as one-line errors, reading while workers write."""

from __future__ import annotations

import sqlite3

import optuna
import pytest

from unitsearch.errors import UserError
from unitsearch.report import format_report, load_report, report_to_dict

from .conftest import make_trial, write_study


def test_single_study_is_picked_and_report_is_stable(ablation_db):
    url, name = ablation_db
    a = load_report(url)
    assert a.study == name and a.storage == url
    assert format_report(a, "json") == format_report(load_report(url, name), "json")


def test_missing_study_lists_the_studies(ablation_db):
    url, _ = ablation_db
    with pytest.raises(UserError, match=r"no study 'nope' in .*; studies: abl$"):
        load_report(url, "nope")


def test_several_studies_need_a_name(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    for n in ("b", "a"):
        write_study(url, n, [make_trial("original", 0, "complete", 7.0)])
    with pytest.raises(UserError, match=r"holds 2 studies; pick one with --study: a, b"):
        load_report(url)
    assert load_report(url, "b").study == "b"


def test_empty_study(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    write_study(url, "empty", [make_trial("original", 0, "failed"), optuna.trial.create_trial(state=optuna.trial.TrialState.RUNNING)])
    with pytest.raises(UserError, match=r"study 'empty' has no finished trials \(1 fail, 1 running\)"):
        load_report(url)


def test_test_metric_without_test_errors(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    write_study(url, "s", [make_trial("original", 0, "complete", 7.0)])
    with pytest.raises(UserError, match="with a test error; try --metric val"):
        load_report(url, metric="test")


@pytest.mark.parametrize("baseline", ["resnet9000", "h=identity;branch=conv-conv;f=bn", "full_preact_typo"])
def test_unknown_baseline_lists_designs(ablation_db, baseline):
    url, _ = ablation_db
    with pytest.raises(UserError, match=r"designs in study.*: bn_after_add, .*full_preact, .*original, relu_preact$") as e:
        load_report(url, baseline=baseline)
    assert "\n" not in str(e.value)


def test_study_baseline_attribute_is_the_default(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    trials = [make_trial(d, s, "complete", 6.0 + s + i) for i, d in enumerate(["original", "relu_preact"]) for s in range(2)]
    write_study(url, "s", trials, baseline="relu_preact")
    assert load_report(url).baseline == "relu_preact"
    write_study(url, "t", trials[2:], baseline=None)  # no baseline attribute and no original unit
    rep = load_report(url, "t")
    assert rep.baseline is None and all(r.vs_baseline is None for r in rep.rows)


def test_reads_while_a_writer_holds_the_database_and_leaves_no_lock(ablation_db):
    url, _ = ablation_db
    path = url.removeprefix("sqlite:///")
    writer = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # a worker in the middle of a write transaction
        writer.execute("UPDATE studies SET study_name = study_name")
        assert load_report(url).rows  # readers are not blocked by a pending write
        writer.execute("ROLLBACK")
        writer.execute("BEGIN EXCLUSIVE")  # fails at once if the report still held a read lock
        writer.execute("ROLLBACK")
    finally:
        writer.close()


def test_report_never_writes_to_the_storage(ablation_db):
    url, _ = ablation_db
    path = url.removeprefix("sqlite:///")
    before = open(path, "rb").read()
    load_report(url)
    assert open(path, "rb").read() == before


def _runs(seeds, offset=0.0):
    noise = {"original": lambda s: (7 * s) % 5, "full_preact": lambda s: s % 3, "dropout_shortcut": lambda s: s % 2}
    return [make_trial(d, s, "complete", base + noise[d](s) + offset) for d, base in (("original", 12.0), ("full_preact", 8.0), ("dropout_shortcut", 80.0)) for s in seeds]


def test_studies_on_disjoint_seeds_pool_into_the_report_of_one_run_with_all_their_seeds(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    write_study(url, "a", _runs([0, 1, 2]))
    write_study(url, "a+seed100", _runs([100, 101, 102], offset=0.5))
    write_study(url, "all", _runs([0, 1, 2]) + _runs([100, 101, 102], offset=0.5))
    pooled, whole = report_to_dict(load_report(url, ["a", "a+seed100"])), report_to_dict(load_report(url, "all"))
    assert pooled["study"] == "a + a+seed100"
    assert pooled["verdict"]["n_seeds"] == 6 and pooled["verdict"]["p"] < 0.05
    assert pooled["verdict"] == whole["verdict"]
    for row in pooled["leaderboard"] + whole["leaderboard"]:
        assert [p["seed"] for p in row["per_seed"]] == [0, 1, 2, 100, 101, 102]  # numeric order
        row["per_seed"] = [{k: v for k, v in p.items() if k != "trial"} for p in row["per_seed"]]  # trial numbers are per study
    assert pooled["leaderboard"] == whole["leaderboard"]
    assert pooled["verdict"] != report_to_dict(load_report(url, "a"))["verdict"]  # the pool is not just its first study


def test_studies_pool_only_on_disjoint_seeds_and_one_setting(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    write_study(url, "a", _runs([0, 1, 2]))
    write_study(url, "b", _runs([2, 3]))
    with pytest.raises(UserError, match=r"studies 'a' and 'b' both trained seed 2 of .*; pool studies on disjoint seeds \(run --seed-offset\)$"):
        load_report(url, ["a", "b"])
    for name, profile in (("c", "cpu"), ("d", "cpu-long")):
        write_study(url, name, _runs([10 if name == "c" else 20])).set_user_attr("space", {"profile": profile, "train": {}})
    with pytest.raises(UserError, match=r"studies 'c' \(profile cpu\) and 'd' \(profile cpu-long\) were trained differently"):
        load_report(url, ["c", "d"])
