"""load_report: picking the study, bad input as one-line errors, reading while workers write."""

from __future__ import annotations

import sqlite3

import optuna
import pytest

from unitsearch.errors import UserError
from unitsearch.report import format_report, load_report

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
