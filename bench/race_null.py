"""Is the race's verdict honest? Its false-positive rate under the null, by simulation.

Draws many races in which full pre-activation and the baseline are equally good and
counts how often the verdict still calls full pre-activation better (two-sided paired
t-test, p < 0.05). The races run through the real rules (``unitsearch.search.race``),
with trials finishing in a random order, as asynchronous workers finish them. Three
ways to spend seeds on the verdict's pair are compared:

* ``race (fixed n)``: the pair is protected and gets ``max_seeds`` seeds whatever the
  data say: the race's rule. One test at the end.
* ``peek each seed``: test after every seed from ``min_seeds`` on and stop at the
  first p < 0.05 (what "seeds go where the verdict is open" does to the pair if it is
  not protected). Its false positives grow with every look.
* ``Pocock``: the same looks, each at Pocock's constant level, the group-sequential
  boundary that keeps the overall rate at alpha.

The null's data: the per-seed errors of the pair in a stored study (``--storage``,
``--study``), or else a normal model with the spread the ``cpu`` profile shows,
resampled by seed, with the two designs' labels swapped at random on each seed, so
that their difference is symmetric about zero. The other 13 designs are drawn from the
model's other means, to give the race its eliminations.

    .venv/bin/python bench/race_null.py --races 2000
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from unitsearch.search.race import RaceRule, Result, next_seeds, standings  # noqa: E402

ALPHA = 0.05
# Mean and spread (percent) of the cpu profile's designs over seeds (docs/RESULTS.md); the pair first.
OTHERS = [38.6, 52.8, 70.3, 71.0, 74.2, 75.0, 76.1, 81.0, 81.2, 81.6, 85.2, 85.9, 87.9]
PAIR_MEAN, PAIR_SD, OTHER_SD = 47.0, 12.0, 8.0


def pocock_level(looks: int, *, draws: int = 200_000, seed: int = 0) -> float:
    """The per-look two-sided level at which ``looks`` equally spaced z-tests keep the overall rate at ALPHA."""
    rng = np.random.default_rng(seed)
    z = np.cumsum(rng.standard_normal((draws, looks)), axis=1) / np.sqrt(np.arange(1, looks + 1))
    peak = np.abs(z).max(axis=1)
    crit = float(np.quantile(peak, 1 - ALPHA))
    return float(2 * stats.norm.sf(crit))


def pair_source(args) -> tuple[np.ndarray, np.ndarray] | None:
    if not args.storage:
        return None
    from unitsearch.report import load_report

    rep = load_report(args.storage, args.study)
    rows = {r.preset: r for r in rep.rows}
    a, b = rows["full_preact"].errors, rows["original"].errors
    seeds = sorted(set(a) & set(b))
    return np.array([a[s] for s in seeds]), np.array([b[s] for s in seeds])


def draw_pair(rng: random.Random, source) -> tuple[float, float]:
    if source is None:
        return rng.gauss(PAIR_MEAN, PAIR_SD), rng.gauss(PAIR_MEAN, PAIR_SD)
    i = rng.randrange(len(source[0]))
    a, b = float(source[0][i]), float(source[1][i])
    return (a, b) if rng.random() < 0.5 else (b, a)


def one_race(rng: random.Random, rule: RaceRule, source) -> dict[str, float]:
    """A race on the null: each (design, seed) error drawn when it is queued, trials finishing in random order."""
    cells = ["full_preact", "original"] + [f"d{i}" for i in range(len(OTHERS))]
    truth = {f"d{i}": m for i, m in enumerate(OTHERS)}
    pair = {s: draw_pair(rng, source) for s in rule.seeds}
    errors = {}
    for s in rule.seeds:
        errors["full_preact", s], errors["original", s] = pair[s]
    queue = [(c, s) for s in rule.seeds for c in cells if s in rule.seeds[: rule.min_seeds] or c in rule.protected]
    attempted: dict[str, set[int]] = {}
    running: list[tuple[str, int]] = []
    results: list[Result] = []
    workers = 2
    while queue or running:
        while queue and len(running) < workers:
            c, s = queue.pop(0)
            attempted.setdefault(c, set()).add(s)
            running.append((c, s))
        c, s = running.pop(rng.randrange(len(running)))  # trials end in any order
        err = errors.get((c, s)) or rng.gauss(truth[c], OTHER_SD)
        results.append(Result(c, s, err))
        lanes = standings(cells, results, rule)
        live = {}
        for rc, rs in running + queue:
            live.setdefault(rc, set()).add(rs)
        queue += [x for x in next_seeds(lanes, attempted, live, rule) if x not in queue]
    lanes = standings(cells, results, rule)
    a, b = lanes["full_preact"].errors, lanes["original"].errors
    seeds = sorted(set(a) & set(b))
    p = stats.ttest_rel([a[s] for s in seeds], [b[s] for s in seeds]).pvalue
    return {"p": float(p), "n": len(seeds), "trials": len(results)}


def sequential(rng: random.Random, rule: RaceRule, source, level: float) -> bool:
    """Test the pair after each seed from min_seeds on; True if any look rejects at ``level``."""
    d = []
    for _ in rule.seeds:
        a, b = draw_pair(rng, source)
        d.append(a - b)
        if len(d) >= rule.min_seeds and stats.ttest_1samp(d, 0.0).pvalue < level:
            return True
    return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--races", type=int, default=2000)
    ap.add_argument("--min-seeds", type=int, default=2)
    ap.add_argument("--max-seeds", type=int, default=10)
    ap.add_argument("--elimination-alpha", type=float, default=0.1)
    ap.add_argument("--storage", help="draw the pair's per-seed errors from this study (labels swapped at random)")
    ap.add_argument("--study", action="append")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    source = pair_source(args)
    rule = RaceRule(tuple(range(args.max_seeds)), args.min_seeds, args.elimination_alpha, "t", frozenset({"full_preact", "original"}))
    rng = random.Random(args.seed)
    races = [one_race(rng, rule, source) for _ in range(args.races)]
    looks = args.max_seeds - args.min_seeds + 1
    level = pocock_level(looks)
    peek = sum(sequential(rng, rule, source, ALPHA) for _ in range(args.races))
    pocock = sum(sequential(rng, rule, source, level) for _ in range(args.races))
    fixed = sum(r["p"] < ALPHA for r in races)
    se = lambda k: (k / args.races * (1 - k / args.races) / args.races) ** 0.5  # noqa: E731
    print(f"null: {'stored study' if source else 'normal model'}; {args.races} races each; seeds {args.min_seeds}..{args.max_seeds}; alpha {ALPHA}")
    print(f"the race's pair always had {min(r['n'] for r in races)}-{max(r['n'] for r in races)} seeds; trials per race {np.mean([r['trials'] for r in races]):.1f}")
    print("| verdict rule | false positives | rate | ± s.e. |")
    print("|---|---|---|---|")
    print(f"| race (fixed n = {args.max_seeds}) | {fixed} | {fixed / args.races:.3f} | {se(fixed):.3f} |")
    print(f"| peek each seed, stop at p < {ALPHA} | {peek} | {peek / args.races:.3f} | {se(peek):.3f} |")
    print(f"| Pocock, {looks} looks at p < {level:.4f} | {pocock} | {pocock / args.races:.3f} | {se(pocock):.3f} |")


if __name__ == "__main__":
    main()
