"""What the pinned numerics and the oneDNN layout rule cost in training speed.

    .venv/bin/python bench/numerics.py [--repeats 2]

Each measurement runs in a fresh process (the kernels are chosen once, at torch's first
kernel) and trains with our loop on one thread, augmentation off, for a warm-up epoch and
two timed epochs of 1,024 images; images/s is the median of the timed epochs, the settings
interleaved per repeat so that load from elsewhere falls on all of them.

- **Instruction sets**: the `cpu` profile's net (full pre-activation ResNet-32 width 8, 16x16,
  batch 64, channels_last) with this machine's own kernels (`UNITSEARCH_NUMERICS=native`),
  the pinned AVX2 ones (the default), and SSE4.1 (`ATEN_CPU_CAPABILITY=default`,
  `ONEDNN_MAX_CPU_ISA=SSE41`).
- **The layout rule**: a net that holds a thin strided 1x1 convolution (the 1x1-conv
  shortcut at width 4, ResNet-32, 16x16) in channels_last against NCHW, with this machine's
  own kernels, where channels_last does not crash; the rule trains such a net in NCHW.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from rich.console import Console
from rich.table import Table

_CODE = """
import json, sys
from unitsearch.train import prepare_run
from unitsearch import numerics
unit, width, cl = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
import torch
import unitsearch.train.loop as loop
torch.set_num_threads(1)
if cl:  # measure channels_last itself, where the rule would train NCHW
    loop.conv_layout_safe = lambda model: True
run = prepare_run(unit, profile="cpu", seed=0, width=width, train_size=1024, epochs=3, augment=False, channels_last=cl)
result = run.train()
print(json.dumps({"ips": sorted(m.images_per_s for m in result.curve[1:])[0], "numerics": numerics.describe("cpu", threads=1)}))
"""

SETTINGS = {
    "native (this CPU's widest)": {"UNITSEARCH_NUMERICS": "native"},
    "pinned AVX2 (the default)": {},
    "SSE4.1": {"UNITSEARCH_NUMERICS": "native", "ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41"},
}


def _measure(env: dict[str, str], unit: str, width: int, channels_last: bool) -> dict:
    full = {k: v for k, v in os.environ.items() if k not in ("UNITSEARCH_NUMERICS", "ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_CBWR")}
    out = subprocess.run([sys.executable, "-c", _CODE, unit, str(width), "1" if channels_last else "0"], env={**full, **env},
                         capture_output=True, text=True, check=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    isa: dict[str, list[float]] = {k: [] for k in SETTINGS}
    labels: dict[str, str] = {}
    layout: dict[str, list[float]] = {"channels_last": [], "NCHW (the rule)": []}
    for rep in range(args.repeats):
        order = list(SETTINGS) if rep % 2 == 0 else list(reversed(SETTINGS))
        for name in order:
            r = _measure(SETTINGS[name], "full_preact", 8, True)
            isa[name].append(r["ips"])
            labels[name] = r["numerics"]
        for name, cl in (("channels_last", True), ("NCHW (the rule)", False))[:: 1 if rep % 2 == 0 else -1]:
            layout[name].append(_measure(SETTINGS["native (this CPU's widest)"], "conv_shortcut", 4, cl)["ips"])

    console = Console(width=160)
    base = statistics.median(isa["native (this CPU's widest)"])
    table = Table(title="Instruction sets: the cpu profile's net, one thread, our loop")
    for col in ("kernels", "numerics", "images/s", "vs native"):
        table.add_column(col)
    for name, values in isa.items():
        table.add_row(name, labels[name], f"{statistics.median(values):,.0f}", f"{statistics.median(values) / base:.2f}")
    console.print(table)
    base = statistics.median(layout["channels_last"])
    table = Table(title="The layout rule: the 1x1-conv shortcut at width 4 (ResNet-32, 16x16), native kernels, one thread")
    for col in ("layout", "images/s", "vs channels_last"):
        table.add_column(col)
    for name, values in layout.items():
        table.add_row(name, f"{statistics.median(values):,.0f}", f"{statistics.median(values) / base:.2f}")
    console.print(table)


if __name__ == "__main__":
    main()
