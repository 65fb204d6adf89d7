"""Which cheap profile is faithful to the paper: candidate profiles on the 15 designs of `paper_ablations`.

    .venv/bin/python bench/calibrate.py [--candidates cpu,d20-16ep] [--seeds 0-3] [--jobs 2] [--out DIR]

Every candidate trains every design of ``paper_ablations`` on every seed, with no pruner and
one CPU thread a trial (``--jobs`` trials at a time), through ``unitsearch.train.prepare_run``,
so each trial is what ``unitsearch train -u DESIGN --profile ... --seed S --threads 1`` trains.
Results are appended to ``DIR/trials.jsonl`` as they finish and read again on the next call
(``bench/calibration/trials.jsonl`` holds the trials behind docs/RESULTS.md: ``--table-only`` reprints it),
so candidates and seeds can be added later and tabled together. Then it prints one table, a
row per candidate (``unitsearch.report.calibration`` computes every column):

- CPU s / trial: the mean worker seconds of one trial (training and validation);
- spread: the median over designs of the standard deviation of val error over seeds;
- tau-b: Kendall's tau-b of the mean errors against Tables 1-2 ("fail" units tied last),
  with a 90% bootstrap interval over seeds;
- pair: full pre-activation minus the original, mean over the shared seeds, and the paired
  t-test's p on them;
- power: the chance that a paired t-test on 10 seeds finds the measured difference at 0.01;
- fails below: how many of the paper's "fail" units have a higher mean error than the original;
- off chance: how many of the units the paper reports as training (6.4-12.9%) have a mean
  error at least 10 points below chance.

Nothing is tuned per design: a candidate is one profile, one recipe for every unit.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from unitsearch.report.calibration import calibration_row
from unitsearch.search.space import load_space
from unitsearch.train import PROFILES, Profile, prepare_run
from unitsearch.units import PRESETS

# Every candidate is a change from the embedded default as it was before this calibration.
_BASE = Profile("cpu-v1", "", image_size=16, depth=32, width=8, train_size=3000, val_size=1000, train={"epochs": 8, "batch_size": 64})


def _variant(name: str, description: str, **changes) -> Profile:
    train = {**_BASE.train, **changes.pop("train", {})}
    fields = {**{f: getattr(_BASE, f) for f in ("dataset", "image_size", "depth", "width", "bottleneck", "train_size", "val_size", "arch")}, **changes}
    return Profile(name, description, train=train, **fields)


# The candidates measured for the embedded default (docs/RESULTS.md has the table).
CANDIDATES: dict[str, Profile] = {
    p.name: p
    for p in [
        _variant("cpu-v1", "the embedded default before calibration: ResNet-32 w8, 3,000 images, 8 epochs of 64 (376 steps)",
                 depth=32, width=8, train_size=3000, val_size=1000, train={"epochs": 8, "batch_size": 64, "warmup": "auto"}),
        _variant("d20-16ep", "ResNet-20 w8, 3,000 images, 16 epochs of 64 (752 steps)",
                 depth=20, train={"epochs": 16}),
        _variant("d20-s12-16ep", "ResNet-20 w8, 12x12 images, 3,000 images, 16 epochs of 64 (752 steps)",
                 depth=20, image_size=12, train={"epochs": 16}),
        _variant("d32-s12-16ep", "ResNet-32 w8, 12x12 images, 3,000 images, 16 epochs of 64 (752 steps)",
                 depth=32, image_size=12, train={"epochs": 16}),
        _variant("d32-s12-16ep-wu", "ResNet-32 w8, 12x12 images, 3,000 images, 16 epochs of 64; every unit warmed up at 0.01 until its training error is below 80% (at most 400 steps), the paper's rule",
                 depth=32, image_size=12, train={"epochs": 16, "warmup": "on", "warmup_iters": 400, "warmup_error": 80.0}),
        _variant("d32-s12-12ep", "ResNet-32 w8, 12x12 images, 3,000 images, 12 epochs of 64 (564 steps)",
                 depth=32, image_size=12, train={"epochs": 12}),
        _variant("d20-s12-24ep", "ResNet-20 w8, 12x12 images, 3,000 images, 24 epochs of 64 (1,128 steps)",
                 depth=20, image_size=12, train={"epochs": 24}),
    ]
}
for _p in CANDIDATES.values():
    PROFILES.setdefault(_p.name, _p)  # prepare_run looks profiles up by name


def designs() -> list[str]:
    return [str(u) for u in load_space("paper_ablations").factors["unit"]]


def _train_one(job: tuple[str, str, int]) -> dict:
    import torch

    torch.set_num_threads(1)
    profile, unit, seed = job
    run = prepare_run(unit, profile=profile, seed=seed)
    start = time.process_time()
    result = run.train()
    return {"profile": profile, "unit": unit, "seed": seed, "val_error": result.val_error, "status": result.status,
            "cpu_s": time.process_time() - start, "epochs": result.epochs}


def _seeds(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", default=",".join(CANDIDATES), help=f"comma-separated: {', '.join(CANDIDATES)}")
    parser.add_argument("--seeds", default="0-3", help="a range, e.g. 0-3")
    parser.add_argument("--jobs", type=int, default=2, help="trials at a time, one thread each")
    parser.add_argument("--out", type=Path, default=Path("bench/calibration"), help="folder of trials.jsonl")
    parser.add_argument("--table-only", action="store_true", help="print the table of what is measured, train nothing")
    parser.add_argument("--export", default=None, metavar="URL",
                        help="also store each candidate's trials as a study named after it, for `unitsearch calibrate --storage URL`")
    args = parser.parse_args()
    names = [n.strip() for n in args.candidates.split(",") if n.strip()]
    unknown = [n for n in names if n not in PROFILES]
    if unknown:
        parser.error(f"unknown candidate {unknown[0]!r}; allowed: {', '.join(CANDIDATES)} or a profile name")
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "trials.jsonl"
    done = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    have = {(r["profile"], r["unit"], r["seed"]) for r in done}
    # seed-major, so a run stopped early still has every design on its first seeds
    jobs = [(n, u, s) for s in _seeds(args.seeds) for n in names for u in designs() if (n, u, s) not in have]
    if jobs and not args.table_only:
        with mp.get_context("spawn").Pool(args.jobs) as pool, log.open("a") as fh:
            for i, rec in enumerate(pool.imap_unordered(_train_one, jobs), 1):
                fh.write(json.dumps(rec) + "\n")
                fh.flush()
                done.append(rec)
                print(f"[{i}/{len(jobs)}] {rec['profile']} {rec['unit']} seed {rec['seed']}: {rec['val_error']:.2f}% ({rec['cpu_s']:.0f} s)", flush=True)

    table = Table(title="Candidate profiles on paper_ablations' 15 designs (no pruner, one thread a trial)")
    for col in ("profile", "seeds", "CPU s / trial", "spread", "tau-b (90% CI)", "full_preact - original", "pair p", "power p<0.01 @10", "fails below", "off chance"):
        table.add_column(col)
    reported = {name: p.paper_error for name, p in PRESETS.items()}
    for name in names:
        errors: dict[str, dict[int, float]] = {}
        cpu = []
        for r in done:
            if r["profile"] == name:
                errors.setdefault(r["unit"], {})[r["seed"]] = r["val_error"]
                cpu.append(r["cpu_s"])
        if not errors:
            continue
        row = calibration_row(errors, reported, baseline="original", best="full_preact")
        table.add_row(
            name, str(row.seeds), f"{sum(cpu) / len(cpu):.1f}", f"{row.spread:.1f}",
            f"{row.tau:.2f} ({row.tau_low:.2f} to {row.tau_high:.2f})", f"{row.pair_diff:+.1f}", f"{row.pair_p:.3g}",
            f"{row.power:.0%}", f"{row.fails_below}/{row.n_fails}", f"{row.off_chance}/{row.n_training}",
        )
    Console(width=200).print(table)
    if args.export:
        export(args.export, names, done)


def export(url: str, names: list[str], done: list[dict]) -> None:
    """Each candidate's trials as a study of their own (replaced if it exists), as the objective records them."""
    import optuna
    from optuna.trial import TrialState

    from unitsearch.storage import TrialStatus, trial_attrs

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for name in names:
        rows = [r for r in done if r["profile"] == name]
        if not rows:
            continue
        try:
            optuna.delete_study(study_name=name, storage=url)
        except KeyError:
            pass
        study = optuna.create_study(study_name=name, storage=url)
        study.set_user_attr("baseline", "original")
        for r in rows:
            spec = PRESETS[r["unit"]].spec
            attrs = trial_attrs(
                plan_key=f"{r['unit']}#seed={r['seed']}", cell="{}", seed=r["seed"], unit=spec.form, preset=r["unit"],
                h=spec.h_form, branch=spec.branch_form, f=spec.f_form, profile=name, status=TrialStatus(r["status"]),
                reason="", val_error=r["val_error"], epochs=r["epochs"], wall_seconds=r["cpu_s"],
            )
            study.add_trial(optuna.trial.create_trial(state=TrialState.COMPLETE, value=r["val_error"], user_attrs=attrs))


if __name__ == "__main__":
    main()
