"""What a result was produced with: versions, device, data, code revision."""

from __future__ import annotations

import functools
import platform
import subprocess
from pathlib import Path

import optuna
import torch

from .. import __version__
from ..data import ImageData
from ..train import device_name

__all__ = ["manifest", "git_commit"]


@functools.cache
def git_commit() -> str | None:
    """The commit of the checkout this package runs from, when it is one."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent, capture_output=True, text=True, timeout=5, check=True
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def manifest(device: torch.device, data: ImageData) -> dict[str, str | None]:
    return {
        "unitsearch": __version__,
        "torch": torch.__version__,
        "optuna": optuna.__version__,
        "python": platform.python_version(),
        "device": device_name(device),
        "dataset": data.name,
        "dataset_fingerprint": data.fingerprint,
        "git_commit": git_commit(),
    }
