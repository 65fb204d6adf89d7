"""Small batches and one helper shared by the diagnose tests."""

from __future__ import annotations

import math

import pytest
import torch

from unitsearch.diagnose import normal_batch


@pytest.fixture(autouse=True)
def _one_thread():
    """The probes are tiny; one thread avoids fighting other processes for two cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def batch8() -> tuple[torch.Tensor, torch.Tensor]:
    """16 standard-normal 8x8 images with labels in 0..9."""
    return normal_batch(8, 16, 10, seed=0)


def fit_log10_slope(values: list[float]) -> float:
    """Least-squares slope of log10(values[i]) against i."""
    xs = list(range(len(values)))
    ys = [math.log10(v) for v in values]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((a - mx) * (b - my) for a, b in zip(xs, ys)) / sum((a - mx) ** 2 for a in xs)
