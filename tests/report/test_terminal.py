"""The leaderboard at the widths terminals have: whole design names, nothing wrapped or cut."""

from __future__ import annotations

import json

import optuna
import pytest
from rich.cells import cell_len
from rich.console import Console

from unitsearch.render import Format
from unitsearch.report import build_report, format_report, print_report, summarize

from .conftest import CUSTOM, make_trial

# A long canonical form, in two depths: its name carries the context, "... [depth=56]".
LONG = "h=exclusive_gate(-6);branch=relu-bn-conv-bn-relu-conv-bn;f=bn-relu"


def _report():
    trials = [make_trial(u, s, "complete", e + s * 0.3, depth=d)
              for u, e in (("full_preact", 6.0), ("original", 7.5), (CUSTOM, 6.4), (LONG, 9.0))
              for s in range(3) for d in (20, 56)]
    return build_report(optuna.create_study(study_name="widths"), trials, storage="sqlite:///studies.db")


@pytest.mark.parametrize("width", [80, 100, 120])
def test_the_leaderboard_fits_the_terminal_with_whole_design_names(width):
    rep = _report()
    console = Console(width=width, record=True, color_system=None, force_terminal=False)
    print_report(rep, console)
    lines = console.export_text().splitlines()
    assert max(cell_len(line) for line in lines) <= width
    board = lines[: next(i for i, line in enumerate(lines) if line.startswith("└"))]
    for row in rep.rows:
        assert any(row.design in line for line in board), (row.design, width)  # whole, on one line
    assert any(LONG + " [depth=56]" in line for line in board)
    header = next(line for line in board if "design" in line)
    if width < 120:
        assert " branch " not in header  # the name already says it


def test_wide_terminals_and_exports_keep_every_column():
    rep = _report()
    console = Console(width=400, record=True, color_system=None)
    print_report(rep, console)
    header = next(line for line in console.export_text().splitlines() if " design " in line)
    for col in (" h ", " branch ", " f ", " params ", " median "):
        assert col in header
    md = format_report(rep, Format.MARKDOWN)
    assert "| h | branch | f |" in md
    row = json.loads(format_report(rep, Format.JSON))["leaderboard"][0]
    assert {"h", "branch", "f", "preset", "unit"} <= set(row)


def test_error_intervals_are_clipped_to_0_and_100():
    s = summarize([0.0, 0.0, 3.0], bounds=(0.0, 100.0))
    assert s.ci_low == 0.0 and s.ci_high < 100
    s = summarize([99.0, 100.0, 90.0], bounds=(0.0, 100.0))
    assert s.ci_high == 100.0
    trials = [make_trial("original", s, "complete", e) for s, e in enumerate([0.0, 0.0, 3.0])]
    rep = build_report(optuna.create_study(), trials)
    row = json.loads(format_report(rep, Format.JSON))["leaderboard"][0]
    assert row["ci_low"] == 0.0
    text = format_report(rep, Format.TABLE)
    assert "1.00 (0.00 to " in text  # an interval clipped on one side is shown by its ends


def test_markup_and_control_characters_in_names_are_printed_as_text():
    trials = [make_trial("original", s, "complete", 7.0 + s) for s in range(2)]
    rep = build_report(optuna.create_study(study_name="exp[/]1 [red]x\x1b[31m"), trials, baseline="original")
    console = Console(width=200, record=True, color_system=None)
    print_report(rep, console)
    text = console.export_text()
    assert "exp[/]1 [red]x\\x1b[31m" in text
