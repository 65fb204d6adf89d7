"""The search's answer: the best mean over at least k seeds, never a single lucky draw."""

from __future__ import annotations

import json
import math

import optuna
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from unitsearch.search import load_space
from unitsearch.search.answer import mean_interval, search_answer
from unitsearch.search.plan import protected_items
from unitsearch.search.runner import create_study
from unitsearch.units import PRESETS


def test_a_lucky_single_draw_is_not_the_answer_while_a_design_has_k_seeds():
    errors = {"lucky": {0: 5.0}, "steady": {0: 20.0, 1: 22.0}, "worse": {0: 30.0, 1: 31.0}}
    a = search_answer(errors, 2)
    assert a.cell == "steady" and a.n == 2 and not a.single_draw
    assert a.mean == 21.0
    half = stats.t.ppf(0.975, 1) * math.sqrt(2.0) / math.sqrt(2)  # sd of (20, 22) is sqrt(2)
    assert math.isclose(a.high - a.mean, half) and math.isclose(a.mean - a.low, half)


def test_with_no_design_at_k_seeds_the_answer_is_the_best_single_draw_and_says_so():
    a = search_answer({"a": {0: 12.0}, "b": {3: 9.0}}, 2)
    assert a.cell == "b" and a.single_draw and a.n == 1 and math.isnan(a.low)
    assert search_answer({}, 2) is None


def test_an_exact_tie_in_the_mean_goes_to_more_seeds_then_to_the_first_cell():
    assert search_answer({"b": {0: 10.0, 1: 10.0, 2: 10.0}, "a": {0: 9.0, 1: 11.0}}, 2).cell == "b"
    assert search_answer({"b": {0: 9.0, 1: 11.0}, "a": {0: 11.0, 1: 9.0}}, 2).cell == "a"


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from("abcdefgh"),
        st.dictionaries(st.integers(0, 5), st.floats(0, 100, allow_nan=False), min_size=1, max_size=6),
        min_size=1,
    ),
    st.integers(1, 4),
)
def test_the_answer_is_the_lowest_mean_among_designs_with_k_seeds(errors, k):
    a = search_answer(errors, k)
    ready = {c: sum(e.values()) / len(e) for c, e in errors.items() if len(e) >= k}
    if ready:
        assert not a.single_draw and a.n >= k and math.isclose(a.mean, min(ready.values()))
    else:
        assert a.single_draw and math.isclose(a.mean, min(min(e.values()) for e in errors.values()))
    if a.n >= 2:
        assert a.low <= a.mean <= a.high


def test_mean_interval_is_scipys_t_interval():
    values = [3.0, 7.5, 4.25, 9.0]
    mean, low, high = mean_interval(values)
    ref = stats.t.interval(0.95, len(values) - 1, loc=mean, scale=stats.sem(values))
    assert math.isclose(low, ref[0]) and math.isclose(high, ref[1])


GRAMMAR_RACE = {"kind": "race", "min_seeds": 2, "alpha": 0.1, "test": "t", "protect": ["full_preact"]}


def test_a_sampled_race_measures_the_baseline_and_the_named_designs_on_every_seed(tmp_path):
    from dataclasses import replace

    space = replace(load_space("grammar"), plan=GRAMMAR_RACE)
    items = protected_items(space, baseline="original")
    forms = {json.loads(i.cell)["unit"] for i in items}
    assert forms == {PRESETS["original"].spec.form, PRESETS["full_preact"].spec.form}
    assert sorted(i.seed for i in items) == sorted(space.race_seeds * 2)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study, added = create_study(f"sqlite:///{tmp_path}/s.db", "g", space)
    assert added == 2 * len(space.race_seeds)
    waiting = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,))
    assert {(json.loads(t.user_attrs["cell"])["unit"], t.user_attrs["seed"]) for t in waiting} == {
        (json.loads(i.cell)["unit"], i.seed) for i in items
    }
    assert create_study(f"sqlite:///{tmp_path}/s.db", "g", space)[1] == 0  # a resumed run queues nothing twice


def test_a_sampled_space_that_does_not_hold_the_named_designs_queues_none():
    from dataclasses import replace

    space = load_space("grammar")
    narrow = replace(space, factors={**space.factors, "h": ["conv1x1"]}, plan=GRAMMAR_RACE)
    assert protected_items(narrow, baseline="original") == []
