"""The paper's unit designs as named presets of :class:`UnitSpec`.

Every row of Table 1 (shortcut variants, f = ReLU, the original branch) and of
Table 2 / Fig. 4 (activation placement, identity shortcut) is one entry here,
and so is each unit of Table 3's "ResNet-110 (1-layer skip)" row (a branch of
one 3x3 conv), with the error the paper reports for it on CIFAR-10 (ResNet-110,
median of 5; ``None`` where the paper reports "fail", i.e. above 20%).
"""

from __future__ import annotations

from dataclasses import dataclass

from .spec import SpecError, UnitSpec

__all__ = ["Preset", "PRESETS", "get_preset", "resolve_unit", "preset_name"]


@dataclass(frozen=True)
class Preset:
    """A named unit design and what the paper reports for it."""

    name: str
    spec: UnitSpec
    table: str  # where the paper reports it
    paper_error: float | None  # CIFAR-10 test error %, ResNet-110; None = "fail" (> 20%)
    paper_error_164: float | None = None  # Table 2, ResNet-164 (bottleneck), where reported
    fails_in_paper: bool = False


# Fig. 4 (a): the original unit, conv-BN-ReLU-conv-BN, add, ReLU.
_ORIGINAL_BRANCH = "conv-bn-relu-conv-bn"


def _p(name: str, form: str, table: str, err: float | None, err164: float | None = None) -> Preset:
    return Preset(name, UnitSpec.parse(form), table, err, err164, fails_in_paper=err is None)


_ALL = [
    # Table 1: shortcut variants on the original unit (f = ReLU).
    _p("original", f"h=identity;branch={_ORIGINAL_BRANCH};f=relu", "Table 1/2 (a)", 6.61, 5.93),
    _p("const_scale_0", f"h=scale(0);branch={_ORIGINAL_BRANCH};f=relu", "Table 1", None),
    _p("const_scale_0.5", f"h=scale(0.5);branch={_ORIGINAL_BRANCH};f=relu", "Table 1", None),
    _p("const_scale_0.5_both", f"h=scale(0.5,0.5);branch={_ORIGINAL_BRANCH};f=relu", "Table 1", 12.35),
    _p("exclusive_gate_0", f"h=exclusive_gate(0);branch={_ORIGINAL_BRANCH};f=relu", "Table 1", None),
    _p("exclusive_gate_-6", f"h=exclusive_gate(-6);branch={_ORIGINAL_BRANCH};f=relu", "Table 1", 8.70),
    _p("exclusive_gate_-7", f"h=exclusive_gate(-7);branch={_ORIGINAL_BRANCH};f=relu", "Table 1", 9.81),
    _p("shortcut_gate_0", f"h=shortcut_gate(0);branch={_ORIGINAL_BRANCH};f=relu", "Table 1", 12.86),
    _p("shortcut_gate_-6", f"h=shortcut_gate(-6);branch={_ORIGINAL_BRANCH};f=relu", "Table 1", 6.91),
    _p("conv_shortcut", f"h=conv1x1;branch={_ORIGINAL_BRANCH};f=relu", "Table 1", 12.22),
    _p("dropout_shortcut", f"h=dropout(0.5);branch={_ORIGINAL_BRANCH};f=relu", "Table 1", None),
    # Table 2 / Fig. 4 (b)-(e): where BN and ReLU sit, identity shortcut.
    _p("bn_after_add", "h=identity;branch=conv-bn-relu-conv;f=bn-relu", "Table 2 (b)", 8.17, 6.50),
    _p("relu_before_add", "h=identity;branch=conv-bn-relu-conv-bn-relu;f=id", "Table 2 (c)", 7.84, 6.14),
    _p("relu_preact", "h=identity;branch=relu-conv-bn-relu-conv-bn;f=id", "Table 2 (d)", 6.71, 5.91),
    _p("full_preact", "h=identity;branch=bn-relu-conv-bn-relu-conv;f=id", "Table 2 (e)", 6.37, 5.46),
    # Table 3, "ResNet-110 (1-layer skip)": one 3x3 conv per unit, 36 units per stage (depth 3n+2).
    _p("original_1layer", "h=identity;branch=conv-bn;f=relu", "Table 3 (1-layer skip)", 9.90),
    _p("full_preact_1layer", "h=identity;branch=bn-relu-conv;f=id", "Table 3 (1-layer skip)", 8.91),
]

PRESETS: dict[str, Preset] = {p.name: p for p in _ALL}
_BY_SPEC: dict[UnitSpec, str] = {p.spec: p.name for p in _ALL}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; a :class:`SpecError` lists the names otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise SpecError(f"unknown unit preset {name!r}; allowed: {', '.join(PRESETS)}") from None


def resolve_unit(text: str) -> UnitSpec:
    """A preset name or a canonical form, as a spec."""
    text = text.strip()
    if "=" in text:
        return UnitSpec.parse(text)
    return get_preset(text).spec


def preset_name(spec: UnitSpec) -> str | None:
    """The preset whose spec is ``spec``, if any."""
    return _BY_SPEC.get(spec)
