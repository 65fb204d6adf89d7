"""Which device trains, how many CPU threads it uses, and what runs faster there."""

from __future__ import annotations

import os
import re

import torch

from ..errors import UserError

__all__ = ["resolve_device", "device_name", "set_cpu_threads"]

_ALLOWED = "auto, cpu, cuda, cuda:N, mps"


def resolve_device(text: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then MPS, then the CPU; an unavailable device is an error."""
    text = text.strip().lower()
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if not re.fullmatch(r"cpu|mps|cuda(:\d+)?", text):
        raise UserError(f"unknown device {text!r}; allowed: {_ALLOWED}")
    device = torch.device(text)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"device {text!r} asked for, but no CUDA GPU is visible; allowed here: auto, cpu")
        if (device.index or 0) >= torch.cuda.device_count():
            raise UserError(f"device {text!r} does not exist; this machine has cuda:0..cuda:{torch.cuda.device_count() - 1}")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise UserError("device 'mps' asked for, but MPS is not available; allowed here: auto, cpu")
    return device


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return device.type


def set_cpu_threads(threads: int | None = None, *, workers: int = 1) -> int:
    """Give each of ``workers`` local processes its share of the cores instead of oversubscribing."""
    if threads is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        threads = max(1, cores // max(1, workers))
    torch.set_num_threads(threads)
    return threads
