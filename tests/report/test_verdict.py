"""The verdict's fields and sentence, for a study that confirms the paper and ones that do not."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest
from scipy import stats

from unitsearch.report import build_report
from unitsearch.report.verdict import format_ranks

from .conftest import make_trial


def _study(trials):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study()
    study.add_trials(trials)
    return study


def test_verdict_confirms_the_paper(ablation):
    trials, val, _ = ablation
    v = build_report(_study(trials)).verdict
    seeds = sorted(set(val["full_preact"]) & set(val["original"]))
    a = np.array([val["full_preact"][s] for s in seeds])
    b = np.array([val["original"][s] for s in seeds])
    assert v.best == "full_preact" and v.full_preact_rank == 1 and v.n_designs == 9
    assert v.baseline == "original" and v.n_seeds == 5
    assert v.diff == pytest.approx((a - b).mean())
    assert v.ci == pytest.approx(list(stats.t.interval(0.95, 4, loc=(a - b).mean(), scale=stats.sem(a - b))))
    assert v.p == pytest.approx(stats.ttest_rel(a, b).pvalue) and v.full_preact_better is True
    assert v.fail_units == ["exclusive_gate_0", "const_scale_0.5", "dropout_shortcut"]
    assert v.fail_units_ranks == [7, 8, 9] and v.fail_units_below_baseline is True
    assert v.text.startswith("full_preact ranks 1 of 9; its error is ")
    assert "points lower than original's (paired t-test p" in v.text and "n = 5 seeds" in v.text
    assert "rank 7-9 of 9 (all below original, rank " in v.text
    # Kendall's tau-b against the paper, "fail" units tied at the bottom
    rows = [r for r in build_report(_study(trials)).rows if r.rank is not None and (r.paper_fails or r.paper_error is not None)]
    paper = [math.inf if r.paper_fails else r.paper_error for r in rows]
    tau = stats.kendalltau([r.summary.mean for r in rows], paper)
    assert v.paper_tau == pytest.approx(tau.statistic) and v.paper_tau_p == pytest.approx(tau.pvalue) and v.paper_tau_n == len(rows) >= 3
    assert f"Kendall's tau-b = {tau.statistic:.2f}" in v.text


def test_verdict_says_plainly_when_it_did_not():
    errs = {
        "original": [7.0, 7.5, 6.8, 7.2, 7.1],
        "full_preact": [7.1, 7.4, 7.0, 7.1, 7.2],
        "dropout_shortcut": [5.0, 5.1, 5.2, 5.0, 5.1],  # a paper "fail" that does well here
        "relu_preact": [20.0, 21.0, 20.5, 19.0, 22.0],
    }
    trials = [make_trial(d, s, "complete", e) for d, xs in errs.items() for s, e in enumerate(xs)]
    v = build_report(_study(trials)).verdict
    p = stats.ttest_rel(errs["full_preact"], errs["original"]).pvalue
    assert p > 0.05 and v.p == pytest.approx(p)
    assert v.full_preact_better is False and v.full_preact_rank == 3
    assert v.fail_units_ranks == [1] and v.fail_units_below_baseline is False
    assert "not significantly different from original's" in v.text
    assert "full_preact ranks 3 of 4 (" in v.text and "(not all below original, rank 2)" in v.text
    assert v.paper_tau is not None and v.paper_tau < 0  # the paper's order, nearly reversed


def test_verdict_without_full_preact_or_enough_seeds():
    trials = [make_trial("original", 0, "complete", 7.0), make_trial("relu_preact", 0, "complete", 6.0)]
    v = build_report(_study(trials)).verdict
    assert v.full_preact is None and v.full_preact_rank is None and v.fail_units == []
    assert v.text == "full_preact is not in this study; relu_preact ranks 1 of 2."
    trials.append(make_trial("full_preact", 0, "complete", 6.5))
    v = build_report(_study(trials)).verdict
    assert v.n_seeds == 1 and v.p is None and v.full_preact_better is None
    assert "cannot be tested against original" in v.text


def test_format_ranks():
    assert format_ranks([15, 13, 14]) == "13-15"
    assert format_ranks([2, 9, 15]) == "2, 9, 15"
    assert format_ranks([4]) == "4"


def test_a_verify_study_tests_full_preact_against_the_best_when_it_is_its_own_baseline():
    errs = {"full_preact": [9.0, 9.5, 8.7], "relu_preact": [8.0, 8.9, 8.1], "original": [9.9, 10.1, 9.8]}
    trials = [make_trial(d, s, "complete", e) for d, xs in errs.items() for s, e in enumerate(xs)]
    v = build_report(_study(trials), baseline="full_preact").verdict
    d = np.array(errs["full_preact"]) - np.array(errs["relu_preact"])
    half = stats.t.ppf(0.975, 2) * stats.sem(d)
    p = stats.ttest_rel(errs["full_preact"], errs["relu_preact"]).pvalue
    assert v.full_preact_rank == 2 and v.baseline == "full_preact"
    assert "it is the baseline itself; against the best its error is " in v.text
    assert f"+{d.mean():.1f} ± {half:.1f} points (paired t-test p = {p:.2g}" in v.text and "n = 3 seeds" in v.text


def _sampled(trials, plan=None):
    from dataclasses import replace

    from unitsearch.search import load_space

    study = _study(trials)
    space = replace(load_space("grammar"), sampler={"name": "tpe", "n_trials": 20}, plan=plan or {"kind": "grid"})
    study.set_user_attr("space", space.to_dict())
    study.set_user_attr("baseline", "original")
    return study


def test_a_sampled_studys_answer_is_decided_on_several_seeds_not_on_a_lucky_draw():
    lucky = "h=identity;branch=relu-conv-relu-conv;f=id"
    trials = [make_trial(lucky, 0, "complete", 4.0)]
    trials += [make_trial("full_preact", s, "complete", e) for s, e in enumerate([10.0, 11.0, 12.0])]
    trials += [make_trial("original", s, "complete", e) for s, e in enumerate([20.0, 24.0, 21.0])]
    rep = build_report(_sampled(trials, {"kind": "race", "min_seeds": 2, "alpha": 0.1, "test": "t"}))
    v = rep.verdict
    assert rep.rows[0].preset == "full_preact" and rep.rows[0].rank == 1  # the single draw of 4% ranks after it
    plain = build_report(_sampled(trials)).verdict  # no race: only repeats get seeds, so the lucky draw leads, flagged
    assert plain.answer == "h=identity;branch=relu-conv-relu-conv;f=id" and plain.answer_single_draw and plain.fresh_check_needed
    assert v.answer == "full_preact" and v.answer_seeds == 3 and not v.answer_single_draw
    assert v.answer_mean == 11.0
    lo, hi = stats.t.interval(0.95, 2, loc=11.0, scale=stats.sem([10.0, 11.0, 12.0]))
    assert np.allclose(v.answer_ci, [lo, hi])
    diff, p, n = v.answer_vs_baseline
    assert diff == -(65.0 - 33.0) / 3 and n == 3 and math.isclose(p, stats.ttest_rel([10, 11, 12], [20, 24, 21]).pvalue)
    assert v.text.startswith("The search's answer is full_preact: 11.0% (95% CI")
    assert "full_preact is" not in v.text.split(";")[1]  # the answer itself: no comparison with itself
    assert "over 3 seeds" in v.text and "unitsearch verify" in v.text


def test_a_sampled_study_of_single_draws_says_its_answer_needs_more_seeds():
    trials = [make_trial(u, 0, "complete", e) for u, e in [("original", 30.0), ("full_preact", 25.0), ("relu_preact", 28.0)]]
    v = build_report(_sampled(trials)).verdict
    assert v.answer == "full_preact" and v.answer_single_draw and v.fresh_check_needed
    assert "a single draw of 25.0% (no design has 2 seeds yet)" in v.text and "needs more seeds" in v.text


def test_a_sampled_studys_verdict_says_how_far_full_preact_is_from_its_answer():
    trials = [make_trial("relu_preact", s, "complete", e) for s, e in enumerate([8.0, 9.0, 13.0])]
    trials += [make_trial("full_preact", s, "complete", e) for s, e in enumerate([10.0, 12.0, 14.0])]
    trials += [make_trial("original", s, "complete", e) for s, e in enumerate([20.0, 24.0, 21.0])]
    v = build_report(_sampled(trials)).verdict
    d = np.array([10.0, 12.0, 14.0]) - np.array([8.0, 9.0, 13.0])
    half = stats.t.ppf(0.975, 2) * stats.sem(d)
    assert v.answer == "relu_preact"
    assert f"full_preact is {d.mean():+.1f} ± {half:.1f} points from it (paired t-test p = {stats.ttest_rel([10, 12, 14], [8, 9, 13]).pvalue:.2g}, n = 3)" in v.text


def test_a_race_over_sampled_designs_needs_its_min_seeds_and_a_grid_has_no_answer(ablation):
    trials = [make_trial("relu_preact", s, "complete", 9.0 + s) for s in range(2)]
    trials += [make_trial("full_preact", s, "complete", 10.0 + s) for s in range(3)]
    trials += [make_trial("original", s, "complete", 20.0 + s) for s in range(3)]
    race = {"kind": "race", "min_seeds": 3, "alpha": 0.1, "test": "t"}
    v = build_report(_sampled(trials, race)).verdict
    assert v.answer_min_seeds == 3 and v.answer == "full_preact"  # relu_preact's lower mean is on 2 seeds
    grid = build_report(_study(ablation[0])).verdict
    assert grid.answer is None and grid.answer_min_seeds is None and not grid.text.startswith("The search")
