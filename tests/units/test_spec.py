from __future__ import annotations

import pytest

from unitsearch.units import PRESETS, Op, Shortcut, ShortcutKind, SpecError, UnitSpec, preset_name, resolve_unit


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_round_trips_through_its_form(name):
    spec = PRESETS[name].spec
    assert UnitSpec.parse(spec.form) == spec
    assert UnitSpec.parse(spec.form).form == spec.form
    assert hash(UnitSpec.parse(spec.form)) == hash(spec)
    assert preset_name(UnitSpec.parse(spec.form)) == name


def test_presets_are_distinct():
    forms = [p.spec.form for p in PRESETS.values()]
    assert len(set(forms)) == len(forms)


def test_full_preact_form():
    assert PRESETS["full_preact"].spec.form == "h=identity;branch=bn-relu-conv-bn-relu-conv;f=id"
    assert PRESETS["original"].spec.form == "h=identity;branch=conv-bn-relu-conv-bn;f=relu"


@pytest.mark.parametrize(
    "a, b",
    [
        ("h=scale(1);branch=conv-bn-relu-conv-bn;f=relu", "h=identity;branch=conv-bn-relu-conv-bn;f=relu"),
        ("h=dropout(0);branch=conv-conv", "h=identity;branch=conv-conv;f=id"),
        ("h=scale(0.5,1);branch=conv-conv", "h=scale(0.5);branch=conv-conv"),
        ("h=identity;branch=relu-relu-conv-bn-relu-conv;f=relu-relu", "h=identity;branch=relu-conv-bn-relu-conv;f=relu"),
        ("f=none;branch=BN, ReLU, conv, bn, relu, conv;h=IDENTITY", "h=identity;branch=bn-relu-conv-bn-relu-conv;f=id"),
        ("h=exclusive_gate(-6.0);branch=conv-conv", "h=exclusive_gate(-6);branch=conv-conv"),
    ],
)
def test_equal_networks_have_equal_forms(a, b):
    assert UnitSpec.parse(a) == UnitSpec.parse(b)
    assert UnitSpec.parse(a).form == UnitSpec.parse(b).form


@pytest.mark.parametrize(
    "text, needle",
    [
        ("h=identity;branch=conv-pool-conv", "unknown op 'pool' in branch; allowed: bn, relu, conv"),
        ("h=identity;branch=conv-conv;f=conv", "not allowed in f; allowed: bn, relu"),
        ("h=skip;branch=conv-conv", "unknown shortcut 'skip'; allowed: identity"),
        ("h=identity;branch=conv-conv-conv-conv", "2 convs (basic), 3 (bottleneck) or 1 (1-layer skip)"),
        ("h=identity;branch=bn-relu", "2 convs (basic), 3 (bottleneck) or 1 (1-layer skip)"),
        ("h=scale;branch=conv-conv", "takes 1..2 numbers"),
        ("h=dropout(1.5);branch=conv-conv", "dropout p must be in [0, 1)"),
        ("branch=conv-conv", "'h' and 'branch' are required"),
        ("h=identity;branch=conv-conv;g=relu", "expected 'h=...;branch=...;f=...'"),
    ],
)
def test_bad_forms_name_the_problem(text, needle):
    with pytest.raises(SpecError, match=None) as info:
        UnitSpec.parse(text)
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_preset_lists_the_names():
    with pytest.raises(SpecError) as info:
        resolve_unit("fullpreact")
    assert "full_preact" in str(info.value) and "original" in str(info.value)


def test_bottleneck_expansion_repeats_the_middle_placement():
    spec = PRESETS["original"].spec.expanded(True)
    assert spec.branch == (Op.CONV, Op.BN, Op.RELU, Op.CONV, Op.BN, Op.RELU, Op.CONV, Op.BN)
    assert spec.expanded(True) is spec
    with pytest.raises(SpecError):
        spec.expanded(False)


def test_shortcut_branch_scale():
    assert Shortcut(ShortcutKind.SCALE, (0.5, 0.5)).branch_scale == 0.5
    assert Shortcut(ShortcutKind.SCALE, (0.5,)).branch_scale == 1.0


@pytest.mark.parametrize("name, form", [("original_1layer", "h=identity;branch=conv-bn;f=relu"), ("full_preact_1layer", "h=identity;branch=bn-relu-conv;f=id")])
def test_table3_one_layer_presets_hold_one_conv(name, form):
    spec = PRESETS[name].spec
    assert spec.form == form
    assert spec.n_convs == 1
    assert spec.expanded(False) is spec
    with pytest.raises(SpecError, match="only basic units"):
        spec.expanded(True)


def test_table3_one_layer_presets_carry_the_papers_errors():
    # Table 3, "ResNet-110 (1-layer skip)" on CIFAR-10: original 9.90, pre-activation 8.91.
    assert (PRESETS["original_1layer"].paper_error, PRESETS["full_preact_1layer"].paper_error) == (9.90, 8.91)
    assert PRESETS["full_preact_1layer"].spec.preact == (Op.BN, Op.RELU)
