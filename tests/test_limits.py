"""The bounds in unitsearch.limits, through the callers that share them."""

from __future__ import annotations

import pytest
import torch

from unitsearch import limits
from unitsearch.data import eval_batches, load_data
from unitsearch.diagnose import normal_batch
from unitsearch.errors import UserError
from unitsearch.train import TrainConfig


def test_batch_size_bounds():
    assert limits.batch_size("batch size", 8.0) == 8
    with pytest.raises(UserError, match=r"batch size must be in \[1, 65536\], got 0"):
        limits.batch_size("batch size", 0)
    with pytest.raises(UserError, match="must be in"):
        limits.batch_size("batch size", limits.MAX_BATCH + 1)
    with pytest.raises(UserError, match=r"batch 1 is too small; expected at least 2 \(BN uses batch statistics\)"):
        limits.batch_size("batch", 1, low=limits.MIN_BN_BATCH)


def test_one_batch_rule_for_training_data_and_probes():
    for kwargs in ({"batch_size": 0}, {"eval_batch_size": limits.MAX_BATCH + 1}):
        with pytest.raises(UserError, match="train config .*batch_size must be in"):
            TrainConfig(**kwargs)
    data = load_data("synthetic", train_size=8, val_size=4, test_size=0, image_size=8)
    with pytest.raises(UserError, match="batch size must be in"):
        next(eval_batches(data, "val", 0))
    with pytest.raises(UserError, match="at least 2"):
        normal_batch(8, 1, 10)
    assert normal_batch(8, 2, 10)[0].shape == torch.Size([2, 3, 8, 8])
