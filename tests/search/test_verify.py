"""`unitsearch verify`: a study's best designs re-run on fresh seeds, with the reference unit."""

from __future__ import annotations

import collections

import optuna
import pytest
from typer.testing import CliRunner

from unitsearch.cli import app
from unitsearch.errors import UserError
from unitsearch.report import load_report
from unitsearch.search import load_space, parse_space
from unitsearch.search.verify import verify_space
from unitsearch.units import PRESETS

SPACE = """
profile = "smoke"
seeds = [0, 1]

[factors]
unit = ["original", "relu_preact", "bn_after_add"]

[pruner]
name = "none"
"""


def test_verify_space_keeps_the_fidelity_and_trains_every_unit_on_every_fresh_seed():
    space = load_space("paper_ablations")
    units = [PRESETS["relu_preact"].spec.form, PRESETS["full_preact"].spec.form]
    v = verify_space(space, units, seeds=[1000, 1001, 1002], name="x-verify")
    assert v.is_grid and v.pruner == {"name": "none"} and v.profile == space.profile and v.train == space.train
    assert v.factors["unit"] == units and v.n_trials == 6 and v.name == "x-verify"


def test_verify_space_refuses_reused_seeds_and_spaces_that_vary_more_than_the_unit(tmp_path):
    space = load_space("paper_ablations")
    with pytest.raises(UserError, match="fresh"):
        verify_space(space, ["original"], seeds=[2, 3], name="v")
    varied = parse_space(SPACE, "s.toml")
    varied.factors["depth"] = [8, 14]
    with pytest.raises(UserError, match="also varies depth"):
        verify_space(varied, ["original"], seeds=[1000, 1001], name="v")


@pytest.mark.slow
def test_verify_reruns_the_top_designs_and_the_reference_on_fresh_seeds(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "three.toml").write_text(SPACE)
    runner = CliRunner()
    first = runner.invoke(app, ["run", "--space", str(tmp_path / "three.toml"), "--workers", "1"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    result = runner.invoke(app, ["verify", "--study", "three", "--top", "2", "--seeds", "2", "--workers", "1"], catch_exceptions=False)
    assert result.exit_code == 0, result.output

    ranked = sorted((r for r in load_report("sqlite:///studies.db", "three").rows if r.rank), key=lambda r: r.rank)
    top2 = [r.unit for r in ranked[:2]]

    verify = optuna.load_study(study_name="three-verify", storage="sqlite:///studies.db")
    done = collections.Counter((t.user_attrs["unit"], t.user_attrs["seed"]) for t in verify.trials if t.state.name == "COMPLETE")
    expected = {*top2, PRESETS["full_preact"].spec.form}
    assert {u for u, _ in done} == expected
    assert set(done) == {(u, s) for u in expected for s in (1000, 1001)} and set(done.values()) == {1}
    assert "three-verify" in result.output  # its leaderboard is printed
