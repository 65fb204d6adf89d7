"""``unitsearch model describe``: the parameters and MACs a unit's network has, for the paper's layouts."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from unitsearch.cli import app
from unitsearch.models import build_resnet, count_macs, count_params
from unitsearch.units import PRESETS

from .conftest import one_line_error

runner = CliRunner(env={"COLUMNS": "200"})


def test_describe_gives_params_and_macs_of_the_one_layer_presets():
    res = runner.invoke(app, ["model", "describe", "-u", "original_1layer", "-u", "full_preact_1layer", "--depth", "110", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    for row in rows:
        model = build_resnet(PRESETS[row["preset"]].spec, depth=110)
        assert row["units"] == 108
        assert row["params"] == count_params(model)
        assert row["MMACs"] == round(count_macs(model) / 1e6, 1)
    assert [r["preset"] for r in rows] == ["original_1layer", "full_preact_1layer"]


def test_describe_imagenet_defaults_to_width_64_and_1000_classes():
    res = runner.invoke(app, ["model", "describe", "-u", "full_preact", "--arch", "imagenet", "--depth", "50", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)[0]["params"] == 25_549_352


def test_describe_bad_imagenet_depth_is_one_line():
    res = runner.invoke(app, ["model", "describe", "--arch", "imagenet", "--depth", "110"])
    assert res.exit_code != 0
    assert "allowed: 18, 34, 50, 101, 152, 200" in res.output and "Traceback" not in res.output


def test_describe_table_prints_the_parameters_of_the_network_it_builds():
    res = runner.invoke(app, ["model", "describe", "-u", "full_preact", "--depth", "20"])
    assert res.exit_code == 0, res.output
    params = count_params(build_resnet(PRESETS["full_preact"].spec, depth=20))
    (row,) = [line for line in res.stdout.splitlines() if " full_preact " in line]
    assert f" {params:,} " in row and PRESETS["full_preact"].spec.form in row
    assert "ResNet-20 (cifar, basic, width 16, 32x32)" in res.stdout


def test_describe_bad_cifar_depth_is_one_error_line():
    line = one_line_error(runner.invoke(app, ["model", "describe", "-u", "full_preact", "--depth", "21"]))
    assert "depth 21 is not valid for basic units; allowed: 6n+2" in line
