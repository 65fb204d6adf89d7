from __future__ import annotations

import pytest

from unitsearch.errors import UserError
from unitsearch.search import list_spaces, load_space, parse_space, plan_items, with_overrides
from unitsearch.units import PRESETS


def test_builtin_spaces_are_found_by_name():
    assert {"paper_ablations", "shortcuts", "activations", "grammar"} <= set(list_spaces())


def test_paper_ablations_covers_every_row_of_tables_1_and_2():
    space = load_space("paper_ablations")
    tables_1_2 = {name for name, p in PRESETS.items() if not p.table.startswith("Table 3")}
    assert set(space.factors["unit"]) == tables_1_2
    assert space.is_grid
    assert space.n_trials == len(tables_1_2) * len(space.seeds)
    # a race: every design on the first seeds, the verdict's pair on all of them
    assert space.is_race and space.plan["protect"] == ["full_preact"]
    items = plan_items(space, baseline="original")
    first = space.race_seeds[: space.plan["min_seeds"]]
    assert len({i.key for i in items}) == len(items) == len(tables_1_2) * len(first) + 2 * (len(space.race_seeds) - len(first))
    grid = plan_items(with_overrides(space, plan="grid"))
    assert len({i.key for i in grid}) == len(grid) == space.n_trials


def test_grammar_is_open_and_holds_hundreds_of_units():
    space = load_space("grammar")
    assert not space.is_grid and space.sampler["name"] == "local" and space.is_race  # bench/search.py's choice
    units = {space.unit_of(c).form for c in space.cells()}
    assert len(units) >= 500
    assert PRESETS["full_preact"].spec.form in units  # one point in the space, not a named choice
    assert "unit" not in space.factors


def test_space_by_path(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('profile = "smoke"\nseeds = [1, 2]\n[factors]\nunit = ["original", "h=identity;branch=bn-relu-conv-bn-relu-conv"]\ndepth = 8\n')
    space = load_space(str(path))
    assert space.name == "mine" and space.n_trials == 4
    keys = {i.cell for i in plan_items(space)}
    assert any(PRESETS["full_preact"].spec.form in k for k in keys)


@pytest.mark.parametrize(
    "text, needle",
    [
        ("[factors\nunit = 1", "not valid TOML"),
        ('[factors]\nunit = ["fullpreact"]', "key 'factors.unit': unknown unit preset 'fullpreact'; allowed: original"),
        ('[factors]\nh = ["skip"]', "key 'factors.h': unknown shortcut 'skip'; allowed: identity"),
        ('[factors]\nbranch_pre = ["pool"]', "key 'factors.branch_pre': unknown op 'pool'"),
        ('[factors]\nunit = ["original"]\nlayers = 3', "key 'factors.layers' is not a factor; allowed: unit"),
        ('[factors]\nunit = ["original"]\n[pruner]\nname = "asha"', "key 'pruner.name': unknown pruner 'asha'; allowed: median, hyperband"),
        ('[factors]\nunit = ["original"]\n[sampler]\nname = "cmaes"', "unknown sampler 'cmaes'; allowed: grid, tpe, random"),
        ('profile = "gpu"\n[factors]\nunit = ["original"]', "unknown profile 'gpu'; allowed: smoke, cpu, cpu-long, paper"),
        ('seeds = [1, 1]\n[factors]\nunit = ["original"]', "key 'seeds': expected a list of distinct integers"),
        ('[factors]\nunit = ["original"]\nlr = {low = 0.01, high = 0.1}', "a range needs a sampler"),
        ('[factors]\nunit = ["original"]\n[sampler]\nname = "tpe"', "needs n_trials"),
        ('[factors]\nunit = ["original"]\n[train]\nepochs = "x"', "key 'train': bad train setting"),
        ('[factors]\nunit = ["original"]\nh = ["identity"]', "give 'unit' or its parts"),
        ('colour = "red"\n[factors]\nunit = ["original"]', "key 'colour' is unknown; allowed: description, profile"),
        ("", "expected a [factors] table"),
    ],
)
def test_bad_space_files_name_the_file_the_key_and_the_allowed_values(tmp_path, text, needle):
    with pytest.raises(UserError) as info:
        parse_space(text, str(tmp_path / "bad.toml"))
    message = str(info.value)
    assert needle in message
    assert "bad.toml" in message
    assert "\n" not in message


def test_unknown_space_lists_the_builtin_ones():
    with pytest.raises(UserError, match="allowed: activations, grammar, paper_ablations, paper_imagenet, paper_table3, paper_table3_bottleneck, shortcuts"):
        load_space("paper")
