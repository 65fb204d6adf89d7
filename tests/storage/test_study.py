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
    ],
)
def test_a_changed_factor_level_training_setting_refuses_to_resume(tmp_path, first, second):
    url = f"sqlite:///{tmp_path}/s.db"
    assert _run(tmp_path, url, first).exit_code == 0
    stored = optuna.load_study(study_name="tiny", storage=url).user_attrs["space"]

    result = _run(tmp_path, url, second)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "was trained with" in lines[0] and "--study NAME" in lines[0], result.output
    st = optuna.load_study(study_name="tiny", storage=url)
    assert st.user_attrs["space"] == stored and len(st.trials) == 4  # nothing rewritten, nothing queued


@pytest.mark.slow
def test_the_same_settings_written_alike_resume(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    assert _run(tmp_path, url, "lr = 1").exit_code == 0
    assert _run(tmp_path, url, "lr = 1.0").exit_code == 0  # 1 and 1.0 train the same network


def test_a_listed_factor_is_part_of_the_cells_not_of_the_experiment():
    base = {"profile": "smoke", "factors": {"unit": ["original"], "lr": [0.1, 0.05]}, "train": {}}
    more = {**base, "factors": {"unit": ["original"], "lr": [0.1, 0.05, 0.01]}}
    assert experiment(base, "synthetic") == experiment(more, "synthetic")
    assert experiment({**base, "factors": {"lr": 0.1}}, "synthetic") != experiment({**base, "factors": {"lr": 0.2}}, "synthetic")
