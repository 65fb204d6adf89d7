"""Our training loop against a minimal hand-written PyTorch loop, on the `cpu` profile's network
or an ImageNet-style one.

    .venv/bin/python bench/train_throughput.py [--repeats 3] [--threads 1,2] [--quick]
    .venv/bin/python bench/train_throughput.py --net imagenet-152 --device cuda [--data-dir DIR]
    .venv/bin/python bench/train_throughput.py --estimate

``--net imagenet-50|imagenet-152|imagenet-200`` trains the ImageNet layout (width 64, 1,000
classes) at ``--image-size`` (224) and the ``imagenet`` profile's batch, with bf16 autocast
and channels_last on CUDA in both loops, as the ImageNet path trains. Without ``--data-dir``
both loops read random uint8 images already on the device, so the table is about the loop;
with it, ours reads the folder through its DataLoader (``--data imagefolder``) and the
hand-written loop through a plain torchvision ImageFolder DataLoader with the same
transforms and workers, so the table includes decoding. ``--estimate`` prints, without
training, the expected time of one ``paper_imagenet`` trial from the nets' MACs.

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
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from rich.console import Console
from rich.table import Table
from torch.utils.data import DataLoader
from torchvision import datasets

from unitsearch.data import FolderData, ImageData, load_data
from unitsearch.data.folder import _transforms
from unitsearch.models import ResNetConfig, build_resnet, count_macs
from unitsearch.train import get_profile, resolve_device, train
from unitsearch.units import PRESETS

PROFILE = get_profile("cpu")
IMAGENET = get_profile("imagenet")
SPEC = PRESETS["full_preact"].spec
NETS = ("cpu", "imagenet-50", "imagenet-152", "imagenet-200")


@dataclass(frozen=True)
class Setup:
    """What both loops train: the net, its batch, and whether bf16 autocast is on (CUDA, as in training)."""

    net: ResNetConfig
    batch_size: int
    bf16: bool


def _model(setup: Setup, device: torch.device, channels_last: bool) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_resnet(SPEC, setup.net).to(device)
    return model.to(memory_format=torch.channels_last) if channels_last else model


def ours(data: ImageData | FolderData, setup: Setup, *, channels_last: bool, epochs: int) -> float:
    """images/s of the timed epochs of ``unitsearch.train.train`` (its own per-epoch clock, which skips evaluation)."""
    cfg = PROFILE.train_config(epochs=epochs, batch_size=setup.batch_size, augment=False, channels_last=channels_last, bf16=setup.bf16, warmup="off")
    result = train(_model(setup, data.device, channels_last), data, cfg)
    return statistics.median(m.images_per_s for m in result.curve[1:])


def _hand_batches(data: ImageData | FolderData, batch: int, gen: torch.Generator, channels_last: bool):
    """The simplest way to feed the same images: slices of a normalised tensor, or a torchvision DataLoader."""
    if isinstance(data, FolderData):
        dataset = datasets.ImageFolder(str(data.root / "train"), transform=_transforms(data.image_size)[1])
        loader = DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=data.workers, pin_memory=data.device.type == "cuda", generator=gen)
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        return ((x.to(data.device, non_blocking=True, memory_format=fmt), y.to(data.device, non_blocking=True)) for x, y in loader)
    mean = torch.tensor(data.mean, device=data.device).view(1, -1, 1, 1)
    std = torch.tensor(data.std, device=data.device).view(1, -1, 1, 1)
    perm = torch.randperm(data.n_train, generator=gen).to(data.device)
    xs, ys = (data.train_x[perm].float() - mean) / std, data.train_y[perm]
    if channels_last:
        xs = xs.contiguous(memory_format=torch.channels_last)
    return ((xs[i : i + batch], ys[i : i + batch]) for i in range(0, data.n_train, batch))


def hand_written(data: ImageData | FolderData, setup: Setup, *, channels_last: bool, epochs: int) -> float:
    """images/s of the timed epochs of the shortest honest PyTorch loop over the same images."""
    cfg = PROFILE.train_config()
    model = _model(setup, data.device, channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(0)
    rates = []
    model.train()
    for _ in range(epochs):
        t0 = time.perf_counter()
        for x, y in _hand_batches(data, setup.batch_size, gen, channels_last):
            with torch.autocast(data.device.type, dtype=torch.bfloat16, enabled=setup.bf16):
                logits = model(x)
            loss = F.cross_entropy(logits.float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if data.device.type == "cuda":
            torch.cuda.synchronize()
        rates.append(data.n_train / (time.perf_counter() - t0))
    return statistics.median(rates[1:])


def _setup(net: str, device: torch.device, batch_size: int | None) -> Setup:
    bf16 = device.type == "cuda"
    if net == "cpu":
        cfg = ResNetConfig(depth=PROFILE.depth, width=PROFILE.width, bottleneck=PROFILE.bottleneck, num_classes=10)
        return Setup(cfg, batch_size or PROFILE.train_config().batch_size, bf16)
    cfg = ResNetConfig(depth=int(net.split("-")[1]), width=IMAGENET.width, num_classes=1000, arch="imagenet")
    return Setup(cfg, batch_size or IMAGENET.train_config().batch_size, bf16)


def _random_images(n: int, image_size: int, num_classes: int, device: torch.device) -> ImageData:
    """Random uint8 images: the loop's cost does not depend on what the pixels show."""
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, 3, image_size, image_size), generator=g, dtype=torch.uint8)
    y = torch.randint(0, num_classes, (n,), generator=g)
    return ImageData("random", num_classes, x, y, x[:8], y[:8], None, None, (127.5,) * 3, (73.9,) * 3, "random").to(device)


# Assumed sustained training throughput of one H100/H200-class GPU on these convnets with bf16
# autocast and channels_last in eager PyTorch: 100-250 TFLOP/s, i.e. 10-25% of the ~990 TFLOP/s
# dense bf16 peak (convnets with BN and ReLU between convs are far from matmul-bound).
_TFLOPS = (100.0, 150.0, 250.0)
_IMAGENET_TRAIN = 1_281_167
_IMAGENET_VAL = 50_000


def estimate() -> None:
    """Hours of one ``paper_imagenet`` trial per net, from the conv MACs (an estimate, not a measurement)."""
    table = Table(title="ESTIMATE, not a measurement: one paper_imagenet trial (90 epochs of ImageNet at 224x224) on one GPU")
    for col in ("net", "GMACs/image", "training PFLOP", "hours at 100 / 150 / 250 TFLOP/s", "images/s needed at 150"):
        table.add_column(col, justify="right")
    epochs = IMAGENET.train_config().epochs
    for depth in (152, 200):
        model = build_resnet(SPEC, depth=depth, width=64, num_classes=1000, arch="imagenet")
        macs = count_macs(model, 224)
        # Training costs ~3x the forward (backward: gradients for inputs and for weights); 2 FLOP per MAC.
        flop = 6 * macs * _IMAGENET_TRAIN * epochs + 2 * macs * _IMAGENET_VAL * epochs
        hours = [flop / (t * 1e12) / 3600 for t in _TFLOPS]
        table.add_row(f"ResNet-{depth}", f"{macs / 1e9:.1f}", f"{flop / 1e15:,.0f}", " / ".join(f"{h:.0f}" for h in hours),
                      f"{_IMAGENET_TRAIN * epochs / (flop / (_TFLOPS[1] * 1e12)):,.0f}")
    Console(width=160).print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats of every setting")
    parser.add_argument("--epochs", type=int, default=1, help="timed epochs per measurement (after one warm-up epoch)")
    # Fewer images than the profile's epoch, so that the whole table takes about 2 minutes on 2 idle cores.
    parser.add_argument("--train-size", type=int, default=2048, help="training images per epoch")
    parser.add_argument("--threads", default="1,2", help="comma-separated torch thread counts to compare")
    parser.add_argument("--quick", action="store_true", help="2 repeats of 1 timed epoch on 1024 images (~30 s on 2 idle cores)")
    parser.add_argument("--net", choices=NETS, default="cpu", help="the cpu profile's CIFAR net, or an ImageNet-layout net")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N (bf16 autocast on CUDA, as in training)")
    parser.add_argument("--image-size", type=int, default=None, help="default: the profile's (16 for cpu, 224 for imagenet nets)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the profile's (64 for cpu, 256 for imagenet nets)")
    parser.add_argument("--data-dir", default=None, help="an image folder (train/<class>/*, val/<class>/*): include decoding in both loops")
    parser.add_argument("--estimate", action="store_true", help="print the estimated time of one paper_imagenet trial and exit")
    args = parser.parse_args()
    if args.estimate:
        estimate()
        return
    if args.quick:
        args.repeats, args.epochs, args.train_size = 2, 1, 1024
    device = resolve_device(args.device)
    setup = _setup(args.net, device, args.batch_size)
    image_size = args.image_size or (PROFILE.image_size if args.net == "cpu" else IMAGENET.image_size)
    if args.data_dir:
        data = load_data("imagefolder", data_dir=args.data_dir, image_size=image_size, train_size=args.train_size, val_size=256).to(device)
        setup = Setup(ResNetConfig(**{**setup.net.__dict__, "num_classes": data.num_classes}), setup.batch_size, setup.bf16)
    elif args.net == "cpu":
        # The validation split is only evaluated by ours, outside its clock; keep it small. No test split.
        data = load_data("synthetic", image_size=image_size, train_size=args.train_size, val_size=256, test_size=0, seed=0).to(device)
    else:
        data = _random_images(args.train_size, image_size, 1000, device)
    settings = [(int(t), cl) for t in args.threads.split(",") for cl in (False, True)]
    loops = {"ours": ours, "hand": hand_written}
    rates: dict[tuple[int, bool], dict[str, list[float]]] = {s: {k: [] for k in loops} for s in settings}
    start = time.perf_counter()
    for r in range(args.repeats):
        order = list(loops) if r % 2 == 0 else list(loops)[::-1]
        for threads, cl in settings:
            torch.set_num_threads(threads)
            for name in order:
                rates[(threads, cl)][name].append(loops[name](data, setup, channels_last=cl, epochs=1 + args.epochs))
    net = setup.net
    title = (f"ResNet-{net.depth} ({net.arch.value}) w{net.width} {image_size}x{image_size}, batch {setup.batch_size}, "
             f"{data.n_train} {'folder' if args.data_dir else 'in-memory'} images, no augmentation, bf16 {'on' if setup.bf16 else 'off'}, "
             f"{device}, median of {args.repeats} repeats, torch {torch.__version__}, {time.perf_counter() - start:.0f} s")
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
