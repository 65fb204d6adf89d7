"""Every sampler a space file can name: valid proposals, one seed one run, and what each claims.

Each sampler drives a few trials of an in-memory study over unit-grammar factors (``h``,
``branch``, ``f``) with a synthetic objective, so no network is trained: the score of a design
is a fixed sum over its factors, the way a real error would rank them.
"""

from __future__ import annotations

import json

import optuna
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from unitsearch.cli import app
from unitsearch.errors import UserError
from unitsearch.search import load_space, make_sampler, parse_space
from unitsearch.search.evolution import PARENT_KEY, scored_trials
from unitsearch.search.samplers import SAMPLER_HELP, sampler_settings
from unitsearch.search.space import SAMPLERS, Range, SearchSpace

optuna.logging.set_verbosity(optuna.logging.WARNING)

H = ["identity", "scale(0.5)", "conv1x1", "exclusive_gate(-6)"]
BRANCH = ["conv-conv", "bn-relu-conv-bn-relu-conv", "relu-conv-relu-conv"]
F = ["id", "relu", "bn-relu"]
SAMPLED = ("tpe", "random", "gp", "random_unique", "evolution", "local")
# Settings that make each sampler leave its random start within a test's few trials.
OPTIONS = {"tpe": {"n_startup_trials": 4}, "gp": {"n_startup_trials": 4}, "evolution": {"population_size": 4, "tournament_size": 2}}


def _toml(value) -> str:
    return repr(value) if isinstance(value, float) else json.dumps(value)  # nan, inf and 1e+39 are TOML as Python writes them


def _space_text(name: str, n_trials: int = 12, factors: str = "", *, defaults: bool = True, **opts) -> str:
    """A space over ``h``, ``branch`` and ``f`` (36 designs) with ``factors`` added; seed 0 and OPTIONS unless not ``defaults``."""
    table = "".join(f"{k} = {_toml(v)}\n" for k, v in ({"seed": 0, **OPTIONS.get(name, {}), **opts} if defaults else opts).items())
    return (
        'profile = "smoke"\nseeds = [0]\n[factors]\n'
        f"h = {json.dumps(H)}\nbranch = {json.dumps(BRANCH)}\nf = {json.dumps(F)}\n{factors}"
        f'[sampler]\nname = "{name}"\nn_trials = {n_trials}\n{table}[pruner]\nname = "none"\n'
    )


def _space(tmp_path, name: str, **kw) -> SearchSpace:
    path = tmp_path / f"{name}.toml"
    path.write_text(_space_text(name, **kw))
    return load_space(str(path))


def _score(values: dict) -> float:
    """Lower is better: the first of every list is best, ``h`` counts most."""
    score = 4.0 * H.index(values["h"]) + 2.0 * BRANCH.index(values["branch"]) + F.index(values["f"])
    return score + sum(float(v) for k, v in values.items() if k not in ("h", "branch", "f"))


def _suggest(trial: optuna.Trial, space: SearchSpace) -> dict:
    """The factors as the objective suggests them (``Objective._values``): in file order."""
    values = {}
    for name, spec in space.factors.items():
        if isinstance(spec, list):
            values[name] = trial.suggest_categorical(name, spec)
        elif isinstance(spec, Range) and spec.integer:
            values[name] = trial.suggest_int(name, int(spec.low), int(spec.high), log=spec.log)
        elif isinstance(spec, Range):
            values[name] = trial.suggest_float(name, spec.low, spec.high, log=spec.log)
    return values


def _run(space: SearchSpace, n: int, *, worker: int | None = 0, prune=()) -> optuna.Study:
    """``n`` trials of ``space`` with its sampler; trial numbers in ``prune`` report two epochs and are pruned."""
    study = optuna.create_study(sampler=make_sampler(space, worker=worker), direction="minimize")

    def objective(trial: optuna.Trial) -> float:
        score = _score(_suggest(trial, space))
        if trial.number in prune:
            trial.report(score + 5, 1)
            trial.report(score + 1, 2)
            raise optuna.TrialPruned()
        return score

    study.optimize(objective, n_trials=n)
    return study


def _designs(study: optuna.Study) -> list[tuple]:
    return [tuple(sorted(t.params.items())) for t in study.trials]


def _changed(a: dict, b: dict) -> list[str]:
    return [k for k in a if a[k] != b[k]]


# --- every sampler ----------------------------------------------------------------------
def test_every_sampler_has_one_line_of_help_and_its_settings():
    assert set(SAMPLER_HELP) == set(SAMPLERS)
    assert all(text and "\n" not in text for text in SAMPLER_HELP.values())
    assert "population 16, tournament 4" in SAMPLER_HELP["evolution"] and "Real et al. 2019" in SAMPLER_HELP["evolution"]
    assert set(sampler_settings("evolution")) == {"population_size", "tournament_size", "seed"}
    assert set(sampler_settings("local")) == {"seed"}
    assert {"seed", "n_startup_trials", "deterministic_objective"} <= set(sampler_settings("gp"))
    assert "independent_sampler" not in sampler_settings("gp") and "gamma" not in sampler_settings("tpe")  # Python objects


@pytest.mark.parametrize("name", SAMPLED)
def test_each_sampler_proposes_valid_designs_the_same_way_for_one_seed(tmp_path, name):
    space = _space(tmp_path, name)
    first = _run(space, 10)
    for t in first.trials:
        assert t.state is optuna.trial.TrialState.COMPLETE
        assert t.params["h"] in H and t.params["branch"] in BRANCH and t.params["f"] in F
        space.unit_of(t.params)  # names a unit
    assert _designs(_run(space, 10)) == _designs(first)
    other = _space(tmp_path, name, seed=1)
    assert _designs(_run(other, 10)) != _designs(first)


@pytest.mark.parametrize("name", SAMPLED)
def test_workers_of_one_seed_propose_differently(tmp_path, name):
    space = _space(tmp_path, name)
    zero, one = _run(space, 6, worker=0), _run(space, 6, worker=1)
    assert _designs(one) != _designs(zero)
    assert _designs(_run(space, 6, worker=1)) == _designs(one)


# --- regularised evolution -----------------------------------------------------------------
@pytest.mark.parametrize("population, tournament", [(4, 2), (4, 4), (5, 1)])
def test_evolution_mutates_one_factor_of_a_tournament_winner_from_the_ageing_population(tmp_path, population, tournament):
    space = _space(tmp_path, "evolution", population_size=population, tournament_size=tournament)
    study = _run(space, 30, prune={population + 2, population + 5})
    trials = study.trials
    assert all(PARENT_KEY not in t.system_attrs for t in trials[:population])  # the random warm-up
    for child in trials[population:]:
        parent = trials[child.system_attrs[PARENT_KEY]]
        assert len(_changed(child.params, parent.params)) == 1
        # The population when the child was sampled: the last `population` finished trials before it.
        before = [s for s in scored_trials(study) if s.number < child.number][-population:]
        assert parent.number in {s.number for s in before}
        # The best of `tournament` distinct members is beaten by at most population - tournament of them.
        winner = next(s for s in before if s.number == parent.number)
        assert sum((s.score, s.number) < (winner.score, winner.number) for s in before) <= population - tournament


def test_a_pruned_trial_counts_with_its_last_intermediate_value():
    study = optuna.create_study()
    study.add_trial(optuna.trial.create_trial(value=3.0, params={}, distributions={}))
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.PRUNED, intermediate_values={1: 9.0, 2: 7.0}))
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.PRUNED))  # skipped before its first epoch
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL))
    assert [(s.number, s.score) for s in scored_trials(study)] == [(0, 3.0), (1, 7.0)]


def test_evolution_mutates_a_range_by_a_new_draw(tmp_path):
    space = _space(tmp_path, "evolution", factors="lr = {low = 0.01, high = 0.2, log = true}\n")
    study = _run(space, 20)
    for child in study.trials[4:]:
        parent = study.trials[child.system_attrs[PARENT_KEY]]
        assert len(_changed(child.params, parent.params)) == 1
        assert 0.01 <= child.params["lr"] <= 0.2


def test_evolution_settings_are_checked():
    from unitsearch.search.evolution import EvolutionSampler

    with pytest.raises(ValueError, match="tournament_size must be a whole number from 1 to population_size"):
        EvolutionSampler(population_size=4, tournament_size=5)
    with pytest.raises(ValueError, match="population_size must be a whole number of at least 2"):
        EvolutionSampler(population_size=1.5)


# --- local search ----------------------------------------------------------------------
def _expected_parent(space: SearchSpace, earlier: list[optuna.trial.FrozenTrial], scored) -> int | None:
    """The best earlier finished trial with an untried one-factor neighbour (the rule, re-derived)."""
    tried = {tuple(sorted(t.params.items())) for t in earlier}
    for s in sorted(scored, key=lambda s: (s.score, s.number)):
        for name, values in space.choices.items():
            for v in values:
                if v != s.params[name] and tuple(sorted({**s.params, name: v}.items())) not in tried:
                    return s.number
    return None


def test_local_search_proposes_untried_neighbours_of_the_best_trial_until_none_is_left(tmp_path):
    space = _space(tmp_path, "local", n_trials=36)
    study = _run(space, 40)
    trials = study.trials
    assert PARENT_KEY not in trials[0].system_attrs  # nothing finished yet: a random design
    assert len(set(_designs(study)[:36])) == 36  # neighbours of tried designs reach every design before one repeats
    for child in trials[1:36]:
        earlier = trials[: child.number]
        parent = trials[child.system_attrs[PARENT_KEY]]
        assert parent.number == _expected_parent(space, earlier, [s for s in scored_trials(study) if s.number < child.number])
        assert len(_changed(child.params, parent.params)) == 1
        assert tuple(sorted(child.params.items())) not in {tuple(sorted(t.params.items())) for t in earlier}
    assert all(PARENT_KEY not in t.system_attrs for t in trials[36:])  # every design tried: random restarts


def test_local_search_steps_an_int_range_by_one(tmp_path):
    space = _space(tmp_path, "local", factors="epochs = {low = 1, high = 9, int = true}\n")
    study = _run(space, 25)
    for child in study.trials[1:]:
        parent = study.trials[child.system_attrs[PARENT_KEY]]
        (name,) = _changed(child.params, parent.params)
        if name == "epochs":
            assert abs(child.params["epochs"] - parent.params["epochs"]) == 1


# --- random search without replacement ---------------------------------------------------
def test_random_unique_never_repeats_a_design(tmp_path):
    space = _space(tmp_path, "random_unique", n_trials=36)
    study = _run(space, 36)
    assert len(set(_designs(study))) == 36
    assert _designs(study)[:8] != sorted(_designs(study))[:8]  # drawn at random, not in order


@pytest.mark.parametrize(
    "factors, n_trials, needle",
    [
        ("lr = {low = 0.01, high = 0.2}\n", 10, "key 'factors.lr': the random_unique sampler draws from a finite space"),
        ("", 37, "key 'sampler.n_trials': the random_unique sampler draws each design once, and the space has 36"),
        ("epochs = {low = 1, high = 2, int = true}\n", 73, "the space has 72"),
    ],
)
def test_random_unique_refuses_a_space_it_cannot_draw_without_replacement(tmp_path, factors, n_trials, needle):
    with pytest.raises(UserError) as info:
        _space(tmp_path, "random_unique", n_trials=n_trials, factors=factors)
    assert needle in str(info.value) and "\n" not in str(info.value)


# --- space files -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, opts",
    [
        ("gp", {"n_startup_trials": 5, "deterministic_objective": False}),
        ("random_unique", {"avoid_premature_stop": True}),
        ("evolution", {"population_size": 16, "tournament_size": 4}),
        ("local", {}),
    ],
)
def test_a_space_file_naming_each_sampler_loads_and_shows_its_help(tmp_path, name, opts):
    path = tmp_path / f"{name}.toml"
    path.write_text(_space_text(name, n_trials=20, **opts))
    space = load_space(str(path))
    assert space.sampler == {"name": name, "n_trials": 20, "seed": 0, **OPTIONS.get(name, {}), **opts}
    shown = CliRunner().invoke(app, ["spaces", "show", str(path), "--format", "json"])
    assert shown.exit_code == 0, shown.output
    (row,) = [r for r in json.loads(shown.stdout) if r["factor"] == "sampler"]
    assert row["kind"] == name and row["values"].startswith(f"{name}: {SAMPLER_HELP[name]}")


@pytest.mark.parametrize(
    "name, opts, needle",
    [
        ("evolution", {"mutation_rate": 0.5}, "key 'sampler.mutation_rate' is not a setting of the evolution sampler; allowed: name, n_trials, population_size, tournament_size, seed"),
        ("local", {"population_size": 4}, "key 'sampler.population_size' is not a setting of the local sampler; allowed: name, n_trials, seed"),
        ("gp", {"independent_sampler": "random"}, "is not a setting of the gp sampler; allowed: name, n_trials, seed, n_startup_trials, deterministic_objective"),
        ("gp", {"deterministic_objective": "yes"}, "key 'sampler.deterministic_objective' must be true or false, got 'yes'"),
        ("gp", {"n_startup_trials": 2.5}, "key 'sampler.n_startup_trials' must be a whole number"),
        ("random_unique", {"avoid_premature_stop": 1}, "key 'sampler.avoid_premature_stop' must be true or false"),
        ("evolution", {"population_size": 4, "tournament_size": 5}, "bad evolution sampler settings: tournament_size must be a whole number from 1 to population_size (4), got 5"),
        ("evolution", {"population_size": 1, "tournament_size": 1}, "population_size must be a whole number of at least 2"),
        ("local", {"seed": -1}, "key 'sampler.seed' must be in [0, 4294967295]"),
        ("tpe", {"gamma": 0.5}, "key 'sampler.gamma' is not a setting of the tpe sampler"),
    ],
)
def test_a_bad_sampler_setting_is_one_line_naming_the_allowed_ones(tmp_path, name, opts, needle):
    with pytest.raises(UserError) as info:
        parse_space(_space_text(name, **opts), str(tmp_path / "bad.toml"))
    message = str(info.value)
    assert needle in message and "bad.toml" in message and "\n" not in message


_HOSTILE = st.one_of(st.integers(-(2**70), 2**70), st.sampled_from([0.5, 2.0, 1e39, -1.0, float("nan"), float("inf")]), st.text(st.characters(exclude_categories=["Cs"]), max_size=4))


@st.composite
def sampler_tables(draw) -> tuple[str, dict]:
    """A sampler and up to three of its settings: mostly of the annotated type, now and then hostile or unknown."""
    name = draw(st.sampled_from(SAMPLED))
    known = sampler_settings(name)
    table = {}
    keys = draw(st.lists(st.sampled_from(list(known)), max_size=3, unique=True)) + (["bogus"] if draw(st.integers(0, 5)) == 0 else [])
    for key in keys:
        kind = str(known[key].annotation) if key in known else ""
        plausible = st.booleans() if "bool" in kind else st.integers(0, 20)
        table[key] = draw(_HOSTILE if draw(st.integers(0, 3)) == 0 else plausible)
    return name, table


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sampler_tables())
def test_a_sampler_table_is_refused_in_one_line_or_samples(table):
    name, opts = table
    try:
        space = parse_space(_space_text(name, n_trials=8, defaults=False, **opts), "gen.toml")
    except UserError as e:
        assert "\n" not in str(e) and "gen.toml" in str(e)
        return
    for t in _run(space, 5 if name != "gp" else 3, worker=1).trials:  # what validated must also sample
        assert t.state is optuna.trial.TrialState.COMPLETE


@pytest.mark.parametrize("name", ["local", "evolution"])
def test_under_hyperband_the_samplers_read_the_whole_study_not_one_bracket(tmp_path, name):
    space = _space(tmp_path, name, n_trials=36)
    pruner = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=8, reduction_factor=2)
    study = optuna.create_study(sampler=make_sampler(space), pruner=pruner)

    def objective(trial: optuna.Trial) -> float:
        score = _score(_suggest(trial, space))
        for epoch in range(1, 9):
            trial.report(score + 8 - epoch, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return score

    study.optimize(objective, n_trials=36)
    assert {t.state for t in study.trials} == {optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED}
    parents = [t.system_attrs.get(PARENT_KEY) for t in study.trials]
    if name == "local":
        assert len(set(_designs(study))) == 36  # a bracket's share of the study would repeat designs of the others
    else:
        assert all(p is None for p in parents[:4]) and all(p is not None for p in parents[4:])
