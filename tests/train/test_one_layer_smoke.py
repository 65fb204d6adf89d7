"""Table 3's 1-conv presets train one smoke epoch (depth 8 = 3n+2 with two 1-conv units per stage)."""

from __future__ import annotations

import math

import pytest

from unitsearch.train import prepare_run


@pytest.mark.parametrize("name", ["original_1layer", "full_preact_1layer"])
def test_one_layer_presets_train_one_smoke_epoch(name):
    run = prepare_run(name, profile="smoke", epochs=1, train_size=128)
    assert len(run.model.units) == 6  # (8 - 2) / 3 convs ... one conv per unit
    result = run.train()
    assert result.status == "complete" and result.epochs == 1
    assert math.isfinite(result.final_train_loss) and 0 <= result.val_error <= 100
