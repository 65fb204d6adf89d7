"""The live view of a run: progress with the time left, what each worker trains, who leads.

Like Ray Tune's status table, it is read from the study itself, so it shows local
workers and workers on other machines alike: a running trial's ``curve`` grows by one
entry per epoch, and its ``worker`` attribute (set at its first epoch) says who trains it.
On a terminal it is a Rich ``Live`` display; anywhere else (a log file, a CI job) it
prints one line per event (a trial started, finished or failed) so logs stay readable.
:func:`train_and_show` is how ``run`` and ``verify`` train a study in this view.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import optuna
import typer
from optuna.trial import TrialState
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..render import safe_text
from ..report import load_report, print_report
from ..report.collect import collect_trials
from ..search import Interrupted, SearchSpace, Started, plan_status, train_study
from ..storage import StoredTrial, finite, read_trial
from .supervise import stop_listening

__all__ = ["Running", "Snapshot", "snapshot", "render_snapshot", "LiveView", "train_and_show"]

TOP = 5  # leading designs shown


@dataclass(frozen=True)
class Running:
    """One trial in training."""

    number: int
    worker: str
    design: str
    seed: int | None
    epoch: int
    epochs: int | None
    val_error: float | None


@dataclass(frozen=True)
class Snapshot:
    """The run at one moment."""

    done: int
    total: int  # the most the plan may take
    failed: int
    running: list[Running]
    top: list[tuple[str, float, int]]  # (design, mean error over its seeds so far, seeds)
    eta_seconds: float | None  # an estimate: the trials the plan expects (a race's rules so far), not its most
    finished: dict[int, tuple[str, int | None, str, float | None]] = field(default_factory=dict)  # number -> (design, seed, status, error)


def _design(r: StoredTrial) -> str:
    return str(r.preset or r.unit or "?")


def snapshot(study: optuna.Study, space: SearchSpace, *, workers: int = 1, top: int = TOP) -> Snapshot:
    """Read the study once and summarise it for the view."""
    trials = study.get_trials(deepcopy=False)
    status = plan_status(study, space, trials)
    stored = [r for r in map(read_trial, trials) if r.unit is not None]
    running = []
    for r in stored:
        if r.state is not TrialState.RUNNING:
            continue
        last = r.curve[-1] if r.curve else {}
        running.append(
            Running(
                number=r.number, worker=str(r.worker or f"trial {r.number}"), design=_design(r), seed=r.seed,
                epoch=int(last.get("epoch", 0)), epochs=r.planned_epochs, val_error=last.get("val_error"),
            )
        )
    running.sort(key=lambda r: (r.worker, r.number))
    records, _ = collect_trials(trials)
    groups: dict[str, list[float]] = {}
    for r in records:
        if r.used and r.error is not None:
            groups.setdefault(r.design, []).append(r.error)
    leaders = sorted(((d, sum(e) / len(e), len(e)) for d, e in groups.items()), key=lambda x: (x[1], x[0]))[:top]
    walls = [float(r.wall_seconds or 0.0) for r in stored if r.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    walls = [w for w in walls if w > 0]
    left = max(0, (status.expected or status.total) - status.done)
    eta = None
    if walls and left:
        # Trials left x the mean trial time, shared by the workers; less what the running ones did already.
        eta = left * (sum(walls) / len(walls)) / max(1, workers)
    elif not left:
        eta = 0.0
    finished = {
        r.number: (_design(r), r.seed, str(r.stored_status or r.state.name.lower()), finite(r.value))
        for r in stored
        if r.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    }
    return Snapshot(status.done, status.total, status.failed, running, leaders, eta, finished)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "estimating"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def _pct(x: float | None) -> str:
    return "" if x is None else f"{x:.2f}%"


def render_snapshot(snap: Snapshot, *, elapsed: float | None = None) -> Group:
    """The view: a progress line, one row per worker in training, the leading designs."""
    bar_width = 30
    filled = int(bar_width * snap.done / snap.total) if snap.total else bar_width
    head = Text.assemble(
        ("trials ", "bold"), f"{snap.done}/{snap.total} done ", ("█" * filled + "░" * (bar_width - filled), "green"),
        f" {len(snap.running)} training",
        *([(f" {snap.failed} failed (queued again)", "yellow")] if snap.failed else []),
        f" · elapsed {_duration(elapsed)}" if elapsed is not None else "",
        f" · ETA ~{_duration(snap.eta_seconds)} (estimate)" if snap.eta_seconds else f" · ETA {_duration(snap.eta_seconds)}",
    )
    parts: list[Any] = [head]
    if snap.running:
        table = Table(title=Text("training now"), title_justify="left", expand=False)
        for name, justify in (("worker", "left"), ("design", "left"), ("seed", "right"), ("epoch", "right"), ("val error", "right")):
            table.add_column(name, justify=justify, no_wrap=name == "design")
        for r in snap.running:
            epoch = f"{r.epoch}/{r.epochs}" if r.epochs else str(r.epoch)
            table.add_row(Text(safe_text(r.worker)), Text(safe_text(r.design)), str(r.seed if r.seed is not None else ""), epoch, _pct(r.val_error))
        parts.append(table)
    if snap.top:
        table = Table(title=Text("leading designs (mean over seeds so far)"), title_justify="left", expand=False)
        for name, justify in (("#", "right"), ("design", "left"), ("mean error", "right"), ("seeds", "right")):
            table.add_column(name, justify=justify, no_wrap=name == "design")
        for i, (design, mean, n) in enumerate(snap.top, 1):
            table.add_row(str(i), Text(safe_text(design)), _pct(mean), str(n))
        parts.append(table)
    return Group(*parts)


def _events(before: Snapshot | None, now: Snapshot) -> list[str]:
    """One line per change between two snapshots: trials started, finished, failed."""
    lines = []
    seen_running = {r.number for r in before.running} if before else set()
    seen_finished = set(before.finished) if before else set(now.finished)
    for r in now.running:
        if r.number not in seen_running:
            who = r.worker if r.worker != f"trial {r.number}" else f"trial {r.number}"
            lines.append(f"{who}: training {r.design} seed {r.seed}" + (f" (trial {r.number})" if who != f"trial {r.number}" else ""))
    for number in sorted(set(now.finished) - seen_finished):
        design, seed, status, error = now.finished[number]
        err = f", val error {error:.2f}%" if error is not None and status != "failed" else ""
        lines.append(f"trial {number} {status}: {design} seed {seed}{err}; {now.done}/{now.total} done, ETA ~{_duration(now.eta_seconds)}")
    return lines


class LiveView:
    """``with LiveView(study, space, console=c) as view: ... view.refresh()``.

    Args:
        study: The study being trained.
        space: Its space (for the plan's size).
        console: Where to draw; not a terminal means one plain line per event.
        workers: How many workers share the remaining trials (for the time left).
        min_interval: Seconds between two reads of the study (an epoch can be shorter).
    """

    def __init__(self, study: optuna.Study, space: SearchSpace, *, console: Console, workers: int = 1, min_interval: float = 3.0) -> None:
        self.study, self.space, self.console, self.workers = study, space, console, workers
        self.min_interval = min_interval
        self.last: Snapshot | None = None
        self._read_at = -math.inf
        self._start = time.monotonic()
        self._live: Live | None = None

    def __enter__(self) -> LiveView:
        if self.console.is_terminal:
            # The view changes when an epoch ends (seconds apart): one redraw a second and one read of
            # the study every few seconds keep the process that draws it off the workers' cores.
            self._live = Live(console=self.console, refresh_per_second=1, transient=False)
            self._live.__enter__()
        self.refresh(force=True)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                self.refresh(force=True)
        finally:
            if self._live is not None:
                self._live.__exit__(None, None, None)

    def refresh(self, *_: Any, force: bool = False) -> None:
        """Read the study (at most every ``min_interval`` seconds) and redraw or log what changed."""
        now = time.monotonic()
        if not force and now - self._read_at < self.min_interval:
            return
        self._read_at = now
        snap = snapshot(self.study, self.space, workers=self.workers)
        if self._live is not None:
            self._live.update(render_snapshot(snap, elapsed=now - self._start))
        else:
            for line in _events(self.last, snap):
                self.console.print(Text(safe_text(line)), soft_wrap=True)
        self.last = snap


console = Console(stderr=True)  # the study line, the notes and the view; the leaderboard goes to stdout


def _started(s: Started) -> None:
    console.print(f"study [bold]{escape(safe_text(s.name))}[/] in {escape(safe_text(s.storage))}: {s.planned}, {s.added} queued now", highlight=False)


def _say(line: str) -> None:
    console.print(Text(safe_text(line)), highlight=False, soft_wrap=True)  # one line, whatever a failure's reason holds


def _watch(study: optuna.Study, space: SearchSpace, workers: int) -> LiveView:
    return LiveView(study, space, console=console, workers=workers)


def train_and_show(storage: str, name: str, space: SearchSpace, **options: Any) -> None:
    """Train study ``name`` with :func:`unitsearch.search.train_study` in the live view; then print its leaderboard.

    ``options`` are ``train_study``'s. Ctrl-C ends the command with status 130 once the
    running trials are recorded as failed.
    """
    try:
        trained = train_study(storage, name, space, **options, on_start=_started, say=_say, watch=_watch)
    except Interrupted:
        stop_listening()
        raise typer.Exit(130) from None
    if trained:
        print_report(load_report(storage, name))
