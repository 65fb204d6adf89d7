"""How the bookkeeping around every trial grows with the study: 100, 1,000 and 10,000 finished trials.

    .venv/bin/python bench/bookkeeping.py [--sizes 100,1000,10000] [--quick] [--backends sqlite,postgresql] [--repeats 3] [--profile]

What a worker does around every trial (``work`` in search/runner.py, ``Objective._claim`` in
search/objective.py), and the live view after it, each timed on its own (seconds per call):

- stale: ``optuna.storages.fail_stale_trials``, the heartbeat's check for dead workers;
- advance: ``plan.advance``, which replays the finished trials through the race to queue the next seeds;
- status: ``plan.plan_status``, which replays them again to say how far the plan is;
- dup: the objective's duplicate check (``objective._taken_elsewhere``, on a stand-in for the trial);
- left race: ``plan.left_race``, which the objective asks of every queued seed (a third replay);
- view: the live view's ``snapshot`` (unitsearch/cli/live.py), redrawn after every trial of a local worker.

The study is the built-in ``grammar`` space (4,000 designs, sampled) made a race (:data:`RACE`:
five seeds, the first two for every design), created by ``create_study`` as ``unitsearch run``
creates it. Its trials are written directly (``study.add_trials``), no training: each design's
seed 0 is a sampled trial, its later seeds queued ones (``fixed_params``), given round by round to
the designs that ``race.standings`` keeps in the race, so that ``advance`` finds the study as a
real race leaves it. Every trial carries what a trained one stores (``StoredTrial``: the unit and
its parts, config, manifest, curve, ...), with errors from a seeded RNG; pruned ones stop at the
hyperband pruner's rungs. The last round is cut to make N exactly: the designs it left waiting
for a seed are queued by a first ``advance`` before the timing ("queued").

Each call is timed on the study as a worker opens it (``join_study``: ``open_storage``'s retries
over Optuna's cache), the median of ``--repeats`` calls after a first read that fills the cache
("load s"). SQLite is a file in WAL mode; PostgreSQL a throw-away local server (tests/pg.py, fsync
on). ``--profile`` prints where ``advance`` spends its time in the largest study, by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import importlib.util
import io
import json
import os
import pstats
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import FrozenTrial, TrialState

from unitsearch import numerics
from unitsearch.cli.live import snapshot
from unitsearch.models import build_resnet, count_macs, count_params
from unitsearch.render import Format, render
from unitsearch.search import SearchSpace, create_study, join_study, load_space
from unitsearch.search.manifest import manifest
from unitsearch.search.objective import _taken_elsewhere
from unitsearch.search.plan import advance, cell_key, left_race, plan_key, plan_status, protected_cells
from unitsearch.search.race import RaceRule, Result, standings
from unitsearch.storage import TrialStatus, trial_attrs
from unitsearch.train.setup import setup_trial
from unitsearch.units import preset_name, resolve_unit

ROOT = Path(__file__).resolve().parents[1]
SIZES = (100, 1_000, 10_000)
QUICK = (100, 1_000)
BASELINE = "original"  # create_study's default
# The grammar space as a race: a sampled design gets seed 0, then seed 1, then one more seed after
# each of its paired tests against the best fails to call it worse, up to five.
RACE = """
[plan]
kind = "race"
min_seeds = 2
max_seeds = 5
alpha = 0.1
test = "t"
protect = ["full_preact"]
"""
RUNGS = (1, 3, 9)  # hyperband's rungs in the grammar space (min_resource 1, reduction factor 3, 16 epochs)
CHANCE = 90.0  # percent: ten classes


def race_space(work: Path) -> SearchSpace:
    """The grammar space with five seeds, every design in the sampler's budget, and :data:`RACE`."""
    text = (ROOT / "search_spaces" / "grammar.toml").read_text()
    text = re.sub(r"(?m)^seeds = .*$", "seeds = [0, 1, 2, 3, 4]", text)
    text = re.sub(r"(?m)^n_trials = .*$", "n_trials = 4000", text)
    path = work / "grammar_race.toml"
    path.write_text(text + RACE)
    return load_space(str(path))


# --- the trials, written as a worker writes them -------------------------------------------


class Trials:
    """Finished trials of the race on ``space``, as its workers would have stored them."""

    def __init__(self, space: SearchSpace, *, seed: int = 0) -> None:
        self.space, self.rng = space, random.Random(seed)
        self.distributions = {k: CategoricalDistribution(v) for k, v in space.choices.items()}
        cells = space.cells()
        self.rng.shuffle(cells)
        keys = [cell_key(space, c) for c in cells]
        self.protected = protected_cells(space, keys, baseline=BASELINE)
        # The verdict's pair first: every race has them from its first trials.
        order = sorted(range(len(cells)), key=lambda i: keys[i] not in self.protected)
        self.cells = [(cells[i], keys[i]) for i in order]
        self.mean = {k: self._design_error(k) for _, k in self.cells}
        spec = space.unit_of(self.cells[0][0])
        setup = setup_trial(spec, space.profile, seed=0)
        model = build_resnet(spec, setup.network(10))
        self.config = setup.config.to_dict()
        self.net = {"depth": model.cfg.depth, "width": model.cfg.width, "bottleneck": model.cfg.bottleneck, "arch": model.cfg.arch.value}
        self.counts = {"params": count_params(model), "macs": count_macs(model, 12)}
        import torch

        self.manifest = manifest(torch.device("cpu"), SimpleNamespace(name="synthetic", fingerprint="5f0c2a9e41b7d3c8"))
        self.numerics = numerics.describe("cpu", threads=1)
        self.rule = RaceRule(
            seeds=tuple(space.race_seeds), min_seeds=int(space.plan["min_seeds"]), alpha=float(space.plan["alpha"]),
            test=str(space.plan["test"]), protected=self.protected,
        )

    def _design_error(self, cell: str) -> float:
        if cell in self.protected:
            return 22.0 if json.loads(cell)["unit"] == resolve_unit(BASELINE).form else 14.0
        if self.rng.random() < 0.3:
            return CHANCE - self.rng.uniform(0, 4)  # a shortcut that does not train
        return min(80.0, max(10.0, self.rng.gauss(32.0, 9.0)))

    def race(self, n_designs: int) -> list[Result]:
        """The results in the order they finished: seed 0 of every design, seed 1, then a seed for those still in."""
        designs = [key for _, key in self.cells[:n_designs]]
        results: list[Result] = []
        for seed in self.rule.seeds:
            lanes = standings(designs, results, self.rule) if seed else {}
            for cell in designs:
                lane = lanes.get(cell)
                if seed and (lane is None or lane.out is not None or seed - 1 not in lane.errors):
                    continue
                error = max(1.0, self.rng.gauss(self.mean[cell], 2.5))
                pruned = cell not in self.protected and self.rng.random() < min(0.85, max(0.05, (self.mean[cell] - 20.0) / 75.0))
                results.append(Result(cell, seed, error, pruned))
        return results

    def results(self, n: int) -> list[Result]:
        """Exactly ``n`` results: as many designs as make about ``n``, the last round cut."""
        designs = min(len(self.cells), max(2, n // 3))
        for _ in range(2):  # trials per design, measured once, decide the designs
            state = self.rng.getstate()
            results = self.race(designs)
            self.rng.setstate(state)
            designs = min(len(self.cells), max(2, round(designs * n / len(results))))
        results = self.race(designs)
        extra = iter(self.cells[designs:])
        while len(results) < n:  # too few: designs just sampled, their seed 0 done
            results.append(Result(next(extra)[1], self.rule.seeds[0], self.rng.uniform(10, CHANCE), False))
        return results[:n]

    def frozen(self, results: list[Result]) -> list[FrozenTrial]:
        values = {key: c for c, key in self.cells}
        start = datetime.datetime(2025, 1, 6, 9, 0, 0)
        out = []
        for i, r in enumerate(results):
            params = values[r.cell]
            epochs = self.rng.choice(RUNGS[:2] if self.mean[r.cell] > 60 else RUNGS) if r.pruned else int(self.config["epochs"])
            wall = epochs * self.rng.uniform(3.5, 4.5)
            curve = self._curve(r.error, epochs, wall)
            diverged = not r.pruned and self.mean[r.cell] > 80 and self.rng.random() < 0.05
            value = CHANCE if diverged else r.error
            status = TrialStatus.PRUNED if r.pruned else TrialStatus.DIVERGED if diverged else TrialStatus.COMPLETE
            reason = f"pruned after epoch {epochs} at validation error {r.error:.2f}%" if r.pruned else "loss diverged" if diverged else ""
            t = optuna.trial.create_trial(
                state=TrialState.PRUNED if r.pruned else TrialState.COMPLETE,
                value=value,
                params=params,
                distributions=self.distributions,
                user_attrs=self._attrs(params, r, status, reason, curve, epochs, wall),
                system_attrs={} if r.seed == self.rule.seeds[0] else {"fixed_params": params},  # later seeds are queued
                intermediate_values={c["epoch"]: c["val_error"] for c in curve},
            )
            t.datetime_complete = start + datetime.timedelta(seconds=30 * i)  # two workers, one trial a minute each
            t.datetime_start = t.datetime_complete - datetime.timedelta(seconds=wall)
            out.append(t)
        return out

    def _curve(self, final: float, epochs: int, wall: float) -> list[dict[str, float]]:
        curve = []
        for e in range(1, epochs + 1):
            err = final + (CHANCE - final) * 0.7 ** (e - 1) * (1 if epochs == self.config["epochs"] else 0.5)
            err = min(CHANCE + 2, max(0.5, err + self.rng.gauss(0, 0.8)))
            lr = 0.1 * (0.1 if e > 8 else 1) * (0.1 if e > 12 else 1)
            curve.append({
                "epoch": e, "train_loss": err / 40, "train_acc": 100 - err * 0.9, "val_loss": err / 38, "val_error": err,
                "lr": lr, "seconds": wall / epochs, "images_per_s": 3000 * epochs / wall,
            })
        if curve:
            curve[-1]["val_error"] = final
        return curve

    def _attrs(self, params: dict, r: Result, status: TrialStatus, reason: str, curve: list[dict], epochs: int, wall: float) -> dict[str, Any]:
        spec = self.space.unit_of(params)
        return trial_attrs(
            plan_key=plan_key(r.cell, r.seed), cell=r.cell, seed=r.seed, unit=spec.form, built_unit=spec.form,
            preset=preset_name(spec) or "", h=spec.h_form, branch=spec.branch_form, f=spec.f_form, profile=self.space.profile,
            **self.net, **self.counts, config={**self.config, "seed": r.seed}, manifest=self.manifest, numerics=self.numerics,
            status=status, reason=reason, curve=curve, resumed_from=None, worker=f"worker {self.rng.randrange(2)}", checkpoint=None,
            final_train_loss=curve[-1]["train_loss"], val_error=curve[-1]["val_error"], test_error=None, epochs=epochs,
            wall_seconds=wall, images_per_s=sum(c["images_per_s"] for c in curve) / len(curve),
        )


# --- timing --------------------------------------------------------------------------------


def _median(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


CALLS = ("stale", "advance", "status", "dup", "left race", "view")


def measure(url: str, name: str, space: SearchSpace, trials: Trials, n: int, *, repeats: int, profile: bool) -> tuple[dict, str | None]:
    start = time.perf_counter()
    study, _ = create_study(url, name, space, baseline=BASELINE)
    results = trials.results(n)
    study.add_trials(trials.frozen(results))
    built = time.perf_counter() - start
    study._storage.remove_session()

    study, _ = join_study(url, name, worker=0)  # a fresh worker: its cache is empty
    start = time.perf_counter()
    finished = study.get_trials(deepcopy=False)
    load = time.perf_counter() - start
    queued = advance(study, space)  # the designs the cut left waiting for their next seed
    last = max(finished, key=lambda t: t.number)
    me = SimpleNamespace(study=study, number=last.number)  # _taken_elsewhere reads only these
    fresh = plan_key(results[-1].cell, 99)  # a key nobody holds: the whole study is scanned
    calls = {
        "stale": lambda: optuna.storages.fail_stale_trials(study),
        "advance": lambda: advance(study, space),
        "status": lambda: plan_status(study, space),
        "dup": lambda: _taken_elsewhere(me, fresh),
        "left race": lambda: left_race(study, space, results[-1].cell),
        "view": lambda: snapshot(study, space, workers=2),
    }
    row = {name: _median(fn, repeats) for name, fn in calls.items()}
    profiled = None
    if profile:
        prof = cProfile.Profile()
        prof.enable()
        advance(study, space)
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(10)
        profiled = _short_paths(buf.getvalue())
    states = [t.state for t in finished]
    row.update(
        pruned=sum(s is TrialState.PRUNED for s in states), designs=len({r.cell for r in results}), queued=queued,
        build_s=built, load_s=load,
    )
    study._storage.remove_session()
    return row, profiled


def _short_paths(text: str) -> str:
    prefixes = sorted({str(ROOT) + "/", *(p + "/" for p in sys.path if p and "-packages" in p)}, key=len, reverse=True)
    for p in prefixes:
        text = text.replace(p, "")
    return "\n".join(line for line in text.splitlines() if line.strip() and not line.startswith(("   Ordered by", "         ")))


def _load_pg():
    spec = importlib.util.spec_from_file_location("unitsearch_tests_pg", ROOT / "tests" / "pg.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def machine() -> str:
    cpu = "unknown CPU"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores; {numerics.describe('cpu')}; optuna {optuna.__version__}, Python {sys.version.split()[0]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="finished trials per study")
    parser.add_argument("--quick", action="store_true", help=f"sizes {', '.join(map(str, QUICK))} only")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--repeats", type=int, default=3, help="calls timed per cell of the table (their median)")
    parser.add_argument("--profile", action="store_true", help="cProfile of advance in the largest study")
    args = parser.parse_args()
    sizes = list(QUICK) if args.quick else sorted(int(s.replace("_", "")) for s in args.sizes.split(","))
    backends = args.backends.split(",")
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    began = time.perf_counter()
    print(f"machine: {machine()}", flush=True)
    rows, profiles = [], {}
    with tempfile.TemporaryDirectory(prefix="unitsearch-bench-bookkeeping-") as tmp:
        work = Path(tmp)
        space = race_space(work)
        server = None
        try:
            if "postgresql" in backends:
                pg = _load_pg()
                if pg.find_bindir() is None:
                    print(f"skipping PostgreSQL: {pg.MISSING_REASON}")
                    backends.remove("postgresql")
                else:
                    server = pg.PostgresServer(durable=True).start()
            for backend in backends:
                for n in sizes:
                    name = f"bench{n}"
                    url = f"sqlite:///{work}/{name}.db" if backend == "sqlite" else server.create_database(name)
                    print(f"{backend}, {n:,} trials ...", flush=True)
                    row, prof = measure(url, name, space, Trials(space), n, repeats=args.repeats, profile=args.profile and n == sizes[-1])
                    rows.append({"storage": backend, "trials": n, **row})
                    if prof:
                        profiles[backend] = prof
        finally:
            if server is not None:
                server.stop()

    table = []
    for r in rows:
        total = sum(r[c] for c in CALLS)
        base = next(x for x in rows if x["storage"] == r["storage"] and x["trials"] == sizes[0])
        table.append({
            "storage": r["storage"], "trials": r["trials"], **{f"{c} s": r[c] for c in CALLS}, "total s": total,
            f"vs {sizes[0]:,}": f"{total / sum(base[c] for c in CALLS):.1f}x",
            "designs": r["designs"], "pruned": r["pruned"], "queued": r["queued"], "load s": r["load_s"], "build s": r["build_s"],
        })
    title = f"Bookkeeping per trial, seconds per call (median of {args.repeats}), grammar space as a race"
    print()
    print(render(table, Format.MARKDOWN, title=title))
    print(
        "total: the six calls, what one local worker and its live view do around every trial; designs: in the race; "
        "pruned: of the finished trials; queued: seeds the first advance queued; load s: a fresh worker's first read "
        "of the study; build s: creating the study and writing its trials."
    )
    for backend, text in profiles.items():
        print(f"\nadvance at {sizes[-1]:,} trials on {backend}, top 10 by cumulative time:\n")
        print(text)
    print(f"\nbench took {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
