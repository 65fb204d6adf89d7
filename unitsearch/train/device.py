"""Which device trains, how many CPU threads it uses, and what runs faster there."""

from __future__ import annotations

import os
import re

import torch
from torch import nn

from .. import numerics
from ..errors import UserError

__all__ = ["resolve_device", "device_name", "default_threads", "set_cpu_threads", "conv_layout_safe"]

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


def default_threads(workers: int = 1) -> int:
    """CPU threads per process when none are asked for.

    With the numerics pinned (:mod:`unitsearch.numerics`), one: a reduction split over more
    threads rounds differently, so the thread count must not depend on the machine, and two
    one-thread workers train more images per second than one two-thread worker
    (``bench/train_throughput.py``). Unpinned, each of ``workers`` local processes gets its
    share of the cores.
    """
    if numerics.is_pinned():
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // max(1, workers))


def set_cpu_threads(threads: int | None = None, *, workers: int = 1) -> int:
    """Set torch's CPU threads: ``threads``, or :func:`default_threads` of ``workers`` local processes."""
    threads = default_threads(workers) if threads is None else threads
    torch.set_num_threads(threads)
    return threads


def conv_layout_safe(model: nn.Module) -> bool:
    """Whether ``model`` may train in channels_last on the CPU.

    oneDNN's AVX2 kernels (the pinned ones) corrupt the heap in the backward pass of a 1x1,
    stride-2 convolution with 2 to 7 input channels in channels_last (``brgconv_strided``
    backward-data, ``jit_1x1`` backward-weights; torch 2.14.1, oneDNN 3.12): "double free or
    corruption", then SIGABRT. With 8 or more input channels, a 3x3 kernel, stride 1, or NCHW
    it does not happen (``tests/train/test_onednn_layout.py`` forces those kernels). Such a
    network trains in NCHW: the width-4 smoke nets with a projection, a gate or a 1x1 shortcut,
    or a user's thin net; the embedded profiles' width-8 nets keep channels_last.
    """
    for m in model.modules():
        if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) and m.stride != (1, 1) and m.in_channels < 8:
            return False
    return True
