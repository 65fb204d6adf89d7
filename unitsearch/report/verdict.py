"""The verdict: the study's question answered in one sentence, and as fields.

The question is the paper's: does full pre-activation (Fig. 4e) beat the
baseline unit, and does the study order the designs as the paper's Tables 1-2
do? ``full_preact`` is compared with the baseline design of its context by the
paired test on matched seeds (raw p: it is the one comparison planned in
advance; the Holm-adjusted p is kept beside it). In a race both get a seed count
fixed before the run, so that p is a fixed-n test's.

The agreement with the paper is Kendall's tau-b (``scipy.stats.kendalltau``)
between the designs' mean errors and the paper's errors, over the designs the
paper reports, its "fail" units tied at the bottom; tau-b does not depend on how
many designs sit between two others, as a "bottom third" would. Beside it: whether
every "fail" unit ranks below the baseline.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from scipy import stats

from .leaderboard import DesignRow
from .stats import ALPHA

__all__ = ["Verdict", "make_verdict", "format_ranks"]

FULL_PREACT = "full_preact"


@dataclass
class Verdict:
    """What the study says, as machine-readable fields plus ``text``."""

    best: str | None = None
    best_unit: str | None = None
    n_designs: int = 0
    baseline: str | None = None  # the baseline design full_preact was compared with
    full_preact: str | None = None
    full_preact_rank: int | None = None
    full_preact_tied_with_best: bool | None = None
    diff: float | None = None  # full_preact minus baseline, points, mean over matched seeds
    ci: list[float] | None = None  # 95% t interval of that mean difference
    p: float | None = None  # paired t-test, two-sided
    p_holm: float | None = None
    n_seeds: int = 0  # matched seeds
    full_preact_better: bool | None = None  # lower error and p < alpha
    fail_units: list[str] = field(default_factory=list)  # the paper's "fail" units present
    fail_units_ranks: list[int | None] = field(default_factory=list)
    fail_units_below_baseline: bool | None = None  # every "fail" unit ranks below the baseline
    paper_tau: float | None = None  # Kendall's tau-b of mean errors against the paper's (fails tied last)
    paper_tau_p: float | None = None
    paper_tau_n: int = 0  # designs the paper reports
    seeds_fixed: bool = False  # the verdict's pair got a seed count fixed before the run (a race)
    # A sampled study's answer: its rank 1 (report.build.answer_seeds says how it is ranked)
    answer_min_seeds: int | None = None  # None: not a sampled study
    answer: str | None = None
    answer_seeds: int = 0
    answer_mean: float | None = None
    answer_ci: list[float] | None = None  # 95% t interval of its mean
    answer_single_draw: bool | None = None  # no design had answer_min_seeds seeds: the best single draw
    answer_vs_baseline: list[float | None] | None = None  # [diff, p, matched seeds]: answer minus baseline
    answer_tied: int = 0  # other designs the paired tests cannot tell from it
    fresh_check_needed: bool | None = None
    text: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def format_ranks(ranks: Sequence[int]) -> str:
    """``13-15`` for consecutive ranks, ``2, 9, 15`` otherwise."""
    rs = sorted(ranks)
    if len(rs) > 1 and rs == list(range(rs[0], rs[-1] + 1)):
        return f"{rs[0]}-{rs[-1]}"
    return ", ".join(str(r) for r in rs)


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.2g}"


def _comparison(v: Verdict) -> str:
    if v.baseline is None:
        return "there is no baseline design in its context to compare it with"
    if v.full_preact == v.baseline:
        return "it is the baseline itself"
    if v.p is None or v.diff is None or v.ci is None:
        return f"it cannot be tested against {v.baseline} ({v.n_seeds} matched seed(s); a paired test needs 2)"
    half = (v.ci[1] - v.ci[0]) / 2
    way = "lower" if v.diff < 0 else "higher"
    fixed = ", fixed before the run" if v.seeds_fixed else ""
    stat = f"paired t-test p {_p(v.p)}, n = {v.n_seeds} seeds{fixed}"
    size = f"{abs(v.diff):.1f} ± {half:.1f} points {way}"
    if v.p < ALPHA:
        return f"its error is {size} than {v.baseline}'s ({stat})"
    return f"its error is not significantly different from {v.baseline}'s ({size}, {stat})"


def _against_best(fp: DesignRow) -> str:
    """When full_preact is its own baseline (a `verify` study), what its test against the best says."""
    c = fp.vs_best
    if fp.rank == 1 or c is None or c.p is None or c.ci_low is None:
        return ""
    half = (c.ci_high - c.ci_low) / 2
    holm = f", Holm p {_p(fp.best_p_holm)}" if fp.best_p_holm is not None else ""
    return f"; against the best its error is {c.diff:+.1f} ± {half:.1f} points (paired t-test p {_p(c.p)}{holm}, n = {c.n} seeds)"


FAIL_ERROR = math.inf  # the paper's "fail" (above 20%): tied with each other, below every number


def paper_agreement(ranked: Sequence[DesignRow]) -> tuple[float, float, int] | None:
    """Kendall's tau-b between mean errors and the paper's, over the designs it reports (3 or more)."""
    pairs = [(r.summary.mean, FAIL_ERROR if r.paper_fails else r.paper_error) for r in ranked]
    pairs = [(m, p) for m, p in pairs if m is not None and p is not None]
    if len(pairs) < 3 or len({p for _, p in pairs}) < 2:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # constant input: tau is NaN, reported as none
        res = stats.kendalltau([m for m, _ in pairs], [p for _, p in pairs])
    if math.isnan(res.statistic):
        return None
    return float(res.statistic), float(res.pvalue), len(pairs)


def _search_answer(v: Verdict, ranked: Sequence[DesignRow], k: int) -> str:
    """What a sampled study found: its answer, on how many seeds, against the baseline, and what is left to check."""
    best = ranked[0]
    s = best.summary
    v.answer_min_seeds, v.answer, v.answer_seeds, v.answer_mean = k, best.design, s.n, s.mean
    v.answer_ci = [s.ci_low, s.ci_high] if s.ci_low is not None else None
    v.answer_single_draw = s.n < k
    v.answer_tied = sum(r.tied_with_best for r in ranked[1:])
    if v.answer_single_draw:
        text = f"The search's answer is {best.design}, a single draw of {s.mean:.1f}% (no design has {k} seeds yet)"
    else:
        text = f"The search's answer is {best.design}: {s.mean:.1f}% (95% CI {s.ci_low:.1f}-{s.ci_high:.1f}) over {s.n} seeds"
    c = best.vs_baseline
    if c is not None and c.p is not None and c.diff is not None:
        v.answer_vs_baseline = [c.diff, c.p, c.n]
        text += f", {c.diff:+.1f} points against the baseline (paired t-test p {_p(c.p)}, n = {c.n})"
    fp = next((r for r in ranked[1:] if r.preset == FULL_PREACT), None)
    if fp is not None and fp.vs_best is not None and fp.vs_best.p is not None and fp.vs_best.ci_low is not None:
        c = fp.vs_best
        text += f"; {FULL_PREACT} is {c.diff:+.1f} ± {(c.ci_high - c.ci_low) / 2:.1f} points from it (paired t-test p {_p(c.p)}, n = {c.n})"
    v.fresh_check_needed = v.answer_single_draw or v.answer_tied > 0
    if v.answer_single_draw:
        text += "; it needs more seeds, then `unitsearch verify` on fresh seeds"
    elif v.answer_tied:
        text += f"; {v.answer_tied} other design{'s are' if v.answer_tied > 1 else ' is'} tied with it on the search's seeds: `unitsearch verify` decides on fresh seeds"
    else:
        text += "; no other design is tied with it, but its mean is the best of several on the search's own seeds: `unitsearch verify` confirms it on fresh seeds"
    return text


def make_verdict(
    rows: Sequence[DesignRow], *, baseline_unit: str | None, seeds_fixed: bool = False, answer_min_seeds: int | None = None
) -> Verdict:
    """Fill the verdict from ranked leaderboard rows.

    ``answer_min_seeds``: for a sampled study, the seeds its answer needs to be more than a
    single draw (``report.build.answer_seeds``); the verdict then starts with what the search found.
    """
    ranked = [r for r in rows if r.rank is not None]
    v = Verdict(n_designs=len(ranked), seeds_fixed=seeds_fixed)
    if not ranked:
        v.text = "No design has a finished trial yet."
        return v
    v.best, v.best_unit = ranked[0].design, ranked[0].unit
    parts = [_search_answer(v, ranked, answer_min_seeds)] if answer_min_seeds is not None else []

    fp = next((r for r in ranked if r.preset == FULL_PREACT), None)
    if fp is None:
        parts.append(f"{FULL_PREACT} is not in this study; {v.best} ranks 1 of {v.n_designs}")
    else:
        v.full_preact, v.full_preact_rank, v.full_preact_tied_with_best = fp.design, fp.rank, fp.tied_with_best
        base = next((r for r in ranked if r.unit == baseline_unit and r.context == fp.context), None)
        if base is not None:
            v.baseline = base.design
        if fp.vs_baseline is not None:
            c = fp.vs_baseline
            v.diff, v.p, v.p_holm, v.n_seeds = c.diff, c.p, fp.baseline_p_holm, c.n
            v.ci = [c.ci_low, c.ci_high] if c.ci_low is not None else None
            if c.p is not None and c.diff is not None:
                v.full_preact_better = c.diff < 0 and c.p < ALPHA
        head = f"{fp.design} ranks {fp.rank} of {v.n_designs}"
        if fp.rank != 1:
            head += f" ({'tied with' if fp.tied_with_best else 'behind'} the best, {v.best})"
        tail = _against_best(fp) if v.full_preact == v.baseline else ""
        parts.append(f"{head}; {_comparison(v)}{tail}")

    fails = [r for r in rows if r.paper_fails]
    if fails:
        base_rank = next((r.rank for r in ranked if r.unit == baseline_unit), None)
        v.fail_units = [r.design for r in fails]
        v.fail_units_ranks = [r.rank for r in fails]
        ranks = [r for r in v.fail_units_ranks if r is not None]
        if base_rank is not None and ranks:
            v.fail_units_below_baseline = all(r > base_rank for r in ranks)
        text = f"the paper's 'fail' units ({', '.join(v.fail_units)})"
        if ranks:
            text += f" rank {format_ranks(ranks)} of {v.n_designs}"
            if v.fail_units_below_baseline is not None:
                text += f" ({'all' if v.fail_units_below_baseline else 'not all'} below {v.baseline or 'the baseline'}, rank {base_rank})"
        else:
            text += " have no finished trial"
        unranked = [r.design for r in fails if r.rank is None]
        if ranks and unranked:
            text += f"; {', '.join(unranked)} has no finished trial"
        parts.append(text)
    tau = paper_agreement(ranked)
    if tau is not None:
        v.paper_tau, v.paper_tau_p, v.paper_tau_n = tau
        parts.append(f"the ordering agrees with the paper's Tables 1-2 at Kendall's tau-b = {v.paper_tau:.2f} (p {_p(v.paper_tau_p)}, {v.paper_tau_n} designs)")
    v.text = "; ".join(parts) + "."
    return v
