"""The CPU numerics a trial trains with, pinned so that one trial gives the same digits on every x86-64 CPU.

PyTorch promises the same result for the same seed on one machine with one build, not
across CPUs (its reproducibility notes). Three libraries pick their kernels by the CPU they
find: ATen its vectorised elementwise and reduction kernels (DEFAULT, AVX2, AVX512), oneDNN
its convolutions, MKL its matrix products; and a reduction split over more threads rounds
differently. Each choice moves the last bits of a step, and after a few hundred SGD steps on
a small net the last bits have moved a trial's error by points (the original unit at the
``cpu`` profile, seed 0: 48.10% with one machine's AVX2 kernels, 54.40% with its SSE4.1 ones).

So the package asks every library for one instruction set before torch runs its first kernel
(:func:`pin`, called when ``unitsearch`` is imported, inherited by every worker it starts):
AVX2, the widest set that every x86-64 server and laptop of the last ten years has (Intel
since Haswell, AMD since Zen). Measured beside AVX-512 on this project's machine, it trains
0.83x as many images a second; SSE4.1, the next common set down, 0.28x (``bench/numerics.py``).
The thread count is part of the numerics too: a CPU worker trains on one thread unless told
otherwise (``unitsearch.train.default_threads``).

``UNITSEARCH_NUMERICS=native`` leaves the libraries to choose (faster on AVX-512, digits of
that machine only). Each trial stores :func:`describe` of what it ran with; the report warns
when it pools trials trained with different numerics.
"""

from __future__ import annotations

import os
import platform
from collections.abc import MutableMapping

__all__ = ["PINNED_ENV", "SWITCH", "PINNED_ISA", "pin", "is_pinned", "describe", "check"]

SWITCH = "UNITSEARCH_NUMERICS"  # "pinned" (the default) or "native"
PINNED_ISA = "AVX2"
PINNED_ENV = {
    "ATEN_CPU_CAPABILITY": "avx2",  # ATen's vectorised kernels
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN's convolutions (at most AVX2: never AVX-512 or AMX)
    "MKL_CBWR": "AVX2",  # MKL's conditional numerical reproducibility: one code path on every CPU
}
_X86 = ("x86_64", "amd64", "x86-64")


def is_pinned(environ: MutableMapping[str, str] = os.environ) -> bool:
    """Whether this process asks for the pinned numerics: an x86-64 CPU and the switch not ``native``."""
    return environ.get(SWITCH, "pinned").strip().lower() != "native" and platform.machine().lower() in _X86


def pin(environ: MutableMapping[str, str] = os.environ) -> bool:
    """Ask ATen, oneDNN and MKL for the AVX2 kernels; True when pinned.

    Must run before torch runs its first CPU kernel: each library reads its setting once.
    The settings replace any the environment had, so that a machine's own preference
    (``ATEN_CPU_CAPABILITY=default``, say) cannot change a trial's digits.
    """
    if not is_pinned(environ):
        return False
    environ.update(PINNED_ENV)
    return True


def _capability() -> str:
    import torch

    return str(torch.backends.cpu.get_cpu_capability())


def check() -> str | None:
    """One line when this process asked for the pinned kernels and did not get them, else None.

    ATen answers with the set it runs: below AVX2 on a CPU without it, or something else when
    torch ran a kernel before ``unitsearch`` was imported.
    """
    if not is_pinned():
        return None
    got = _capability()
    if got == PINNED_ISA:
        return None
    return (
        f"numerics not pinned: ATen runs {got} kernels, not {PINNED_ISA} (a CPU without AVX2, or torch used before "
        f"unitsearch was imported); digits will differ from other machines' (set {SWITCH}=native to silence this)"
    )


def describe(device_type: str = "cpu", threads: int | None = None) -> str:
    """What a trial on ``device_type`` computes with, in one phrase: ``torch 2.14.1, cpu AVX2 pinned, 1 thread``."""
    import torch

    text = f"torch {torch.__version__}"
    if device_type != "cpu":
        return f"{text}, {device_type}"
    threads = torch.get_num_threads() if threads is None else threads
    state = "pinned" if is_pinned() and _capability() == PINNED_ISA else "native"
    return f"{text}, cpu {_capability()} {state}, {threads} thread{'s' if threads != 1 else ''}"
