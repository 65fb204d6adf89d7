"""Read a study and report on it: leaderboard with statistics, verdict, factor effects, cost, plots.

``load_report(storage, study)`` reads the study once (read-only) and returns a
:class:`Report`; ``format_report`` / ``print_report`` / ``report_to_dict`` export
it and ``write_plots`` draws it. Each concern is its own module:
``collect`` (trials -> per-seed records), ``stats`` (intervals, paired tests,
Holm), ``leaderboard``, ``factors``, ``cost``, ``verdict``, ``build``, ``export``
and ``plots``.
"""

from .build import DEFAULT_BASELINE, Report, build_report, load_report
from .collect import Metric, TrialRecord, collect_trials, study_names
from .cost import cost_ledger
from .export import format_report, leaderboard_rows, print_report, report_to_dict
from .factors import factor_effects, param_importance
from .leaderboard import DesignRow, build_leaderboard, placement
from .plots import PLOT_FILES, errors_figure, factors_figure, learning_curves_figure, mean_curve, write_plots
from .stats import ALPHA, CONFIDENCE, Paired, Summary, holm, paired_test, summarize
from .verdict import Verdict, make_verdict

__all__ = [
    "ALPHA",
    "CONFIDENCE",
    "DEFAULT_BASELINE",
    "DesignRow",
    "Metric",
    "PLOT_FILES",
    "Paired",
    "Report",
    "Summary",
    "TrialRecord",
    "Verdict",
    "build_leaderboard",
    "build_report",
    "collect_trials",
    "cost_ledger",
    "errors_figure",
    "factor_effects",
    "factors_figure",
    "format_report",
    "holm",
    "leaderboard_rows",
    "learning_curves_figure",
    "load_report",
    "make_verdict",
    "mean_curve",
    "paired_test",
    "param_importance",
    "placement",
    "print_report",
    "report_to_dict",
    "study_names",
    "summarize",
    "write_plots",
]
