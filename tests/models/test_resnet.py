from __future__ import annotations

import pytest
import torch

from unitsearch.errors import UserError
from unitsearch.models import ResNetConfig, build_resnet, count_macs, count_params
from unitsearch.units import PRESETS, UnitSpec


@pytest.mark.parametrize("bottleneck", [False, True], ids=["basic", "bottleneck"])
@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_trains_one_step(name, bottleneck):
    torch.manual_seed(0)
    depth = 11 if bottleneck else 8
    if bottleneck and PRESETS[name].spec.n_convs == 1:
        with pytest.raises(UserError, match="only basic units"):
            build_resnet(PRESETS[name].spec, depth=depth, width=4, bottleneck=True)
        return
    model = build_resnet(PRESETS[name].spec, depth=depth, width=4, bottleneck=bottleneck, num_classes=7)
    x = torch.randn(3, 3, 16, 16)
    out = model(x)
    assert out.shape == (3, 7)
    out.logsumexp(1).sum().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize(
    "preset, depth, bottleneck, classes, downsample, expected",
    [
        ("original", 20, False, 10, None, 269_722),
        ("original", 32, False, 10, None, 464_154),
        ("original", 44, False, 10, None, 658_586),
        ("original", 56, False, 10, None, 853_018),
        ("original", 110, False, 10, None, 1_727_962),
        ("original", 110, False, 10, "B", 1_730_714),
        ("full_preact", 164, True, 10, None, 1_703_258),
        ("full_preact", 164, True, 100, None, 1_726_388),
        pytest.param("original", 1202, False, 10, None, 19_421_274, marks=pytest.mark.slow),
        pytest.param("full_preact", 1001, True, 10, None, 10_327_706, marks=pytest.mark.slow),
        pytest.param("full_preact", 1001, True, 100, None, 10_350_836, marks=pytest.mark.slow),
    ],
)
def test_parameter_counts_match_the_paper(preset, depth, bottleneck, classes, downsample, expected):
    model = build_resnet(PRESETS[preset].spec, depth=depth, bottleneck=bottleneck, num_classes=classes, downsample=downsample)
    assert count_params(model) == expected


@pytest.mark.parametrize(
    "preset, depth, bottleneck, mmacs",
    [("original", 20, False, 40.6), ("original", 56, False, 125.5), ("original", 110, False, 252.9), ("full_preact", 164, True, 244.5)],
)
def test_conv_macs_match_the_paper(preset, depth, bottleneck, mmacs):
    model = build_resnet(PRESETS[preset].spec, depth=depth, bottleneck=bottleneck)
    assert count_macs(model) / 1e6 == pytest.approx(mmacs, abs=0.05)


def _unit_io(model, x):
    """Inputs and outputs of every residual unit in one forward pass."""
    seen = []
    hooks = [u.register_forward_hook(lambda m, i, o: seen.append((i[0].detach().clone(), o.detach().clone()))) for u in model.units]
    model(x)
    for h in hooks:
        h.remove()
    return seen


@pytest.mark.parametrize("bottleneck", [False, True])
def test_identity_mapping_passes_the_signal_unchanged(bottleneck):
    # Paper Eq. 4: with h and f identity and F = 0, x_L = x_l for any l < L.
    model = build_resnet(PRESETS["full_preact"].spec, depth=20 if bottleneck else 14, width=4, bottleneck=bottleneck, zero_init_residual=True).eval()
    io = _unit_io(model, torch.randn(2, 3, 16, 16))
    # The first unit and projection units activate before the split (paper appendix).
    plain = [(i, o) for (i, o), u in zip(io, model.units) if isinstance(u.preact, torch.nn.Identity) and i.shape == o.shape]
    assert len(plain) == len(io) - 3
    for i, o in plain:
        torch.testing.assert_close(o, i, rtol=0, atol=0)


def test_zero_init_is_needed_for_that():
    model = build_resnet(PRESETS["full_preact"].spec, depth=14, width=4).eval()
    i, o = _unit_io(model, torch.randn(2, 3, 16, 16))[1]
    assert not torch.equal(i, o)


@pytest.mark.parametrize("lam", [0.5, 0.9])
def test_constant_scaling_multiplies_the_shortcut_by_lambda_per_unit(lam):
    spec = UnitSpec.parse(f"h=scale({lam});branch=conv-bn-relu-conv-bn;f=relu")
    model = build_resnet(spec, depth=14, width=4, zero_init_residual=True).eval()
    io = _unit_io(model, torch.randn(2, 3, 16, 16))
    for i, o in io:
        if i.shape == o.shape:
            torch.testing.assert_close(o, lam * i)  # inputs are post-ReLU, so f = ReLU keeps lam * x


def test_plain_network_has_no_shortcut_signal():
    spec = PRESETS["const_scale_0"].spec
    model = build_resnet(spec, depth=14, width=4, zero_init_residual=True).eval()
    for _, o in _unit_io(model, torch.randn(2, 3, 16, 16)):
        assert torch.count_nonzero(o) == 0


def test_relu_first_branch_does_not_corrupt_the_shortcut():
    # relu_preact's branch starts with ReLU on the unit input: it must not work in place.
    model = build_resnet(PRESETS["relu_preact"].spec, depth=14, width=4, zero_init_residual=True).eval()
    x = torch.randn(2, 4, 16, 16)
    assert isinstance(model.units[1].preact, torch.nn.Identity)
    torch.testing.assert_close(model.units[1](x.clone()), x, rtol=0, atol=0)


def test_gates_start_at_their_bias():
    model = build_resnet(PRESETS["exclusive_gate_-6"].spec, depth=8, width=4)
    biases = [u.gate.conv.bias for u in model.units]
    assert all(torch.all(b == -6) for b in biases)


@pytest.mark.parametrize(
    "preset, depth, bottleneck", [("original", 21, False), ("original", 100, True), ("original", 2, False), ("original_1layer", 109, False)]
)
def test_bad_depth_names_the_rule(preset, depth, bottleneck):
    with pytest.raises(UserError, match="allowed"):
        build_resnet(PRESETS[preset].spec, depth=depth, bottleneck=bottleneck)


def test_config_defaults_follow_the_paper():
    assert ResNetConfig().shortcut_type.value == "A"
    assert ResNetConfig(depth=164, bottleneck=True).shortcut_type.value == "B"
    assert ResNetConfig(depth=110).units_per_stage == 18
    assert ResNetConfig(depth=164, bottleneck=True).units_per_stage == 18


def test_relu_after_the_addition_then_relu_first_branch_trains():
    # final_act (the branch's pre-activation) must not overwrite the last unit's ReLU output in place.
    spec = UnitSpec.parse("h=dropout(0.5);branch=relu-conv-bn-conv-bn;f=relu")
    model = build_resnet(spec, depth=8, width=4)
    model(torch.randn(2, 3, 16, 16)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
