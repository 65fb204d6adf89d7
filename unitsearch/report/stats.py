"""Statistics over seeds: mean with a t confidence interval, paired t-tests, Holm's correction.

The tests themselves are scipy's (``scipy.stats.ttest_rel``); scipy has no Holm
correction, so :func:`holm` is the textbook step-down procedure (Holm 1979).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

__all__ = ["Summary", "Paired", "summarize", "paired_test", "holm", "ALPHA", "CONFIDENCE", "ERROR_BOUNDS"]

ALPHA = 0.05  # significance level of every test in the report
CONFIDENCE = 0.95  # level of every confidence interval


@dataclass(frozen=True)
class Summary:
    """Mean, spread and a t confidence interval of a sample (one number per seed)."""

    n: int
    mean: float | None
    median: float | None
    std: float | None  # sample standard deviation (ddof=1); None below 2 values
    ci_low: float | None  # None below 2 values
    ci_high: float | None

    @property
    def ci_half(self) -> float | None:
        return None if self.ci_low is None or self.mean is None else self.mean - self.ci_low


def _t_half(std: float, n: int, confidence: float) -> float:
    return float(stats.t.ppf(0.5 + confidence / 2, n - 1) * std / math.sqrt(n))


ERROR_BOUNDS = (0.0, 100.0)  # an error rate in percent: an interval reaching past these claims the impossible


def summarize(values: Sequence[float], *, confidence: float = CONFIDENCE, bounds: tuple[float, float] | None = None) -> Summary:
    """Mean, median and the t interval ``mean ± t_{n-1} * s / sqrt(n)``, clipped to ``bounds`` if given."""
    x = np.asarray(values, dtype=float)
    n = int(x.size)
    if n == 0:
        return Summary(0, None, None, None, None, None)
    mean, median = float(x.mean()), float(np.median(x))
    if n < 2:
        return Summary(n, mean, median, None, None, None)
    std = float(x.std(ddof=1))
    half = _t_half(std, n, confidence)
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = max(bounds[0], low), min(bounds[1], high)
    return Summary(n, mean, median, std, low, high)


@dataclass(frozen=True)
class Paired:
    """A paired comparison of two designs on the seeds both have: ``a - b``."""

    n: int  # matched seeds
    diff: float | None  # mean of a - b over matched seeds (percentage points)
    ci_low: float | None  # t interval of that mean difference
    ci_high: float | None
    p: float | None  # two-sided paired t-test; None below 2 matched seeds
    seeds: tuple[Any, ...] = ()


def paired_test(a: Mapping[Any, float], b: Mapping[Any, float], *, confidence: float = CONFIDENCE) -> Paired:
    """``scipy.stats.ttest_rel`` of ``a`` against ``b`` over the seeds (keys) both have.

    Two designs whose errors agree on every matched seed get ``p = 1`` (scipy
    returns NaN for a zero-variance difference of zero).
    """
    seeds = tuple(sorted(set(a) & set(b), key=str))
    n = len(seeds)
    if n == 0:
        return Paired(0, None, None, None, None, seeds)
    x = np.array([a[s] for s in seeds], dtype=float)
    y = np.array([b[s] for s in seeds], dtype=float)
    d = x - y
    diff = float(d.mean())
    if n < 2:
        return Paired(n, diff, None, None, None, seeds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy warns on (nearly) constant differences
        p = float(stats.ttest_rel(x, y).pvalue)
    if math.isnan(p):
        p = 1.0 if np.allclose(d, 0.0) else None
    half = _t_half(float(d.std(ddof=1)), n, confidence)
    return Paired(n, diff, diff - half, diff + half, p, seeds)


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values; ``None`` entries are not tests and stay ``None``.

    With the m p-values sorted ascending, ``p_(k)`` becomes
    ``max_{j <= k} min(1, (m - j + 1) * p_(j))``; reject where the adjusted value
    is below alpha. This controls the family-wise error rate at alpha.
    """
    idx = [i for i, p in enumerate(pvalues) if p is not None]
    m = len(idx)
    out: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for k, i in enumerate(sorted(idx, key=lambda i: pvalues[i])):  # type: ignore[arg-type, return-value]
        running = max(running, min(1.0, (m - k) * pvalues[i]))  # type: ignore[operator]
        out[i] = running
    return out
