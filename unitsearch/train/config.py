"""The training recipe and the fidelity profiles, as dataclasses with commented defaults."""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass, field
from typing import Any

from .. import limits
from ..errors import UserError

__all__ = ["Schedule", "Warmup", "TrainConfig", "Profile", "PROFILES", "get_profile", "apply_overrides"]


class Schedule(str, enum.Enum):
    """How the learning rate decays after warm-up."""

    STEP = "step"  # divide by 10 at the milestones (the paper: 32k and 48k of 64k iterations)
    COSINE = "cosine"  # cosine annealing to zero over the run


class Warmup(str, enum.Enum):
    """Whether to start with the paper's small learning rate."""

    AUTO = "auto"  # as the paper: on for CIFAR post-activation units of depth >= 110 (train.setup decides)
    ON = "on"  # always
    OFF = "off"  # never


@dataclass
class TrainConfig:
    """The paper's CIFAR recipe (Sec. 4.1, after He et al. 2016a). Every field can be overridden."""

    epochs: int = 164  # 64k iterations of batch 128 on 45k images
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    nesterov: bool = False
    schedule: Schedule = Schedule.STEP
    milestones: tuple[float, ...] = (0.5, 0.75)  # fractions of training: 32k/64k and 48k/64k
    warmup: Warmup = Warmup.AUTO
    warmup_lr: float = 0.01  # "0.01 until training error is below 80% (about 400 iterations)"
    warmup_error: float = 80.0  # it ends after the first check window (check_every steps) whose training error is below this, in percent
    warmup_iters: int = 400  # and after this many steps at the latest
    augment: bool = True  # pad 4, random crop, horizontal flip
    # A run diverges when its loss is not finite or, averaged over `check_every` steps,
    # exceeds `divergence_factor` x its first such average (paper Table 1's "fail" rows).
    divergence_factor: float = 5.0
    check_every: int = 20
    seed: int = 0
    eval_batch_size: int = 1024
    channels_last: bool | None = None  # None: on for CPU and CUDA, where it is faster (bench/train_speed.py)
    bf16: bool | None = None  # None: bf16 autocast on CUDA only

    def __post_init__(self) -> None:
        try:
            self.schedule = Schedule(self.schedule)
            self.warmup = Warmup(self.warmup)
            self.milestones = tuple(float(m) for m in self.milestones)
            for name in _INTS:
                setattr(self, name, _as_int(getattr(self, name)))
            for name in _FLOATS:
                setattr(self, name, float(getattr(self, name)))
        except (TypeError, ValueError, OverflowError) as e:
            raise UserError(f"bad train setting: {e}") from None
        for name, (low, high) in _INT_RANGES.items():
            limits.whole(f"train config {name}", getattr(self, name), low, high)
        for name in ("batch_size", "eval_batch_size"):
            limits.batch_size(f"train config {name}", getattr(self, name))
        for name, (low, high, low_open, high_open) in _FLOAT_RANGES.items():
            limits.number(f"train config {name}", getattr(self, name), low, high, low_open=low_open, high_open=high_open)
        for m in self.milestones:
            limits.number("train config milestones (fractions of training)", m, 0.0, 1.0)
        for name in ("nesterov", "augment", "channels_last", "bf16"):
            value = getattr(self, name)
            if not isinstance(value, bool) and not (value is None and name in ("channels_last", "bf16")):
                raise UserError(f"train config {name} must be true or false, got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["schedule"], d["warmup"] = self.schedule.value, self.warmup.value
        d["milestones"] = list(self.milestones)
        return d


_INTS = ("epochs", "batch_size", "warmup_iters", "check_every", "seed", "eval_batch_size")
_FLOATS = ("lr", "momentum", "weight_decay", "warmup_lr", "warmup_error", "divergence_factor")


# Bounds before any tensor is allocated (unitsearch.limits); the seed fits a signed 64-bit integer.
_INT_RANGES = {
    "epochs": (1, limits.MAX_EPOCHS),
    "check_every": (1, 10**6),
    "warmup_iters": (0, 10**9),
    "seed": (0, limits.MAX_SEED),
}
# (low, high, low open, high open); a learning rate of 1e4 already diverges in one step.
_FLOAT_RANGES = {
    "lr": (0.0, 1e4, True, False),
    "momentum": (0.0, 1.0, False, True),
    "weight_decay": (0.0, 1.0, False, False),
    "warmup_lr": (0.0, 1e4, True, False),
    "warmup_error": (0.0, 100.0, False, False),
    "divergence_factor": (1.0, 1e12, True, False),
}


def _as_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"expected a whole number, got {value!r}")
    if isinstance(value, int):
        return value  # exact: a float round trip would change a seed above 2**53
    x = float(value)
    if not math.isfinite(x) or x != int(x):
        raise ValueError(f"expected a whole number, got {value!r}")
    return int(x)


@dataclass(frozen=True)
class Profile:
    """A fidelity: which data, how big a network, how long to train."""

    name: str
    description: str
    dataset: str = "synthetic"
    image_size: int = 32
    depth: int = 110
    width: int = 16
    bottleneck: bool = False
    train_size: int | None = None  # None: the whole training split
    val_size: int | None = 5000  # held out from the training set (the paper tuned on 45k/5k); imagefolder: a cap on val/
    arch: str = "cifar"  # network layout: "cifar" or "imagenet" (unitsearch.models.Arch)
    train: dict[str, Any] = field(default_factory=dict)  # TrainConfig overrides

    def train_config(self, **overrides: Any) -> TrainConfig:
        return apply_overrides(TrainConfig(), {**self.train, **overrides})


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in [
        Profile(
            "smoke",
            "seconds per trial, for tests: a tiny net on a few hundred tiny images",
            image_size=16,
            depth=8,
            width=4,
            train_size=512,
            val_size=256,
            train={"epochs": 2, "batch_size": 64},
        ),
        Profile(
            "cpu",
            "the embedded default: a deep, thin ResNet-32 on 12x12 synthetic images, 752 SGD steps, for 2 CPU cores",
            # Chosen by bench/calibrate.py (docs/RESULTS.md): against 16x16 images and 376 steps it
            # doubles the steps for 1.3x the CPU time, and full pre-activation's lead over the
            # original grows from 8 to 19 points on matched seeds; at depth 20 the original is as
            # good as pre-activation, so the depth stays.
            image_size=12,
            depth=32,
            width=8,
            train_size=3000,
            val_size=1000,
            train={"epochs": 16, "batch_size": 64},  # 752 SGD steps; the lr drops at epochs 8 and 12
        ),
        Profile(
            "cpu-long",
            "an hour on 2 CPU cores: ResNet-56 on 16k 16x16 synthetic images for 1,000 steps of batch 128",
            image_size=16,
            depth=56,  # deep enough that the original unit trains visibly slower than pre-activation
            width=8,
            train_size=16000,
            val_size=1000,
            train={"epochs": 8, "batch_size": 128},  # the paper's batch and lr; the lr drops at epochs 4 and 6
        ),
        Profile(
            "paper",
            "the paper's setting, for GPUs: CIFAR-10, ResNet-110, 164 epochs on 45k/5k",
            dataset="cifar10",
            image_size=32,
            depth=110,
            width=16,
            val_size=5000,
            train={"epochs": 164},
        ),
        Profile(
            "imagenet",
            "the paper's ImageNet setting, for GPUs: ResNet-152 on an image folder at 224x224, 90 epochs of batch 256",
            dataset="imagefolder",  # --data-dir DIR with DIR/train/<class>/* and DIR/val/<class>/* (ImageNet's layout)
            arch="imagenet",
            image_size=224,
            depth=152,  # Tables 4 and 5 compare the units at 152 and 200
            width=64,
            bottleneck=True,
            val_size=None,  # all of val/: the paper reports ImageNet's validation set
            # fb.resnet.torch's recipe: SGD momentum 0.9, weight decay 1e-4, batch 256, lr 0.1 divided
            # by 10 every 30 epochs, 90 epochs, random-resized crops. Where the paper differs (Sec. 5,
            # Table 4): it trains "with the same hyper-parameters and implementations" as the original
            # ResNet (He et al. 2016a: lr divided by 10 when the error plateaus, scale augmentation of
            # the shorter side, not aspect ratio, except its last row); its batch of 256 is split over
            # 8 GPUs, so BN sees 32 images, not 256; and its errors are single crops at 320x320 of
            # nets trained on 224x224 crops, while this profile evaluates at the training size.
            train={
                "epochs": 90,
                "batch_size": 256,
                "lr": 0.1,
                "momentum": 0.9,
                "weight_decay": 1e-4,
                "milestones": (1 / 3, 2 / 3),  # epochs 30 and 60
                "warmup": "off",
                "eval_batch_size": 256,  # 224x224 batches come from a loader in pinned memory: keep them moderate
            },
        ),
    ]
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise UserError(f"unknown profile {name!r}; allowed: {', '.join(PROFILES)}") from None


def apply_overrides(cfg: TrainConfig, overrides: dict[str, Any]) -> TrainConfig:
    """A copy of ``cfg`` with fields replaced; unknown names list the allowed ones."""
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise UserError(f"unknown train setting {unknown[0]!r}; allowed: {', '.join(sorted(names))}")
    try:
        return dataclasses.replace(cfg, **overrides)
    except (TypeError, ValueError) as e:
        raise UserError(f"bad train setting: {e}") from None
