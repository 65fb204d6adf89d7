"""bench/search.py: the noisy grammar landscape and searches through the real plan and race code."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from unitsearch.units import resolve_unit

_path = Path(__file__).parents[2] / "bench" / "search.py"
_spec = importlib.util.spec_from_file_location("search_bench", _path)
search_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(search_bench)


@pytest.fixture(scope="module")
def measured():
    return search_bench.load_measured()


@pytest.fixture(scope="module")
def land(measured):
    return search_bench.Landscape(measured)


def test_the_landscape_is_the_measurement_where_it_was_measured(land, measured):
    form = resolve_unit("full_preact").form
    errors = measured[form]
    assert len(errors) >= 3
    assert land.true[form] == pytest.approx(sum(errors.values()) / len(errors))
    for seed, e in errors.items():
        assert land.draw(form, seed) == e
    assert len(land.true) == 4000 and land.best == min(land.true.values())
    assert all(0.0 <= t <= 100.0 for t in land.true.values())


def test_a_seed_not_measured_is_drawn_the_same_way_every_time(land):
    form = next(f for f in land.true if f not in land.measured)
    draws = [land.draw(form, s) for s in range(8)]
    assert draws == [land.draw(form, s) for s in range(8)]
    assert len(set(draws)) > 1 and all(0.0 <= d <= 100.0 for d in draws)
    again = search_bench.Landscape(search_bench.load_measured())
    assert again.true == land.true and again.best_form == land.best_form


def test_every_shipped_landscape_trial_is_a_cpu_trial_of_a_grammar_unit(land):
    rows = [json.loads(line) for line in search_bench.LANDSCAPE.read_text().splitlines()]
    assert rows and all(r["profile"] == "cpu" and r["unit"] in land.cells for r in rows)


@pytest.mark.parametrize("strategy", ["random/race", "evolution/single"])
def test_a_search_runs_to_its_budget_and_a_race_answers_on_two_seeds(measured, strategy):
    out = search_bench.run_search((strategy, 0, 40, measured))
    assert out["trained"] == 40 and len(out["curve"]) == 40
    assert all(r >= 0 for r in out["curve"])
    if strategy.endswith("race"):
        assert out["answer_seeds"] >= 2  # never a single draw once a design has two seeds
    again = search_bench.run_search((strategy, 0, 40, measured))
    assert {k: v for k, v in out.items() if k != "cpu_s"} == {k: v for k, v in again.items() if k != "cpu_s"}  # seeded
