"""What does the shared database cost? Trials per minute with 1, 2 and 4 workers, SQLite vs PostgreSQL.

    .venv/bin/python bench/workers.py [--workers 1,2,4] [--seeds 8] [--backends sqlite,postgresql]

Each configuration gets a fresh study of very short trials (the smoke profile cut to one
epoch of 4 steps) and N real `unitsearch worker` processes, one CPU thread each. Every
worker times the Optuna storage calls it makes (outermost RDBStorage methods, per thread),
so the table can set the bookkeeping per trial beside the training per trial:

- cycle s: worker-seconds per finished trial (workers x span / trials);
- trials/min: finished trials over the span from the first trial's start to the last one's
  end (the workers' start-up, mostly importing torch, is shown apart as "start s");
- train s: the trial's own ``wall_seconds`` (training and evaluation);
- storage s: main-thread time inside storage calls per trial (ask, user attributes,
  reports, tell, the plan status a worker reads between trials, stale-trial checks);
  heartbeats are written by a background thread and counted apart.

PostgreSQL is a throw-away local cluster (tests/pg.py, fsync on, as a real server keeps
it); SQLite is a file in WAL mode. On a machine with fewer cores than workers the
trials/min mostly measure CPU contention; the storage columns are the point.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPACE = """
description = "bench: very short trials"
profile = "smoke"
seeds = [{seeds}]

[train]
epochs = 1
batch_size = 128  # 512 training images: 4 steps

[factors]
unit = ["original", "bn_after_add", "relu_before_add", "relu_preact", "full_preact"]

[pruner]
name = "none"
"""


# --- inside a worker process --------------------------------------------------------------


def _instrument(stats: dict) -> None:
    """Time every outermost RDBStorage method call, per thread kind (main or heartbeat)."""
    import optuna

    local = threading.local()
    cls = optuna.storages.RDBStorage

    def wrap(name, fn):
        def timed(*args, **kwargs):
            depth = getattr(local, "depth", 0)
            local.depth = depth + 1
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                local.depth = depth
                if depth == 0:
                    kind = "main" if threading.current_thread() is threading.main_thread() else "background"
                    entry = stats.setdefault(kind, {}).setdefault(name, [0, 0.0])
                    entry[0] += 1
                    entry[1] += time.perf_counter() - start

        return timed

    for name, fn in list(vars(cls).items()):
        if name.startswith(("__", "get_heartbeat", "get_failed_trial_callback")):  # plain getters of settings
            continue
        if callable(fn) and not isinstance(fn, (staticmethod, classmethod, type)):
            setattr(cls, name, wrap(name, fn))


def as_worker(out: Path, args: list[str]) -> None:
    stats: dict = {}
    _instrument(stats)
    from unitsearch.cli import app

    try:
        app(args, prog_name="unitsearch")
    except SystemExit as e:
        stats["exit"] = e.code
    finally:
        out.write_text(json.dumps(stats))


# --- the driver ---------------------------------------------------------------------------


def _load_pg():
    spec = importlib.util.spec_from_file_location("unitsearch_tests_pg", ROOT / "tests" / "pg.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_config(url: str, workers: int, space_path: Path, work: Path) -> dict:
    import optuna

    from unitsearch.search import create_study, load_space
    from unitsearch.storage import open_storage, read_trial

    study_name = f"bench{workers}"
    space = load_space(str(space_path))
    create_study(url, study_name, space)
    env = {**os.environ, "UNITSEARCH_STORAGE": url}
    outs = [work / f"{study_name}-{i}.json" for i in range(workers)]
    cmd = [sys.executable, __file__, "--as-worker"]
    launched = time.time()
    procs = [
        subprocess.Popen([*cmd, str(o), "worker", "--study", study_name, "--threads", "1", "--quiet", "--device", "cpu"], env=env)
        for o in outs
    ]
    for p in procs:
        p.wait(timeout=900)
    trials = optuna.load_study(study_name=study_name, storage=open_storage(url, heartbeat=False)).trials
    done = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
    first = min(t.datetime_start for t in done).timestamp()
    span = max(t.datetime_complete for t in done).timestamp() - first
    main_s = main_calls = bg_calls = 0.0
    by_call: dict[str, list[float]] = {}
    for o in outs:
        stats = json.loads(o.read_text())
        for name, (calls, seconds) in stats.get("main", {}).items():
            main_calls, main_s = main_calls + calls, main_s + seconds
            entry = by_call.setdefault(name, [0, 0.0])
            entry[0], entry[1] = entry[0] + calls, entry[1] + seconds
        bg_calls += stats.get("background", {}).get("record_heartbeat", [0, 0.0])[0]
    n = len(done)
    return {
        "trials": n,
        "failed": sum(t.state.name == "FAIL" for t in trials),
        "per_min": 60 * n / span,
        "start_s": first - launched,
        "train_s": statistics.mean(read_trial(t).wall_seconds for t in done),
        "cycle_s": workers * span / n,  # worker-seconds per finished trial
        "storage_s": main_s / n,
        "storage_calls": main_calls / n,
        "heartbeats": bg_calls / n,
        "by_call": {k: (c / n, s / n) for k, (c, s) in by_call.items()},
        "exit": [p.returncode for p in procs],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,2,4", help="worker counts to compare")
    parser.add_argument("--seeds", type=int, default=8, help="seeds per unit (5 units): trials per configuration = 5 x seeds")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    backends = args.backends.split(",")

    from rich.console import Console
    from rich.table import Table

    from unitsearch.storage import heartbeat_settings

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    console = Console(width=max(Console().width, 160))
    results: dict[tuple[str, int], dict] = {}
    with tempfile.TemporaryDirectory(prefix="unitsearch-bench-workers-") as tmp:
        work = Path(tmp)
        space_path = work / "bench.toml"
        space_path.write_text(SPACE.format(seeds=", ".join(map(str, range(args.seeds)))))
        server = None
        try:
            if "postgresql" in backends:
                pg = _load_pg()
                if pg.find_bindir() is None:
                    console.print(f"skipping PostgreSQL: {pg.MISSING_REASON}")
                    backends.remove("postgresql")
                else:
                    server = pg.PostgresServer(durable=True).start()
            for workers in counts:  # backends side by side for each count, so load drifts hit both alike
                for backend in backends:
                    url = f"sqlite:///{work}/bench{workers}.db" if backend == "sqlite" else server.create_database(f"bench{workers}")
                    console.print(f"{backend}, {workers} worker(s) ...")
                    results[backend, workers] = run_config(url, workers, space_path, work)
        finally:
            if server is not None:
                server.stop()

    interval, grace = heartbeat_settings()
    table = Table(title=f"Workers on one study: {5 * args.seeds} one-epoch smoke trials, 1 thread per worker, {os.cpu_count()} cores, heartbeat {interval} s")
    for col in ("storage", "workers", "trials", "trials/min", "vs 1 worker", "vs sqlite", "start s", "cycle s", "train s", "storage s", "storage %", "calls", "heartbeats"):
        table.add_column(col, justify="left" if col == "storage" else "right")
    for backend in backends:
        for workers in counts:
            r = results[backend, workers]
            base = results.get((backend, counts[0]))
            sq = results.get(("sqlite", workers))
            table.add_row(
                backend, str(workers), f"{r['trials']}" + (f" ({r['failed']} fail)" if r["failed"] else ""), f"{r['per_min']:.0f}",
                f"{r['per_min'] / base['per_min']:.2f}x", f"{r['per_min'] / sq['per_min']:.2f}x" if sq else "-",
                f"{r['start_s']:.1f}", f"{r['cycle_s']:.2f}", f"{r['train_s']:.2f}", f"{r['storage_s']:.3f}",
                f"{100 * r['storage_s'] / r['cycle_s']:.0f}%", f"{r['storage_calls']:.0f}", f"{r['heartbeats']:.1f}",
            )
    console.print(table)
    console.print(
        "cycle s: worker-seconds per finished trial; train s: its wall_seconds; storage s: main-thread time in Optuna "
        "storage calls per trial, those between trials included; storage % = storage s / cycle s; heartbeats: background writes per trial."
    )
    top = Table(title=f"Where the storage time goes, per trial, with {counts[-1]} workers (main thread)")
    for col in ("storage", "call", "calls", "ms"):
        top.add_column(col, justify="left" if col in ("storage", "call") else "right")
    for backend in backends:
        calls = results[backend, counts[-1]]["by_call"]
        for name, (c, sec) in sorted(calls.items(), key=lambda kv: -kv[1][1])[:6]:
            top.add_row(backend, name, f"{c:.1f}", f"{1000 * sec:.1f}")
    console.print(top)
    bad = {k: r["exit"] for k, r in results.items() if any(c != 0 for c in r["exit"])}
    if bad:
        console.print(f"[red]workers exited with errors: {bad}[/]")
        sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--as-worker":
        as_worker(Path(sys.argv[2]), sys.argv[3:])
    else:
        main()
