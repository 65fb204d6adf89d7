"""The race plan: its rules as a pure function, its queue in a study, and real workers racing.

The rules (``unitsearch.search.race``) are tested without Optuna; the plan's queue with
trials told by hand (no training); the workers, the crash and the resume with real
``unitsearch`` processes on the smoke profile.
"""

from __future__ import annotations

import collections
import signal
import threading

import optuna
import pytest
from scipy import stats

from unitsearch.search import create_study, load_space, plan_status
from unitsearch.search.plan import advance, race_state
from unitsearch.search.race import RaceRule, Result, next_seeds, standings, worse_p

SEEDS = (0, 1, 2, 3, 4)


def _rule(**kw) -> RaceRule:
    return RaceRule(**{"seeds": SEEDS, "min_seeds": 2, "alpha": 0.1, "protected": frozenset({"base"}), **kw})


# --- the rules -------------------------------------------------------------------------
def test_worse_p_is_scipys_one_sided_paired_t_test():
    a, b = {0: 10.0, 1: 12.0, 2: 15.0, 7: 1.0}, {0: 9.0, 1: 8.0, 2: 13.5, 9: 5.0}
    p, n = worse_p(a, b)
    assert n == 3 and p == pytest.approx(stats.ttest_rel([10, 12, 15], [9, 8, 13.5], alternative="greater").pvalue)
    assert worse_p(a, b, "wilcoxon")[0] == pytest.approx(stats.wilcoxon([1, 4, 1.5], alternative="greater").pvalue)
    assert worse_p({0: 5.0, 1: 6.0}, {0: 4.0, 1: 5.0}) == (0.0, 2)  # worse by the same amount on every seed
    assert worse_p({0: 5.0}, {0: 4.0}) == (None, 1)  # one seed is no test


def test_a_design_clearly_worse_than_the_best_leaves_after_the_first_seeds():
    results = [Result(c, s, e) for s in (0, 1) for c, e in (("base", 50 + s), ("good", 40 + s), ("bad", 80 + 3 * s))]
    lanes = standings(["base", "good", "bad"], results, _rule())
    assert lanes["bad"].out is not None and lanes["bad"].out.seeds == 2 and lanes["bad"].out.reason == "t"
    assert lanes["bad"].out.best == "good" and lanes["bad"].out.p < 0.1
    assert lanes["good"].out is None  # the best never leaves
    assert lanes["base"].out is None  # worse than the best, but protected


def test_a_pruned_design_leaves_unless_protected_and_an_unpruned_one_stays_while_tied():
    results = [
        Result("base", 0, 90.0, pruned=True), Result("a", 0, 88.0, pruned=True),
        Result("b", 0, 40.0), Result("b", 1, 60.0), Result("c", 0, 60.0), Result("c", 1, 41.0),
    ]
    lanes = standings(["base", "a", "b", "c"], results, _rule())
    assert lanes["a"].out is not None and lanes["a"].out.reason == "pruned" and lanes["a"].out.seeds == 1
    assert lanes["base"].out is None
    assert lanes["b"].out is None and lanes["c"].out is None  # tied: no test can tell them apart


def test_elimination_is_for_good_and_results_after_it_change_nothing():
    results = [Result(c, s, e) for s in (0, 1) for c, e in (("good", 10.0 + s), ("bad", 50.0 + 2 * s))]
    results.append(Result("bad", 2, 1.0))  # queued before it left: ignored
    lanes = standings(["good", "bad"], results, _rule(protected=frozenset()))
    assert lanes["bad"].out.seeds == 2 and 2 not in lanes["bad"].errors


def test_next_seeds_protected_get_every_seed_others_one_at_a_time_after_the_last_finished():
    errors = {"base": (20.0, 21.0), "x": (10.0, 12.0), "y": (11.0, 10.5)}  # x and y: no test tells them apart
    results = [Result(c, s, errors[c][s]) for s in (0, 1) for c in errors]
    lanes = standings(["base", "x", "y"], results, _rule())
    assert not any(lane.out for lane in lanes.values())
    done = {"base": {0, 1}, "x": {0, 1}, "y": {0, 1}}
    queued = next_seeds(lanes, done, {}, _rule())
    assert queued[:3] == [("base", 2), ("base", 3), ("base", 4)]  # protected first, every seed
    assert sorted(queued[3:]) == [("x", 2), ("y", 2)]  # the next seed only
    # a design with a seed still running waits; one with a failed seed waits for `run` to queue it again
    assert ("x", 2) not in next_seeds(lanes, done, {"x": {1}}, _rule())
    assert ("y", 2) not in next_seeds(lanes, {**done, "y": {0, 1, 2}}, {}, _rule())
    assert len(next_seeds(lanes, done, {}, _rule(max_trials=8))) == 2  # six tried, a budget of eight


def test_an_idle_worker_gives_the_best_design_still_in_the_race_its_next_seed_beside_a_running_one():
    errors = {"base": (20.0, 21.0), "x": (10.0, 12.0), "y": (11.0, 10.5)}
    results = [Result(c, s, errors[c][s]) for s in (0, 1) for c in errors]
    lanes = standings(["base", "x", "y"], results, _rule())
    tried = {"base": set(SEEDS), "x": {0, 1, 2}, "y": {0, 1, 2}}
    live = {"base": {2, 3, 4}, "x": {2}, "y": {2}}  # every design waits for a running seed
    assert next_seeds(lanes, tried, live, _rule()) == []  # a busy worker: nothing beside a running seed
    assert next_seeds(lanes, tried, live, _rule(), idle=1) == [("y", 3)]  # y leads (10.75 vs 11.0); base is fixed up front
    assert next_seeds(lanes, tried, live, _rule(), idle=2) == [("y", 3), ("x", 3)]
    # not for a design with a failed seed waiting to be queued again, nor past the budget
    assert next_seeds(lanes, {**tried, "y": {0, 1, 2, 3}}, live, _rule(), idle=1) == [("x", 3)]
    assert next_seeds(lanes, tried, live, _rule(max_trials=11), idle=2) == []
    # when the rules above queue something, nothing is given beside a running seed
    assert next_seeds(lanes, {**tried, "x": {0, 1}}, {**live, "x": set()}, _rule(), idle=1) == [("x", 2)]


def test_the_expected_size_of_a_race_follows_the_designs_that_left():
    rule = _rule(protected=frozenset({"base"}))
    results = [Result(c, s, e) for s in (0, 1) for c, e in (("base", 20.0 + s), ("x", 10.0 + s), ("y", 90.0 + s), ("z", 11.0 - s))]
    lanes = standings(["base", "x", "y", "z"], results, rule)
    assert lanes["y"].out is not None and lanes["x"].out is None and lanes["z"].out is None
    from unitsearch.search.plan import RaceState

    tried = {"base": {0, 1}, "x": {0, 1}, "y": {0, 1}, "z": {0, 1}}
    state = RaceState(lanes, rule, tried, {}, {}, 8)
    # base 5 (fixed), y the 2 it tried; x and z as many as the decided unprotected designs took: y's 2
    assert state.expected_trials() == 5 + 2 + 2 + 2
    early = RaceState(standings(["base", "x"], [], rule), rule, {}, {}, {}, 0)
    assert early.expected_trials() == 5 + 3  # nothing decided yet: one seed more than the first two
    assert state.expected_trials(undrawn=4) == 11 + 4 * 2  # a sampled race's designs yet to be drawn: as y took


def test_at_max_seeds_nothing_is_left_to_decide():
    results = [Result(c, s, 10.0 + s) for s in SEEDS for c in ("base", "x")]
    lanes = standings(["base", "x"], results, _rule())
    assert next_seeds(lanes, {"base": set(SEEDS), "x": set(SEEDS)}, {}, _rule()) == []


# --- the queue in a study (trials told by hand) -----------------------------------------
RACE = """
profile = "smoke"
seeds = [0, 1, 2, 3]

[factors]
unit = ["original", "full_preact", "relu_preact", "dropout_shortcut"]

[pruner]
name = "none"

[plan]
kind = "race"
min_seeds = 2
alpha = 0.2
protect = ["full_preact"]
"""


def _keys(study: optuna.Study, state=None) -> collections.Counter:
    states = (state,) if state else None
    return collections.Counter((t.user_attrs["cell"], t.user_attrs["seed"]) for t in study.get_trials(deepcopy=False, states=states))


ERRORS = {"original": (50.0, 52.0), "full_preact": (40.0, 40.5), "relu_preact": (41.0, 39.0), "dropout_shortcut": (90.0, 92.0)}


def _tell_next(study: optuna.Study, errors=ERRORS) -> None:
    trial = study.ask()
    unit = trial.suggest_categorical("unit", list(errors))  # the queued trial's fixed value
    trial.set_user_attr("unit", json_unit(trial.user_attrs["cell"]))  # what the objective stores for the report
    trial.set_user_attr("status", "complete")
    study.tell(trial, errors[unit][trial.user_attrs["seed"] % 2])


def test_the_queue_starts_with_the_first_seeds_and_every_seed_of_the_pair(tmp_path):
    space = load_space(str(_write(tmp_path, RACE)))
    study, added = create_study(f"sqlite:///{tmp_path}/s.db", "r", space)
    waiting = _keys(study)
    assert added == len(waiting) == 4 * 2 + 2 * 2  # every unit on seeds 0-1; original and full_preact on 2-3 too
    units = {c for c, _ in waiting}
    assert all(waiting[(c, s)] == 1 for c in units for s in (0, 1))
    assert sum(1 for c, s in waiting if s >= 2) == 4


def test_advance_queues_a_design_in_the_race_once_and_never_one_that_left(tmp_path):
    space = load_space(str(_write(tmp_path, RACE)))
    url = f"sqlite:///{tmp_path}/s.db"
    study, _ = create_study(url, "r", space)
    for _ in range(8):  # seeds 0 and 1 of all four, in queue order
        _tell_next(study)
    added = advance(study, space)
    again = advance(study, space)  # a second worker after the first: nothing more
    assert again == 0
    state = race_state(space, study.get_trials(deepcopy=False), baseline="original")
    out = {c for c, lane in state.lanes.items() if lane.out}
    assert len(out) == 1 and "dropout" in next(iter(out))  # 50 points behind full_preact on both seeds
    queued = [k for k, n in _keys(study, optuna.trial.TrialState.WAITING).items()]
    assert added == 1 and sum(1 for c, s in queued if s == 2) == 3  # the pair's seed 2, and relu_preact's
    assert not [c for c, s in queued if c in out]


def test_two_workers_advancing_at_once_train_each_design_seed_once(tmp_path):
    space = load_space(str(_write(tmp_path, RACE)))
    url = f"sqlite:///{tmp_path}/s.db"
    study, _ = create_study(url, "r", space)
    for _ in range(8):
        _tell_next(study)
    studies = [optuna.load_study(study_name="r", storage=url) for _ in range(2)]
    barrier = threading.Barrier(2)

    def go(s):
        barrier.wait()
        advance(s, space)

    threads = [threading.Thread(target=go, args=(s,)) for s in studies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    # A key queued twice is trained once: the later starter yields (the objective's duplicate check).
    from unitsearch.search.objective import _taken_elsewhere

    trained = collections.Counter()
    while any(t.state.name == "WAITING" for t in study.get_trials(deepcopy=False)):
        trial = study.ask()
        key = trial.user_attrs["plan_key"]
        if _taken_elsewhere(trial, key):
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            continue
        trained[key] += 1
        study.tell(trial, 1.0)
    assert trained and set(trained.values()) == {1}


def test_plan_status_of_a_race_counts_what_is_left_to_decide(tmp_path):
    space = load_space(str(_write(tmp_path, RACE)))
    study, _ = create_study(f"sqlite:///{tmp_path}/s.db", "r", space)
    status = plan_status(study, space)
    assert status.total == 4 * 4 and status.done == 0 and status.waiting == 12
    for _ in range(8):
        _tell_next(study)
    status = plan_status(study, space)
    assert status.done == 8 and status.total == 3 * 4 + 2  # dropout left after two seeds
    assert status.done <= status.expected <= status.total


def _write(tmp_path, text: str, name: str = "race"):
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


# --- real workers --------------------------------------------------------------------------
@pytest.mark.slow
def test_two_workers_race_to_the_end_each_design_seed_once(storage_url, search_cli, outcome, reap):
    space = search_cli.space(RACE.replace("alpha = 0.2", "alpha = 0.5"), name="race")
    res = search_cli.run("run", "--space", space, "--storage", storage_url, "--workers", "2", timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    done, trials = outcome(storage_url, "race")
    assert set(done.values()) == {1}, done  # none twice
    seeds = collections.defaultdict(set)
    for t in trials:
        if t.state.name in ("COMPLETE", "PRUNED"):
            seeds[t.user_attrs["preset"]].add(t.user_attrs["seed"])
    assert seeds["original"] == seeds["full_preact"] == {0, 1, 2, 3}  # the verdict's pair: every seed
    assert all({0, 1} <= s for s in seeds.values())
    assert not [t for t in trials if t.state.name in ("RUNNING", "WAITING")]
    out = " ".join(res.stdout.split())  # the verdict wraps at the terminal's width
    assert "race" in out and "fixed before the run" in out


@pytest.mark.slow
def test_a_race_killed_mid_round_resumes_with_nothing_lost_and_nothing_twice(tmp_path, search_cli, outcome, reap, poll):
    url = f"sqlite:///{tmp_path}/study.db"
    space = search_cli.space(RACE.replace("[pruner]", "[train]\nepochs = 6\n\n[pruner]"), name="race")
    proc = search_cli.popen("run", "--space", space, "--storage", url, "--workers", "2", start_new_session=True)
    reap.append(proc)

    def training():
        try:
            _, trials = outcome(url, "race")
        except KeyError:
            return None
        return len([t for t in trials if t.state.name == "RUNNING" and "config" in t.user_attrs]) >= 2

    poll(training, timeout=120, what="both workers training")
    proc.send_signal(signal.SIGKILL)  # `run` and, below, its workers die without a word
    proc.wait(timeout=10)
    import os

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    again = search_cli.run("run", "--space", space, "--storage", url, "--threads", "1", timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    done, trials = outcome(url, "race")
    assert set(done.values()) == {1}, done
    pair = {(t.user_attrs["preset"], t.user_attrs["seed"]) for t in trials if t.state.name == "COMPLETE"}
    assert {(u, s) for u in ("original", "full_preact") for s in range(4)} <= pair
    assert not [t for t in trials if t.state.name in ("RUNNING", "WAITING")]


SAMPLED = """
profile = "smoke"
seeds = [0, 1, 2]

[factors]
h = ["identity", "scale(0)"]
f = ["id", "relu"]
branch = ["bn-relu-conv-bn-relu-conv", "conv-bn-relu-conv-bn"]

[sampler]
name = "tpe"
n_trials = 5
seed = 0
n_startup_trials = 3

[pruner]
name = "none"

[plan]
kind = "race"
min_seeds = 2
alpha = 0.05
"""


@pytest.mark.slow
def test_a_sampled_design_enters_on_the_first_seed_and_stays_while_it_leads(tmp_path, search_cli, outcome):
    url = f"sqlite:///{tmp_path}/study.db"
    space = search_cli.space(SAMPLED, name="sampled")
    res = search_cli.run("run", "--space", space, "--storage", url, "--workers", "1", timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    done, trials = outcome(url, "sampled")
    assert set(done.values()) == {1}, done
    drawn = [t for t in trials if "fixed_params" not in t.system_attrs]
    assert len(drawn) == 5 and all(t.user_attrs.get("seed") == 0 for t in drawn if t.state.name == "COMPLETE")
    seeds = collections.Counter(t.user_attrs["cell"] for t in trials if t.state.name == "COMPLETE")
    best = min(seeds, key=lambda c: sum(t.value for t in trials if t.state.name == "COMPLETE" and t.user_attrs["cell"] == c) / seeds[c])
    assert seeds[best] >= 2  # the leader got more seeds than its first


def test_the_report_shows_who_left_the_race_when_and_why(tmp_path):
    from unitsearch.report import build_report, format_report, report_to_dict

    space = load_space(str(_write(tmp_path, RACE)))
    study, _ = create_study(f"sqlite:///{tmp_path}/s.db", "r", space)
    for _ in range(8):
        _tell_next(study)
    rep = build_report(study)
    rows = {r.preset: r for r in rep.rows}
    assert rows["dropout_shortcut"].race_note.startswith("out after 2: t p=")
    assert rows["full_preact"].race_note == rows["original"].race_note == "protected"
    assert rows["relu_preact"].race_note == "in"
    assert rep.verdict.seeds_fixed and "fixed before the run" in rep.verdict.text
    data = report_to_dict(rep)
    out = next(r for r in data["leaderboard"] if r["preset"] == "dropout_shortcut")["race"]["out"]
    assert out["seeds"] == 2 and out["reason"] == "t" and 0 <= out["p"] < 0.2
    assert "out after 2" in format_report(rep, "markdown")


def json_unit(cell: str) -> str:
    import json

    return json.loads(cell)["unit"]


def test_plan_grid_turns_a_race_into_the_grid_of_its_seeds(tmp_path):
    from unitsearch.errors import UserError
    from unitsearch.search import with_overrides

    space = load_space(str(_write(tmp_path, RACE)))
    grid = with_overrides(space, plan="grid")
    assert not grid.is_race and grid.seeds == [0, 1, 2, 3] and grid.n_trials == 16
    with pytest.raises(UserError, match="allowed: grid, race"):
        with_overrides(space, plan="tournament")
    plain = load_space(str(_write(tmp_path, RACE.split("[plan]")[0], name="plain")))
    with pytest.raises(UserError, match="no \\[plan\\] table"):
        with_overrides(plain, plan="race")


@pytest.mark.parametrize(
    "plan, needle",
    [
        ('kind = "tournament"', "allowed: grid, race"),
        ('kind = "grid"\nmin_seeds = 2', "applies to a race only"),
        ('kind = "race"\nmin_seeds = 1', "plan.min_seeds"),
        ('kind = "race"\nmax_seeds = 9', "from 2 to 4"),
        ('kind = "race"\nalpha = 1.5', "between 0 and 1"),
        ('kind = "race"\ntest = "friedman"', "allowed: t, wilcoxon"),
        ('kind = "race"\nprotect = ["nonsense"]', "plan.protect"),
        ('kind = "race"\nsize = 3', "allowed: kind, min_seeds"),
    ],
)
def test_a_bad_plan_table_names_the_key_and_the_allowed_values(tmp_path, plan, needle):
    from unitsearch.errors import UserError
    from unitsearch.search import parse_space

    text = RACE.split("[plan]")[0] + "[plan]\n" + plan + "\n"
    with pytest.raises(UserError, match=needle.replace("[", "\\[")):
        parse_space(text, "bad.toml")


def test_a_design_pruned_on_its_first_seed_leaves_and_its_queued_seed_is_not_queued_again(tmp_path):
    from unitsearch.search.plan import left_race

    space = load_space(str(_write(tmp_path, RACE)))
    url = f"sqlite:///{tmp_path}/s.db"
    study, _ = create_study(url, "r", space)
    for _ in range(4):  # seed 0 of each design; dropout_shortcut is pruned
        trial = study.ask()
        unit = trial.suggest_categorical("unit", list(ERRORS))
        trial.set_user_attr("unit", json_unit(trial.user_attrs["cell"]))
        if unit == "dropout_shortcut":
            trial.report(88.0, 1)
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            cell = trial.user_attrs["cell"]
        else:
            study.tell(trial, ERRORS[unit][0])
    assert left_race(study, space, cell)
    waiting = [t for t in study.get_trials(deepcopy=False) if t.state.name == "WAITING" and t.user_attrs["cell"] == cell]
    assert len(waiting) == 1  # its seed 1, queued at the start: the objective turns it away
    # what the objective does with it: turned away as unused
    study._storage.set_trial_user_attr(waiting[0]._trial_id, "status", "unused")
    study._storage.set_trial_state_values(waiting[0]._trial_id, state=optuna.trial.TrialState.FAIL)
    _, added = create_study(url, "r", space)  # a resumed run
    assert not [t for t in study.get_trials(deepcopy=False) if t.state.name == "WAITING" and t.user_attrs["cell"] == cell]
    assert added == 0


@pytest.mark.parametrize("draws", [5, 1])
def test_a_proposal_enters_on_one_seed_while_the_sampler_has_draws_left(tmp_path, draws):
    """A worker with nothing queued takes a new design while draws are left; only then is it idle."""
    from unitsearch.search.plan import cell_key, plan_key
    from unitsearch.storage import TrialStatus, write_trial

    space = load_space(str(_write(tmp_path, SAMPLED.replace("n_trials = 5", f"n_trials = {draws}"), "sampled")))
    study, _ = create_study(f"sqlite:///{tmp_path}/s.db", "sampled", space)
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,)):  # the baseline's seeds
        trial = study.ask()
        study.tell(trial, 50.0 + trial.user_attrs["seed"])
    values = {"h": "identity", "f": "id", "branch": "bn-relu-conv-bn-relu-conv"}  # full pre-activation, not protected here
    study.sampler = optuna.samplers.PartialFixedSampler(values, study.sampler)
    trial = study.ask()  # a proposal, training its first seed
    cell = cell_key(space, {k: trial.suggest_categorical(k, space.factors[k]) for k in values})
    write_trial(trial, plan_key=plan_key(cell, 0), cell=cell, seed=0, status=TrialStatus.RUNNING)
    added = advance(study, space)
    queued = [(t.user_attrs["cell"], t.user_attrs["seed"]) for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,))]
    if draws > 1:
        assert added == 0 and queued == []  # the next worker draws a new design
    else:
        assert added == 1 and queued == [(cell, 1)]  # no draw left: its next seed, beside the running one


@pytest.mark.slow
def test_a_sampled_race_with_more_draws_than_designs_still_ends(tmp_path, search_cli, outcome):
    url = f"sqlite:///{tmp_path}/study.db"
    small = SAMPLED.replace('f = ["id", "relu"]\n', "").replace('branch = ["bn-relu-conv-bn-relu-conv", "conv-bn-relu-conv-bn"]\n', "")
    space = search_cli.space(small.replace("n_trials = 5", "n_trials = 6"), name="small")  # two designs, six draws
    res = search_cli.run("run", "--space", space, "--storage", url, "--workers", "1", timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    done, trials = outcome(url, "small")
    assert set(done.values()) == {1} and len({k.split("#")[0] for k in done}) == 2, done
    assert sum("fixed_params" not in t.system_attrs for t in trials) == 6  # every draw counted, then it stopped


def _reference_standings(cells, results, rule):
    """The race as first written: the best found by a full scan after every result."""
    from unitsearch.search.race import Exit, Lane, _best, worse_p

    lanes = {c: Lane(c, protected=c in rule.protected) for c in cells}
    seen = None
    for r in results:
        lane = lanes.setdefault(r.cell, Lane(r.cell, protected=r.cell in rule.protected))
        if lane.out is not None:
            continue
        lane.errors[r.seed] = r.error
        if r.pruned and not lane.protected:
            lane.out = Exit(len(lane.errors), "pruned")
            continue
        best = _best(lanes.values(), rule.min_seeds)
        if best is None:
            continue
        changed = seen != (best.cell, len(best.errors))
        seen = (best.cell, len(best.errors))
        for other in lanes.values() if changed else [lane]:
            if other is best or other.out is not None or other.protected:
                continue
            p, n = worse_p(other.errors, best.errors, rule.test)
            if p is not None and n >= rule.min_seeds and p < rule.alpha:
                other.out = Exit(len(other.errors), rule.test, p, best.cell)
    return lanes


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 7), st.integers(0, 4), st.floats(5.0, 95.0, allow_nan=False), st.booleans()),
        min_size=10, max_size=80,
    ),
    st.integers(1, 3),
    st.lists(st.integers(0, 60), max_size=4),
)
def test_the_incremental_replay_equals_the_full_rescan(raw, min_seeds, cuts):
    from unitsearch.search.race import RaceRule, Replay, Result

    cells = [f"c{i}" for i in range(8)]
    rule = RaceRule(seeds=tuple(range(5)), min_seeds=min_seeds, alpha=0.2, test="t", protected=frozenset({"c0"}))
    results = [Result(f"c{c}", s, e, pruned=p and i % 5 == 0) for i, (c, s, e, p) in enumerate(raw)]
    expected = _reference_standings(cells, results, rule)
    replay = Replay(cells[:4], rule)
    done = 0
    for cut in sorted({min(c, len(results)) for c in cuts}) + [len(results)]:  # fed in chunks, as a worker feeds it
        replay.add_cells(cells)
        replay.feed(results[done:cut])
        done = cut
    got = replay.lanes
    assert {c: (lane.errors, lane.out) for c, lane in got.items()} == {c: (lane.errors, lane.out) for c, lane in expected.items()}
