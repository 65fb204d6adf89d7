"""Calibration: rank agreement with a reference, its interval over seeds, the verdict's power."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from unitsearch.report.calibration import calibration_row, pair_power, rank_agreement, seeds_needed

PAPER = {"full_preact": 6.37, "original": 6.61, "relu_preact": 6.71, "bn_after_add": 8.17, "conv_shortcut": 12.22,
         "const_scale_0": None, "dropout_shortcut": None}


def _errors(means: dict[str, float], spread: float, seeds: int, seed: int = 0) -> dict[str, dict[int, float]]:
    rng = np.random.default_rng(seed)
    return {d: {s: round(m + float(rng.normal(0, spread)), 3) for s in range(seeds)} for d, m in means.items()}


def test_a_proxy_in_the_paper_order_agrees_and_one_reversed_disagrees():
    same = _errors({"full_preact": 30, "original": 35, "relu_preact": 36, "bn_after_add": 40, "conv_shortcut": 50,
                    "const_scale_0": 80, "dropout_shortcut": 80.5}, 0.5, 4)
    tau, low, high = rank_agreement(same, PAPER)
    # the two "fail" units tie in the paper: one pair of 21 is tied, every other concordant
    expected = stats.kendalltau([np.mean(list(same[d].values())) for d in PAPER], [1e9 if v is None else v for v in PAPER.values()]).statistic
    assert tau == pytest.approx(expected) and tau > 0.9
    assert low <= tau <= high
    reversed_ = {d: {s: -e for s, e in errs.items()} for d, errs in same.items()}
    assert rank_agreement(reversed_, PAPER)[0] == pytest.approx(-tau)


def test_the_interval_widens_with_the_spread():
    means = {"full_preact": 30, "original": 33, "relu_preact": 34, "bn_after_add": 36, "conv_shortcut": 40,
             "const_scale_0": 60, "dropout_shortcut": 61}
    _, lo1, hi1 = rank_agreement(_errors(means, 0.5, 5), PAPER)
    _, lo2, hi2 = rank_agreement(_errors(means, 10.0, 5), PAPER)
    assert hi2 - lo2 > hi1 - lo1


def test_power_grows_with_seeds_and_a_clear_difference_needs_few():
    rng = np.random.default_rng(3)
    diffs = rng.normal(-5.0, 4.0, size=12)
    assert pair_power(diffs, 4) < pair_power(diffs, 20)
    assert pair_power(np.array([-1.0, 1.0, -1.0, 1.0, 0.1]), 10) < 0.02  # next to no difference: next to no power
    # effect size 1 (mean 2, sd 2) on 10 seeds at 0.01, two-sided: power 0.50, as power tables give it
    assert pair_power(np.array([0.0, 2.0, 4.0]) - 4.0, 10) == pytest.approx(0.50, abs=0.01)
    clear = np.array([-10.0, -9.5, -10.5, -9.8, -10.2])
    assert seeds_needed(clear) is not None and seeds_needed(clear) <= 4


def test_calibration_row_counts_fails_below_and_units_off_chance():
    errors = _errors({"full_preact": 30, "original": 40, "relu_preact": 35, "bn_after_add": 85, "conv_shortcut": 50,
                      "const_scale_0": 60, "dropout_shortcut": 30}, 0.3, 3)
    row = calibration_row(errors, PAPER, baseline="original", best="full_preact")
    assert (row.fails_below, row.n_fails) == (1, 2)  # const_scale_0 below original, dropout above it
    assert (row.off_chance, row.n_training) == (4, 5)  # bn_after_add at 85% is not 10 points below chance
    assert row.pair_diff == pytest.approx(float(np.mean([errors["full_preact"][s] - errors["original"][s] for s in range(3)])))
    assert row.pair_p < 0.01


finite_errors = st.floats(min_value=0.0, max_value=100.0, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(sorted(PAPER)), st.dictionaries(st.integers(0, 9), finite_errors, min_size=1, max_size=6), min_size=1, max_size=7
    )
)
def test_any_errors_give_a_row_or_nan_never_an_exception(errors):
    row = calibration_row(errors, PAPER, baseline="original", best="full_preact")
    assert row.designs == len(errors)
    assert np.isnan(row.tau) or -1.0 <= row.tau <= 1.0
    assert np.isnan(row.power) or 0.0 <= row.power <= 1.0
    assert row.needed is None or 2 <= row.needed <= 30
