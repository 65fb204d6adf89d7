"""The live view of a run, read from the study: per-worker progress, leaders, time left."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState
from rich.console import Console

from unitsearch.cli.live import LiveView, render_snapshot, snapshot
from unitsearch.search import parse_space
from unitsearch.units import PRESETS

SPACE = parse_space('profile = "smoke"\nseeds = [0, 1, 2]\n[factors]\nunit = ["original", "full_preact", "relu_preact"]\n', "live.toml")


def _finished(study, unit: str, seed: int, error: float) -> None:
    study.add_trial(optuna.trial.create_trial(
        state=TrialState.COMPLETE, value=error,
        user_attrs={"unit": PRESETS[unit].spec.form, "preset": unit, "seed": seed, "status": "complete", "val_error": error,
                    "plan_key": "x", "wall_seconds": 30.0, "config": {"epochs": 8}},
    ))


def _training(study, worker: str, unit: str, seed: int, epochs_done: int) -> optuna.Trial:
    trial = study.ask()
    curve = [{"epoch": e, "val_error": 50.0 - e} for e in range(1, epochs_done + 1)]
    for k, v in {"unit": PRESETS[unit].spec.form, "preset": unit, "seed": seed, "status": "running",
                 "config": {"epochs": 8}, "curve": curve, "worker": worker}.items():
        trial.set_user_attr(k, v)
    return trial


def _study():
    study = optuna.create_study()
    _finished(study, "full_preact", 0, 6.0)
    _finished(study, "full_preact", 1, 7.0)
    _finished(study, "original", 0, 9.0)
    _training(study, "worker 0", "relu_preact", 0, 3)
    _training(study, "worker 1", "original", 1, 5)
    return study


def _text(renderable, width: int) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_the_view_shows_what_each_worker_trains_and_who_leads():
    snap = snapshot(_study(), SPACE, workers=2)
    text = _text(render_snapshot(snap, elapsed=75), 100)
    lines = text.splitlines()
    assert "0/9 done" in text or "3/9 done" in text
    w0 = next(line for line in lines if "worker 0" in line)
    assert "relu_preact" in w0 and "3/8" in w0 and "47.00%" in w0
    w1 = next(line for line in lines if "worker 1" in line)
    assert "original" in w1 and "5/8" in w1 and "45.00%" in w1
    leader = next(line for line in lines if "full_preact" in line and "%" in line and "worker" not in line)
    assert "6.50%" in leader and leader.rstrip(" │").endswith("2")  # mean over its 2 seeds so far
    assert "ETA" in text and "elapsed 1m15s" in text


def test_the_time_left_comes_from_the_trials_that_finished():
    snap = snapshot(_study(), SPACE, workers=2)
    assert snap.total == 9
    assert snap.eta_seconds == (snap.total - snap.done) * 30.0 / 2


def test_without_a_terminal_each_event_is_one_line():
    study = _study()
    console = Console(width=100, record=True, color_system=None, force_terminal=False)
    with LiveView(study, SPACE, console=console, workers=2, min_interval=0) as view:
        first = console.export_text()
        _training(study, "worker 0", "full_preact", 2, 0)
        view.refresh()
        started = console.export_text()
        _finished(study, "relu_preact", 1, 8.0)
        view.refresh()
        done = console.export_text()
    assert "worker 0: training relu_preact seed 0" in first and "worker 1: training original seed 1" in first
    assert started.strip().splitlines()[-1].startswith("worker 0: training full_preact seed 2")
    last = done.strip().splitlines()[-1]
    assert last.startswith("trial ") and "complete: relu_preact seed 1, val error 8.00%" in last
    assert "ETA" in last
