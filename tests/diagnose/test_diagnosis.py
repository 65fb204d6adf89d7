"""``diagnose_unit``: the paper's propagation statements (Eqs. 4-8), measured on small networks."""

from __future__ import annotations

import json
import math

import pytest
import torch

from unitsearch.diagnose import diagnose_unit, log_slope, normal_batch
from unitsearch.errors import UserError
from unitsearch.render import to_json
from unitsearch.units import PRESETS, UnitSpec

from .conftest import fit_log10_slope

NO_BN = UnitSpec.parse("h=identity;branch=relu-conv-relu-conv;f=id")  # Eq. 4 with nothing to renormalise


@pytest.mark.parametrize("bottleneck", [False, True], ids=["basic", "bottleneck"])
@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_is_diagnosed(name, bottleneck, batch8):
    x, y = batch8
    depth = 11 if bottleneck else 8
    if bottleneck and PRESETS[name].spec.n_convs == 1:
        pytest.skip("Table 3's 1-conv units build only basic nets")
    d = diagnose_unit(PRESETS[name].spec, x, y, depth=depth, width=4, bottleneck=bottleneck)
    n_points = 3 * d.units_per_stage + 1  # x_0 .. x_{L-1} entering the units, then x_L
    for values in (d.act_rms, d.grad_ratio, d.shortcut_ratio, d.grad_corr):
        assert len(values) == n_points and all(math.isfinite(v) for v in values)
    assert d.grad_ratio[-1] == pytest.approx(1.0) and d.shortcut_ratio[-1] == pytest.approx(1.0)
    assert all(-1.0 - 1e-9 <= c <= 1.0 + 1e-9 for c in d.grad_corr)
    assert d.preset == name and d.bottleneck is bottleneck
    assert set(d.summary) == {"grad_ratio_first", "shortcut_ratio_first", "grad_log10_per_unit",
                              "shortcut_log10_per_unit", "act_growth", "grad_corr_first"}
    back = json.loads(to_json(d.to_dict()))
    assert back["grad_ratio"] == pytest.approx(d.grad_ratio) and back["summary"]["act_growth"] == pytest.approx(d.summary["act_growth"])


def test_deterministic_and_leaves_the_global_rng_alone(batch8):
    x, y = batch8
    spec = PRESETS["dropout_shortcut"].spec  # draws masks from the global RNG
    state = torch.get_rng_state()
    a = diagnose_unit(spec, x, y, depth=14, width=4, seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    b = diagnose_unit(spec, x, y, depth=14, width=4, seed=3)
    assert a.to_dict() == b.to_dict()
    assert diagnose_unit(spec, x, y, depth=14, width=4, seed=4).to_dict() != a.to_dict()


@pytest.mark.parametrize("lam", [0.5, 0.8])
def test_scaled_shortcut_multiplies_the_gradient_by_lambda_per_unit(lam, batch8):
    """Eq. 8: dE/dx_l = dE/dx_L * prod lambda_i + (terms through the branches).

    With the default init the branch terms are not small: BN makes every branch
    invariant to the scale of its input, so the whole gradient of a BN network grows
    on its way back (next test). zero_init_residual silences the branches (last BN's
    gamma = 0: F = 0 and dF/dx = 0), leaving Eq. 8's first term alone. f = ReLU then
    masks the same entries in every unit (x_0 >= 0 after the stem's ReLU and
    lambda * x keeps the sign), so inside the first stage (x_0 .. x_n share its shape)
    the ratio changes by exactly lambda per unit: slope of log10 against l = -log10(lambda).
    """
    x, y = batch8
    spec = UnitSpec.parse(f"h=scale({lam});branch=conv-bn-relu-conv-bn;f=relu")
    d = diagnose_unit(spec, x, y, depth=20, width=8, zero_init_residual=True)
    n = d.units_per_stage
    assert fit_log10_slope(d.grad_ratio[: n + 1]) == pytest.approx(-math.log10(lam), abs=1e-3)
    for l in range(n):
        assert d.grad_ratio[l] / d.grad_ratio[l + 1] == pytest.approx(lam, rel=1e-4)


def test_scaled_shortcut_path_shrinks_at_least_by_lambda_per_unit_at_default_init(batch8):
    """Eq. 8's first term with the default init: the ReLUs of f can only remove gradient
    from the shortcut path, so each unit multiplies it by lambda = 0.5 or less."""
    x, y = batch8
    d = diagnose_unit(PRESETS["const_scale_0.5"].spec, x, y, depth=20, width=8)
    n = d.units_per_stage
    for l in range(n):  # inside the first stage
        assert d.shortcut_ratio[l] <= 0.5 * d.shortcut_ratio[l + 1] * (1 + 1e-5)
    assert d.summary["shortcut_log10_per_unit"] < math.log10(0.5)
    # ... while the whole gradient does not vanish: the branches (BN) carry it, which is
    # why the pre-filter scores the shortcut path.
    assert d.summary["grad_ratio_first"] > 1.0


def test_identity_shortcut_passes_the_gradient_unchanged(batch8):
    """Eq. 5: with identity h and f, dE/dx_l = dE/dx_L * (1 + ...): the first term is exactly 1
    inside a stage (unit 0 applies the shared pre-activation, so start at x_1)."""
    x, y = batch8
    d = diagnose_unit(PRESETS["full_preact"].spec, x, y, depth=20, width=8)
    n = d.units_per_stage
    for stage in range(3):
        lo = max(1, stage * n + 1)  # x_{kn+1} .. x_{(k+1)n} are the inside of stage k
        for l in range(lo, (stage + 1) * n):
            assert d.shortcut_ratio[l] == pytest.approx(d.shortcut_ratio[l + 1], rel=1e-5)
    assert d.shortcut_ratio[n] == pytest.approx(d.shortcut_ratio[1], rel=1e-5)
    # The whole gradient stays near or above 1 all the way back.
    assert d.summary["grad_ratio_first"] >= 1.0
    assert min(d.grad_ratio) > 0.3
    z = diagnose_unit(PRESETS["full_preact"].spec, x, y, depth=20, width=8, zero_init_residual=True)
    assert z.grad_ratio[1:n + 1] == pytest.approx([z.grad_ratio[n]] * n, rel=1e-5)


def test_plain_network_collapses(batch8):
    """h = 0 (Table 1's plain net): nothing reaches x_l through the shortcuts (Eq. 8 with
    lambda = 0), and the gradients of nearby inputs decorrelate (Balduzzi et al. 2017)."""
    x, y = batch8
    plain = diagnose_unit(PRESETS["const_scale_0"].spec, x, y, depth=32, width=8)
    assert all(r == 0.0 for r in plain.shortcut_ratio[:-1])
    preact = diagnose_unit(PRESETS["full_preact"].spec, x, y, depth=32, width=8)
    assert plain.summary["grad_corr_first"] < 0.4 < 0.7 < preact.summary["grad_corr_first"]
    assert plain.input_grad_corr < 0.4 < 0.7 < preact.input_grad_corr


@pytest.mark.parametrize("seed", [0, 1])
def test_unnormalised_residual_stack_doubles_the_variance_per_unit(seed):
    """Eq. 4 without BN: x_{l+1} = x_l + F(x_l) with He-initialised F of the same variance as
    x_l and uncorrelated with it, so Var(x_{l+1}) ~ 2 Var(x_l) inside a stage."""
    x, y = normal_batch(8, 16, 10, seed=seed)
    d = diagnose_unit(NO_BN, x, y, depth=32, width=8, seed=seed)
    n = d.units_per_stage
    rms = d.act_rms[: n + 1]
    assert all(b > a for a, b in zip(rms, rms[1:]))
    log2_var_per_unit = fit_log10_slope([r * r for r in rms]) / math.log10(2)
    assert 0.7 < log2_var_per_unit < 1.3
    assert d.summary["act_growth"] > 2 ** (0.7 * n / 2)


def test_log_slope_counts_units_back_from_the_output():
    assert log_slope([0.125, 0.25, 0.5, 1.0]) == pytest.approx(math.log10(0.5))
    assert log_slope([8.0, 4.0, 2.0, 1.0]) == pytest.approx(math.log10(2))
    assert log_slope([0.0, 1.0]) == pytest.approx(-30.0)  # zeros count as 1e-30
    assert math.isnan(log_slope([math.nan, 1.0])) and math.isnan(log_slope([1.0]))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"x": torch.zeros(1, 3, 8, 8), "y": torch.zeros(1, dtype=torch.long)}, "at least 2"),
        ({"y": torch.full((16,), 10)}, "expected 0..9"),
        ({"y": torch.zeros(3, dtype=torch.long)}, "labels have shape"),
        ({"x": torch.zeros(16, 1, 8, 8)}, r"\[B, 3, H, W\]"),
        ({"noise": 0.0}, "noise"),
        ({"depth": 9}, "depth 9 is not valid"),
    ],
)
def test_bad_input_is_a_user_error(change, match, batch8):
    x, y = batch8
    kwargs = {"x": x, "y": y, "depth": 8, "width": 4, **change}
    with pytest.raises(UserError, match=match):
        diagnose_unit(PRESETS["original"].spec, **kwargs)
