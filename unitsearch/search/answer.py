"""The search's answer: the design with the best mean error over at least ``k`` seeds.

A sampler that ranks designs by one seed each reports the luckiest draw, and under a seed
spread of 10-40 points that is mostly luck (the best of many noisy draws is biased low).
The answer is therefore never a single draw while any design has ``k`` seeds: it is the
design with the lowest mean over at least ``k`` finished seeds, with the 95% t interval of
that mean. Only when no design has ``k`` seeds yet is it the best single draw, flagged as
such, so that the report can say a fresh-seed check is needed.

Pruned trials are not results (their error is an early epoch's): a design counts the seeds
it finished.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from scipy import stats

__all__ = ["Answer", "search_answer", "mean_interval"]


@dataclass(frozen=True)
class Answer:
    """What a search found, on how many seeds, and how sure it is."""

    cell: str
    mean: float  # mean validation error over its seeds, percent
    n: int  # finished seeds
    low: float  # 95% t interval of the mean; NaN below two seeds
    high: float
    single_draw: bool  # no design had k seeds: the best single draw, which needs more seeds

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def mean_interval(values: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """The mean of ``values`` and its two-sided t interval (NaN bounds below two values)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, math.nan, math.nan
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def search_answer(errors: Mapping[str, Mapping[int, float]], k: int) -> Answer | None:
    """The best design by mean over at least ``k`` seeds; the best single draw if none has ``k``.

    Args:
        errors: Per design (its cell), the error of each finished seed.
        k: The fewest seeds a design needs to be the answer (a race's ``min_seeds``).

    Ties in the mean go to the design with more seeds, then to the first cell in sort order,
    so the answer does not depend on the order the trials finished in.
    """
    finished = {c: list(e.values()) for c, e in errors.items() if e}
    if not finished:
        return None
    ready = {c: v for c, v in finished.items() if len(v) >= k}
    pool = ready or {c: [min(v)] for c, v in finished.items()}
    cell = min(pool, key=lambda c: (sum(pool[c]) / len(pool[c]), -len(pool[c]), c))
    mean, low, high = mean_interval(pool[cell])
    return Answer(cell, mean, len(pool[cell]), low, high, single_draw=not ready)
