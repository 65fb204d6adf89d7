"""Plots: valid PNG files, and one learning-curve series per design."""

from __future__ import annotations

import pytest

from unitsearch.report import errors_figure, factors_figure, learning_curves_figure, mean_curve, write_plots

from .conftest import EPOCHS

PNG = b"\x89PNG\r\n\x1a\n"


def test_write_plots_gives_pngs(report, tmp_path):
    paths = write_plots(report, tmp_path / "plots")
    assert [p.name for p in paths] == ["learning_curves.png", "errors.png", "factors.png"]
    for p in paths:
        assert p.read_bytes()[:8] == PNG


def test_learning_curves_one_series_per_design(report):
    ranked = [r for r in report.rows if r.rank is not None]
    fig = learning_curves_figure(report)
    loss_ax, err_ax = fig.axes
    assert len(loss_ax.get_lines()) == len(ranked) == len(err_ax.get_lines())
    labels = [line.get_label() for line in err_ax.get_lines()]
    assert labels == [f"{r.rank}. {r.design}" for r in ranked]


def test_mean_curve_averages_seeds(report):
    row = next(r for r in report.rows if r.design == "original")
    epochs, err = mean_curve(row, "val_error")
    assert list(epochs) == list(range(1, EPOCHS + 1))
    # the fixture's curve is error + 3 * (EPOCHS - epoch); its mean over seeds is mean + 3 * (...)
    assert err[-1] == pytest.approx(row.summary.mean) and err[0] == pytest.approx(row.summary.mean + 3 * (EPOCHS - 1))


def test_error_and_factor_figures(report):
    fig = errors_figure(report)
    assert len(fig.axes[0].get_yticklabels()) == sum(r.rank is not None for r in report.rows)
    assert len(factors_figure(report).axes) == 5
