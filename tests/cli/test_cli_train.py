"""``unitsearch train`` through Typer's CliRunner, on the smoke profile (seconds per run)."""

from __future__ import annotations

import json
import math

from typer.testing import CliRunner

from unitsearch.cli import app
from unitsearch.units import PRESETS

from .conftest import one_line_error

runner = CliRunner()
SMOKE = ["--profile", "smoke", "--epochs", "1", "--threads", "1", "--device", "cpu"]


def _train(*args: str):
    return runner.invoke(app, ["train", *args])


def test_json_has_one_epoch_and_the_config():
    res = _train("--unit", "full_preact", *SMOKE, "--seed", "3", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["status"] == "complete" and out["epochs"] == 1 and len(out["curve"]) == 1
    assert math.isfinite(out["val_error"]) and 0 <= out["val_error"] <= 100
    assert out["curve"][0]["val_error"] == out["val_error"]
    assert out["test_error"] is not None and out["images_per_s"] > 0
    assert (out["unit"], out["preset"], out["profile"]) == (PRESETS["full_preact"].spec.form, "full_preact", "smoke")
    assert out["net"]["depth"] == 8 and out["net"]["width"] == 4  # the smoke profile's net
    assert out["config"]["epochs"] == 1 and out["config"]["seed"] == 3 and out["config"]["batch_size"] == 64
    assert out["data"]["name"] == "synthetic" and out["data"]["image_size"] == 16


def test_train_size_overrides_the_profiles():
    res = _train("--unit", "original", *SMOKE, "--train-size", "200", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["data"]["train_size"] == 200 and out["data"]["val_size"] == 256  # the smoke profile has 512 and 256


def test_summary_table_and_a_canonical_form():
    form = "h=identity;branch=bn-conv-bn-relu-conv;f=id"
    res = _train("--unit", form, *SMOKE, "--lr", "0.05")
    assert res.exit_code == 0, res.output
    for text in ("complete", "val error %", "test error %", "images/s", "ResNet-8"):
        assert text in res.stdout
    assert "epoch" in res.stderr  # the progress bar stays off stdout


def test_unknown_unit_names_the_presets():
    line = one_line_error(_train("--unit", "no_such_unit", *SMOKE))
    assert "no_such_unit" in line and all(name in line for name in PRESETS)


def test_missing_cifar_folder_is_one_line(tmp_path):
    missing = tmp_path / "nowhere"
    line = one_line_error(_train("--unit", "original", *SMOKE, "--data", "cifar10", "--data-dir", str(missing)))
    assert str(missing) in line and "--download" in line


def test_bad_depth_fails_before_any_data_is_loaded():
    line = one_line_error(_train("--unit", "original", *SMOKE, "--depth", "9", "--data", "cifar10", "--data-dir", "/nonexistent"))
    assert "depth 9" in line
