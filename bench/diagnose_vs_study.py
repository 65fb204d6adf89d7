"""Do the zero-cost diagnostics predict what training finds? And what would the pre-filter save?

    .venv/bin/python bench/diagnose_vs_study.py [--storage sqlite:///studies.db] [--study paper_ablations]
                                                [--grammar grammar] [--sample 200]

Part 1 reads a finished study of the paper's presets (`unitsearch run --space paper_ablations`),
measures every preset at initialisation at the study's depth and width on a batch of its data
(`unitsearch diagnose`), and prints both rankings side by side with Spearman's rank correlation
(scipy.stats) between each diagnostic and the study's mean error.

Part 2 draws `--sample` units of the open grammar space at random (seeded) and counts how many
the space's pre-filter threshold would skip before training, with a 95% Clopper-Pearson interval
for the share of all the grammar's units.
"""

from __future__ import annotations

import argparse
import math
import random

import torch
from rich.console import Console
from rich.table import Table
from scipy import stats

from unitsearch.diagnose import data_batch, diagnose_unit, prefilter
from unitsearch.report import load_report
from unitsearch.search import load_space
from unitsearch.train import get_profile
from unitsearch.units import UnitSpec

# Higher is healthier for these three: more gradient reaches the first unit, and nearby
# inputs keep related gradients. Each is correlated with the error, so a good predictor has
# a negative rho.
VIEWS = {
    "shortcut_ratio_first": "shortcut x0/xL",
    "grad_ratio_first": "grad x0/xL",
    "grad_corr_first": "grad corr x0",
}


def _log(v: float) -> float:
    return math.log10(v) if v > 0 else -math.inf


def part1(console: Console, storage: str, study: str, profile_name: str) -> None:
    report = load_report(storage, study)
    rows = [r for r in report.rows if r.rank is not None and r.preset]
    profile = get_profile(profile_name)
    first = rows[0].records[0]
    depth, width = first.depth or profile.depth, first.width or profile.width
    x, y, classes = data_batch(profile.dataset, image_size=profile.image_size, batch=64, seed=0)
    diags = {r.preset: diagnose_unit(UnitSpec.parse(r.unit), x, y, depth=depth, width=width, num_classes=classes).summary for r in rows}

    table = Table(title=f"{study}: training rank vs diagnostics at initialisation (ResNet-{depth}, width {width})")
    for col in ("rank", "preset", "mean error %", *VIEWS.values()):
        table.add_column(col, justify="right" if col != "preset" else "left")
    for r in rows:
        d = diags[r.preset]
        table.add_row(str(r.rank), r.preset, f"{r.summary.mean:.1f}", *(f"{d[k]:.3g}" for k in VIEWS))
    console.print(table)

    errors = [r.summary.mean for r in rows]
    corr = Table(title="Spearman rank correlation with the study's mean error (negative: the diagnostic predicts)")
    for col in ("diagnostic", "rho", "p", "designs"):
        corr.add_column(col)
    for key, label in VIEWS.items():
        values = [_log(diags[r.preset][key]) if "ratio" in key else diags[r.preset][key] for r in rows]
        rho, p = stats.spearmanr(values, errors)
        corr.add_row(label, f"{rho:+.2f}", f"{p:.2g}", str(len(rows)))
    console.print(corr)


def part2(console: Console, grammar: str, sample: int) -> None:
    space = load_space(grammar)
    threshold = float(space.prefilter["min_grad_ratio"])
    profile = get_profile(space.profile)
    cells = space.cells()
    picked = random.Random(0).sample(cells, min(sample, len(cells)))
    skipped = 0
    by_h: dict[str, list[int]] = {}
    for cell in picked:
        spec = space.unit_of(cell)
        result = prefilter(spec, depth=profile.depth, width=profile.width, bottleneck=False, num_classes=10,
                           image_size=profile.image_size, min_grad_ratio=threshold)
        skipped += not result.keep
        entry = by_h.setdefault(spec.shortcut.form, [0, 0])
        entry[0] += 1
        entry[1] += not result.keep
    ci = stats.binomtest(skipped, len(picked)).proportion_ci(0.95)
    table = Table(title=f"Pre-filter on {grammar} (min_grad_ratio {threshold:g}, ResNet-{profile.depth} width {profile.width}): "
                        f"{len(picked)} of {len(cells)} units drawn")
    for col in ("shortcut h", "drawn", "skipped"):
        table.add_column(col)
    for h, (n, s) in sorted(by_h.items()):
        table.add_row(h, str(n), str(s))
    table.add_row("all", str(len(picked)), f"{skipped} ({100 * skipped / len(picked):.0f}%, 95% CI {100 * ci.low:.0f}-{100 * ci.high:.0f}%)")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--storage", default="sqlite:///studies.db")
    parser.add_argument("--study", default="paper_ablations")
    parser.add_argument("--profile", default="cpu", help="the study's profile (its dataset and image size)")
    parser.add_argument("--grammar", default="grammar")
    parser.add_argument("--sample", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)
    console = Console(width=160)
    part1(console, args.storage, args.study, args.profile)
    part2(console, args.grammar, args.sample)


if __name__ == "__main__":
    main()
