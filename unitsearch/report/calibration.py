"""How faithful a cheap profile is to a reference: rank agreement, spread, and the verdict's power.

The rules, one per number:

- **Agreement** is Kendall's tau-b of the designs' mean errors against the reference's errors
  (a reference of ``None`` is a "fail" unit: they tie last, as in the verdict). Its interval is
  a bootstrap over seeds: each design's seeds are drawn again with replacement, the means
  recomputed, tau-b recomputed; the 5th and 95th percentiles of ``n_boot`` draws.
- **Spread** is the median over designs of the standard deviation of the error over seeds.
- **Power** is the chance that a paired t-test on ``power_seeds`` seeds finds, at ``alpha``,
  the difference measured between the reference's best design and the baseline (the
  noncentral t with the measured effect size); **seeds needed** is the fewest seeds (2 to 30)
  whose power reaches 80%.
- **Off chance**: a design the reference reports as training whose mean error is at least
  ``margin`` points below chance (90% for ten classes).

A fixed generator seed makes every number the same on every call.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..errors import UserError
from ..units import PRESETS
from .build import load_report
from .stats import paired_test
from .verdict import FAIL_ERROR

__all__ = ["CalibrationRow", "calibration_row", "rank_agreement", "pair_power", "seeds_needed", "study_errors", "calibrate"]


@dataclass(frozen=True)
class CalibrationRow:
    """One profile measured against one reference."""

    designs: int
    seeds: int  # the most seeds any design has
    spread: float  # median over designs of the std of val error over seeds
    tau: float
    tau_low: float
    tau_high: float
    pair_n: int
    pair_diff: float  # best minus baseline, mean over shared seeds
    pair_p: float
    power: float  # of a paired t-test on power_seeds seeds at alpha
    needed: int | None  # fewest seeds with power >= 0.8; None: more than 30
    fails_below: int  # reference "fail" designs with a higher mean than the baseline
    n_fails: int
    off_chance: int  # designs the reference has training that end well below chance
    n_training: int


def _tau(means: Mapping[str, float], reference: Mapping[str, float | None]) -> float:
    names = [n for n in means if n in reference]
    if len(names) < 3:
        return math.nan
    ref = [FAIL_ERROR if reference[n] is None else float(reference[n]) for n in names]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.kendalltau([means[n] for n in names], ref).statistic)


def rank_agreement(
    errors: Mapping[str, Mapping[int, float]], reference: Mapping[str, float | None], *, n_boot: int = 1000, seed: int = 0
) -> tuple[float, float, float]:
    """Tau-b of mean errors against ``reference``, with its 90% bootstrap interval over seeds."""
    means = {n: float(np.mean(list(e.values()))) for n, e in errors.items() if e}
    tau = _tau(means, reference)
    rng = np.random.default_rng(seed)
    draws = []
    arrays = {n: np.array(list(e.values()), dtype=float) for n, e in errors.items() if e}
    for _ in range(n_boot):
        boot = {n: float(rng.choice(a, size=len(a)).mean()) for n, a in arrays.items()}
        draws.append(_tau(boot, reference))
    draws = [d for d in draws if not math.isnan(d)]
    if not draws:
        return tau, math.nan, math.nan
    return tau, float(np.percentile(draws, 5)), float(np.percentile(draws, 95))


def pair_power(diffs: np.ndarray, n_seeds: int, *, alpha: float = 0.01) -> float:
    """The power of a two-sided paired t-test on ``n_seeds`` seeds to find the mean difference measured in ``diffs``.

    The textbook power of the t-test (noncentral t with the measured effect size
    ``mean / sd``), in the measured direction only. With few measured seeds the effect
    size is itself uncertain; the agreement's interval and the runs on fresh seeds say how much.
    """
    if len(diffs) < 2:
        return math.nan
    sd = float(np.std(diffs, ddof=1))
    mean = float(np.mean(diffs))
    if sd == 0.0:
        return 0.0 if mean == 0.0 else 1.0
    df = n_seeds - 1
    crit = stats.t.ppf(1 - alpha / 2, df)
    return float(stats.nct.sf(crit, df, abs(mean) / sd * math.sqrt(n_seeds)))


def seeds_needed(diffs: np.ndarray, *, alpha: float = 0.01, target: float = 0.8, most: int = 30) -> int | None:
    """The fewest seeds (2 to ``most``) whose :func:`pair_power` reaches ``target``."""
    for n in range(2, most + 1):
        if pair_power(diffs, n, alpha=alpha) >= target:
            return n
    return None


def calibration_row(
    errors: Mapping[str, Mapping[int, float]],
    reference: Mapping[str, float | None],
    *,
    baseline: str,
    best: str,
    alpha: float = 0.01,
    power_seeds: int = 10,
    chance: float = 90.0,
    margin: float = 10.0,
) -> CalibrationRow:
    """Every number of one profile against one reference; ``errors[design][seed]`` are val errors in percent."""
    errors = {n: dict(e) for n, e in errors.items() if e}
    means = {n: float(np.mean(list(e.values()))) for n, e in errors.items()}
    spread = float(np.median([np.std(list(e.values()), ddof=1) for e in errors.values() if len(e) > 1] or [math.nan]))
    tau, low, high = rank_agreement(errors, reference)
    pair = paired_test(errors.get(best, {}), errors.get(baseline, {}))  # the verdict's test
    diffs = np.array([errors[best][s] - errors[baseline][s] for s in pair.seeds], dtype=float)
    fails = [n for n in errors if n in reference and reference[n] is None]
    training = [n for n in errors if n in reference and reference[n] is not None]
    return CalibrationRow(
        designs=len(errors),
        seeds=max(len(e) for e in errors.values()) if errors else 0,
        spread=spread,
        tau=tau,
        tau_low=low,
        tau_high=high,
        pair_n=pair.n,
        pair_diff=pair.diff if pair.diff is not None else math.nan,
        pair_p=pair.p if pair.p is not None else math.nan,
        power=pair_power(diffs, power_seeds, alpha=alpha) if len(diffs) >= 2 else math.nan,
        needed=seeds_needed(diffs, alpha=alpha) if len(diffs) >= 2 else None,
        fails_below=sum(means[n] > means.get(baseline, math.inf) for n in fails),
        n_fails=len(fails),
        off_chance=sum(means[n] <= chance - margin for n in training),
        n_training=len(training),
    )


def study_errors(report) -> dict[str, dict[int, float]]:
    """``design -> seed -> error`` of a built :class:`~unitsearch.report.build.Report` (used trials only)."""
    return {row.design: dict(row.errors) for row in report.rows if row.errors}


def calibrate(
    storage: str,
    studies: list[str],
    *,
    reference: str = "paper",
    reference_storage: str | None = None,
    baseline: str | None = None,
    alpha: float = 0.01,
    power_seeds: int = 10,
) -> tuple[str, list[dict[str, object]]]:
    """What ``reference`` is, in words, and one row per study of a cheap profile: its agreement, cost and power.

    Args:
        storage: Where the cheap studies are.
        studies: Their names: each a run of one space at one profile (``run --plan grid --pruner none``).
        reference: ``paper`` (the errors the paper reports for the presets, "fail" tied last) or
            the name of a study of the same designs at a higher fidelity.
        reference_storage: Where the reference study is (default: ``storage``).
        baseline: The design the verdict compares with (default: each study's baseline).
        alpha: The verdict's level for the power column.
        power_seeds: The seeds a verdict gets, for the power column.

    Raises:
        UserError: A missing study, or one that shares fewer than three designs with the reference.
    """
    if reference == "paper":
        ref: dict[str, float | None] = {name: p.paper_error for name, p in PRESETS.items()}
        label = "the paper (Tables 1-2)"
    else:
        rep = load_report(reference_storage or storage, reference)
        ref = {name: float(np.mean(list(e.values()))) for name, e in study_errors(rep).items()}
        label = f"study {reference!r}"
    rows = []
    for name in studies:
        rep = load_report(storage, name, baseline=baseline)
        errors = study_errors(rep)
        shared = [d for d in errors if d in ref]
        if len(shared) < 3:
            raise UserError(f"study {name!r} shares {len(shared)} designs with {label}; at least 3 are needed to rank them")
        base = next((r.design for r in rep.rows if r.unit == rep.baseline_unit), None) or "original"
        trained = [d for d in shared if ref[d] is not None]
        best = min(trained, key=lambda d: ref[d]) if trained else base
        row = calibration_row(errors, ref, baseline=base, best=best, alpha=alpha, power_seeds=power_seeds)
        cost = rep.cost
        rows.append({
            "study": name,
            "designs": len(shared),
            "seeds": row.seeds,
            "s/trial": round(cost["wall_seconds"] / max(1, cost["n_trials"]), 1),
            "tau_b": round(row.tau, 3),
            "tau_b_ci90": f"{row.tau_low:.2f}..{row.tau_high:.2f}",
            "pair": f"{best} - {base}",
            "diff": round(row.pair_diff, 2) if row.pair_n else None,
            "p": float(f"{row.pair_p:.3g}") if not math.isnan(row.pair_p) else None,
            f"power@{power_seeds}": round(row.power, 2) if row.pair_n > 1 else None,
            "seeds_needed": row.needed,
            "spread": round(row.spread, 1),
        })
    return label, rows
