"""Factor effects by level and Optuna's parameter importance over h, f and branch."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.importance import PedAnovaImportanceEvaluator

from unitsearch.report import build_report, param_importance
from unitsearch.report.factors import FACTORS, TARGET_QUANTILE
from unitsearch.units import PRESETS, UnitSpec

from .conftest import make_trial


def _study(trials):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study()
    study.add_trials(trials)
    return study


@pytest.fixture(scope="module")
def report(ablation):
    return build_report(_study(ablation[0]))


def _parts(design: str) -> dict[str, str]:
    spec = PRESETS[design].spec if design in PRESETS else UnitSpec.parse(design)
    segs = spec.segments()
    name = lambda ops: "-".join(o.value for o in ops) or "-"  # noqa: E731
    return {"h": spec.shortcut.form, "f": "-".join(o.value for o in spec.post) or "id",
            "branch": "-".join(o.value for o in spec.branch), "preact": name(segs[0]), "tail": name(segs[-1])}


def test_factor_means_pool_per_seed_errors(report, ablation):
    val = ablation[1]
    for factor in FACTORS:
        pooled: dict[str, list[float]] = {}
        for design, errors in val.items():
            pooled.setdefault(_parts(design)[factor], []).extend(errors.values())
        got = {e["level"]: e for e in report.factors[factor]}
        assert set(got) == set(pooled), factor
        for level, xs in pooled.items():
            assert got[level]["mean"] == pytest.approx(np.mean(xs)) and got[level]["n_seeds"] == len(xs)
        means = [e["mean"] for e in report.factors[factor]]
        assert means == sorted(means)


def test_placement_levels_of_fig4(report):
    levels = {e["level"]: e["designs"] for e in report.factors["preact"]}
    assert levels["bn-relu"] == ["full_preact"] and levels["relu"] == ["relu_preact"]
    assert "original" in levels["-"]


def test_importance_equals_optuna_on_the_same_trials(report, ablation):
    val = ablation[1]
    points = [(_parts(d), e) for d, errs in val.items() for e in errs.values()]
    names = ["h", "f", "branch"]
    dists = {n: CategoricalDistribution(sorted({p[n] for p, _ in points})) for n in names}
    study = _study(
        [optuna.trial.create_trial(params={n: p[n] for n in names}, distributions=dists, value=e) for p, e in points]
    )
    want = optuna.importance.get_param_importances(
        study, evaluator=PedAnovaImportanceEvaluator(target_quantile=TARGET_QUANTILE)
    )
    imp = report.importance
    assert imp["n_trials"] == len(points) and imp["skipped"] == []
    assert imp["factors"] == pytest.approx(want)
    assert sum(imp["factors"].values()) == pytest.approx(1.0)


def test_factor_with_one_level_is_skipped():
    # Table 1 only: the shortcut varies, f and the branch do not.
    trials = [make_trial(p, s, "complete", 6.0 + i + 0.1 * s) for i, p in enumerate(["original", "conv_shortcut", "shortcut_gate_-6"]) for s in range(3)]
    rows = build_report(_study(trials)).rows
    imp = param_importance(rows)
    assert imp["skipped"] == ["f", "branch"] and list(imp["factors"]) == ["h"]
    assert imp["factors"]["h"] == pytest.approx(1.0)


def test_no_varying_factor_gives_empty_importance():
    trials = [make_trial("original", s, "complete", 6.0 + s) for s in range(3)]
    imp = param_importance(build_report(_study(trials)).rows)
    assert imp["factors"] == {} and imp["skipped"] == ["h", "f", "branch"] and imp["note"]
