"""End to end through the CLI on the smoke profile: run, resume, pruning, divergence, bad input."""

from __future__ import annotations

import collections
import json

import optuna
import pytest
from typer.testing import CliRunner

from unitsearch.cli import app

runner = CliRunner()

SPACE = """
description = "three units, two seeds"
profile = "smoke"
seeds = [0, 1]

[factors]
unit = ["original", "full_preact", "h=identity;branch=relu-conv-bn-relu-conv-bn;f=id"]

[pruner]
name = "none"
"""


def _invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def _space(tmp_path, text=SPACE, name="tiny"):
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return str(path)


def _done_per_key(url: str, study: str) -> collections.Counter:
    st = optuna.load_study(study_name=study, storage=url)
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return collections.Counter(t.user_attrs["plan_key"] for t in st.get_trials(states=states))


@pytest.mark.slow
def test_run_trains_every_cell_seed_once_and_resumes_without_retraining(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    space = _space(tmp_path)
    result = _invoke("run", "--space", space)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "studies.db").exists()  # the default storage, in the working directory
    url = "sqlite:///studies.db"
    done = _done_per_key(url, "tiny")
    assert len(done) == 6 and set(done.values()) == {1}

    st = optuna.load_study(study_name="tiny", storage=url)  # a plain Optuna study
    n_before = len(st.trials)
    t = st.trials[0]
    for key in ("unit", "preset", "seed", "profile", "depth", "width", "params", "macs", "curve", "final_train_loss", "val_error", "epochs", "wall_seconds", "images_per_s", "status", "manifest", "config"):
        assert key in t.user_attrs, key
    assert t.user_attrs["manifest"]["optuna"] == optuna.__version__
    assert len(t.intermediate_values) == t.user_attrs["epochs"] == 2
    assert {tr.user_attrs["preset"] for tr in st.trials} == {"original", "full_preact", "relu_preact"}  # forms resolve to presets

    again = _invoke("run", "--space", space)
    assert again.exit_code == 0
    assert len(optuna.load_study(study_name="tiny", storage=url).trials) == n_before  # nothing new trained


@pytest.mark.slow
def test_failed_trial_is_queued_again_by_the_next_run(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    space = _space(tmp_path)
    assert _invoke("run", "--space", space, "--storage", url, "--n-trials", "2").exit_code == 0
    st = optuna.load_study(study_name="tiny", storage=url)
    # Simulate an interrupted trial: take a waiting one and fail it.
    trial = st.ask()
    st.tell(trial, state=optuna.trial.TrialState.FAIL)
    assert _invoke("run", "--space", space, "--storage", url).exit_code == 0
    done = _done_per_key(url, "tiny")
    assert len(done) == 6 and set(done.values()) == {1}


@pytest.mark.slow
def test_pruned_and_diverged_trials_are_recorded_with_their_reason(tmp_path):
    text = SPACE.replace('name = "none"', 'name = "median"\nn_startup_trials = 1\nn_warmup_steps = 0')
    text = text.replace("[factors]", "[train]\nepochs = 3\n\n[factors]\nlr = [0.05, 10000.0]")
    text = text.replace('seeds = [0, 1]', 'seeds = [0, 1, 2]')
    url = f"sqlite:///{tmp_path}/s.db"
    assert _invoke("run", "--space", _space(tmp_path, text), "--storage", url).exit_code == 0
    trials = optuna.load_study(study_name="tiny", storage=url).trials
    diverged = [t for t in trials if t.user_attrs.get("status") == "diverged"]
    assert diverged and all(t.params["lr"] == 10000.0 for t in diverged)
    assert all(t.state is optuna.trial.TrialState.COMPLETE and t.value == pytest.approx(90.0) for t in diverged)
    assert all("diverged: training loss" in t.user_attrs["reason"] for t in diverged)
    pruned = [t for t in trials if t.state is optuna.trial.TrialState.PRUNED]
    assert all(t.user_attrs["status"] == "pruned" and "pruned after epoch" in t.user_attrs["reason"] for t in pruned)
    assert len(trials) == 18


def test_the_leaderboard_follows_the_run(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    text = SPACE.replace('seeds = [0, 1]', 'seeds = [0]').replace('"h=identity;branch=relu-conv-bn-relu-conv-bn;f=id"', "").replace(', ]', ']')
    result = _invoke("run", "--space", _space(tmp_path, text), "--storage", url)
    assert result.exit_code == 0
    assert "full_preact" in result.output and "Verdict" in result.output


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--space", "nope"], "unknown search space 'nope'; allowed: activations"),
        (["--space", "activations", "--profile", "huge"], "unknown profile 'huge'; allowed: smoke, cpu, cpu-long, paper"),
        (["--space", "activations", "--pruner", "asha"], "unknown pruner 'asha'; allowed: median"),
        (["--space", "activations", "--device", "tpu"], "unknown device 'tpu'; allowed: auto, cpu"),
        (["--space", "activations", "--data", "cifar10", "--data-dir", "{tmp}/missing"], "missing"),
        (["--space", "activations", "--data", "imagenet"], "imagenet"),
        (["--space", "activations", "--storage", "mongodb://x/y"], "unsupported storage 'mongodb'"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = runner.invoke(app, ["run", *args, "--profile" if "--profile" not in args else "--n-trials", "smoke" if "--profile" not in args else "1"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert needle in lines[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "studies.db").exists()


def test_bad_space_file_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _space(tmp_path, '[factors]\nunit = ["original", "full_pre"]', name="bad")
    result = runner.invoke(app, ["run", "--space", path])
    assert result.exit_code == 2
    assert "search space bad.toml: key 'factors.unit': unknown unit preset 'full_pre'; allowed:" in result.output
    assert not (tmp_path / "studies.db").exists()


def _studies(url: str) -> dict[str, int]:
    return {s.study_name: s.n_trials for s in optuna.get_all_study_summaries(url, include_best_trial=False)}


def test_another_profile_or_seed_offset_is_another_study_by_default(tmp_path):
    from unitsearch.search import load_space
    from unitsearch.search.launch import default_study_name

    sp = load_space(_space(tmp_path))  # its own profile is smoke
    names = [default_study_name(sp, profile=p, seed_offset=o) for p, o in ((None, 0), ("smoke", 0), ("cpu", 0), ("cpu", 100), (None, 100))]
    assert names == ["tiny", "tiny", "tiny+cpu", "tiny+cpu+seed100", "tiny+seed100"]

    url = f"sqlite:///{tmp_path}/s.db"
    for extra in ([], ["--profile", "cpu"]):  # the second is a new study, not a resume of the first
        result = _invoke("run", "--space", str(tmp_path / "tiny.toml"), "--storage", url, "--n-trials", "0", *extra)
        assert result.exit_code == 0, result.output
    assert _studies(url) == {"tiny": 6, "tiny+cpu": 6}


def test_a_study_resumes_only_with_the_profile_and_data_it_was_trained_with(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    space = _space(tmp_path)
    assert _invoke("run", "--space", space, "--storage", url, "--n-trials", "0").exit_code == 0
    assert _invoke("run", "--space", space, "--storage", url, "--n-trials", "0", "--data", "synthetic").exit_code == 0  # the same data, named
    stored = optuna.load_study(study_name="tiny", storage=url).user_attrs["space"]

    result = runner.invoke(app, ["run", "--space", space, "--storage", url, "--study", "tiny", "--profile", "cpu", "--n-trials", "0"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    # Only what differs is named: the profile, not the data or the units, which are the same.
    assert "study 'tiny'" in lines[0] and "was trained with profile smoke; this run asks for profile cpu." in lines[0], lines[0]
    assert "--study NAME" in lines[0]
    st = optuna.load_study(study_name="tiny", storage=url)
    assert st.user_attrs["space"] == stored and len(st.trials) == 6  # nothing rewritten, nothing queued

    worker = runner.invoke(app, ["worker", "--storage", url, "--study", "tiny", "--data", "cifar10"])
    assert worker.exit_code == 2, worker.output
    assert "study 'tiny' trains on 'synthetic', not 'cifar10'" in worker.output and "Traceback" not in worker.output
    assert all(t.state is optuna.trial.TrialState.WAITING for t in optuna.load_study(study_name="tiny", storage=url).trials)


def test_spaces_list_and_show():
    result = _invoke("spaces", "list", "--format", "json")
    rows = {r["space"]: r for r in json.loads(result.output)}
    assert rows["paper_ablations"]["trials"] == 15 * rows["paper_ablations"]["seeds"]  # a race: at most every design on every seed
    assert rows["paper_ablations"]["plan"] == "race" and rows["shortcuts"]["plan"] == "grid"
    shown = _invoke("spaces", "show", "grammar")
    assert "branch_mid" in shown.output and "sampled designs" in shown.output
    race = " ".join(_invoke("spaces", "show", "paper_ablations").output.split())
    assert "a race over 15 cells: 2 to 8 seeds each" in race and "full_preact" in race


class _AlwaysPrune(optuna.pruners.BasePruner):
    def prune(self, study, trial) -> bool:
        return True


@pytest.mark.parametrize("epochs, state, trained", [(2, optuna.trial.TrialState.PRUNED, 1), (1, optuna.trial.TrialState.COMPLETE, 1)])
def test_a_trial_is_pruned_before_its_last_epoch_never_after_it(tmp_path, epochs, state, trained):
    import torch

    from unitsearch.search import load_space
    from unitsearch.search.objective import Objective, TrialContext

    text = SPACE.replace("[factors]", f"[train]\nepochs = {epochs}\n\n[sampler]\nname = \"random\"\nn_trials = 1\n\n[factors]")
    space = load_space(_space(tmp_path, text))
    study = optuna.create_study(pruner=_AlwaysPrune())
    study.optimize(Objective(TrialContext(space, torch.device("cpu"))), n_trials=1)
    (trial,) = study.trials
    assert trial.state is state
    assert trial.user_attrs["epochs"] == trained and len(trial.intermediate_values) == trained


@pytest.mark.parametrize("baseline, state", [("original", optuna.trial.TrialState.COMPLETE), ("full_preact", optuna.trial.TrialState.PRUNED)])
def test_the_baseline_is_never_pruned(tmp_path, baseline, state):
    import torch

    from unitsearch.search import load_space
    from unitsearch.search.objective import Objective, TrialContext

    text = SPACE.replace('unit = ["original", "full_preact", "h=identity;branch=relu-conv-bn-relu-conv-bn;f=id"]', 'unit = ["original"]')
    text = text.replace("[factors]", '[train]\nepochs = 2\n\n[sampler]\nname = "random"\nn_trials = 1\n\n[factors]')
    space = load_space(_space(tmp_path, text))
    study = optuna.create_study(pruner=_AlwaysPrune())
    study.set_user_attr("baseline", baseline)  # as create_study stores it
    study.optimize(Objective(TrialContext(space, torch.device("cpu"))), n_trials=1)
    (trial,) = study.trials
    assert trial.user_attrs["preset"] == "original"
    assert trial.state is state
    assert len(trial.intermediate_values) == (2 if state is optuna.trial.TrialState.COMPLETE else 1)


def _truncate(image) -> None:
    """Keep the file's first bytes: its header reads (the folder passes the check before the run), its pixels do not."""
    image.write_bytes(image.read_bytes()[:120])


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_run_whose_trials_fail_says_why_and_exits_2(tmp_path, image_tree, workers):
    _truncate(image_tree / "train" / "cat" / "1.png")
    text = SPACE.replace("seeds = [0, 1]", "seeds = [0]").replace("[factors]", "[train]\nbatch_size = 4\n\n[factors]")
    url = f"sqlite:///{tmp_path}/s.db"
    args = ["run", "--space", _space(tmp_path, text), "--storage", url, "--workers", workers, "--threads", "1", "--checkpoints", "none"]
    result = runner.invoke(app, [*args, "--data", "imagefolder", "--data-dir", str(image_tree)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    reason = f"DataError: image {image_tree / 'train' / 'cat' / '1.png'} cannot be read (OSError); expected an image file PIL can open"
    assert lines[-2:] == [
        f"3 trials failed: {reason}",
        "error: trials of this run failed, and 0 of 3 trials are done: fix the cause above, then run the same command to train them again",
    ]
    assert "Leaderboard" not in result.output and "Traceback" not in result.output
    trials = optuna.load_study(study_name="tiny", storage=url).trials
    # With two workers, one may ask for a trial after the other took the last waiting one: that draw is recorded as unused.
    tried = [t for t in trials if t.user_attrs["status"] != "unused"]
    assert [(t.state, t.user_attrs["status"], t.user_attrs["reason"]) for t in tried] == [(optuna.trial.TrialState.FAIL, "failed", reason)] * 3


@pytest.mark.slow
def test_a_sampled_run_whose_trials_all_fail_ends_after_its_budget(tmp_path, image_tree):
    _truncate(image_tree / "train" / "cat" / "1.png")
    text = SPACE.replace("seeds = [0, 1]", "seeds = [0]").replace("[factors]", '[train]\nbatch_size = 4\n\n[sampler]\nname = "random"\nn_trials = 3\n\n[factors]')
    url = f"sqlite:///{tmp_path}/s.db"
    args = ["run", "--space", _space(tmp_path, text), "--storage", url, "--workers", "1", "--threads", "1", "--checkpoints", "none"]
    result = runner.invoke(app, [*args, "--data", "imagefolder", "--data-dir", str(image_tree)])
    assert result.exit_code == 2, result.output
    assert "3 trials failed: DataError" in result.stderr and "0 of 3 trials are done" in result.stderr, result.stderr
    assert len(optuna.load_study(study_name="tiny", storage=url).trials) == 3  # three draws, then it stopped
