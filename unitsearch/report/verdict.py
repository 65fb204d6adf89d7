"""The verdict: the study's question answered in one sentence, and as fields.

The question is the paper's: does full pre-activation (Fig. 4e) beat the
baseline unit, and do the units the paper reports as "fail" (Table 1) end at the
bottom? ``full_preact`` is compared with the baseline design of its context by
the paired test on matched seeds (raw p: it is the one comparison planned in
advance; the Holm-adjusted p is kept beside it). "Bottom third" means the last
``ceil(n / 3)`` ranks of the n ranked designs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

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
    fail_units_in_bottom_third: bool | None = None
    bottom_third_from: int | None = None  # first rank of the bottom third
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
    stat = f"paired t-test p {_p(v.p)}, n = {v.n_seeds} seeds"
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


def make_verdict(rows: Sequence[DesignRow], *, baseline_unit: str | None) -> Verdict:
    """Fill the verdict from ranked leaderboard rows."""
    ranked = [r for r in rows if r.rank is not None]
    v = Verdict(n_designs=len(ranked))
    if not ranked:
        v.text = "No design has a finished trial yet."
        return v
    v.best, v.best_unit = ranked[0].design, ranked[0].unit
    parts = []

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
        n = v.n_designs
        v.bottom_third_from = n - math.ceil(n / 3) + 1
        v.fail_units = [r.design for r in fails]
        v.fail_units_ranks = [r.rank for r in fails]
        ranks = [r for r in v.fail_units_ranks if r is not None]
        v.fail_units_in_bottom_third = bool(ranks) and all(r >= v.bottom_third_from for r in ranks)
        where = "bottom third" if v.fail_units_in_bottom_third else f"not all in the bottom third, ranks {v.bottom_third_from}-{n}"
        text = f"the paper's 'fail' units ({', '.join(v.fail_units)})"
        text += f" rank {format_ranks(ranks)} of {n} ({where})" if ranks else " have no finished trial"
        unranked = [r.design for r in fails if r.rank is None]
        if ranks and unranked:
            text += f"; {', '.join(unranked)} has no finished trial"
        parts.append(text)
    v.text = "; ".join(parts) + "."
    return v
