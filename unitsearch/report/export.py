"""The report as data (:func:`report_to_dict`) and as text in every format, through ``render``.

* JSON: one object, :func:`report_to_dict` (the schema is in its docstring).
* CSV: the leaderboard rows, machine fields, all but :data:`CSV_LEFT_OUT`.
* Markdown: the verdict, the leaderboard, factor, importance and cost tables, to paste.
* Table: the same, as Rich tables for the terminal.
"""

from __future__ import annotations

import io
import math
from typing import Any

from rich.console import Console
from rich.text import Text

from ..render import Format, output_console, render, safe_text, to_json, to_text
from .build import Report
from .factors import FACTORS
from .leaderboard import DesignRow
from .stats import ALPHA, CONFIDENCE

__all__ = ["CSV_LEFT_OUT", "leaderboard_rows", "report_to_dict", "format_report", "print_report"]

CSV_LEFT_OUT = ("per_seed", "race")  # nested; the JSON export has them (CSV has race_note)

RULES = {
    "error": "per seed: complete -> val_error (or test_error with metric=test); diverged -> its stored chance "
    "error; pruned -> last reported validation error (biased up: it stopped early); skipped, failed, running excluded",
    "rank": "by mean per-seed error, ties broken by median, then design name",
    "ci": f"{CONFIDENCE:.0%} t interval of the mean over seeds (scipy.stats.t, n-1 dof)",
    "tests": "two-sided paired t-test (scipy.stats.ttest_rel) on seeds both designs have; Holm-corrected across "
    "the table, one family for the baseline comparisons and one for the comparisons with the best",
    "tie": f"tied with the best when the Holm-adjusted p >= {ALPHA}; with fewer than 2 matched seeds, when the "
    "design's mean lies inside the best design's confidence interval (equal means if the best has none)",
    "diff": "design minus comparator, percentage points, mean over matched seeds (negative = lower error)",
}


def _row_dict(row: DesignRow) -> dict[str, Any]:
    s, b, t = row.summary, row.vs_baseline, row.vs_best
    return {
        "rank": row.rank,
        "mark": row.mark,
        "tied_with_best": row.tied_with_best,
        "tie_rule": row.tie_rule,
        "design": row.design,
        "preset": row.preset,
        "unit": row.unit,
        "h": row.h,
        "f": row.f,
        "branch": row.branch,
        "preact": row.preact,
        "tail": row.tail,
        **row.context,
        "params": row.params,
        "n_seeds": s.n,
        "n_complete": row.counts["complete"],
        "n_pruned": row.counts["pruned"],
        "n_diverged": row.counts["diverged"],
        "n_excluded": row.counts["excluded"],
        "mean": s.mean,
        "ci_low": s.ci_low,
        "ci_high": s.ci_high,
        "ci_half": s.ci_half,
        "median": s.median,
        "std": s.std,
        "final_train_loss": row.final_train_loss,
        "paper_error": row.paper_error,
        "paper_fails": row.paper_fails,
        "baseline_diff": b.diff if b else None,
        "baseline_ci_low": b.ci_low if b else None,
        "baseline_ci_high": b.ci_high if b else None,
        "baseline_n": b.n if b else None,
        "baseline_p": b.p if b else None,
        "baseline_p_holm": row.baseline_p_holm,
        "best_diff": t.diff if t else None,
        "best_n": t.n if t else None,
        "best_p": t.p if t else None,
        "best_p_holm": row.best_p_holm,
        "race": row.race,
        "race_note": row.race_note,
        "epochs_trained": sum(r.epochs for r in row.records),
        "wall_seconds": sum(r.wall_seconds for r in row.records),
        "per_seed": [
            {"seed": r.seed, "trial": r.number, "status": r.status, "error": r.error}
            for r in sorted((r for r in row.records if r.used), key=lambda r: (r.seed is None, r.seed or 0, r.number))
        ],
    }


def leaderboard_rows(report: Report) -> list[dict[str, Any]]:
    """The leaderboard as machine rows (the JSON ``leaderboard`` entries)."""
    return [_row_dict(r) for r in report.rows]


def report_to_dict(report: Report) -> dict[str, Any]:
    """The whole report as one JSON-ready object.

    Schema: ``{"study", "storage", "metric", "baseline", "baseline_unit", "designs_vary_by",
    "alpha", "confidence", "rules", "leaderboard": [row], "verdict": Verdict fields, "warnings": [line],
    "factors": {factor: [{"level", "n_designs", "n_seeds", "mean", "ci_low", "ci_high",
    "median", "designs"}]}, "importance": {"evaluator", "n_trials", "factors", "skipped",
    "note"}, "cost": {"n_trials", "n_trials_in_study", "trials_by_status", "epochs_trained",
    "epochs_saved_by_pruning", "epochs_saved_by_skipping", "wall_seconds", "by_design"}}``.
    A row has the keys of ``_row_dict`` (rank, mark, design, preset, unit, h, f, branch,
    counts, mean, ci_low/ci_high/ci_half, median, paper_error, baseline_*, best_*, per_seed...).
    """
    return {
        "study": report.study,
        "storage": report.storage,
        "metric": report.metric.value,
        "baseline": report.baseline,
        "baseline_unit": report.baseline_unit,
        "designs_vary_by": report.varying,
        "alpha": ALPHA,
        "confidence": CONFIDENCE,
        "rules": RULES,
        "leaderboard": leaderboard_rows(report),
        "verdict": report.verdict.to_dict(),
        "warnings": report.warnings,
        "factors": report.factors,
        "importance": report.importance,
        "cost": report.cost,
    }


# --- display ----------------------------------------------------------------
def _num(x: float | None, fmt: str = ".2f") -> str:
    return "" if x is None else format(x, fmt)


def _p(p: float | None) -> str:
    return "" if p is None else ("<0.001" if p < 0.001 else f"{p:.3f}")


def _display_row(row: DesignRow, report: Report) -> dict[str, Any]:
    s = row.summary
    err = _num(s.mean)
    if s.ci_low is not None and s.ci_high is not None and s.mean is not None:
        symmetric = math.isclose(s.mean - s.ci_low, s.ci_high - s.mean, abs_tol=5e-3)
        err += f" ± {s.ci_half:.2f}" if symmetric else f" ({s.ci_low:.2f} to {s.ci_high:.2f})"  # clipped to [0, 100]
    paper = "fail" if row.paper_fails else _num(row.paper_error)
    base = report.baseline or "baseline"
    b = row.vs_baseline
    out = {"#": row.rank, "tie": row.mark, "design": row.design, "h": row.h, "branch": row.branch, "f": row.f}
    out.update({k: row.context[k] for k in report.varying})
    out.update(
        {
            "params": row.params,
            "seeds c/p/d": f"{row.counts['complete']}/{row.counts['pruned']}/{row.counts['diverged']}",
            **({"race": row.race_note} if row.race is not None else {}),
            f"{report.metric.value} error % (95% CI)": err,
            "median": _num(s.median),
            "train loss": _num(row.final_train_loss, ".3f"),
            "paper": paper,
            f"Δ vs {base}": _num(b.diff, "+.2f") if b else "",
            "p (Holm)": _p(row.baseline_p_holm),
        }
    )
    return out


def _factor_rows(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "level": e["level"],
            "designs": e["n_designs"],
            "seeds": e["n_seeds"],
            "mean error %": _num(e["mean"]),
            "95% CI": f"{_num(e['ci_low'])} to {_num(e['ci_high'])}" if e["ci_low"] is not None else "",
            "median": _num(e["median"]),
        }
        for e in entries
    ]


def _cost_rows(cost: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [
        {"design": d["design"], "trials": d["trials"], "epochs": d["epochs_trained"],
         "epochs saved": d["epochs_saved_by_pruning"], "wall s": round(d["wall_seconds"], 1)}
        for d in cost["by_design"]
    ]
    rows.append({"design": "total", "trials": cost["n_trials"], "epochs": cost["epochs_trained"],
                 "epochs saved": cost["epochs_saved_by_pruning"], "wall s": round(cost["wall_seconds"], 1)})
    return rows


def _sections(report: Report) -> list[tuple[str, list[dict[str, Any]]]]:
    """(title, display rows) for every table, in order."""
    out = [(f"Leaderboard: {report.study} ({report.metric.value} error, '=' tied with the best)",
            [_display_row(r, report) for r in report.rows])]
    for f in FACTORS:
        out.append((f"Mean error by {f}", _factor_rows(report.factors[f])))
    imp = report.importance
    out.append((f"Factor importance ({imp['evaluator'].split('(')[0]})", [{"factor": k, "importance": round(v, 3)} for k, v in imp["factors"].items()]))
    out.append(("Cost", _cost_rows(report.cost)))
    return out


def _markdown(report: Report) -> str:
    parts = [f"## unitsearch report: {report.study}", "", *(f"**{w}**\n" for w in report.warnings), f"**Verdict.** {report.verdict.text}", ""]
    for title, rows in _sections(report):
        if rows:
            parts.append(to_text(rows, Format.MARKDOWN, title=title))
    imp = report.importance
    if imp["skipped"] or imp["note"]:
        parts.append(f"Importance skips {', '.join(imp['skipped']) or 'nothing'}{'; ' + imp['note'] if imp['note'] else ''}.\n")
    c = report.cost
    parts.append(f"Epochs saved by skipping (pre-filter): {c['epochs_saved_by_skipping']}.\n")
    return "\n".join(parts)


# The terminal table leaves these out, first to last, until it fits: the unit's parts and the
# varying context are in the design's name already; the rest are details that the markdown,
# CSV and JSON exports (and a wide terminal) keep. Design names are never cut or wrapped.
NARROW_DROP = ("h", "branch", "f", "train loss", "median", "params", "p (Holm)", "paper", "seeds c/p/d", "epochs saved")
WHOLE = ("design", "level")


def print_report(report: Report, console: Console | None = None) -> None:
    """The report as Rich tables and the verdict, on ``console``."""
    console = console or output_console()
    base = f"Δ vs {report.baseline or 'baseline'}"
    drop = [*NARROW_DROP[:3], *report.varying, *NARROW_DROP[3:]]
    drop.insert(drop.index("paper"), base)
    for title, rows in _sections(report):
        if rows:
            render(rows, Format.TABLE, title=title, console=console, drop_order=drop, whole=WHOLE)
    for line in report.warnings:
        console.print(Text(safe_text(line), style="yellow"))
    console.print(Text.assemble(("Verdict.", "bold"), " ", safe_text(report.verdict.text)))


def format_report(report: Report, fmt: Format | str = Format.TABLE) -> str:
    """The report as text in ``fmt`` (``table`` is rendered without colour, 160 columns wide)."""
    fmt = Format(fmt)
    if fmt is Format.JSON:
        return to_json(report_to_dict(report))
    if fmt is Format.CSV:
        rows = leaderboard_rows(report)
        return to_text(rows, Format.CSV, columns=[k for k in rows[0] if k not in CSV_LEFT_OUT])
    if fmt is Format.MARKDOWN:
        return _markdown(report)
    buf = io.StringIO()
    print_report(report, Console(file=buf, width=160, color_system=None, force_terminal=False))
    return buf.getvalue()
