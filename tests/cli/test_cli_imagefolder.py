"""An ImageNet-style ResNet-50 on an image folder written by the test: `unitsearch train`, and bad folders."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from unitsearch.cli import app

from .conftest import one_line_error

runner = CliRunner()
# 16 px through a 7x7/2 stem and a max pool leaves 4x4 for the first stage: tiny, but every layer runs.
TINY = ["--profile", "smoke", "--arch", "imagenet", "--depth", "50", "--epochs", "1", "--batch-size", "4", "--threads", "1", "--device", "cpu"]


def _train(root, *extra: str):
    return runner.invoke(app, ["train", "--unit", "full_preact", *TINY, "--data", "imagefolder", "--data-dir", str(root), *extra])


def test_resnet50_trains_one_epoch_on_an_image_folder(image_tree):
    res = _train(image_tree, "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["status"] == "complete" and out["epochs"] == 1
    assert out["net"] == {**out["net"], "arch": "imagenet", "depth": 50, "bottleneck": True}
    assert out["data"]["name"] == "imagefolder" and (out["data"]["train_size"], out["data"]["val_size"]) == (12, 6)
    assert len(out["data"]["fingerprint"]) == 16
    assert math.isfinite(out["val_error"]) and out["test_error"] is None  # an image folder has no test split
    assert out["config"]["batch_size"] == 4


def test_image_size_option_sets_the_crops(image_tree):
    res = _train(image_tree, "--image-size", "24", "--json", "--arch", "imagenet", "--depth", "18")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["data"]["image_size"] == 24


def _break_missing(root):
    return root / "nowhere"


def _break_empty_class(root):
    (root / "train" / "owl").mkdir()
    return root


def _break_unreadable(root):
    (root / "val" / "cat" / "7.png").write_text("this is no image")
    return root


def _break_class_lists(root):
    (root / "val" / "fox").rename(root / "val" / "wolf")
    return root


@pytest.mark.parametrize(
    "breaker, needle",
    [
        (_break_missing, "does not exist"),
        (_break_empty_class, "train/owl holds no images"),
        (_break_unreadable, "val/cat/7.png cannot be read"),
        (_break_class_lists, "only in val: wolf"),
    ],
)
def test_bad_folders_exit_with_one_line(image_tree, breaker, needle):
    line = one_line_error(_train(breaker(image_tree)))
    assert needle in line
