"""Studies with known per-seed errors, built through Optuna's API (no training).

``ablation_trials()`` returns the trials of a small Table 1 + Table 2 study and the
per-seed error each design should contribute (``EXPECTED``), written out by hand
from the rules in ``unitsearch.report.collect`` so that the tests check the code
against numbers it did not compute.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState

from unitsearch.report import build_report
from unitsearch.units import PRESETS, UnitSpec

CHANCE = 90.0  # 100 * (1 - 1/10): what a diverged CIFAR-10 network scores
EPOCHS = 6  # config.epochs of every trial
CUSTOM = "h=identity;branch=bn-conv-bn-relu-conv;f=id"  # not a preset
SEEDS = range(5)


def _form(unit: str) -> str:
    return UnitSpec.parse(unit).form if "=" in unit else PRESETS[unit].spec.form


def make_trial(
    unit: str,
    seed: int | None,
    status: str,
    error: float | None = None,
    *,
    epochs: int = EPOCHS,
    test_error: float | None = None,
    depth: int = 20,
    width: int = 8,
    bottleneck: bool = False,
) -> FrozenTrial:
    """A trial as the search objective stores it (docs/DESIGN.md), ending with ``error``."""
    spec = UnitSpec.parse(_form(unit))
    curve = []
    for e in range(1, epochs + 1):
        val = error + 3.0 * (epochs - e) if error is not None else 50.0
        loss = float("inf") if status == "diverged" and e > 2 else 2.0 / e
        curve.append({"epoch": e, "train_loss": loss, "train_acc": 0.5, "val_loss": 1.0, "val_error": val,
                      "lr": 0.1, "seconds": 1.5, "images_per_s": 1000.0})
    attrs: dict[str, Any] = {
        "plan_key": f"{unit}#seed={seed}", "cell": "{}", "unit": spec.form, "preset": unit if "=" not in unit else "",
        "h": spec.shortcut.form, "f": "-".join(o.value for o in spec.post) or "id",
        "branch": "-".join(o.value for o in spec.branch), "profile": "smoke", "depth": depth, "width": width,
        "bottleneck": bottleneck, "params": 1000 + len(spec.branch), "macs": 10_000, "status": status,
        "reason": "" if status == "complete" else status, "curve": curve,
        "final_train_loss": curve[-1]["train_loss"] if curve else None, "epochs": len(curve),
        "wall_seconds": 1.5 * len(curve), "images_per_s": 1000.0, "config": {"epochs": EPOCHS},
        "manifest": {"optuna": optuna.__version__},
    }
    if seed is not None:
        attrs["seed"] = seed
    if status in ("complete", "pruned", "diverged"):
        attrs["val_error"] = error
    if test_error is not None:
        attrs["test_error"] = test_error
    inter = {c["epoch"]: c["val_error"] for c in curve} if status != "skipped" else {}
    state = {"complete": TrialState.COMPLETE, "diverged": TrialState.COMPLETE, "pruned": TrialState.PRUNED,
             "skipped": TrialState.PRUNED, "failed": TrialState.FAIL}[status]
    value = error if status in ("complete", "diverged", "pruned") else None
    if status == "skipped":
        attrs.pop("curve"); attrs["epochs"] = 0; attrs["wall_seconds"] = 0.0  # noqa: E702
    return optuna.trial.create_trial(state=state, value=value, user_attrs=attrs, intermediate_values=inter)


def ablation_trials() -> tuple[list[FrozenTrial], dict[str, dict[int, float]], dict[str, dict[int, float]]]:
    """Trials, and the expected per-seed errors by design for the val and test metrics."""
    rng = np.random.default_rng(1234)
    _noise = lambda: float(np.round(rng.normal(0, 0.4), 3))  # noqa: E731
    means = {"full_preact": 6.0, "relu_preact": 6.3, "original": 7.2, "bn_after_add": 8.0,
             "conv_shortcut": 11.0, "exclusive_gate_0": 30.0}
    trials: list[FrozenTrial] = []
    val: dict[str, dict[int, float]] = {}
    test: dict[str, dict[int, float]] = {}

    def add(unit: str, seed: int | None, status: str, err: float | None, *, count: bool = True, **kw: Any) -> None:
        te = None
        if status == "complete":
            te = round(err + 0.5 + _noise(), 3)
        trials.append(make_trial(unit, seed, status, err, test_error=te, **kw))
        if count and err is not None:
            name = unit if "=" not in unit else _form(unit)
            val.setdefault(name, {})[seed] = err
            test.setdefault(name, {})[seed] = te if te is not None else err  # pruned/diverged keep their val/chance

    for name, m in means.items():
        for s in SEEDS:
            err = round(m + _noise(), 3)
            if name == "bn_after_add" and s == 3:
                add(name, s, "pruned", err + 4.0, epochs=3)  # the last reported error of a stopped run
            elif name == "conv_shortcut" and s == 0:
                add(name, s, "failed", None, count=False, epochs=2)  # excluded: seed 0 is missing
            elif name == "full_preact" and s == 4:
                add(name, s, "pruned", 40.0, count=False, epochs=2)  # an earlier try of the same seed...
                add(name, s, "complete", err)  # ...retried to completion: this one counts
            else:
                add(name, s, "complete", err)
    for s in SEEDS:
        add("dropout_shortcut", s, "diverged", CHANCE, epochs=3)
        if s < 3:
            add("const_scale_0.5", s, "diverged", CHANCE, epochs=2)
        else:
            add("const_scale_0.5", s, "pruned", round(60.0 + _noise(), 3), epochs=2)
    add(CUSTOM, 0, "complete", 6.3)  # one seed only: the tie rule without a paired test
    add("shortcut_gate_0", 0, "skipped", None, count=False)  # pre-filter: no design row statistics
    trials.append(optuna.trial.create_trial(state=TrialState.RUNNING))  # a worker that just asked
    return trials, val, test


@pytest.fixture(scope="session")
def ablation():
    return ablation_trials()


@pytest.fixture(scope="module")
def report(ablation):
    """The ablation study's report, built once per test module (a module may define its own)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="abl")
    study.add_trials(ablation[0])
    return build_report(study)


def write_study(url: str, name: str, trials: list[FrozenTrial], *, baseline: str | None = "original") -> optuna.Study:
    """Store ``trials`` in a new study at ``url``."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=url, study_name=name, direction="minimize")
    if baseline:
        study.set_user_attr("baseline", baseline)
    study.add_trials(trials)
    return study


@pytest.fixture(scope="session")
def ablation_db(tmp_path_factory, ablation):
    """A SQLite file holding the ablation study as ``abl``; returns (url, name)."""
    path = tmp_path_factory.mktemp("db") / "studies.db"
    url = f"sqlite:///{path}"
    write_study(url, "abl", ablation[0])
    return url, "abl"
