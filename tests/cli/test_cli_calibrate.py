"""``unitsearch calibrate``: a cheap study against the paper and against a study of higher fidelity."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from unitsearch.cli import app

from .conftest import make_trial, one_line_error, write_study

runner = CliRunner()


def _errors(means: dict[str, float], spread: float, seeds: int, seed: int) -> dict[str, dict[int, float]]:
    rng = np.random.default_rng(seed)
    return {d: {s: round(m + float(rng.normal(0, spread)), 3) for s in range(seeds)} for d, m in means.items()}


def _study(url: str, name: str, means: dict[str, float], spread: float, seeds: int) -> None:
    errs = _errors(means, spread, seeds, len(name))
    write_study(url, name, [make_trial(d, s, "complete", e) for d, per in errs.items() for s, e in per.items()])


def test_the_command_compares_a_cheap_study_with_the_paper_and_with_a_study(tmp_path):
    url = f"sqlite:///{tmp_path / 'cal.db'}"
    means = {"full_preact": 30, "original": 35, "relu_preact": 34, "bn_after_add": 40, "conv_shortcut": 50,
             "const_scale_0": 80, "dropout_shortcut": 79}
    _study(url, "cheap", means, 1.0, 4)
    _study(url, "long", {d: m / 3 for d, m in means.items()}, 0.2, 3)
    res = runner.invoke(app, ["calibrate", "--storage", url, "--study", "cheap", "--format", "json"])
    assert res.exit_code == 0, res.output
    (row,) = json.loads(res.stdout)
    assert row["designs"] == 7 and row["seeds"] == 4 and row["pair"] == "full_preact - original"
    assert row["tau_b"] > 0.6 and row["diff"] < 0
    res = runner.invoke(app, ["calibrate", "--storage", url, "--study", "cheap", "--reference", "long", "--format", "json"])
    assert res.exit_code == 0, res.output
    (row,) = json.loads(res.stdout)
    assert row["tau_b"] > 0.8 and row["pair"] == "full_preact - original"  # the same order, the reference's own best
    table = runner.invoke(app, ["calibrate", "--storage", url, "--study", "cheap", "--reference", "long"])
    assert table.exit_code == 0 and "study 'long'" in table.stdout


def test_the_command_names_a_missing_study_in_one_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'cal.db'}"
    _study(url, "cheap", {"full_preact": 30, "original": 35, "relu_preact": 34}, 1.0, 3)
    line = one_line_error(runner.invoke(app, ["calibrate", "--storage", url, "--study", "nope"]))
    assert "nope" in line and "cheap" in line
    line = one_line_error(runner.invoke(app, ["calibrate", "--storage", url, "--study", "cheap", "--reference", "nope"]))
    assert "nope" in line
