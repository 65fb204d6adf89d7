"""Our training loop against a minimal hand-written PyTorch loop, on the `cpu` profile's network.

    .venv/bin/python bench/train_throughput.py [--repeats 3] [--threads 1,2] [--quick]

Both train the same network (``build_resnet`` with full_preact units at the ``cpu``
profile's depth, width, image size and batch, read from unitsearch/train/config.py when
it runs) on the same synthetic data tensors in one process. What differs is only the loop:

- ours: ``unitsearch.train.train`` as a study runs it: uint8 images cut into batches and
  normalised per batch on the device, the lr set every step, loss and accuracy summed on
  the device, a divergence check every 20 steps, validation after every epoch (not timed).
- hand-written: the images normalised once into a float tensor, one gather per epoch for
  the shuffle, then slices; SGD with the same momentum and weight decay; F.cross_entropy.

Augmentation is off for both (``augment=False`` for ours), so neither pays for crops and
flips. Each measurement trains a fresh network for a warm-up epoch (kernel selection and
allocation) and then timed epochs; images/s is the median over the timed epochs. Settings
and the two loops are interleaved, their order alternating per repeat, so load from other
processes on a shared machine falls on both; the ratio is the median of per-repeat ratios.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from rich.console import Console
from rich.table import Table

from unitsearch.data import ImageData, load_data
from unitsearch.models import build_resnet
from unitsearch.train import get_profile, train
from unitsearch.units import PRESETS

PROFILE = get_profile("cpu")
SPEC = PRESETS["full_preact"].spec


def _model(data: ImageData, channels_last: bool) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_resnet(SPEC, depth=PROFILE.depth, width=PROFILE.width, bottleneck=PROFILE.bottleneck, num_classes=data.num_classes)
    return model.to(memory_format=torch.channels_last) if channels_last else model


def ours(data: ImageData, *, channels_last: bool, epochs: int) -> float:
    """images/s of the timed epochs of ``unitsearch.train.train`` (its own per-epoch clock, which skips evaluation)."""
    cfg = PROFILE.train_config(epochs=epochs, augment=False, channels_last=channels_last, bf16=False)
    result = train(_model(data, channels_last), data, cfg)
    return statistics.median(m.images_per_s for m in result.curve[1:])


def hand_written(data: ImageData, *, channels_last: bool, epochs: int) -> float:
    """images/s of the timed epochs of the shortest honest PyTorch loop over the same tensors."""
    cfg = PROFILE.train_config()
    model = _model(data, channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    mean = torch.tensor(data.mean).view(1, -1, 1, 1)
    std = torch.tensor(data.std).view(1, -1, 1, 1)
    x_all, y_all = (data.train_x.float() - mean) / std, data.train_y
    gen = torch.Generator().manual_seed(0)
    n, batch, rates = len(y_all), cfg.batch_size, []
    model.train()
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=gen)
        xs, ys = x_all[perm], y_all[perm]
        if channels_last:
            xs = xs.contiguous(memory_format=torch.channels_last)
        for i in range(0, n, batch):
            loss = F.cross_entropy(model(xs[i : i + batch]), ys[i : i + batch])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats of every setting")
    parser.add_argument("--epochs", type=int, default=1, help="timed epochs per measurement (after one warm-up epoch)")
    # Fewer images than the profile's epoch, so that the whole table takes about 2 minutes on 2 idle cores.
    parser.add_argument("--train-size", type=int, default=2048, help="training images per epoch")
    parser.add_argument("--threads", default="1,2", help="comma-separated torch thread counts to compare")
    parser.add_argument("--quick", action="store_true", help="2 repeats of 1 timed epoch on 1024 images (~30 s on 2 idle cores)")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.epochs, args.train_size = 2, 1, 1024
    # The validation split is only evaluated by ours, outside its clock; keep it small. No test split.
    data = load_data("synthetic", image_size=PROFILE.image_size, train_size=args.train_size, val_size=256, test_size=0, seed=0)
    settings = [(int(t), cl) for t in args.threads.split(",") for cl in (False, True)]
    loops = {"ours": ours, "hand": hand_written}
    rates: dict[tuple[int, bool], dict[str, list[float]]] = {s: {k: [] for k in loops} for s in settings}
    start = time.perf_counter()
    for r in range(args.repeats):
        order = list(loops) if r % 2 == 0 else list(loops)[::-1]
        for threads, cl in settings:
            torch.set_num_threads(threads)
            for name in order:
                rates[(threads, cl)][name].append(loops[name](data, channels_last=cl, epochs=1 + args.epochs))
    title = (f"ResNet-{PROFILE.depth} w{PROFILE.width} {PROFILE.image_size}x{PROFILE.image_size}, batch {PROFILE.train_config().batch_size}, "
             f"{args.train_size} images, no augmentation, median of {args.repeats} repeats, torch {torch.__version__}, "
             f"{time.perf_counter() - start:.0f} s")
    print_table(rates, title)


def print_table(rates: dict[tuple[int, bool], dict[str, list[float]]], title: str) -> None:
    """One row per setting; the ratio's range over the repeats shows how much other load moved it."""
    table = Table(title=title)
    for col in ("setting", "ours images/s", "hand-written images/s", "ratio ours/hand"):
        table.add_column(col, justify="left" if col == "setting" else "right")
    noisy = False
    for (threads, cl), got in rates.items():
        ratios = [o / h for o, h in zip(got["ours"], got["hand"])]
        noisy |= max(ratios) > 1.25 * min(ratios)
        spread = f" ({min(ratios):.2f}-{max(ratios):.2f})" if len(ratios) > 1 else ""
        table.add_row(
            f"{threads} thread{'s' if threads > 1 else ''}, channels_last {'on' if cl else 'off'}",
            f"{statistics.median(got['ours']):,.0f}",
            f"{statistics.median(got['hand']):,.0f}",
            f"{statistics.median(ratios):.2f}x{spread}",
        )
    # Piped into a file the table keeps its full width instead of Rich's 80 columns.
    console = Console() if Console().is_terminal else Console(width=160)
    console.print(table)
    if noisy:
        # More threads than idle cores is what makes this happen: torch's threads wait on each other.
        console.print("note: ratios moved by more than 25% between repeats; other processes are using these cores, "
                      "so compare the 1-thread rows or rerun on an idle machine")


if __name__ == "__main__":
    main()
