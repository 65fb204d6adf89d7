"""Which pruner would have paid? Replay a finished no-pruner study through Optuna's pruners.

    .venv/bin/python bench/prune_replay.py --storage URL --study NAME [--study NAME ...]

A study run with ``--pruner none`` holds every trial's whole validation curve. Each pruner
below gets a fresh in-memory study, and the run is played again into it: ``--workers``
workers take the trials in plan order, every epoch takes as long as it took in the study, and
the pruner hears each epoch's result at the moment it would have, and stops trials under the
rules of ``unitsearch run`` (never the study's baseline, never after the last epoch). The table
gives, per pruner, the epochs and the training seconds it would have spent, and what the
report of the pruned study would say: the winner, full pre-activation's rank and its paired
t-test against the baseline, the ranks of the paper's "fail" units, and whether the winner
and the bottom third are those of the whole curves. No training: a study replays in seconds.

The replay is a model of a run, not a run: trial start-up and evaluation time are not in the
epoch times, and workers on a busy machine do not keep step. `bench/pruning.py` trains both
ways side by side for the space's own pruner.
"""

from __future__ import annotations

import argparse
import copy
import heapq
import math

import optuna
from optuna.trial import FrozenTrial, TrialState
from rich.console import Console
from rich.table import Table

from unitsearch.report import build_report
from unitsearch.storage import TrialStatus, open_storage, read_trial, trial_attrs
from unitsearch.search.pruning import baseline_form, may_prune
from unitsearch.search.samplers import make_pruner

# (label, pruner name, options); the space's own pruner is "median from epoch 4".
PRUNERS = [
    *((f"median from epoch {k}", "median", {"n_startup_trials": 5, "n_warmup_steps": k}) for k in (1, 2, 3, 4, 5)),
    *((f"successive halving r={r} eta={eta}", "successive_halving", {"min_resource": r, "reduction_factor": eta}) for r in (1, 2) for eta in (2, 3)),
    ("hyperband r=1 eta=3", "hyperband", {"min_resource": 1, "reduction_factor": 3}),
]


def _curve(t: FrozenTrial) -> list[tuple[int, float]]:
    return sorted(t.intermediate_values.items())


def _stopped_at(t: FrozenTrial, step: int) -> FrozenTrial:
    """The trial as ``unitsearch run`` would have stored it, pruned after epoch ``step``."""
    pruned = copy.deepcopy(t)
    pruned.state = TrialState.PRUNED
    pruned.value = t.intermediate_values[step]
    pruned.intermediate_values = {s: v for s, v in t.intermediate_values.items() if s <= step}
    curve = [e for e in read_trial(t).curve if e["epoch"] <= step]
    pruned.user_attrs = {**t.user_attrs, **trial_attrs(curve=curve, status=TrialStatus.PRUNED, epochs=step, val_error=pruned.value)}
    return pruned


def replay(trials: list[FrozenTrial], pruner: optuna.pruners.BasePruner, baseline: str | None, workers: int) -> list[FrozenTrial]:
    """The trials as they would have ended under ``pruner``, trained by ``workers`` workers.

    Workers take trials in plan order (trial number); an epoch takes as long as it took in
    the study, and the pruner hears each epoch's result at the moment it would have.
    """
    live_study = optuna.create_study(pruner=pruner)
    queue = sorted(trials, key=lambda t: t.number)[::-1]
    events: list[tuple[float, int, int]] = []  # (time an epoch ends, trial number, index of that epoch)
    live: dict[int, tuple[FrozenTrial, optuna.Trial]] = {}
    out = []

    def start(now: float) -> None:
        while queue:
            t = queue.pop()
            if not t.intermediate_values:  # diverged before its first epoch ended: nothing to prune
                live_study.tell(live_study.ask(), t.value)
                out.append(t)
                continue
            live[t.number] = (t, live_study.ask())
            heapq.heappush(events, (now + _epoch_seconds(t, 0), t.number, 0))
            return

    for _ in range(workers):
        start(0.0)
    while events:
        now, number, i = heapq.heappop(events)
        t, trial = live[number]
        step, value = _curve(t)[i]
        trial.report(value, step)
        if i == len(t.intermediate_values) - 1:
            live_study.tell(trial, t.value)
            out.append(t)
        elif may_prune(read_trial(t).unit, step, read_trial(t).planned_epochs, protected={baseline}) and trial.should_prune():
            live_study.tell(trial, state=TrialState.PRUNED)
            out.append(_stopped_at(t, step))
        else:
            heapq.heappush(events, (now + _epoch_seconds(t, i + 1), number, i + 1))
            continue
        del live[number]
        start(now)
    return out


def _epoch_seconds(t: FrozenTrial, i: int) -> float:
    curve = read_trial(t).curve
    return float(curve[i].get("seconds", 1.0)) if i < len(curve) else 1.0


def _seconds(trials: list[FrozenTrial]) -> float:
    return sum(e.get("seconds", 0.0) for t in trials for e in read_trial(t).curve)


def _bottom_third(report) -> list[str]:
    rows = [r for r in report.rows if r.rank is not None]
    cut = len(rows) - math.ceil(len(rows) / 3)
    return sorted(r.design for r in rows if r.rank > cut)


def replay_table(study: optuna.Study, workers: int) -> Table:
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    if any(t.state is TrialState.PRUNED for t in trials):
        raise SystemExit(f"study {study.study_name!r} has pruned trials: replay needs whole curves (a run with --pruner none)")
    baseline = baseline_form(study)
    whole = build_report(study, trials)
    epochs0, seconds0 = sum(len(t.intermediate_values) for t in trials), _seconds(trials)
    table = Table(title=f"Pruners replayed on {study.study_name} ({len(trials)} trials, {epochs0} epochs, no pruner; {workers} workers)")
    for col in ("pruner", "epochs", "ratio", "train s ratio", "winner", "full_preact rank", "vs baseline p", "fail ranks", "same winner", "same bottom third"):
        table.add_column(col)

    def row(label: str, rep, kept: list[FrozenTrial]) -> None:
        v = rep.verdict
        epochs = sum(len(t.intermediate_values) for t in kept)
        table.add_row(
            label, str(epochs), f"{epochs / epochs0:.2f}", f"{_seconds(kept) / seconds0:.2f}", str(v.best),
            f"{v.full_preact_rank}{' (tied)' if v.full_preact_tied_with_best and v.full_preact_rank != 1 else ''}",
            "-" if v.p is None else f"{v.p:.3f}", ", ".join(str(r) for r in sorted(x for x in v.fail_units_ranks if x is not None)),
            "yes" if v.best == whole.verdict.best else "no", "yes" if _bottom_third(rep) == _bottom_third(whole) else "no",
        )

    row("none", whole, trials)
    max_epochs = max(read_trial(t).planned_epochs for t in trials)
    for label, name, opts in PRUNERS:
        kept = replay(trials, make_pruner(name, opts, max_epochs), baseline, workers)
        row(label, build_report(study, kept), kept)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--storage", required=True)
    parser.add_argument("--study", action="append", required=True, help="a study run with --pruner none; repeatable")
    parser.add_argument("--workers", type=int, default=2, help="workers the replayed run would have had (default 2, as paper_ablations)")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(args.storage, read_only=True)
    console = Console(width=220)
    for name in args.study:
        console.print(replay_table(optuna.load_study(study_name=name, storage=storage), args.workers))


if __name__ == "__main__":
    main()
