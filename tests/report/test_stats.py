"""unitsearch.report.stats against scipy and a vectorised Holm written here."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from unitsearch.report.stats import holm, paired_test, summarize


def holm_np(p):
    """Holm's step-down adjustment, vectorised (independent of the library's loop)."""
    p = np.asarray(p, dtype=float)
    m = p.size
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def test_summarize_matches_scipy_t_interval():
    x = [6.1, 5.4, 7.0, 6.6, 5.9]
    s = summarize(x)
    lo, hi = stats.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=stats.sem(x))
    assert s.n == 5 and s.mean == pytest.approx(np.mean(x)) and s.median == pytest.approx(np.median(x))
    assert (s.ci_low, s.ci_high) == pytest.approx((lo, hi))
    assert s.ci_half == pytest.approx(hi - np.mean(x))


def test_summarize_small_samples():
    assert summarize([]).mean is None
    one = summarize([4.0])
    assert one.mean == 4.0 and one.ci_low is None and one.ci_half is None
    flat = summarize([90.0, 90.0, 90.0])
    assert (flat.ci_low, flat.ci_high) == (90.0, 90.0)


def test_paired_test_uses_matched_seeds_only():
    a = {0: 5.0, 1: 6.0, 2: 5.5, 3: 7.0, 9: 1.0}
    b = {0: 6.0, 1: 6.5, 2: 6.8, 3: 7.1, 4: 2.0}
    r = paired_test(a, b)
    x, y = [5.0, 6.0, 5.5, 7.0], [6.0, 6.5, 6.8, 7.1]
    assert r.n == 4 and r.seeds == (0, 1, 2, 3)
    assert r.p == pytest.approx(stats.ttest_rel(x, y).pvalue)
    d = np.subtract(x, y)
    lo, hi = stats.t.interval(0.95, 3, loc=d.mean(), scale=stats.sem(d))
    assert r.diff == pytest.approx(d.mean()) and (r.ci_low, r.ci_high) == pytest.approx((lo, hi))


def test_paired_test_degenerate():
    assert paired_test({0: 1.0}, {0: 2.0}).p is None  # one matched seed: no test
    assert paired_test({0: 1.0}, {1: 2.0}).n == 0
    assert paired_test({0: 1.0, 1: 2.0}, {0: 1.0, 1: 2.0}).p == 1.0  # identical on every seed


@pytest.mark.parametrize(
    "p",
    [[0.01, 0.04, 0.03, 0.005], [0.2, 0.2, 0.01], [0.5], [0.001, 0.9, 0.02, 0.04, 0.03]],
)
def test_holm_matches_vectorised_formula(p):
    assert holm(p) == pytest.approx(list(holm_np(p)))


def test_holm_known_values_and_none():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([None, 0.02, None, 0.04]) == [None, pytest.approx(0.04), None, pytest.approx(0.04)]
