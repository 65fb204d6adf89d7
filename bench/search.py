"""Which search finds the best unit of the `grammar` space under seed noise, against random search.

    .venv/bin/python bench/search.py [--strategies tpe/race,random/single,...] [--searches 20] [--jobs 2] [--png FILE]
    .venv/bin/python bench/search.py --measure 30        # the landscape: 30 grammar units on seeds 0-2, going on where it stopped

**The landscape** (``bench/search/landscape.jsonl``, shipped beside this script, so a rerun takes
minutes, not a day of training): the val error of grammar units trained at the `cpu` profile
(`unitsearch train -u FORM --profile cpu --seed S --threads 1`), a random sample of 30 units
(``--measure``; the shipped file has seeds 0 and 1 of each, the measurement was stopped there
for time) and the paper's presets that the grammar holds on seeds 0-4 (from
``bench/calibration/trials.jsonl``, the same profile). A unit's true error is its mean over the
seeds measured. For the units not measured, the stated model: an additive model of the unit's
five factors (h, f, and the ops before, between and after the convolutions) on the logit of
the error, fitted by ridge regression to the measured units' means (the penalty with the least
leave-one-out error), plus a residual of the
unit's own: one of the model's leave-one-out residuals, drawn once and shrunk by the share of
their variance that is the measured means' seed noise; its seed spread is the
median spread of the ten measured units nearest in mean. A seed's error is the measured one
where it was measured, else the unit's true error plus its spread times a normal draw fixed by
(unit, seed). Everything is seeded: the landscape is the same on every run.

**A search** runs through the real plan, race and objective code (``unitsearch.search``) on one
in-memory study with one worker, no pruner (the landscape holds final errors only) and the
grammar space's own seeds, protected designs and race settings; only training is replaced by a
look-up. Each strategy is a sampler and a plan: ``single`` (every proposal trains once; a design
proposed again trains on the next seed) or ``race`` (a proposal enters on its first seed, the
designs that a paired test cannot call worse than the best get more, and the baseline and full
pre-activation get every seed). The answer is what ``unitsearch report`` puts first
(``unitsearch.search.answer``): in a race the best mean over at least two seeds; without one the
best mean over any seeds (a design proposed twice has no better claim than the best draw), which
is mostly the best single draw, what Optuna reports; ``race-a0.2`` sets the
race's alpha, ``race-s2`` its most seeds a design (``-s2``: every proposal gets exactly two). The budget counts trained trials, re-evaluations included; the baseline and full
pre-activation take their seeds from it in a race.

It prints, per strategy at 30/60/120/240 trials, the median and interquartile range of the
answer's regret (its true error minus the best true error in the grammar) over the searches,
the share of searches whose answer is tied with the best (true error within ``--tie`` points),
and the one-sided Mann-Whitney p that the strategy's regret is lower than random search's
(``random/single``) at the same budget; ``--png`` draws the median regret against trials.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import multiprocessing as mp
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LANDSCAPE = HERE / "search" / "landscape.jsonl"
ANCHORS = HERE / "calibration" / "trials.jsonl"
ANCHOR_PROFILE = "d32-s12-16ep"  # the calibration's name for what is now the `cpu` profile
BUDGETS = (30, 60, 120, 240)
DEFAULT_STRATEGIES = (
    "random/single", "random_unique/single", "tpe/single", "evolution/single", "local/single", "gp/single",
    "random/race", "random_unique/race", "tpe/race", "evolution/race", "local/race", "gp/race",
)
# GPSampler refits its model and scores all 4,000 units at every trial: a search of 240 takes
# about 3 CPU-minutes here, so its searches stop at 60 unless a strategy says otherwise
# (SAMPLER/PLAN:BUDGET).
DEFAULT_CAPS = {"gp": 60}
RIDGES = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)  # the additive model's ridge penalties; the one with the least leave-one-out error is used


def _z(*key: object) -> float:
    """A standard normal draw fixed by ``key``."""
    digest = hashlib.sha256(repr(key).encode()).digest()
    return float(np.random.default_rng(int.from_bytes(digest[:8], "little")).standard_normal())


def _ridge(x: np.ndarray, y: np.ndarray, lam: float) -> tuple[float, np.ndarray, np.ndarray]:
    """Ridge regression with an unpenalised intercept: (penalty, coefficients, leave-one-out residuals)."""
    penalty = lam * np.eye(x.shape[1])
    penalty[0, 0] = 0.0
    a_inv = np.linalg.inv(x.T @ x + penalty)
    coef = a_inv @ x.T @ y
    hat = np.einsum("ij,jk,ik->i", x, a_inv, x)
    return lam, coef, (y - x @ coef) / (1 - hat)


def _logit(errors: np.ndarray) -> np.ndarray:
    q = np.clip(errors / 100, 1e-3, 1 - 1e-3)
    return np.log(q / (1 - q))


class Landscape:
    """Every grammar unit's true error and seed spread: measured where measured, else the stated model."""

    def __init__(self, measured: dict[str, dict[int, float]]) -> None:
        from unitsearch.search import load_space

        space = load_space("grammar")
        self.factors = list(space.choices)
        self.cells = {space.unit_of(c).form: c for c in space.cells()}
        self.measured = {u: e for u, e in measured.items() if u in self.cells and e}
        forms = list(self.cells)
        x_all = self._design(forms)
        units = list(self.measured)
        means = np.array([np.mean(list(self.measured[u].values())) for u in units])
        sds = np.array([np.std(list(self.measured[u].values()), ddof=1) if len(self.measured[u]) > 1 else np.nan for u in units])
        # ridge on the logit of the mean error (errors stay inside 0-100), the intercept unpenalised
        y = _logit(means)
        x = self._design(units)
        self.ridge, coef, loo = min((_ridge(x, y, lam) for lam in RIDGES), key=lambda fit: float(np.mean(fit[2] ** 2)))
        # the measured means carry seed noise (sd^2 / seeds, through the logit's slope); what is
        # left is the units' own, drawn for a unit not measured by resampling the shrunk residuals
        q = means / 100
        noise = np.nanmean((sds / 100 / (q * (1 - q))) ** 2 / np.array([len(self.measured[u]) for u in units]))
        shrink = math.sqrt(max(0.0, 1 - noise / np.mean(loo**2)))
        self.residual_sd = float(np.sqrt(np.mean(loo**2)) * shrink)
        pred = self._design(forms) @ coef
        self.true: dict[str, float] = {}
        self.sd: dict[str, float] = {}
        median_sd = float(np.nanmedian(sds))
        for form, p in zip(forms, pred):
            if form in self.measured:
                i = units.index(form)
                self.true[form], self.sd[form] = float(means[i]), float(sds[i]) if np.isfinite(sds[i]) else median_sd
                continue
            r = loo[int(abs(_z("unit", form)) * 1e6) % len(loo)] * shrink
            t = float(100 / (1 + math.exp(-(p + r))))
            near = np.argsort(np.abs(means - t))[:10]
            self.true[form], self.sd[form] = t, float(np.nanmedian(sds[near]))
        self.best_form = min(self.true, key=self.true.get)
        self.best = self.true[self.best_form]

    def _design(self, forms: list[str]) -> np.ndarray:
        levels = [(f, v) for f in self.factors for v in dict.fromkeys(self.cells[u][f] for u in self.cells)]
        index = {lv: i for i, lv in enumerate(levels)}
        x = np.zeros((len(forms), 1 + len(levels)))
        x[:, 0] = 1.0  # the intercept
        for r, u in enumerate(forms):
            for f in self.factors:
                x[r, 1 + index[(f, self.cells[u][f])]] = 1.0
        return x

    def draw(self, form: str, seed: int) -> float:
        if seed in self.measured.get(form, {}):
            return self.measured[form][seed]
        return float(np.clip(self.true[form] + self.sd[form] * _z("seed", form, seed), 0.0, 100.0))


def load_measured() -> dict[str, dict[int, float]]:
    from unitsearch.units import PRESETS

    measured: dict[str, dict[int, float]] = {}
    if LANDSCAPE.exists():
        for line in LANDSCAPE.read_text().splitlines():
            r = json.loads(line)
            measured.setdefault(r["unit"], {})[int(r["seed"])] = float(r["val_error"])
    for line in ANCHORS.read_text().splitlines():
        r = json.loads(line)
        if r["profile"] == ANCHOR_PROFILE:
            measured.setdefault(PRESETS[r["unit"]].spec.form, {})[int(r["seed"])] = float(r["val_error"])
    return measured


def _parse(strategy: str, budget: int) -> tuple[str, str, int]:
    """``SAMPLER/PLAN[:BUDGET]`` as (sampler, plan, budget)."""
    body, _, cap = strategy.partition(":")
    sampler, _, plan = body.partition("/")
    return sampler, plan or "single", min(budget, int(cap) if cap else DEFAULT_CAPS.get(sampler, budget))


def _space(strategy: str, search_seed: int):
    from unitsearch.search import load_space

    sampler, plan, _ = _parse(strategy, 0)
    space = load_space("grammar")
    opts = {"name": sampler, "n_trials": 2000, "seed": search_seed}
    if sampler == "tpe":
        opts.update(multivariate=True, constant_liar=True, n_startup_trials=15)
    race = dict(space.plan) if space.is_race else {"kind": "race", "min_seeds": 2, "alpha": 0.1, "test": "t", "protect": ["full_preact"]}
    seeds = list(space.seeds)
    if plan.startswith("race"):
        for part in plan.split("-")[1:]:  # race-a0.2: alpha 0.2; race-s5: at most five seeds a design
            if part.startswith("a"):
                race["alpha"] = float(part[1:])
            elif part.startswith("s"):
                race["max_seeds"] = int(part[1:])
                seeds = list(range(max(len(seeds), race["max_seeds"])))
        kind = race
    else:
        kind = {"kind": "grid"}
    return replace(space, seeds=seeds, sampler=opts, pruner={"name": "none"}, plan=kind, prefilter={})


def _pick(space, trials) -> str | None:
    """The search's answer after these trials: the plan's rule."""
    from unitsearch.report.build import answer_seeds
    from unitsearch.search.answer import search_answer
    from unitsearch.storage import read_trial

    errors: dict[str, dict[int, float]] = {}
    for r in map(read_trial, trials):
        if r.state.name == "COMPLETE" and r.unit:
            errors.setdefault(r.unit, {})[int(r.seed)] = float(r.value)
    if not errors:
        return None
    return search_answer(errors, answer_seeds(space.to_dict())[0]).cell


def run_search(job: tuple[str, int, int, dict]) -> dict:
    """One search to ``budget`` trained trials; the answer's true error after each."""
    import optuna
    import torch

    from unitsearch.search.objective import NotRun, Objective, TrialContext
    from unitsearch.search.plan import advance, enqueue_plan, plan_status, sampler_draws
    from unitsearch.search.samplers import make_sampler
    from unitsearch.storage import TrialStatus, write_study, write_trial

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    strategy, search_seed, budget, measured = job
    full, budget = budget, _parse(strategy, budget)[2]
    land = _landscape(measured)
    space = _space(strategy, search_seed)
    study = optuna.create_study(sampler=make_sampler(space), pruner=optuna.pruners.NopPruner())
    write_study(study, space=space.to_dict(), data="synthetic", baseline="original", n_planned=space.n_trials)
    if space.is_race:
        enqueue_plan(study, space)

    class Lookup(Objective):
        def __call__(self, trial: optuna.Trial) -> float:
            claim = self._claim(trial)
            form = space.unit_of(claim.values).form
            write_trial(trial, plan_key=claim.key, cell=claim.cell, seed=claim.seed, unit=form, status=TrialStatus.COMPLETE)
            return land.draw(form, claim.seed)

    objective = Lookup(TrialContext(space, torch.device("cpu")))
    curve: list[float] = []
    trained = 0
    start = time.process_time()
    for _ in range(20 * budget):  # draws that train nothing (a repeated design) end it at last
        if space.is_race:
            advance(study, space)
        drawn_all = sampler_draws(study.get_trials(deepcopy=False)) >= int(space.sampler["n_trials"])
        if space.is_race and drawn_all and plan_status(study, space).waiting == 0:
            break
        study.optimize(objective, n_trials=1, catch=(NotRun,))
        trials = study.get_trials(deepcopy=False)
        done = sum(t.state.name == "COMPLETE" for t in trials)
        if done > trained:
            trained = done
            curve.append(land.true[_pick(space, trials)] - land.best)
            if trained >= budget:
                break
    trials = study.get_trials(deepcopy=False)
    answer = _pick(space, trials)
    seeds = sum(t.state.name == "COMPLETE" and t.user_attrs.get("unit") == answer for t in trials)
    while len(curve) < budget:  # it ended early: its answer stands
        curve.append(curve[-1] if curve else math.nan)
    curve += [math.nan] * (full - budget)  # not run this far
    return {"strategy": strategy, "seed": search_seed, "curve": curve, "answer": answer, "answer_seeds": seeds,
            "trained": trained, "cpu_s": time.process_time() - start}


_LANDSCAPES: dict[int, Landscape] = {}


def _landscape(measured: dict) -> Landscape:
    key = hash(json.dumps(measured, sort_keys=True))
    if key not in _LANDSCAPES:
        _LANDSCAPES[key] = Landscape({u: {int(s): e for s, e in es.items()} for u, es in measured.items()})
    return _LANDSCAPES[key]


def measure(n: int, jobs: int) -> None:
    """Train the first ``n`` units of a fixed random order of the grammar on seeds 0-2 at the `cpu` profile.

    Pairs already in the landscape are skipped, so a stopped measurement goes on where it was.
    """
    sys.path.insert(0, str(HERE))
    from calibrate import _train_one

    from unitsearch.search import load_space
    from unitsearch.units import PRESETS

    space = load_space("grammar")
    forms = sorted({space.unit_of(c).form for c in space.cells()})
    anchors = {PRESETS[r["unit"]].spec.form for r in map(json.loads, ANCHORS.read_text().splitlines()) if r["profile"] == ANCHOR_PROFILE}
    have = {(u, s) for u, es in load_measured().items() for s in es}
    todo = [str(u) for u in np.random.default_rng(2026).permutation(forms) if u not in anchors][:n]
    LANDSCAPE.parent.mkdir(parents=True, exist_ok=True)
    work = [("cpu", u, s) for s in (0, 1, 2) for u in todo if (u, s) not in have]
    with mp.get_context("spawn").Pool(jobs) as pool, LANDSCAPE.open("a") as fh:
        for i, rec in enumerate(pool.imap_unordered(_train_one, work), 1):
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
            print(f"[{i}/{len(work)}] {rec['unit']} seed {rec['seed']}: {rec['val_error']:.2f}% ({rec['cpu_s']:.0f} s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strategies", default=",".join(DEFAULT_STRATEGIES), help="comma-separated SAMPLER/PLAN[:BUDGET]")
    parser.add_argument("--searches", type=int, default=20, help="search seeds per strategy")
    parser.add_argument("--budget", type=int, default=max(BUDGETS), help="trained trials per search")
    parser.add_argument("--tie", type=float, default=2.0, help="points of true error within which an answer ties the best")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--png", type=Path, default=None, help="write the anytime curves here")
    parser.add_argument("--json", type=Path, default=None, help="write every search's curve here")
    parser.add_argument("--measure", type=int, default=0, metavar="N", help="train N more units for the landscape, then stop")
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.jobs)
        return
    from rich.console import Console
    from rich.table import Table
    from scipy import stats

    measured = load_measured()
    land = _landscape({u: dict(e) for u, e in measured.items()})
    print(f"landscape: {len(land.true)} units, {len(land.measured)} measured ({sum(map(len, land.measured.values()))} trials); "
          f"model: ridge {land.ridge:g}, residual sd {land.residual_sd:.2f} (logit);  best {land.best:.1f}% ({land.best_form}, "
          f"{'measured' if land.best_form in land.measured else 'modelled'})")
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    jobs = [(s, seed, args.budget, measured) for s in strategies for seed in range(args.searches)]
    with mp.get_context("spawn").Pool(args.jobs) as pool:
        results = []
        for i, r in enumerate(pool.imap_unordered(run_search, jobs), 1):  # one at a time: the GP's are slow
            results.append(r)
            print(f"[{i}/{len(jobs)}] {r['strategy']} search {r['seed']}: regret {r['curve'][-1]:.1f} ({r['cpu_s']:.0f} s)", flush=True)
            if args.json:
                args.json.write_text(json.dumps(results))
    curves = {s: np.array([r["curve"] for r in results if r["strategy"] == s]) for s in strategies}
    cpu = {s: np.mean([r["cpu_s"] for r in results if r["strategy"] == s]) for s in strategies}
    budgets = [b for b in BUDGETS if b <= args.budget]
    table = Table(title=f"Regret of the search's answer (points of val error above the grammar's best), {args.searches} searches each")
    table.add_column("strategy")
    for b in budgets:
        table.add_column(f"{b}: median (IQR)")
        table.add_column(f"{b}: tied")
        table.add_column(f"{b}: p vs random")
    table.add_column("CPU s / search")
    ref = curves.get("random/single")
    for s in strategies:
        cells = [s]
        for b in budgets:
            v = curves[s][:, b - 1]
            if np.isnan(v).any():
                cells += ["", "", ""]
                continue
            q1, med, q3 = np.percentile(v, [25, 50, 75])
            p = "" if ref is None or s == "random/single" or np.isnan(ref[:, b - 1]).any() else f"{stats.mannwhitneyu(v, ref[:, b - 1], alternative='less').pvalue:.2g}"
            cells += [f"{med:.1f} ({q1:.1f}-{q3:.1f})", f"{np.mean(v <= args.tie):.0%}", p]
        table.add_row(*cells, f"{cpu[s]:.1f}")
    Console(width=250).print(table)
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(8, 5))
        x = np.arange(1, args.budget + 1)
        for s in strategies:
            ax.plot(x, np.median(curves[s], axis=0), label=s, linestyle="-" if "/race" in s else "--")
        ax.set_xlabel("trained trials")
        ax.set_ylabel("median regret of the answer (points)")
        ax.set_xscale("log")
        ax.set_title(f"grammar landscape, {args.searches} searches per strategy")
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        fig.savefig(args.png, dpi=120)
        print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
