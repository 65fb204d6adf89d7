"""``unitsearch diagnose``: signal propagation of unit designs at initialisation, side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import torch
import typer

from .. import limits
from ..diagnose import DATA_CHOICES, Diagnosis, data_batch, diagnose_unit, verdict, write_plots
from ..outputs import check_out_dir
from ..render import output_console, render, to_json
from ..units import PRESETS, resolve_unit


def _row(d: Diagnosis, keep: bool) -> dict:
    s = d.summary
    return {
        "preset": d.preset,
        "form": d.unit,
        "grad x0/xL": s["grad_ratio_first"],
        "grad log10/unit": s["grad_log10_per_unit"],
        "shortcut x0/xL": s["shortcut_ratio_first"],
        "shortcut log10/unit": s["shortcut_log10_per_unit"],
        "act growth": s["act_growth"],
        "grad corr x0": s["grad_corr_first"],
        "prefilter": "keep" if keep else "skip",
    }


def diagnose(
    unit: Annotated[list[str] | None, typer.Option("--unit", "-u", help="Preset name or canonical form; repeatable. Default: every preset.")] = None,
    all_presets: Annotated[bool, typer.Option("--all-presets", help="Add every preset of the paper (Tables 1 and 2).")] = False,
    depth: Annotated[int, typer.Option(help="6n+2 (basic) or 9n+2 (bottleneck).")] = 56,
    width: Annotated[int, typer.Option(help="Channels of the first stage.")] = 16,
    bottleneck: Annotated[bool, typer.Option("--bottleneck/--basic", help="Bottleneck (1x1-3x3-1x1) units.")] = False,
    image_size: Annotated[int, typer.Option(help="Input height and width.")] = 32,
    batch: Annotated[int, typer.Option(help="Images in the batch (BN uses its statistics).")] = 32,
    data: Annotated[str, typer.Option(help=f"Where the batch comes from: {', '.join(DATA_CHOICES)} (normal: the pre-filter's seeded noise).")] = "synthetic",
    data_dir: Annotated[Path | None, typer.Option(help="Folder with the CIFAR files.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the initialisation, the data and the noise.")] = 0,
    noise: Annotated[float, typer.Option(help="Perturbation for the gradient correlation, relative to the RMS of the batch.")] = 0.01,
    zero_init: Annotated[bool, typer.Option("--zero-init", help="Start every branch at zero (zero_init_residual): the net is its shortcuts.")] = False,
    min_grad_ratio: Annotated[float, typer.Option(help="Pre-filter threshold on the shortcut gradient ratio at unit 0.")] = 1e-3,
    plots: Annotated[Path | None, typer.Option("--plots", help="Write one PNG per metric against unit index here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print every design's per-unit arrays as JSON.")] = False,
    threads: Annotated[int, typer.Option(help="CPU threads; the probes are small, so 1 is usually fastest on a shared machine.")] = 1,
) -> None:
    """Forward signal, backward gradient and gradient shattering per unit, at initialisation (paper Eqs. 4-8).

    grad x0/xL: ||dE/dx_0|| / ||dE/dx_L|| through the whole network; shortcut x0/xL: the same
    through the shortcuts alone (Eq. 8's first term, the pre-filter's score); log10/unit: the
    fitted change per unit the gradient travels back; act growth: RMS(x_L) / RMS(x_0); grad corr
    x0: correlation of dE/dx_0 for the batch and a copy perturbed by --noise (Balduzzi et al. 2017).
    """
    texts = list(unit or [])
    if all_presets or not texts:
        # Table 3's 1-conv units have no bottleneck form.
        texts += [name for name, p in PRESETS.items() if name not in texts and (p.spec.n_convs > 1 or not bottleneck)]
    specs = [resolve_unit(t) for t in texts]
    # Every number is checked before a network or a batch is allocated.
    limits.batch_size("--batch", batch, low=limits.MIN_BN_BATCH)
    limits.check_network(depth, width, bottleneck=bottleneck)
    limits.check_image(image_size, width)
    limits.whole("--seed", seed, 0, limits.MAX_SEED)
    limits.whole("--threads", threads, 1, 4096)
    limits.number("--noise", noise, 0.0, 1e6, low_open=True)
    limits.number("--min-grad-ratio", min_grad_ratio, 0.0, 1.0, low_open=True)
    if plots is not None:
        check_out_dir(plots, flag="--plots")
    torch.set_num_threads(threads)
    x, y, num_classes = data_batch(data, image_size=image_size, batch=batch, seed=seed, data_dir=data_dir)

    results = []
    for spec in specs:
        d = diagnose_unit(spec, x, y, depth=depth, width=width, bottleneck=bottleneck, num_classes=num_classes,
                          seed=seed, noise=noise, zero_init_residual=zero_init)
        results.append((d, verdict(d.summary["shortcut_ratio_first"], min_grad_ratio)))

    if as_json:
        designs = [{**d.to_dict(), "prefilter": {"keep": v.keep, "score": v.score, "reason": v.reason}} for d, v in results]
        config = {"data": data, "image_size": image_size, "batch": batch, "min_grad_ratio": min_grad_ratio}
        typer.echo(to_json({"config": config, "designs": designs}), nl=False)
    else:
        kind = "bottleneck" if bottleneck else "basic"
        title = (f"Signal propagation at initialisation: ResNet-{depth} ({kind}, width {width}), "
                 f"{data} {image_size}x{image_size}, batch {batch}, seed {seed}")
        render([_row(d, v.keep) for d, v in results], title=title, console=output_console(220))
    if plots is not None:
        for path in write_plots([d for d, _ in results], plots):
            typer.echo(f"wrote {path}", err=True)
