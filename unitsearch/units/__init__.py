"""Residual-unit designs as data: the spec, its vocabulary and the paper's presets."""

from .presets import PRESETS, Preset, get_preset, preset_name, resolve_unit
from .spec import Op, Shortcut, ShortcutKind, SpecError, UnitSpec

__all__ = [
    "Op",
    "PRESETS",
    "Preset",
    "Shortcut",
    "ShortcutKind",
    "SpecError",
    "UnitSpec",
    "get_preset",
    "preset_name",
    "resolve_unit",
]
