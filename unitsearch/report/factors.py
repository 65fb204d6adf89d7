"""Factor effects: mean error by shortcut h, by post-addition f, by BN/ReLU placement.

The unit's three parts are the factors of the paper's two ablations: Table 1
varies h, Table 2 / Fig. 4 varies where BN and ReLU sit (the branch, and f).
Besides the branch as a whole, two placement factors are read off
``UnitSpec.segments()``: ``preact`` (the ops before the first conv: "-" for the
post-activation units (a)-(c), "relu" for (d), "bn-relu" for (e)) and ``tail``
(the ops after the last conv, before the addition).

Means pool the per-seed errors of every design at a level, so they are
confounded with whatever else the designs at that level share. The importance
is PED-ANOVA (Optuna's ``PedAnovaImportanceEvaluator``, Watanabe et al. 2023):
for each of h, f and branch, how differently its levels are spread among the
runs in the best quarter of per-seed errors than among all runs, scaled so the
three sum to 1. It asks what gets a run into the best quarter, not how the
variance of the error splits among the factors.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution
from optuna.importance import BaseImportanceEvaluator, PedAnovaImportanceEvaluator

from .leaderboard import DesignRow
from .stats import ERROR_BOUNDS, summarize

__all__ = ["FACTORS", "IMPORTANCE_FACTORS", "factor_effects", "param_importance"]

FACTORS = ("h", "f", "branch", "preact", "tail")  # tables of mean error by level
IMPORTANCE_FACTORS = ("h", "f", "branch")  # the unit's own parts; preact/tail are functions of branch
TARGET_QUANTILE = 0.25  # "what gets a run into the best quarter"; 0.1 leaves too few runs in small studies


def _level(row: DesignRow, factor: str) -> str:
    return str(getattr(row, factor))


def factor_effects(rows: Sequence[DesignRow]) -> dict[str, list[dict[str, Any]]]:
    """For each factor, one entry per level: designs, seeds, mean error, 95% CI, median.

    Levels are sorted by mean error (best first). Designs without a per-seed
    error (all trials failed) do not count.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for factor in FACTORS:
        levels: dict[str, list[DesignRow]] = {}
        for row in rows:
            if row.summary.n:
                levels.setdefault(_level(row, factor), []).append(row)
        entries = []
        for level, members in levels.items():
            s = summarize([e for r in members for e in r.errors.values()], bounds=ERROR_BOUNDS)
            entries.append(
                {
                    "level": level,
                    "n_designs": len(members),
                    "n_seeds": s.n,
                    "mean": s.mean,
                    "ci_low": s.ci_low,
                    "ci_high": s.ci_high,
                    "median": s.median,
                    "designs": sorted(r.design for r in members),
                }
            )
        out[factor] = sorted(entries, key=lambda e: (e["mean"], e["level"]))
    return out


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[None]:
    old = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(old)


def _default_evaluator() -> tuple[BaseImportanceEvaluator, str]:
    return (
        PedAnovaImportanceEvaluator(target_quantile=TARGET_QUANTILE),
        f"PedAnovaImportanceEvaluator(target_quantile={TARGET_QUANTILE})",
    )


def param_importance(
    rows: Sequence[DesignRow], *, evaluator: BaseImportanceEvaluator | None = None
) -> dict[str, Any]:
    """Optuna's parameter importance of h, f and branch for the per-seed error.

    The default evaluator is PED-ANOVA with the best quarter as its target
    (:data:`TARGET_QUANTILE`); ``evaluator`` replaces it.

    An in-memory study gets one trial per per-seed error, with the design's h, f
    and branch as categorical parameters. Factors with a single level in the
    study carry no information and are skipped (listed under ``skipped``).

    Returns:
        ``{"evaluator", "n_trials", "factors": {name: importance}, "skipped": [...], "note"}``;
        importances sum to 1 when any are computed.
    """
    points = [(row, e) for row in rows for e in row.errors.values()]
    levels = {f: sorted({_level(r, f) for r, _ in points}) for f in IMPORTANCE_FACTORS}
    used = [f for f in IMPORTANCE_FACTORS if len(levels[f]) >= 2]
    result: dict[str, Any] = {
        "evaluator": "",
        "n_trials": len(points),
        "factors": {},
        "skipped": [f for f in IMPORTANCE_FACTORS if f not in used],
        "note": "",
    }
    if evaluator is None:
        evaluator, result["evaluator"] = _default_evaluator()
    else:
        result["evaluator"] = type(evaluator).__name__
    values = np.array([e for _, e in points], dtype=float)
    if not used:
        result["note"] = "no factor takes two values in this study"
        return result
    if values.size < 2 or np.ptp(values) == 0:
        result["note"] = "the errors do not vary"
        return result
    dists = {f: CategoricalDistribution(levels[f]) for f in used}
    with _quiet_optuna(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PED-ANOVA warns when few runs reach the target quantile
        study = optuna.create_study(direction="minimize")
        for row, err in points:
            study.add_trial(
                optuna.trial.create_trial(
                    params={f: _level(row, f) for f in used}, distributions=dists, value=float(err)
                )
            )
        imp = optuna.importance.get_param_importances(study, evaluator=evaluator)
    result["factors"] = {f: float(imp.get(f, 0.0)) for f in used}
    return result
