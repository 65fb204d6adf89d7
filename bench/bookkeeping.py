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
five seeds, the first three for every design), created by ``create_study`` as ``unitsearch run``
creates it. Its trials are written directly, no training, row for row as ``study.add_trials``
writes them (:func:`write_trials`; ``--add-trials`` takes the slow road itself): each design's
seed 0 is a sampled trial, its later seeds queued ones (``fixed_params``), given round by round to
the designs that ``race.standings`` keeps in the race, so that ``advance`` finds the study as a
real race leaves it. Every trial carries what a trained one stores (``StoredTrial``: the unit and
its parts, config, manifest, curve, ...), with errors from a seeded RNG; pruned ones stop at the
hyperband pruner's rungs. The last round is cut to make N exactly: the designs it left waiting
for a seed are queued by a first ``advance`` before the timing ("queued").

Each call is timed on the study as a worker opens it (``join_study``: ``open_storage``'s retries
over Optuna's cache), the median of ``--repeats`` calls after a first read that fills the cache
("load s"). SQLite is a file in WAL mode; PostgreSQL a throw-away local server (tests/pg.py, fsync
on). ``--profile`` prints where ``advance`` spends its time in the largest study, by cumulative time,
on the first storage (past the cached read, it is Python over the trials: the same on both).
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
import sqlalchemy
import torch
from optuna.distributions import CategoricalDistribution, distribution_to_json
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
from unitsearch.storage import TrialStatus, check_url, trial_attrs
from unitsearch.train.setup import setup_trial
from unitsearch.units import preset_name, resolve_unit

ROOT = Path(__file__).resolve().parents[1]
SIZES = (100, 1_000, 10_000)
QUICK = (100, 1_000)
BASELINE = "original"  # create_study's default
# The grammar space as a race: a sampled design gets seed 0, then seeds 1 and 2, then one more seed
# after each of its paired tests against the best fails to call it worse, up to five. Three first
# seeds, not two: the grammar's designs are close, and most leave after their first test anyway.
RACE = """
[plan]
kind = "race"
min_seeds = 3
max_seeds = 5
alpha = 0.1
test = "t"
protect = ["full_preact"]
"""
RUNGS = (1, 3, 9)  # hyperband's rungs in the grammar space (min_resource 1, reduction factor 3, 16 epochs)
CHANCE = 90.0  # percent: ten classes
NOISE = 3.0  # percent: the spread of one design's error over seeds


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
        self.manifest = manifest(torch.device("cpu"), SimpleNamespace(name="synthetic", fingerprint="5f0c2a9e41b7d3c8"))
        self.numerics = numerics.describe("cpu", threads=1)
        self.rule = RaceRule(
            seeds=tuple(space.race_seeds), min_seeds=int(space.plan["min_seeds"]), alpha=float(space.plan["alpha"]),
            test=str(space.plan["test"]), protected=self.protected,
        )

    def _design_error(self, cell: str) -> float:
        """A design's mean error: the verdict's pair as on the cpu profile, a fifth at chance, the rest close together."""
        if cell in self.protected:
            return 38.0 if json.loads(cell)["unit"] == resolve_unit(BASELINE).form else 19.0
        if self.rng.random() < 0.2:
            return CHANCE - self.rng.uniform(0, 4)  # a shortcut that does not train
        return min(80.0, max(10.0, self.rng.gauss(27.0, 2.0)))

    def _pruned(self, cell: str) -> bool:
        """Hyperband stops most of the designs at chance, and a few of the others."""
        return cell not in self.protected and self.rng.random() < (0.85 if self.mean[cell] > 60 else 0.05)

    def race(self, n_designs: int) -> list[Result]:
        """The results in the order they finished, seed by seed: every design's seed 0, then the next seed of each still in."""
        designs = [key for _, key in self.cells[:n_designs]]
        results: list[Result] = []
        for seed in self.rule.seeds:
            lanes = standings(designs, results, self.rule) if seed else {}
            for cell in designs:
                lane = lanes.get(cell)
                if seed and (lane is None or lane.out is not None or seed - 1 not in lane.errors):
                    continue
                results.append(Result(cell, seed, max(1.0, self.rng.gauss(self.mean[cell], NOISE)), self._pruned(cell)))
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
        extra = [key for _, key in self.cells[designs:]]
        while len(results) < n:  # too few: designs just sampled, their seed 0 done
            if not extra:
                raise ValueError(f"{n:,} trials of this race need more designs than the space's {len(self.cells):,}")
            results.append(Result(extra.pop(0), self.rule.seeds[0], self.rng.uniform(10, CHANCE), False))
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


def write_trials(url: str, name: str, trials: list[FrozenTrial]) -> None:
    """Store finished trials as ``study.add_trials`` stores them, row for row, in one transaction.

    ``add_trials`` commits once per trial, and asks the whole study once per parameter (whether
    its distribution changed): about 45 ms a trial here, growing with the study, so 10,000
    trials on two storages would take most of an hour. The rows are those of Optuna's own
    models (``optuna.storages._rdb.models``), filled as its ``_get_prepared_new_trial`` fills
    them; :func:`check_written` reads them back through Optuna.
    """
    from optuna.storages._rdb import models

    rdb = optuna.storages.RDBStorage(check_url(url).render_as_string(hide_password=False))
    study_id = rdb.get_study_id_from_name(name)
    session = rdb.scoped_session()
    try:
        first = session.query(models.TrialModel).filter_by(study_id=study_id).count()
        rows = [
            models.TrialModel(study_id=study_id, number=first + i, state=t.state, datetime_start=t.datetime_start, datetime_complete=t.datetime_complete)
            for i, t in enumerate(trials)
        ]
        session.add_all(rows)
        session.flush()  # the trial ids
        batches: dict[type, list[dict[str, Any]]] = {m: [] for m in (
            models.TrialValueModel, models.TrialParamModel, models.TrialUserAttributeModel,
            models.TrialSystemAttributeModel, models.TrialIntermediateValueModel,
        )}
        for row, t in zip(rows, trials):
            tid = row.trial_id
            if t.value is not None:
                value, kind = models.TrialValueModel.value_to_stored_repr(t.value)
                batches[models.TrialValueModel].append({"trial_id": tid, "objective": 0, "value": value, "value_type": kind})
            for key, value in t.params.items():
                dist = t.distributions[key]
                batches[models.TrialParamModel].append(
                    {"trial_id": tid, "param_name": key, "param_value": dist.to_internal_repr(value), "distribution_json": distribution_to_json(dist)}
                )
            for model, attrs in ((models.TrialUserAttributeModel, t.user_attrs), (models.TrialSystemAttributeModel, t.system_attrs)):
                batches[model] += [{"trial_id": tid, "key": k, "value_json": json.dumps(v)} for k, v in attrs.items()]
            for step, iv in t.intermediate_values.items():
                value, kind = models.TrialIntermediateValueModel.intermediate_value_to_stored_repr(iv)
                batches[models.TrialIntermediateValueModel].append(
                    {"trial_id": tid, "step": step, "intermediate_value": value, "intermediate_value_type": kind}
                )
        for model, batch in batches.items():
            if batch:
                session.execute(sqlalchemy.insert(model), batch)
        session.commit()
    finally:
        session.close()
        rdb.engine.dispose()


_FIELDS = ("state", "value", "params", "distributions", "user_attrs", "system_attrs", "intermediate_values", "datetime_start", "datetime_complete")


def check_written(study: optuna.Study, trials: list[FrozenTrial]) -> None:
    """The study holds ``trials``, as Optuna reads them back, after the trials it held before."""
    stored = study.get_trials(deepcopy=False)[-len(trials):]
    if len(stored) != len(trials):
        raise RuntimeError(f"wrote {len(trials)} trials, found {len(stored)}")
    for t, s in zip(trials, stored):
        for f in _FIELDS:
            if getattr(t, f) != getattr(s, f):
                raise RuntimeError(f"trial {s.number}: {f} reads back as {getattr(s, f)!r}, written {getattr(t, f)!r}")


# --- timing --------------------------------------------------------------------------------


def _median(fn: Callable[[], object], repeats: int, before: Callable[[], object] | None = None) -> float:
    times = []
    for _ in range(repeats):
        if before is not None:
            before()  # not timed: what happened since the last call
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _one_more(study: optuna.Study, rng: random.Random) -> None:
    """Finish one waiting trial, as a worker does between two calls: each timed call has a new result to take in."""
    if not any(t.state is TrialState.WAITING for t in study.get_trials(deepcopy=False)):
        return
    trial = study.ask()
    study.tell(trial, rng.uniform(20.0, 80.0))


CALLS = ("stale", "advance", "status", "dup", "left race", "view")


def measure(
    url: str, name: str, space: SearchSpace, results: list[Result], frozen: list[FrozenTrial], *, repeats: int, profile: bool, through_optuna: bool
) -> tuple[dict[str, Any], str | None]:
    """Create the study, write its trials, and time each call a worker makes around a trial (:data:`CALLS`)."""
    start = time.perf_counter()
    study, _ = create_study(url, name, space, baseline=BASELINE)
    if through_optuna:
        study.add_trials(frozen)
    else:
        study._storage.remove_session()
        write_trials(url, name, frozen)
    built = time.perf_counter() - start
    study._storage.remove_session()

    study, _ = join_study(url, name, worker=0)  # a fresh worker: its cache is empty
    start = time.perf_counter()
    finished = study.get_trials(deepcopy=False)
    load = time.perf_counter() - start
    check_written(study, frozen)
    start = time.perf_counter()
    queued = advance(study, space)  # the designs the cut left waiting for their next seed
    cold = time.perf_counter() - start  # a fresh worker's first replay: the whole study
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
    rng = random.Random(0)
    row = {name: _median(fn, repeats, before=lambda: _one_more(study, rng)) for name, fn in calls.items()}
    row["read"] = _median(lambda: study.get_trials(deepcopy=False), repeats)  # inside each call above
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
        build_s=built, load_s=load, cold_advance_s=cold,
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
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    cpu = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "unknown CPU")
    return f"{cpu}, {os.cpu_count()} cores; {numerics.describe('cpu')}; optuna {optuna.__version__}, Python {sys.version.split()[0]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="finished trials per study")
    parser.add_argument("--quick", action="store_true", help=f"sizes {', '.join(map(str, QUICK))} only")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--repeats", type=int, default=3, help="calls timed per cell of the table (their median)")
    parser.add_argument("--profile", action="store_true", help="cProfile of advance in the largest study, first storage")
    parser.add_argument("--add-trials", action="store_true", help="write the trials with study.add_trials (about 45 ms a trial, and growing)")
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
            made: dict[int, tuple[list[Result], list[FrozenTrial]]] = {}  # the same trials on every storage
            for backend in backends:
                for n in sizes:
                    if n not in made:
                        trials = Trials(space)
                        results = trials.results(n)
                        made[n] = results, trials.frozen(results)
                    name = f"bench{n}"
                    url = f"sqlite:///{work}/{name}.db" if backend == "sqlite" else server.create_database(name)
                    print(f"{backend}, {n:,} trials ...", flush=True)
                    row, prof = measure(
                        url, name, space, *made[n], repeats=args.repeats, profile=args.profile and (backend, n) == (backends[0], sizes[-1]), through_optuna=args.add_trials
                    )
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
            "read s": r["read"], "designs": r["designs"], "pruned": r["pruned"], "queued": r["queued"], "load s": r["load_s"], "cold advance s": r["cold_advance_s"], "build s": r["build_s"],
        })
    title = f"Bookkeeping per trial, seconds per call (median of {args.repeats}), grammar space as a race"
    print()
    print(render(table, Format.MARKDOWN, title=title))
    print(
        "total: the six calls, what one local worker and its live view do around every trial; read s: the worker's "
        "cached study.get_trials, which each of them makes; designs: in the race; "
        "pruned: of the finished trials; queued: seeds the first advance queued; load s: a fresh worker's first read "
        "of the study; cold advance s: its first advance, which replays the whole race (later calls take in only "
        "the trials finished since, one before each timed call); build s: creating the study and writing its trials."
    )
    for backend, text in profiles.items():
        print(f"\nadvance at {sizes[-1]:,} trials on {backend}, top 10 by cumulative time (cProfile's overhead slows it; the shares count):\n")
        print(text)
    print(f"\nbench took {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
