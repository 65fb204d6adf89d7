"""The pre-filter: keep the paper's good units, skip the ones whose shortcut product vanishes."""

from __future__ import annotations

import math
import sys

import pytest
import torch

from unitsearch.diagnose import PrefilterResult, normal_batch, prefilter, verdict
from unitsearch.diagnose._probe import probe
from unitsearch.errors import UserError
from unitsearch.units import PRESETS, UnitSpec

NET = {"depth": 32, "width": 8, "bottleneck": False, "num_classes": 10, "image_size": 8, "batch": 16}


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(
    ("name", "keep"),
    [("original", True), ("full_preact", True), ("const_scale_0", False), ("const_scale_0.5", False)],
)
def test_keeps_identity_units_and_skips_scaled_shortcuts(name, keep, seed):
    res = prefilter(PRESETS[name].spec, min_grad_ratio=1e-3, seed=seed, **NET)
    assert isinstance(res, PrefilterResult) and res.keep is keep
    assert math.isfinite(res.score) and res.reason.startswith("prefilter: ")
    if keep:
        assert res.score > 0.1  # Eq. 5: only the stage boundaries and f's ReLUs take a share
    else:
        assert res.score < 1e-4 and "Eq. 8" in res.reason and "below 0.001" in res.reason


def test_called_as_the_search_objective_calls_it():
    """The keywords ``unitsearch.search.objective`` passes, no batch given."""
    res = prefilter(PRESETS["const_scale_0"].spec, depth=20, width=8, bottleneck=False, num_classes=10,
                    image_size=8, min_grad_ratio=1e-3, seed=0)
    assert (res.keep, res.score) == (False, 0.0)


def test_threshold_is_an_argument():
    spec = PRESETS["const_scale_0.5"].spec
    low = prefilter(spec, min_grad_ratio=0.0, **{**NET, "depth": 20})
    assert low.keep and 0 < low.score < 1e-3
    assert not prefilter(PRESETS["original"].spec, min_grad_ratio=1.0, **NET).keep
    amplifying = UnitSpec.parse("h=scale(2);branch=conv-bn-relu-conv-bn;f=relu")
    assert prefilter(amplifying, min_grad_ratio=1e-3, **{**NET, "depth": 20}).keep
    high = prefilter(amplifying, min_grad_ratio=1e-3, max_grad_ratio=10.0, **{**NET, "depth": 20})
    assert not high.keep and high.score > 10 and "explodes" in high.reason


def test_given_batch_is_used_and_default_batch_is_seeded():
    spec = PRESETS["full_preact"].spec
    x, y = normal_batch(8, 16, 10, seed=0)
    given = prefilter(spec, min_grad_ratio=1e-3, x=x, y=y, seed=0, **NET)
    assert given == prefilter(spec, min_grad_ratio=1e-3, seed=0, **NET)
    assert given.score != prefilter(spec, min_grad_ratio=1e-3, x=x * 2 + 1, y=y, seed=0, **NET).score


def test_leaves_the_global_rng_alone():
    state = torch.get_rng_state()
    prefilter(PRESETS["dropout_shortcut"].spec, min_grad_ratio=1e-3, **NET)
    assert torch.equal(torch.get_rng_state(), state)


def test_verdict():
    assert verdict(0.5, 1e-3) == PrefilterResult(True, 0.5, "prefilter: shortcut gradient ratio 0.5 >= 0.001")
    assert not verdict(math.nan, 1e-3).keep and "not finite" in verdict(math.nan, 1e-3).reason
    assert not verdict(math.inf, 1e-3).keep
    assert not verdict(0.0, 1e-3).keep


def test_refuses_a_negative_threshold():
    with pytest.raises(UserError, match="min_grad_ratio"):
        prefilter(PRESETS["original"].spec, min_grad_ratio=-1.0, **NET)


def test_one_shortcut_only_pass_without_parameter_gradients(monkeypatch):
    """The cost is one probe of the shortcut path; weight gradients are never computed."""
    module = sys.modules[prefilter.__module__]  # the package re-exports the function under the module's name

    calls = []

    def counting_probe(model, x, y, **kwargs):
        calls.append(kwargs)
        result = probe(model, x, y, **kwargs)
        assert all(p.grad is None and not p.requires_grad for p in model.parameters())
        return result

    monkeypatch.setattr(module, "probe", counting_probe)
    spec = PRESETS["original"].spec
    assert prefilter(spec, depth=56, width=8, bottleneck=False, num_classes=10, image_size=16, min_grad_ratio=1e-3).keep
    assert [c["shortcut_only"] for c in calls] == [True]
