"""``unitsearch train``: train one network with one unit design, no study, and print how it ended."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .. import limits, numerics
from ..render import output_console, render, to_json
from ..train import PROFILES, EpochMetrics, SingleRun, TrainResult, prepare_run, resolve_device, set_cpu_threads
from .options import DataDirOpt, DataOpt, DeviceOpt, DownloadOpt

# Progress goes to stderr, so that stdout holds only the summary or the JSON.
console = Console(stderr=True)


def train(
    unit: Annotated[str, typer.Option("--unit", "-u", help="Preset name (see `units list`) or canonical form.")],
    profile: Annotated[str, typer.Option("--profile", help=f"Fidelity profile whose net, data and recipe are the defaults: {', '.join(PROFILES)}.")] = "cpu",
    depth: Annotated[int | None, typer.Option(help="cifar: 6n+2 (basic), 9n+2 (bottleneck), 3n+2 (1-conv units); imagenet: 18, 34, 50, 101, 152, 200; default: the profile's.")] = None,
    width: Annotated[int | None, typer.Option(min=1, help="Channels of the first stage; default: the profile's.")] = None,
    bottleneck: Annotated[bool | None, typer.Option("--bottleneck/--basic", help="Bottleneck (1x1-3x3-1x1) units; default: the profile's.")] = None,
    arch: Annotated[str | None, typer.Option("--arch", help="Network layout: cifar (3x3 stem, 3 stages) or imagenet (7x7 stem + max pool, 4 stages); default: the profile's.")] = None,
    data: DataOpt = None,
    data_dir: DataDirOpt = None,
    download: DownloadOpt = False,
    train_size: Annotated[int | None, typer.Option(min=1, help="Training images (default: the profile's).")] = None,
    image_size: Annotated[int | None, typer.Option(help="Image height and width in pixels, 8 to 256 (default: the profile's).")] = None,
    epochs: Annotated[int | None, typer.Option(help="Epochs (default: the profile's).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the initialisation, batch order and augmentation (default 0).")] = None,
    lr: Annotated[float | None, typer.Option(help="Peak learning rate (default: the profile's).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Images per SGD step (default: the profile's).")] = None,
    device: DeviceOpt = "auto",
    threads: Annotated[int | None, typer.Option("--threads", min=1, help="CPU threads (default: 1 with the numerics pinned, else every core; part of the numerics).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result, its curve and its config as JSON.")] = False,
) -> None:
    """Train one ResNet with one unit design and print its validation and test error.

    The network, data sizes and recipe come from --profile; the options override them.
    With the same profile, settings and --seed it trains what a study's trial of that design and seed trains.
    """
    if train_size is not None:
        limits.whole("--train-size", train_size, 1, limits.MAX_TRAIN_SIZE)  # generated in memory before training
    dev = resolve_device(device)
    # Before any torch work: more threads than this process's share of the cores makes small ops crawl.
    set_cpu_threads(threads)
    if line := numerics.check():
        console.print(line)
    run = prepare_run(
        unit, profile=profile, device=dev, depth=depth, width=width, bottleneck=bottleneck, arch=arch, data=data, data_dir=data_dir,
        download=download, train_size=train_size, image_size=image_size, epochs=epochs, seed=seed, lr=lr, batch_size=batch_size,
    )
    try:
        result = _train_with_progress(run)
    except KeyboardInterrupt:
        console.print("interrupted: nothing was saved")
        raise typer.Exit(130) from None
    if as_json:
        typer.echo(to_json(run.record(result)), nl=False)
    else:
        _print_summary(run, result)


def _train_with_progress(run: SingleRun) -> TrainResult:
    columns = (
        TextColumn("epoch"), BarColumn(), MofNCompleteColumn(), TextColumn("train loss {task.fields[loss]}"),
        TextColumn("val err {task.fields[err]}"), TextColumn("{task.fields[ips]} images/s"), TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("train", total=run.config.epochs, loss="-", err="-", ips="-")

        def on_epoch(m: EpochMetrics) -> None:
            progress.update(task, completed=m.epoch, loss=f"{m.train_loss:.3f}", err=f"{m.val_error:.2f}%", ips=f"{m.images_per_s:,.0f}")

        return run.train(callback=on_epoch)


def _print_summary(run: SingleRun, result: TrainResult) -> None:
    record = run.record(result)
    net, data = record["net"], record["data"]
    kind = ("bottleneck" if net["bottleneck"] else "basic") + ("" if net["arch"] == "cifar" else f", {net['arch']}")
    title = (f"{record['preset'] or record['unit']}: ResNet-{net['depth']} ({kind}, width {net['width']}) "
             f"on {data['name']} {data['image_size']}x{data['image_size']}, seed {run.config.seed}, {record['device']}")
    row = {
        "status": result.status,
        "val error %": result.val_error,
        "test error %": result.test_error,
        "train loss": result.final_train_loss,
        "epochs": result.epochs,
        "wall s": round(result.wall_seconds, 1),
        "images/s": round(result.images_per_s),
    }
    render([row], title=title, console=output_console(160))
    if result.reason:
        typer.echo(result.reason)
