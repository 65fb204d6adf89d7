"""A study resumes only with the settings that shaped its trials, wherever the space file sets them."""

from __future__ import annotations

import optuna
import pytest
from typer.testing import CliRunner

from unitsearch.cli import app
from unitsearch.storage import experiment

runner = CliRunner()

SPACE = """
profile = "smoke"
seeds = [0, 1]

[factors]
unit = ["original", "full_preact"]
{extra}
"""


def _run(tmp_path, url, extra):
    path = tmp_path / "tiny.toml"
    path.write_text(SPACE.format(extra=extra))
    return runner.invoke(app, ["run", "--space", str(path), "--storage", url, "--n-trials", "0"])


@pytest.mark.slow
@pytest.mark.parametrize(
    "first, second",
    [
        ("lr = 0.1", "lr = 0.05"),  # a training setting under [factors]
        ("lr = 0.1", ""),  # dropped: the profile's value is another experiment
        ("depth = 8", "depth = 14"),  # a fixed network factor
        ("", "[train]\nlr = 0.05"),
        ('arch = "cifar"\ndepth = 50', 'arch = "imagenet"\ndepth = 50'),  # the network's layout, fixed
        ("depth = [8, 14]", "depth = [8, 20]"),  # another list of choices: Optuna refuses its trials
        ("depth = [8, 14]", "depth = [14, 8]"),  # the same choices in another order, to Optuna another list
        ("depth = [8, 14]", "depth = 8"),
    ],
)
def test_a_changed_factor_level_training_setting_refuses_to_resume(tmp_path, first, second):
    url = f"sqlite:///{tmp_path}/s.db"
    assert _run(tmp_path, url, first).exit_code == 0
    before = optuna.load_study(study_name="tiny", storage=url)
    stored, n_trials = before.user_attrs["space"], len(before.trials)

    result = _run(tmp_path, url, second)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "was trained with" in lines[0] and "--study NAME" in lines[0], result.output
    st = optuna.load_study(study_name="tiny", storage=url)
    assert st.user_attrs["space"] == stored and len(st.trials) == n_trials  # nothing rewritten, nothing queued


@pytest.mark.slow
def test_the_same_settings_written_alike_resume(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    assert _run(tmp_path, url, "lr = 1").exit_code == 0
    assert _run(tmp_path, url, "lr = 1.0").exit_code == 0  # 1 and 1.0 train the same network


def test_every_list_of_choices_and_every_range_is_part_of_the_experiment():
    base = {"profile": "smoke", "factors": {"unit": ["original"], "lr": [0.1, 0.05]}, "train": {}}
    assert experiment(base, "synthetic") != experiment({**base, "factors": {"unit": ["original"], "lr": [0.1, 0.05, 0.01]}}, "synthetic")
    assert experiment(base, "synthetic") != experiment({**base, "factors": {"unit": ["original", "full_preact"], "lr": [0.1, 0.05]}}, "synthetic")
    assert experiment({**base, "factors": {"depth": [8, 14]}}, "s") == experiment({**base, "factors": {"depth": [8.0, 14]}}, "s")
    assert experiment({**base, "factors": {"lr": 0.1}}, "synthetic") != experiment({**base, "factors": {"lr": 0.2}}, "synthetic")
    ranged = lambda **r: {**base, "factors": {"lr": {"low": 0.01, "high": 0.1, "log": True, "integer": False, **r}}}  # noqa: E731
    assert experiment(ranged(high=0.2), "s") != experiment(ranged(), "s")
    assert experiment(ranged(log=False), "s") != experiment(ranged(), "s")


@pytest.mark.slow
def test_a_trained_study_refuses_another_list_of_choices_and_writes_nothing(tmp_path):
    """Its trials recorded the old choices, so Optuna would fail every new trial: the run is refused before it queues one."""
    url = f"sqlite:///{tmp_path}/s.db"
    path = tmp_path / "tiny.toml"
    path.write_text(SPACE.format(extra="depth = [8, 14]").replace("seeds = [0, 1]", "seeds = [0]"))
    assert runner.invoke(app, ["run", "--space", str(path), "--storage", url, "--workers", "1"]).exit_code == 0
    before = optuna.load_study(study_name="tiny", storage=url)
    stored, trials = before.user_attrs, [(t.number, t.state) for t in before.trials]

    path.write_text(SPACE.format(extra="depth = [8, 20]").replace("seeds = [0, 1]", "seeds = [0]"))
    result = runner.invoke(app, ["run", "--space", str(path), "--storage", url, "--workers", "1"])
    assert result.exit_code == 2, result.output
    (line,) = [line for line in result.output.splitlines() if line.strip()]
    assert "'depth': [8, 14]}; this run asks for" in line and line.endswith("'depth': [8, 20]}. Resume it with the same settings, or start a new study with --study NAME")
    after = optuna.load_study(study_name="tiny", storage=url)
    assert after.user_attrs == stored and [(t.number, t.state) for t in after.trials] == trials


def test_a_refusal_names_only_what_differs():
    from unitsearch.storage import describe, difference

    before = {"profile": "cpu", "data": "synthetic", "train": {"lr": 0.1, "epochs": 8}, "network": {}, "factors": {"unit": ["a", "b"]}}
    now = {"profile": "cpu", "data": "synthetic", "train": {"lr": 0.05, "epochs": 8}, "network": {"depth": 20}, "factors": {"unit": ["a", "b"]}}
    was, asks = difference(before, now)
    assert describe(was) == "train overrides {'lr': 0.1}, no network"
    assert describe(asks) == "train overrides {'lr': 0.05}, network {'depth': 20}"
    assert difference(before, before) == ({}, {})
