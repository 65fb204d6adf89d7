"""``unitsearch report``: parse the arguments, call :mod:`unitsearch.report`, print or write."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..outputs import check_out_dir, check_out_file, saving, storage_files, write_text
from ..render import Format
from ..report import PLOT_FILES, Metric, format_report, load_report, print_report, write_plots
from ..storage import DEFAULT_STORAGE
from .options import FormatOpt, ReadStorageOpt


def report(
    study: Annotated[
        list[str] | None,
        typer.Option("--study", metavar="<str>", help="Study name; optional when the storage holds one study. Repeat it to pool runs of one setting on other seeds (run --seed-offset) into one report."),
    ] = None,
    storage: ReadStorageOpt = DEFAULT_STORAGE,
    baseline: Annotated[
        str | None,
        typer.Option("--baseline", help="Baseline unit: preset name or canonical form (default: the study's baseline attribute, else original)."),
    ] = None,
    metric: Annotated[Metric, typer.Option("--metric", help="Rank by validation or test error.")] = Metric.VAL,
    fmt: FormatOpt = Format.TABLE,
    out: Annotated[Path | None, typer.Option("--out", help="Write the output to this file instead of stdout.")] = None,
    plots: Annotated[Path | None, typer.Option("--plots", help="Write learning-curve, error and factor plots (PNG) here.")] = None,
) -> None:
    """Leaderboard over seeds with CIs and paired tests, the paper beside it, verdict, factor effects, cost.

    Reads the study without writing to it, so it can run while workers still train.
    """
    # Every target is checked before the study is read: nothing is lost, no work is wasted.
    protected = storage_files(storage)
    if out is not None:
        check_out_file(out, protected=protected, flag="--out")
    if plots is not None:
        check_out_dir(plots, protected=protected, names=PLOT_FILES, flag="--plots")
    rep = load_report(storage, study, metric=metric, baseline=baseline)
    if out is not None:
        write_text(out, format_report(rep, fmt), flag="--out")
        typer.echo(f"wrote {out}", err=True)
    elif fmt is Format.TABLE:
        print_report(rep)
    else:
        typer.echo(format_report(rep, fmt), nl=False)
    if plots is not None:
        with saving(plots, "--plots"):
            paths = write_plots(rep, plots)
        for path in paths:
            typer.echo(f"wrote {path}", err=True)
