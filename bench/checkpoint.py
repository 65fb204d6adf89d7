"""What a checkpoint a epoch costs: its size, the time to store and to load it, against an epoch.

For each network: the bytes of one checkpoint (weights, momentum, generators, curve), the
milliseconds to serialise it and write it to a FileSystemArtifactStore (the trial's ``save``,
old one removed) and to read it back, and, for the embedded ``cpu`` profile, the same
trial's epoch time with and without checkpoints, measured side by side in one run.

    .venv/bin/python bench/checkpoint.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch

from unitsearch import numerics
from unitsearch.models import build_resnet, count_params
from unitsearch.render import Format, render
from unitsearch.storage import open_checkpoints
from unitsearch.train import Checkpoint, prepare_run, set_cpu_threads, train
from unitsearch.units import PRESETS


def _state(model: torch.nn.Module) -> Checkpoint:
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()  # momentum buffers exist, as after the first epoch
    gen = torch.Generator().manual_seed(0)
    return Checkpoint(
        epoch=1, step=1, warmup=False, reference=2.3, model=model.state_dict(), optimizer=opt.state_dict(), generator=gen.get_state(),
        rng=torch.get_rng_state(), curve=[{"epoch": 1, "val_error": 50.0}] * 164,
    )


def _store_times(ckpt: Checkpoint, repeats: int) -> tuple[int, float, float]:
    with tempfile.TemporaryDirectory() as folder:
        store = open_checkpoints(folder)
        saves, loads, size, old = [], [], 0, None
        for _ in range(repeats):
            t0 = time.perf_counter()
            data = ckpt.to_bytes()
            new = store.save(data)
            if old:
                store.remove(old)
            old = new
            saves.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            Checkpoint.from_bytes(store.load(new))
            loads.append(time.perf_counter() - t0)
            size = len(data)
    return size, 1000 * statistics.median(saves), 1000 * statistics.median(loads)


def _epoch_seconds(with_checkpoints: bool, epochs: int) -> float:
    run = prepare_run("original", profile="cpu", epochs=epochs)
    hook = None
    if with_checkpoints:
        store = open_checkpoints(tempfile.mkdtemp(prefix="bench-ckpt-"))
        hook = lambda c: store.save(c.to_bytes())  # noqa: E731
    result = train(run.model, run.data, run.config, on_checkpoint=hook)
    return result.wall_seconds / result.epochs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=3, help="epochs of the cpu-profile trial, each way")
    args = ap.parse_args()
    set_cpu_threads(None, workers=1)
    rows = []
    for label, depth, width, bottleneck in (("cpu profile (ResNet-32, width 8)", 32, 8, False), ("ResNet-110 (paper)", 110, 16, False), ("pre-act ResNet-164 (paper)", 164, 16, True)):
        model = build_resnet(PRESETS["full_preact"].spec, depth=depth, width=width, bottleneck=bottleneck)
        size, save_ms, load_ms = _store_times(_state(model), args.repeats)
        rows.append({"network": label, "params": count_params(model), "checkpoint MB": round(size / 2**20, 2), "save ms": round(save_ms, 1), "load ms": round(load_ms, 1)})
    print(render(rows, Format.MARKDOWN, title="One checkpoint") or "")
    plain, saved = _epoch_seconds(False, args.epochs), _epoch_seconds(True, args.epochs)
    print(render([
        {"cpu-profile trial": "no checkpoints", "s per epoch": round(plain, 3), "ratio": 1.0},
        {"cpu-profile trial": "checkpoint every epoch", "s per epoch": round(saved, 3), "ratio": round(saved / plain, 3)},
    ], Format.MARKDOWN, title=f"Side by side ({numerics.describe('cpu')})") or "")


if __name__ == "__main__":
    main()
