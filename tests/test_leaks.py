"""No secret and no markup leaks: through `run`, its resume, `worker` and `report`, end to end."""

from __future__ import annotations

import json

import optuna
import pytest
from typer.testing import CliRunner

from unitsearch.cli import app

runner = CliRunner()
SECRET = "hunter2"

TINY = """
profile = "smoke"
seeds = [0]

[train]
epochs = 1

[factors]
unit = ["original"]

[pruner]
name = "none"
"""


def _space(tmp_path, text=TINY):
    path = tmp_path / "tiny.toml"
    path.write_text(text)
    return str(path)


def _all_text(url: str) -> str:
    """Every attribute the study database holds, as text."""
    storage = optuna.storages.RDBStorage(url.split("?")[0])
    try:
        parts = []
        for s in storage.get_all_studies():
            parts.append(json.dumps([s.study_name, s.user_attrs, s.system_attrs], default=str))
            for t in storage.get_all_trials(s._study_id):
                parts.append(json.dumps([t.user_attrs, t.system_attrs, t.params], default=str))
        return "\n".join(parts)
    finally:
        storage.engine.dispose()


@pytest.mark.slow
def test_a_query_string_password_never_appears_in_any_output(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path}/s.db?password={SECRET}&sslpassword={SECRET}"
    space = _space(tmp_path)
    outputs = []
    for args in (
        ["run", "--space", space, "--storage", url],
        ["run", "--space", space, "--storage", url, "--profile", "cpu", "--study", "tiny"],  # refused: names the URL
        ["worker", "--storage", url, "--study", "nope"],  # refused: names the URL
        ["report", "--storage", url, "--format", "json"],
        ["report", "--storage", url, "--format", "markdown"],
        ["report", "--storage", url],
    ):
        res = runner.invoke(app, args)
        outputs.append(res.output)
        assert res.exception is None or isinstance(res.exception, SystemExit), res.output
    assert outputs[1].startswith("error: ") and "***" in outputs[1]
    assert "***" in json.loads(outputs[3])["storage"]
    assert all(SECRET not in out for out in outputs), [o for o in outputs if SECRET in o]
    assert SECRET not in _all_text(url)


@pytest.mark.slow
def test_markup_in_a_study_name_round_trips_through_run_and_report(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    name = "exp[/]1 [red]x[/red] [bold"
    space = _space(tmp_path)
    first = runner.invoke(app, ["run", "--space", space, "--storage", url, "--study", name])
    assert first.exit_code == 0, first.output
    assert name in first.output
    again = runner.invoke(app, ["run", "--space", space, "--storage", url, "--study", name])  # the resume crashed before
    assert again.exit_code == 0, again.output
    assert name in again.output
    for fmt in ("table", "markdown", "json"):
        res = runner.invoke(app, ["report", "--storage", url, "--study", name, "--format", fmt])
        assert res.exit_code == 0, res.output
        assert name in (json.loads(res.stdout)["study"] if fmt == "json" else res.stdout)


def test_an_error_that_quotes_a_name_with_control_characters_is_one_escaped_line(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    optuna.create_study(study_name="a\x1b[2Jb\nc", storage=url)
    optuna.create_study(study_name="other", storage=url)
    res = runner.invoke(app, ["report", "--storage", url])  # two studies: the error lists their names
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "\x1b" not in res.output and "a\\x1b[2Jb\\nc" in lines[0], res.output
