"""Training: the paper's recipe, fidelity profiles, devices and one plain loop."""

from .checkpoint import Checkpoint, CheckpointError
from .config import PROFILES, Profile, Schedule, TrainConfig, Warmup, apply_overrides, get_profile
from .device import conv_layout_safe, default_threads, device_name, resolve_device, set_cpu_threads
from .loop import EpochMetrics, TrainResult, evaluate, lr_at, train
from .single import SingleRun, prepare_run

__all__ = [
    "PROFILES",
    "Checkpoint",
    "CheckpointError",
    "EpochMetrics",
    "Profile",
    "Schedule",
    "SingleRun",
    "TrainConfig",
    "TrainResult",
    "Warmup",
    "apply_overrides",
    "conv_layout_safe",
    "default_threads",
    "device_name",
    "evaluate",
    "get_profile",
    "lr_at",
    "prepare_run",
    "resolve_device",
    "set_cpu_threads",
    "train",
]
