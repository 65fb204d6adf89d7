"""The Table 3 and ImageNet spaces: plans that build on the CPU, a smoke run of each, and `run` on an image folder."""

from __future__ import annotations

import json

import optuna
import pytest
from typer.testing import CliRunner

from unitsearch.cli import app
from unitsearch.models import build_resnet, count_params
from unitsearch.search import load_space
from unitsearch.train import get_profile

runner = CliRunner(env={"COLUMNS": "200"})

NEW_SPACES = ["paper_table3", "paper_table3_bottleneck", "paper_imagenet"]

FOLDER_SPACE = """
description = "an ImageNet-style ResNet-50 on an image folder"
profile = "smoke"
seeds = [0]

[factors]
unit = ["original", "full_preact"]
depth = 50
arch = "imagenet"

[train]
epochs = 1
batch_size = 4

[pruner]
name = "none"
"""


def _invoke(*args: str):
    return runner.invoke(app, list(args))


def test_new_spaces_are_listed():
    res = _invoke("spaces", "list", "--format", "json")
    assert res.exit_code == 0, res.output
    assert set(NEW_SPACES) <= {row["space"] for row in json.loads(res.stdout)}
    for name in NEW_SPACES:
        shown = _invoke("spaces", "show", name, "--format", "json")
        assert shown.exit_code == 0, shown.output
        assert {"unit", "depth", "arch"} <= {row["factor"] for row in json.loads(shown.stdout)}


# The paper's parameter counts for the nets of each plan (CIFAR-10 / ImageNet heads).
_EXPECTED = {
    ("paper_table3", 110): 1_727_962,
    ("paper_table3_bottleneck", 164): 1_703_258,
    ("paper_table3_bottleneck", 1001): 10_327_706,
    ("paper_imagenet", 152): 60_185_128,
    ("paper_imagenet", 200): 64_666_152,
}


@pytest.mark.slow
@pytest.mark.parametrize("name", NEW_SPACES)
def test_every_cell_of_the_plan_builds_on_the_cpu(name):
    space = load_space(name)
    profile = get_profile(space.profile)
    for cell in space.cells():
        v = {**space.fixed, **cell}
        num_classes = 1000 if v["arch"] == "imagenet" else 10
        model = build_resnet(
            space.unit_of(cell), depth=v["depth"], width=profile.width, bottleneck=v.get("bottleneck", profile.bottleneck),
            arch=v["arch"], num_classes=num_classes,
        )
        n = count_params(model)
        expected = _EXPECTED.get((name, v["depth"]))
        if expected is not None and v["unit"] == "full_preact":
            assert n == expected
        assert n > 0


def _study(url: str, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=url)


def test_run_of_a_space_on_an_image_folder_is_readable_by_report(image_tree, tmp_path):
    space = tmp_path / "folder.toml"
    space.write_text(FOLDER_SPACE)
    url = f"sqlite:///{tmp_path}/studies.db"
    res = _invoke("run", "--space", str(space), "--storage", url, "--data", "imagefolder", "--data-dir", str(image_tree), "--threads", "1", "--device", "cpu")
    assert res.exit_code == 0, res.output
    st = _study(url, "folder")
    assert st.user_attrs["data"] == "imagefolder"
    trials = [t for t in st.trials if t.state is optuna.trial.TrialState.COMPLETE]
    assert len(trials) == 2
    for t in trials:
        assert (t.user_attrs["arch"], t.user_attrs["depth"], t.user_attrs["bottleneck"]) == ("imagenet", 50, True)
        assert t.user_attrs["manifest"]["dataset"] == "imagefolder" and t.user_attrs["epochs"] == 1
    report = _invoke("report", "--storage", url, "--study", "folder", "--format", "json")
    assert report.exit_code == 0, report.output
    assert "full_preact" in report.stdout and "original" in report.stdout
    json.loads(report.stdout)


@pytest.mark.parametrize("breaker, needle", [("missing", "does not exist"), ("empty", "holds no images"), ("unreadable", "cannot be read"), ("classes", "only in val: wolf")])
def test_bad_folder_fails_run_in_one_line_and_writes_no_study(image_tree, tmp_path, breaker, needle):
    root = image_tree
    if breaker == "missing":
        root = image_tree / "nowhere"
    elif breaker == "empty":
        (image_tree / "val" / "owl").mkdir()
        (image_tree / "train" / "owl").mkdir()
    elif breaker == "unreadable":
        (image_tree / "train" / "fox" / "bad.png").write_bytes(b"\x89PNG broken")
    else:
        (image_tree / "val" / "fox").rename(image_tree / "val" / "wolf")
    space = tmp_path / "folder.toml"
    space.write_text(FOLDER_SPACE)
    url = f"sqlite:///{tmp_path}/studies.db"
    res = _invoke("run", "--space", str(space), "--storage", url, "--data", "imagefolder", "--data-dir", str(root), "--threads", "1", "--device", "cpu")
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in res.output
    assert optuna.get_all_study_names(storage=url) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", NEW_SPACES)
def test_smoke_profile_runs_one_trial_of_each_new_space(name, image_tree, tmp_path):
    url = f"sqlite:///{tmp_path}/studies.db"
    data = ["--data", "imagefolder", "--data-dir", str(image_tree)] if name == "paper_imagenet" else []
    res = _invoke("run", "--space", name, "--profile", "smoke", "--n-trials", "1", "--storage", url, "--threads", "1", "--device", "cpu", *data)
    assert res.exit_code == 0, res.output
    st = _study(url, f"{name}+smoke")
    done = [t for t in st.trials if t.state is optuna.trial.TrialState.COMPLETE]
    assert len(done) == 1 and done[0].user_attrs["status"] in ("complete", "diverged")
    assert done[0].user_attrs["depth"] == load_space(name).cells()[0].get("depth", load_space(name).fixed.get("depth"))
