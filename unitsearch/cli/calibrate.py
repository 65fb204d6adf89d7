"""``unitsearch calibrate``: how faithful a cheap profile's study is to a reference, and what it costs."""

from __future__ import annotations

from typing import Annotated

import typer

from ..render import Format
from ..report.calibration import calibrate as measure
from ..storage import DEFAULT_STORAGE
from .options import FormatOpt, ReadStorageOpt
from .output import emit


def calibrate(
    study: Annotated[list[str], typer.Option("--study", help="A study of the cheap profile (repeat to compare several).")],
    storage: ReadStorageOpt = DEFAULT_STORAGE,
    reference: Annotated[str, typer.Option("--reference", help="paper (its reported errors) or the name of a study at a higher fidelity.")] = "paper",
    reference_storage: Annotated[str | None, typer.Option("--reference-storage", help="Where the reference study is (default: --storage).")] = None,
    baseline: Annotated[str | None, typer.Option("--baseline", help="The design the verdict compares with (default: the study's).")] = None,
    alpha: Annotated[float, typer.Option("--alpha", min=1e-6, max=0.5, help="The verdict's level, for the power column.")] = 0.01,
    seeds: Annotated[int, typer.Option("--seeds", min=2, max=100, help="The seeds a verdict would get, for the power column.")] = 10,
    fmt: FormatOpt = Format.TABLE,
) -> None:
    """Rank agreement with the reference (Kendall's tau-b, bootstrap interval over seeds), cost per trial, and the
    seeds needed to separate the reference's best design from the baseline.

    Train the cheap study first, every design on several seeds with no pruner:
    `unitsearch run --space paper_ablations --profile smoke --plan grid --pruner none`.
    """
    label, rows = measure(storage, study, reference=reference, reference_storage=reference_storage, baseline=baseline, alpha=alpha, power_seeds=seeds)
    emit(rows, fmt, title=f"Calibration against {label}: tau-b with a 90% bootstrap interval over seeds; the pair's paired t-test, its power at {seeds} seeds and alpha {alpha:g}, and the seeds it needs for 80%")
