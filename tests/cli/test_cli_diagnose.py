"""``unitsearch diagnose`` through Typer's CliRunner, and the batch it loads."""

from __future__ import annotations

import json

import matplotlib.image
import pytest
import torch
from typer.testing import CliRunner

from unitsearch.cli import app
from unitsearch.diagnose import data_batch
from unitsearch.units import PRESETS

runner = CliRunner()
NET = {"--depth": "8", "--width": "4", "--image-size": "8", "--batch": "8", "--data": "normal"}
SMALL = [a for kv in NET.items() for a in kv]


def _small_without(*options: str) -> list[str]:
    return [a for k, v in NET.items() if k not in options for a in (k, v)]
CUSTOM = "h=identity;branch=bn-conv-bn-relu-conv;f=id"


def _diagnose(*args: str):
    return runner.invoke(app, ["diagnose", *args])


def test_table_side_by_side():
    res = _diagnose("--unit", "original", "--unit", "full_preact", "--unit", "const_scale_0", *SMALL)
    assert res.exit_code == 0, res.output
    for text in ("original", "full_preact", "const_scale_0", "h=identity;branch=bn-relu-conv-bn-relu-conv;f=id",
                 "grad x0/xL", "shortcut x0/xL", "act growth", "grad corr x0", "keep", "skip"):
        assert text in res.stdout


def test_json_has_the_per_unit_arrays():
    res = _diagnose("--unit", "original", "--unit", CUSTOM, "--json", *SMALL)
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["config"] == {"data": "normal", "image_size": 8, "batch": 8, "min_grad_ratio": 0.001}
    first, custom = data["designs"]
    assert (first["preset"], custom["preset"], custom["unit"]) == ("original", "", CUSTOM)
    for key in ("act_rms", "grad_ratio", "shortcut_ratio", "grad_corr"):
        assert len(first[key]) == 4  # depth 8: one unit per stage, x_0 .. x_2 and x_L
    assert first["grad_ratio"][-1] == pytest.approx(1.0)
    assert first["prefilter"]["keep"] is True and "summary" in first


def test_all_presets_and_plots(tmp_path):
    res = _diagnose("--all-presets", "--unit", CUSTOM, "--json", "--plots", str(tmp_path / "plots"), *SMALL)
    assert res.exit_code == 0, res.output
    designs = json.loads(res.stdout)["designs"]
    assert [d["preset"] for d in designs] == ["", *PRESETS]
    pngs = sorted((tmp_path / "plots").glob("*.png"))
    assert [p.name for p in pngs] == ["diagnose_act_rms.png", "diagnose_grad_corr.png",
                                      "diagnose_grad_ratio.png", "diagnose_shortcut_ratio.png"]
    for p in pngs:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        image = matplotlib.image.imread(p)
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
        assert f"wrote {p}" in res.stderr


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--unit", "no_such_unit"], "unknown unit preset 'no_such_unit'; allowed: original"),
        (["--unit", "h=identity;branch=conv-conv-conv-conv"], "branch must hold 2 convs"),
        (["--unit", "original", "--depth", "9"], "depth 9 is not valid"),
        (["--unit", "original", "--data", "imagenet"], "unknown data 'imagenet'"),
        (["--unit", "original", "--batch", "1"], "at least 2"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, match):
    res = _diagnose(*_small_without(*args), *args)
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and match in lines[0], res.stderr


def test_synthetic_batch_is_normalised():
    pytest.importorskip("unitsearch.data")
    x, y, classes = data_batch("synthetic", image_size=8, batch=16, seed=0)
    assert x.shape == (16, 3, 8, 8) and x.dtype == torch.float32 and y.shape == (16,)
    assert 0 <= int(y.min()) and int(y.max()) < classes
    # Standardised with statistics of a 16-image training split: exact per channel.
    assert x.mean(dim=(0, 2, 3)) == pytest.approx([0.0] * 3, abs=1e-4)
    assert x.std(dim=(0, 2, 3), unbiased=False) == pytest.approx([1.0] * 3, abs=1e-3)


def test_cli_on_synthetic_data():
    pytest.importorskip("unitsearch.data")
    res = _diagnose("--unit", "full_preact", "--json", *_small_without("--data"))
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["config"]["data"] == "synthetic"
