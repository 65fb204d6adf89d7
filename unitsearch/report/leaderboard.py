"""The leaderboard: one row per unit design, aggregated over seeds, ranked, tested.

Ranking is by mean per-seed error, ties broken by the median, then by name.
Every design is compared with the baseline unit of the same context (depth,
width, bottleneck) and with the best design, each time by a paired t-test on the
seeds both have, Holm-corrected across the table (one family per comparison).

Tie rule (the ``=`` mark): the best design is tied with itself. Another design
is tied with the best when the Holm-adjusted p of its paired test against the
best is at least alpha (0.05). A design with fewer than 2 seeds matched with the
best cannot be tested; it counts as tied only when its mean error lies inside
the best design's 95% confidence interval (we cannot tell it apart with the
evidence we have); if the best has no interval either, only an equal mean ties.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..units import PRESETS, UnitSpec
from .collect import CONTEXT_KEYS, TrialRecord
from .stats import ALPHA, ERROR_BOUNDS, Paired, Summary, holm, paired_test, summarize

__all__ = ["DesignRow", "build_leaderboard", "placement"]


def placement(unit: str) -> tuple[str, str]:
    """Where BN and ReLU sit: the ops before the first conv and after the last (``"-"`` for none)."""
    try:
        segs = UnitSpec.parse(unit).segments()
    except ValueError:
        return "?", "?"
    name = lambda ops: "-".join(o.value for o in ops) or "-"  # noqa: E731
    return name(segs[0]), name(segs[-1])


@dataclass
class DesignRow:
    """One unit design (in one context) aggregated over its seeds."""

    design: str
    unit: str
    preset: str | None
    h: str
    f: str
    branch: str
    context: dict[str, Any]
    records: list[TrialRecord]  # every trial of the design, used or not
    errors: dict[Any, float]  # seed -> per-seed error, used trials only
    summary: Summary
    rank: int | None = None
    params: int | None = None
    final_train_loss: float | None = None
    vs_baseline: Paired | None = None  # this design minus the baseline
    baseline_p_holm: float | None = None
    vs_best: Paired | None = None  # this design minus the best
    best_p_holm: float | None = None
    tied_with_best: bool = False
    tie_rule: str = ""  # best, paired, ci or untested
    counts: dict[str, int] = field(default_factory=dict)
    race: dict[str, Any] | None = None  # a race's standing: seeds, protected, out (when and why it left)

    @property
    def preact(self) -> str:
        return placement(self.unit)[0]

    @property
    def tail(self) -> str:
        return placement(self.unit)[1]

    @property
    def paper_error(self) -> float | None:
        """The paper's CIFAR-10 error (Table 1/2; ResNet-164 column for bottleneck units where reported)."""
        p = PRESETS.get(self.preset or "")
        if p is None:
            return None
        if self.context.get("bottleneck") and p.paper_error_164 is not None:
            return p.paper_error_164
        return p.paper_error

    @property
    def paper_fails(self) -> bool:
        p = PRESETS.get(self.preset or "")
        return bool(p and p.fails_in_paper)

    @property
    def race_note(self) -> str:
        """How the design ended a race: ``protected``, ``in`` or ``out after 2: t p=0.012``."""
        if self.race is None:
            return ""
        out = self.race.get("out")
        if out is None:
            return "protected" if self.race.get("protected") else "in"
        why = "pruned" if out["reason"] == "pruned" else f"{out['reason']} p={out['p']:.2g}"
        return f"out after {out['seeds']}: {why}"

    @property
    def mark(self) -> str:
        return "=" if self.tied_with_best else ""


def _mean(values: Sequence[float | None]) -> float | None:
    xs = [v for v in values if v is not None]
    return sum(xs) / len(xs) if xs else None


def _row(design: str, recs: list[TrialRecord]) -> DesignRow:
    used = [r for r in recs if r.used]
    first = recs[0]
    counts = {s: sum(r.status == s for r in used) for s in ("complete", "pruned", "diverged")}
    counts["excluded"] = len(recs) - len(used)
    errors = {(r.seed if r.seed is not None else f"trial {r.number}"): r.error for r in used}
    return DesignRow(
        design=design,
        unit=first.unit,
        preset=first.preset,
        h=first.h,
        f=first.f,
        branch=first.branch,
        context=first.context,
        records=recs,
        errors=errors,  # type: ignore[arg-type]
        summary=summarize([r.error for r in used], bounds=ERROR_BOUNDS),  # type: ignore[misc]
        params=next((r.params for r in recs if r.params is not None), None),
        final_train_loss=_mean([r.final_train_loss for r in used]),
        counts=counts,
    )


def _is_tied(row: DesignRow, best: DesignRow) -> tuple[bool, str]:
    if row is best:
        return True, "best"
    if row.vs_best is not None and row.best_p_holm is not None:
        return row.best_p_holm >= ALPHA, "paired"
    s, b = row.summary, best.summary
    if b.ci_high is not None:
        return s.mean is not None and s.mean <= b.ci_high, "ci"
    return s.mean is not None and s.mean == b.mean, "untested"


def build_leaderboard(records: Sequence[TrialRecord], *, baseline_unit: str | None = None, min_seeds: int = 1) -> list[DesignRow]:
    """Rows ranked by mean error, with the baseline and best comparisons and tie marks.

    Args:
        records: From :func:`collect_trials`.
        baseline_unit: The baseline's canonical form; each design is compared with
            the baseline design of the same context. None skips the comparison.
        min_seeds: Designs with fewer seeds rank after every design that has this many, so
            that the top of a sampled study is decided on several seeds, never on one lucky
            draw (the search's answer, :func:`unitsearch.search.answer.search_answer`).
    """
    groups: dict[str, list[TrialRecord]] = {}
    for r in records:
        groups.setdefault(r.design, []).append(r)
    rows = [_row(d, recs) for d, recs in groups.items()]
    ranked = sorted((r for r in rows if r.summary.n), key=lambda r: (r.summary.n < min_seeds, r.summary.mean, r.summary.median, r.design))
    unranked = sorted((r for r in rows if not r.summary.n), key=lambda r: r.design)
    for i, row in enumerate(ranked, 1):
        row.rank = i

    if baseline_unit is not None:
        bases = {tuple(r.context[k] for k in CONTEXT_KEYS): r for r in ranked if r.unit == baseline_unit}
        tested = []
        for row in ranked:
            base = bases.get(tuple(row.context[k] for k in CONTEXT_KEYS))
            if base is not None and base is not row:
                row.vs_baseline = paired_test(row.errors, base.errors)
                tested.append(row)
        for row, p in zip(tested, holm([r.vs_baseline.p for r in tested])):  # type: ignore[union-attr]
            row.baseline_p_holm = p

    if ranked:
        best = ranked[0]
        others = ranked[1:]
        for row in others:
            row.vs_best = paired_test(row.errors, best.errors)
        for row, p in zip(others, holm([r.vs_best.p for r in others])):  # type: ignore[union-attr]
            row.best_p_holm = p
        for row in ranked:
            row.tied_with_best, row.tie_rule = _is_tied(row, best)
    return ranked + unranked
