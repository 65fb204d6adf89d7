"""The race against the grid: the same space and seeds, run one after the other.

    .venv/bin/python bench/race.py [--space paper_ablations] [--profile cpu] [--workers 2 4] [--out DIR]

Runs `unitsearch run` on the space as a grid (every design on every seed, `--plan grid`)
and as its race (`--plan race`), each into a fresh SQLite file, and prints one table:
trials, epochs, wall time, the idle share of the workers' time, the verdict's p and n,
Kendall's tau-b with the paper, and whether the two agree on the winner. With several
``--workers`` the race runs once per count, to show what a round's end costs.

The idle share is ``1 - (sum of trial durations) / (workers x span)``, the span running
from the first trial's start to the last one's end: time a worker held no trial.
A run that finished in ``--out`` before (its ``.wall`` file is there) is read, not re-run,
so the grid and the races can be run on different days and tabled together.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
from rich.console import Console
from rich.table import Table

from unitsearch.report import load_report, report_to_dict
from unitsearch.storage import read_trial


def run_once(args, plan: str, workers: int, db: Path) -> dict:
    url = f"sqlite:///{db}"
    cmd = [sys.executable, "-m", "unitsearch", "run", "--space", args.space, "--storage", url, "--study", "bench", "--workers", str(workers), "--plan", plan]
    cmd += ["--profile", args.profile] if args.profile else []
    cmd += ["--seed-offset", str(args.seed_offset)] if args.seed_offset else []
    done = db.with_suffix(".wall")  # a finished run in --out is read again, not re-run
    if done.exists():
        wall = float(done.read_text())
    else:
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        done.write_text(f"{wall:.1f}\n")
    rep = report_to_dict(load_report(url, "bench"))
    trials = optuna.load_study(study_name="bench", storage=url).get_trials(deepcopy=False)
    ran = [t for t in trials if t.datetime_start and t.datetime_complete and read_trial(t).config is not None]
    busy = sum((t.datetime_complete - t.datetime_start).total_seconds() for t in ran)
    span = (max(t.datetime_complete for t in ran) - min(t.datetime_start for t in ran)).total_seconds()
    return {"wall": wall, "report": rep, "idle": 1 - busy / (workers * span), "workers": workers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--space", default="paper_ablations")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--seed-offset", type=int, default=0)
    parser.add_argument("--workers", type=int, nargs="+", default=[2])
    parser.add_argument("--no-grid", action="store_true", help="only the race(s)")
    parser.add_argument("--no-race", action="store_true", help="only the grid")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="unitsearch-race-"))
    out.mkdir(parents=True, exist_ok=True)

    runs = {}
    if not args.no_grid:
        runs[f"grid, {args.workers[0]} workers"] = run_once(args, "grid", args.workers[0], out / "grid.db")
    for w in [] if args.no_race else args.workers:
        runs[f"race, {w} workers"] = run_once(args, "race", w, out / f"race{w}.db")

    first = next(iter(runs.values()))
    grid = runs.get(f"grid, {args.workers[0]} workers")
    table = Table(title=f"{args.space}: the grid and the race on the same seeds")
    cols = ("plan", "trials", "epochs", "epochs / grid", "wall s", "idle", "verdict p (n)", "tau-b", "winner", "same winner")
    for col in cols:
        table.add_column(col)
    for label, r in runs.items():
        rep, v = r["report"], r["report"]["verdict"]
        epochs = rep["cost"]["epochs_trained"]
        ratio = f"{epochs / grid['report']['cost']['epochs_trained']:.2f}" if grid else ""
        p = f"{v['p']:.3g} ({v['n_seeds']})" if v["p"] is not None else f"- ({v['n_seeds']})"
        tau = f"{v['paper_tau']:.2f}" if v["paper_tau"] is not None else ""
        same = "yes" if v["best"] == first["report"]["verdict"]["best"] else "no"
        table.add_row(label, str(rep["cost"]["n_trials"]), str(epochs), ratio, f"{r['wall']:.0f}", f"{r['idle']:.1%}", p, tau, str(v["best"]), same)
    Console(width=200).print(table)
    print(f"databases in {out}")


if __name__ == "__main__":
    main()
