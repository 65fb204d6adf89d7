"""Training throughput on this machine: threads x channels_last, side by side in one run.

    .venv/bin/python bench/train_speed.py [--steps 20] [--quick]

Prints images/s of full SGD steps (forward, backward, update, on-device augmentation)
for the `cpu` profile's net (ResNet-56, width 8, 16x16) and the paper's ResNet-110
(width 16, 32x32), and the ratio of each setting to the first row of its net.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from rich.console import Console
from rich.table import Table

from unitsearch.data import load_data, train_batches
from unitsearch.models import build_resnet
from unitsearch.units import PRESETS


def images_per_s(depth: int, width: int, size: int, *, threads: int, channels_last: bool, steps: int, batch: int = 128) -> float:
    torch.set_num_threads(threads)
    data = load_data("synthetic", image_size=size, train_size=batch * (steps + 3), val_size=200, test_size=200, seed=0)
    torch.manual_seed(0)
    model = build_resnet(PRESETS["full_preact"].spec, depth=depth, width=width)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(0)
    seen, start = 0, None
    for i, (x, y) in enumerate(train_batches(data, batch, generator=gen, channels_last=channels_last)):
        if i == 3:  # the first steps pay for kernel selection and allocation
            start, seen = time.perf_counter(), 0
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        seen += len(y)
    return seen / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="only the cpu-profile net")
    args = parser.parse_args()
    nets = [("ResNet-56 w8 16x16 (cpu profile)", 56, 8, 16)]
    if not args.quick:
        nets.append(("ResNet-110 w16 32x32 (paper)", 110, 16, 32))
    table = Table(title=f"Training throughput, {torch.get_num_threads()} cores visible, torch {torch.__version__}")
    for col in ("net", "threads", "channels_last", "images/s", "ratio"):
        table.add_column(col, justify="right" if col in ("threads", "images/s", "ratio") else "left")
    for label, depth, width, size in nets:
        base = None
        steps = args.steps if depth < 100 else max(5, args.steps // 4)
        for threads in (1, 2):
            for cl in (False, True):
                ips = images_per_s(depth, width, size, threads=threads, channels_last=cl, steps=steps)
                base = base or ips
                table.add_row(label, str(threads), str(cl), f"{ips:,.0f}", f"{ips / base:.2f}x")
    Console().print(table)


if __name__ == "__main__":
    main()
