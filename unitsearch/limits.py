"""Bounds on every number a person can give, checked before anything is built or written.

A value out of range fails in one line that names the setting and the allowed range,
before a tensor is allocated: a depth of 100,000 or a width of 10^8 would otherwise take
gigabytes (and minutes) before failing, and a plan of 20^7 cells would be built in memory
just to count it. The bounds are generous: each is far beyond what the paper trains
(ResNet-1001, width 64, CIFAR-100) yet small enough to fail fast.
"""

from __future__ import annotations

import math
import os
from typing import Any

from .errors import UserError

__all__ = [
    "MAX_DEPTH", "MAX_WIDTH", "MAX_CLASSES", "MIN_IMAGE_SIZE", "MAX_IMAGE_SIZE", "MAX_BATCH", "MIN_BN_BATCH", "MAX_EPOCHS", "MAX_TRAIN_SIZE",
    "MAX_SEED", "MAX_SAMPLER_SEED", "MAX_PARAMS", "MAX_ACTIVATION", "MAX_PLAN", "FLOAT32_MAX",
    "whole", "number", "batch_size", "check_network", "check_image", "max_local_workers",
]

MAX_DEPTH = 2000  # the paper's deepest net is ResNet-1001
MAX_WIDTH = 1024  # the paper's width is 16 (64 in the widest stage)
MAX_CLASSES = 100_000
MIN_IMAGE_SIZE = 4  # two stride-2 stages
MAX_IMAGE_SIZE = 1024
MAX_BATCH = 65_536
MIN_BN_BATCH = 2  # BN in train mode normalises with the batch's own statistics: one image has none
MAX_EPOCHS = 100_000
MAX_TRAIN_SIZE = 1_000_000  # images held in memory; CIFAR has 50,000
MAX_SEED = 2**63 - 1  # a signed 64-bit integer: what every storage backend keeps exactly
MAX_SAMPLER_SEED = 2**32 - 1  # numpy's RandomState, behind Optuna's samplers
MAX_PARAMS = 100_000_000  # 400 MB of float32 weights; the paper's ResNet-1001 has 10.2M
MAX_ACTIVATION = 2**28  # floats in one feature map of one image (1 GB): width x 4 x image size^2
MAX_PLAN = 100_000  # (cell, seed) pairs in one grid: each is a waiting trial in the study
MAX_LOCAL_WORKERS = 64
FLOAT32_MAX = 3.4028234663852886e38  # a larger constant becomes inf in a float32 tensor


def whole(name: str, value: Any, low: int, high: int) -> int:
    """``value`` as an int in ``[low, high]``; a float with no fraction counts (TOML ``8.0``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UserError(f"{name} must be a whole number in [{low}, {high}], got {value!r}")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise UserError(f"{name} must be a whole number in [{low}, {high}], got {value!r}")
    if not low <= value <= high:
        raise UserError(f"{name} must be in [{low}, {high}], got {_short(value)}")
    return int(value)


def number(name: str, value: Any, low: float, high: float, *, low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a finite float in the range; NaN and infinities are refused by name."""
    lo, hi = ("(" if low_open else "["), (")" if high_open else "]")
    allowed = f"a finite number in {lo}{_short(low)}, {_short(high)}{hi}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UserError(f"{name} must be {allowed}, got {value!r}")
    if isinstance(value, int) and abs(value) > FLOAT32_MAX:
        raise UserError(f"{name} must be {allowed}, got {_short(value)}")
    x = float(value)
    if not math.isfinite(x) or x < low or x > high or (low_open and x == low) or (high_open and x == high):
        raise UserError(f"{name} must be {allowed}, got {_short(value)}")
    return x


def batch_size(name: str, value: Any, *, low: int = 1) -> int:
    """``value`` as a number of images per batch in ``[low, MAX_BATCH]``.

    Args:
        name: The setting, as the person wrote it (``"train config batch_size"``, ``"--batch"``).
        value: The number given.
        low: 1, or :data:`MIN_BN_BATCH` where BN in train mode sees the batch (a probe at
            initialisation); below it the error says why.
    """
    if low >= MIN_BN_BATCH and isinstance(value, (int, float)) and not isinstance(value, bool) and value < low:
        raise UserError(f"{name} {_short(value)} is too small; expected at least {low} (BN uses batch statistics)")
    return whole(name, value, low, MAX_BATCH)


def _short(value: Any) -> str:
    if isinstance(value, int) and abs(value) >= 10**6:
        return f"{value:.3g}"
    if isinstance(value, float) and math.isfinite(value) and value == int(value) and abs(value) < 10**6:
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def check_network(depth: Any, width: Any, *, bottleneck: bool = False, num_classes: Any = 10) -> None:
    """Depth, width and classes in range, and a parameter count that fits in memory."""
    depth = whole("depth", depth, 1, MAX_DEPTH)
    width = whole("width", width, 1, MAX_WIDTH)
    whole("number of classes", num_classes, 2, MAX_CLASSES)
    # Three stages of widths w, 2w, 4w: a basic unit has two 3x3 convs (18 c^2 weights), a
    # bottleneck 1x1-3x3-1x1 (17 c^2 at 4x outputs); 400 n w^2 bounds both.
    n = max(1, (depth - 2) // (9 if bottleneck else 6))
    params = 400 * n * width * width
    if params > MAX_PARAMS:
        raise UserError(
            f"depth {depth} with width {width} makes about {params:.2g} parameters; at most {MAX_PARAMS:.0e}: lower the depth or the width"
        )


def check_image(image_size: Any, width: int) -> int:
    """An image size in range whose first feature maps fit in memory at this width."""
    size = whole("image size", image_size, MIN_IMAGE_SIZE, MAX_IMAGE_SIZE)
    if 4 * width * size * size > MAX_ACTIVATION:  # 4: a bottleneck's first stage outputs 4w channels
        raise UserError(f"image size {size} at width {width} makes feature maps of {4 * width * size * size:.2g} floats; at most {MAX_ACTIVATION:.2g}")
    return size


def max_local_workers() -> int:
    """How many worker processes one machine runs at most: twice its cores, within 4 and 64."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(MAX_LOCAL_WORKERS, max(4, 2 * cores))
