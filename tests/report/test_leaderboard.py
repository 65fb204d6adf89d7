"""The leaderboard's numbers equal ones computed here with numpy/scipy from the known per-seed errors."""

from __future__ import annotations

import warnings

import numpy as np
import optuna
import pytest
from scipy import stats

from unitsearch.report import build_report, format_report
from unitsearch.units import PRESETS

from .conftest import make_trial
from .test_stats import holm_np


def _study(trials):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="abl")
    study.add_trials(trials)
    return study


def expected(errors: dict[str, dict[int, float]], baseline: str = "original") -> dict[str, dict]:
    """Ranks, intervals, Holm-adjusted paired tests and tie marks, computed independently."""
    out = {d: {"x": np.array(list(e.values()))} for d, e in errors.items()}
    order = sorted(errors, key=lambda d: (np.mean(out[d]["x"]), np.median(out[d]["x"]), d))
    for rank, d in enumerate(order, 1):
        x = out[d]["x"]
        e = out[d]
        e.update(rank=rank, mean=x.mean(), median=np.median(x))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # zero spread: scipy returns NaN
            e["ci"] = stats.t.interval(0.95, x.size - 1, loc=x.mean(), scale=stats.sem(x)) if x.size > 1 else (None, None)

    def paired(d, ref):
        seeds = sorted(set(errors[d]) & set(errors[ref]))
        a = np.array([errors[d][s] for s in seeds])
        b = np.array([errors[ref][s] for s in seeds])
        return (stats.ttest_rel(a, b).pvalue if len(seeds) >= 2 else None), (a - b).mean()

    for ref, key in ((baseline, "base"), (order[0], "best")):
        tested = [d for d in order if d != ref]
        ps = {d: paired(d, ref) for d in tested}
        with_p = [d for d in tested if ps[d][0] is not None]
        adj = dict(zip(with_p, holm_np([ps[d][0] for d in with_p])))
        for d in tested:
            out[d][f"{key}_p"], out[d][f"{key}_diff"] = ps[d]
            out[d][f"{key}_p_holm"] = adj.get(d)
    best = order[0]
    for d in order:
        e = out[d]
        if d == best:
            e["tied"] = True
        elif e["best_p_holm"] is not None:
            e["tied"] = bool(e["best_p_holm"] >= 0.05)
        else:
            e["tied"] = bool(e["mean"] <= out[best]["ci"][1])
    return out


@pytest.fixture(scope="module", params=["val", "test"])
def case(request, ablation):
    trials, val, test = ablation
    report = build_report(_study(trials), metric=request.param)
    return report, expected(val if request.param == "val" else test)


def test_ranks_means_and_intervals(case):
    report, exp = case
    ranked = [r for r in report.rows if r.rank is not None]
    assert {r.design: r.rank for r in ranked} == {d: e["rank"] for d, e in exp.items()}
    assert [r.rank for r in ranked] == list(range(1, len(exp) + 1))
    for r in ranked:
        e = exp[r.design]
        assert r.summary.mean == pytest.approx(e["mean"]) and r.summary.median == pytest.approx(e["median"])
        if e["ci"][0] is None:
            assert r.summary.ci_low is None
        elif np.isnan(e["ci"][0]):  # zero spread: scipy gives NaN, the report a zero-width interval
            assert r.summary.ci_low == r.summary.ci_high == pytest.approx(e["mean"])
        else:
            assert (r.summary.ci_low, r.summary.ci_high) == pytest.approx(e["ci"])


def test_paired_tests_holm_and_ties(case):
    report, exp = case
    for r in (r for r in report.rows if r.rank is not None):
        e = exp[r.design]
        if r.design == "original":
            assert r.vs_baseline is None and r.baseline_p_holm is None
        else:
            assert r.vs_baseline.diff == pytest.approx(e["base_diff"])
            assert r.vs_baseline.p == pytest.approx(e["base_p"])
            assert r.baseline_p_holm == pytest.approx(e["base_p_holm"])
        if r.rank > 1:
            assert r.vs_best.p == pytest.approx(e["best_p"]) and r.best_p_holm == pytest.approx(e["best_p_holm"])
        assert r.tied_with_best is e["tied"], r.design
        assert r.mark == ("=" if e["tied"] else "")


def test_the_data_exercise_every_tie_rule(case):
    report, _ = case
    rules = {(r.tie_rule, r.tied_with_best) for r in report.rows if r.rank is not None}
    assert {("best", True), ("paired", True), ("paired", False), ("ci", True)} <= rules


def test_counts_paper_and_unranked_rows(case):
    report, _ = case
    rows = {r.design: r for r in report.rows}
    assert rows["bn_after_add"].counts == {"complete": 4, "pruned": 1, "diverged": 0, "excluded": 0}
    assert rows["const_scale_0.5"].counts == {"complete": 0, "pruned": 2, "diverged": 3, "excluded": 0}
    assert rows["conv_shortcut"].counts["excluded"] == 1 and rows["conv_shortcut"].summary.n == 4
    assert rows["full_preact"].paper_error == PRESETS["full_preact"].paper_error
    assert rows["dropout_shortcut"].paper_fails and rows["dropout_shortcut"].paper_error is None
    assert rows["shortcut_gate_0"].rank is None and report.rows[-1].design == "shortcut_gate_0"
    assert rows["original"].final_train_loss == pytest.approx(2.0 / 6)


def test_baseline_by_form_equals_by_name(ablation):
    study = _study(ablation[0])
    a = build_report(study, baseline="original")
    b = build_report(study, baseline=PRESETS["original"].spec.form)
    assert [r.baseline_p_holm for r in a.rows] == [r.baseline_p_holm for r in b.rows]
    c = build_report(study, baseline="relu_preact")
    assert c.baseline == "relu_preact" and {r.design: r for r in c.rows}["relu_preact"].vs_baseline is None


def test_designs_split_by_varying_depth_and_compare_within_it():
    errs = {("original", 20): 8.0, ("full_preact", 20): 7.0, ("original", 56): 6.0, ("full_preact", 56): 5.5}
    trials = [make_trial(u, s, "complete", e + 0.1 * s * (u == "original"), depth=d) for (u, d), e in errs.items() for s in range(3)]
    report = build_report(_study(trials))
    assert report.varying == ["depth"]
    rows = {r.design: r for r in report.rows}
    assert set(rows) == {"original [depth=20]", "full_preact [depth=20]", "original [depth=56]", "full_preact [depth=56]"}
    assert rows["full_preact [depth=20]"].vs_baseline.diff == pytest.approx(-1.1)  # against depth 20's original
    assert rows["full_preact [depth=56]"].vs_baseline.diff == pytest.approx(-0.6)
    assert report.verdict.full_preact == "full_preact [depth=56]" and report.verdict.baseline == "original [depth=56]"
    assert "| depth |" in format_report(report, "markdown")
