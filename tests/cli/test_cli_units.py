"""``unitsearch units list`` through Typer's CliRunner."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from unitsearch.cli import app
from unitsearch.units import PRESETS

runner = CliRunner(env={"COLUMNS": "200"})  # wide enough that Rich prints every form on one line


def test_table_names_every_preset_with_its_form():
    res = runner.invoke(app, ["units", "list"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    for name, preset in PRESETS.items():
        assert any(f" {name} " in line and preset.spec.form in line for line in lines), name


def test_json_rows_match_the_registry():
    res = runner.invoke(app, ["units", "list", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [(r["preset"], r["form"]) for r in rows] == [(n, p.spec.form) for n, p in PRESETS.items()]
    by_name = {r["preset"]: r["paper error %"] for r in rows}
    assert by_name["full_preact"] == 6.37 and by_name["const_scale_0"] == "fail"  # Table 2 (e); Table 1 "fail"
