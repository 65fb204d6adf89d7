"""Figures of a report, drawn on matplotlib's Agg canvas (no display, no pyplot state).

* learning curves: training loss and validation error per epoch, one series per
  design averaged over its seeds (the paper's Figs. 1 and 6);
* error per design with its 95% confidence interval, the paper's number beside it;
* factor effects: mean error by level of each factor, with intervals.

Each ``*_figure`` function returns the :class:`~matplotlib.figure.Figure` so that
tests can count its series; :func:`write_plots` saves them all as PNG files.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .build import Report
from .factors import FACTORS
from .leaderboard import DesignRow

__all__ = ["mean_curve", "learning_curves_figure", "errors_figure", "factors_figure", "write_plots", "PLOT_FILES"]

_FAIL_LINE = 20.0  # the paper's "fail": error above 20% (Table 1 note)


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _num(x: object) -> float:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan


def mean_curve(row: DesignRow, key: str) -> tuple[np.ndarray, np.ndarray]:
    """Epochs and the mean of ``key`` over the design's seeds at each epoch (seeds that reached it)."""
    by_epoch: dict[int, list[float]] = {}
    for rec in row.records:
        if rec.used:
            for i, point in enumerate(rec.curve, 1):
                by_epoch.setdefault(int(point.get("epoch", i)), []).append(_num(point.get(key)))
    epochs = np.array(sorted(by_epoch), dtype=int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an epoch where every seed diverged is NaN
        means = np.array([np.nanmean(by_epoch[e]) for e in epochs], dtype=float)
    return epochs, means


def _colors(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab20" if n > 10 else "tab10"]
    return [cmap(i % cmap.N) for i in range(n)]


def learning_curves_figure(report: Report) -> Figure:
    """Two panels, training loss (log scale) and validation error, one line per design with a curve."""
    rows = [r for r in report.rows if r.rank is not None and any(rec.used and rec.curve for rec in r.records)]
    fig = _figure(12, 4.5)
    ax_loss, ax_err = fig.subplots(1, 2)
    for row, color in zip(rows, _colors(len(rows))):
        label = f"{row.rank}. {row.design}"
        e, loss = mean_curve(row, "train_loss")
        ax_loss.plot(e, np.where(loss > 0, loss, np.nan), color=color, linestyle="--", label=label)
        e, err = mean_curve(row, "val_error")
        ax_err.plot(e, err, color=color, label=label)
    ax_loss.set(xlabel="epoch", ylabel="training loss (mean over seeds)", title="Training loss")
    if rows:
        ax_loss.set_yscale("log")
    ax_err.set(xlabel="epoch", ylabel="validation error % (mean over seeds)", title="Validation error")
    ax_err.legend(fontsize=7, loc="upper right")
    fig.suptitle(f"{report.study}: learning curves")
    return fig


def errors_figure(report: Report) -> Figure:
    """Mean error with its 95% CI per ranked design (best at the top), paper error as crosses."""
    rows = [r for r in report.rows if r.rank is not None]
    fig = _figure(9, 1.6 + 0.35 * max(len(rows), 1))
    ax = fig.subplots()
    y = np.arange(len(rows))[::-1]
    mean = np.array([r.summary.mean for r in rows], dtype=float)
    half = np.array([r.summary.ci_half if r.summary.ci_half is not None else 0.0 for r in rows], dtype=float)
    colors = ["tab:green" if r.tied_with_best else "tab:blue" for r in rows]
    ax.errorbar(mean, y, xerr=half, fmt="none", ecolor="gray", capsize=3)
    ax.scatter(mean, y, c=colors, zorder=3, label="this study (95% CI; green = tied with best)")
    paper = [(r.paper_error if not r.paper_fails else _FAIL_LINE, yy) for r, yy in zip(rows, y) if r.preset]
    if paper:
        ax.scatter(*zip(*paper), marker="x", color="tab:red", zorder=3, label=f"paper (fail plotted at {_FAIL_LINE:g})")
    ax.set_yticks(y, [f"{r.rank}. {r.design}" for r in rows], fontsize=8)
    ax.set(xlabel=f"{report.metric.value} error %")
    fig.suptitle(f"{report.study}: error per design")
    fig.legend(fontsize=7, loc="outside lower center", ncols=2)
    return fig


def factors_figure(report: Report) -> Figure:
    """One panel per factor: mean error and 95% CI for each level."""
    fig = _figure(3.2 * len(FACTORS), 4)
    fig.suptitle(f"{report.study}: mean error by factor level (95% CI)")
    for ax, factor in zip(fig.subplots(1, len(FACTORS), squeeze=False)[0], FACTORS):
        entries = report.factors.get(factor, [])
        x = np.arange(len(entries))
        mean = np.array([e["mean"] for e in entries], dtype=float)
        lo = np.array([e["mean"] - e["ci_low"] if e["ci_low"] is not None else 0.0 for e in entries], dtype=float)
        ax.errorbar(x, mean, yerr=lo, fmt="o", capsize=3)
        ax.set_xticks(x, [e["level"] for e in entries], rotation=60, ha="right", fontsize=7)
        ax.set(title=f"by {factor}", ylabel="mean error %")
    return fig


PLOT_FILES = ("learning_curves.png", "errors.png", "factors.png")  # what write_plots saves


def write_plots(report: Report, directory: str | Path) -> list[Path]:
    """Save ``learning_curves.png``, ``errors.png`` and ``factors.png`` in ``directory``; return the paths."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    figures = {
        "learning_curves.png": learning_curves_figure(report),
        "errors.png": errors_figure(report),
        "factors.png": factors_figure(report),
    }
    paths = []
    for name, fig in figures.items():
        path = out / name
        fig.savefig(path, dpi=110)
        paths.append(path)
    return paths
