"""Does pruning pay? The same plan with no pruner and with the space's pruner, one after the other.

    .venv/bin/python bench/pruning.py [--space paper_ablations] [--profile cpu] [--workers 2] [--out DIR]

Runs `unitsearch run` twice into fresh SQLite files (under --out, default a temp dir),
then compares epochs trained, wall time, the winner and the bottom third of the two
leaderboards. Takes two full runs of the space: about 15 minutes for paper_ablations on 2 cores.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from unitsearch.report import load_report, report_to_dict
from unitsearch.search import load_space


def run_once(space: str, profile: str | None, pruner: str | None, workers: int, db: Path) -> tuple[float, dict]:
    url = f"sqlite:///{db}"
    cmd = [sys.executable, "-m", "unitsearch", "run", "--space", space, "--storage", url, "--study", "bench", "--workers", str(workers)]
    cmd += ["--profile", profile] if profile else []
    cmd += ["--pruner", pruner] if pruner else []
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    return wall, report_to_dict(load_report(url, "bench"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--space", default="paper_ablations")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="unitsearch-pruning-"))
    out.mkdir(parents=True, exist_ok=True)
    default = load_space(args.space).pruner["name"]

    results = {}
    for label, pruner in (("none", "none"), (default, None)):
        results[label] = run_once(args.space, args.profile, pruner, args.workers, out / f"{label}.db")

    table = Table(title=f"Pruning on {args.space} ({args.workers} workers): no pruner vs the space's {default}")
    for col in ("pruner", "epochs trained", "epochs ratio", "wall s", "wall ratio", "winner", "full_preact rank", "bottom third"):
        table.add_column(col)
    base_epochs, base_wall = results["none"][1]["cost"]["epochs_trained"], results["none"][0]
    bottoms = {}
    for label, (wall, rep) in results.items():
        rows = rep["leaderboard"]
        n = len([r for r in rows if r["rank"] is not None])
        cut = n - math.ceil(n / 3)  # the bottom third: the last ceil(n/3) ranks
        bottom = sorted(r["design"] for r in rows if r["rank"] is not None and r["rank"] > cut)
        bottoms[label] = bottom
        epochs = rep["cost"]["epochs_trained"]
        table.add_row(
            label, str(epochs), f"{epochs / base_epochs:.2f}", f"{wall:.0f}", f"{wall / base_wall:.2f}",
            rep["verdict"]["best"], str(rep["verdict"]["full_preact_rank"]), ", ".join(bottom),
        )
    Console(width=200).print(table)
    same_winner = results["none"][1]["verdict"]["best"] == results[default][1]["verdict"]["best"]
    same_bottom = bottoms["none"] == bottoms[default]
    print(f"same winner: {same_winner}; same bottom third: {same_bottom}; databases in {out}")


if __name__ == "__main__":
    main()
