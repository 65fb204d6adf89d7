"""Every space file, unit form and command-line number either works or fails with one UserError line.

Property tests generate the inputs (Hypothesis); none trains a network. A failing input
must raise :class:`UserError` (never another exception) and must leave no study behind.
"""

from __future__ import annotations

import json
import math
import time

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from unitsearch.cli import app
from unitsearch.errors import UserError
from unitsearch.search import load_space, parse_space, plan_items
from unitsearch.search.space import FACTORS, PRUNERS, SAMPLERS
from unitsearch.search.validate import check_run_numbers
from unitsearch.units import PRESETS, UnitSpec

runner = CliRunner()
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


# --- a small TOML writer for generated values ---------------------------------------
def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def _file(top: dict, tables: dict[str, dict]) -> str:
    lines = [f"{json.dumps(k)} = {_toml(v)}" for k, v in top.items()]
    for name, table in tables.items():
        lines.append(f"[{name}]")
        lines += [f"{json.dumps(k)} = {_toml(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


numbers = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, 1, 2, 8, 14, 16, 2.0, 8.0, 0.5, 1e-3, 1e39, -1.0, 2**63, 2**64, float("nan"), float("inf"), -float("inf")]),
    st.floats(allow_nan=True, allow_infinity=True),
)
unit_texts = st.one_of(
    st.sampled_from(sorted(PRESETS)),
    st.sampled_from([p.spec.form for p in PRESETS.values()]),
    st.builds(
        lambda h, b, f: f"h={h};branch={b};f={f}",
        st.sampled_from(["identity", "scale(0.5)", "scale(1e39)", "exclusive_gate(-6)", "exclusive_gate(nan)", "dropout(1)", "conv1x1", "bogus"]),
        st.sampled_from(["conv-conv", "bn-relu-conv-bn-relu-conv", "conv", "conv-conv-conv-conv", "relu-relu-conv-conv", ""]),
        st.sampled_from(["id", "relu", "bn-relu", "conv", ""]),
    ),
    st.text(max_size=20),
)
scalars = st.one_of(numbers, st.booleans(), unit_texts)
factor_values = st.one_of(
    scalars,
    st.lists(scalars, min_size=0, max_size=4),
    st.fixed_dictionaries({"low": numbers, "high": numbers}, optional={"log": st.booleans(), "int": st.one_of(st.booleans(), numbers)}),
)
factor_names = st.sampled_from([*FACTORS, "bogus"])


@st.composite
def space_files(draw) -> str:
    top = {}
    if draw(st.booleans()):
        top["profile"] = draw(st.one_of(st.sampled_from(["smoke", "cpu", "nope"]), numbers))
    if draw(st.booleans()):
        top["seeds"] = draw(st.one_of(st.lists(st.one_of(st.integers(0, 5), numbers), max_size=4), numbers))
    if draw(st.booleans()):
        top["workers"] = draw(numbers)
    factors = {"unit": draw(st.one_of(unit_texts, st.lists(unit_texts, min_size=1, max_size=3)))} if draw(st.booleans()) else {}
    factors.update(draw(st.dictionaries(factor_names, factor_values, max_size=3)))
    tables = {"factors": factors}
    if draw(st.booleans()):
        tables["sampler"] = {"name": draw(st.sampled_from([*SAMPLERS, "bogus"])), **draw(st.dictionaries(st.sampled_from(["n_trials", "seed", "n_startup_trials", "bogus"]), numbers, max_size=2))}
    if draw(st.booleans()):
        tables["pruner"] = {"name": draw(st.sampled_from([*PRUNERS, "bogus"])), **draw(st.dictionaries(st.sampled_from(["n_startup_trials", "min_resource", "reduction_factor", "bogus"]), numbers, max_size=2))}
    if draw(st.booleans()):
        tables["prefilter"] = draw(st.dictionaries(st.sampled_from(["min_grad_ratio", "bogus"]), numbers, max_size=2))
    if draw(st.booleans()):
        tables["train"] = draw(st.dictionaries(st.sampled_from(["epochs", "lr", "batch_size", "momentum", "nesterov", "seed"]), scalars, max_size=2))
    return _file(top, tables)


@FAST
@given(space_files())
def test_a_space_file_parses_or_fails_with_one_user_error(text):
    start = time.process_time()
    try:
        space = parse_space(text, "gen.toml")
    except UserError as e:
        assert "\n" not in str(e) and "gen.toml" in str(e)
        return
    assert space.n_trials >= 1
    if space.is_grid:
        items = plan_items(space)
        assert len({i.key for i in items}) == len(items) == space.n_trials  # one trial per design and seed
    assert time.process_time() - start < 60  # never allocates its way to an answer


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(space_files())
def test_a_bad_space_file_leaves_no_study(tmp_path_factory, text):
    tmp = tmp_path_factory.mktemp("s")
    path = tmp / "gen.toml"
    path.write_text(text)
    try:
        parse_space(text, str(path))
    except UserError:
        pass
    else:
        assume(False)  # a good file would train: that is another test's job
    db = tmp / "s.db"
    res = runner.invoke(app, ["run", "--space", str(path), "--storage", f"sqlite:///{db}", "--n-trials", "0"])
    assert res.exit_code == 2 and res.exception is None or isinstance(res.exception, SystemExit), res.output
    assert "Traceback" not in res.output and res.output.startswith("error: ")
    assert not db.exists()


ops = st.sampled_from(["bn", "relu", "conv", "BN", "Relu", "dropout", "", " "])


@FAST
@given(
    st.one_of(
        st.builds(
            lambda h, branch, f, order: ";".join(order([f"h={h}", f"branch={'-'.join(branch)}", f"f={'-'.join(f)}"])),
            st.one_of(st.sampled_from(["identity", "conv1x1", "scale(0.5,0.5)", "scale(1)", "dropout(0)", "dropout(1)", "shortcut_gate(1e39)"]),
                      st.builds(lambda k, a: f"{k}({a})", st.sampled_from(["scale", "exclusive_gate", "dropout", "identity"]), st.one_of(numbers.map(str), st.text(max_size=5)))),
            st.lists(ops, max_size=8),
            st.lists(ops, max_size=3),
            st.sampled_from([lambda xs: xs, lambda xs: xs[::-1]]),
        ),
        st.text(max_size=40),
    )
)
def test_a_unit_form_round_trips_or_fails_with_one_user_error(text):
    try:
        spec = UnitSpec.parse(text)
    except UserError as e:
        assert "\n" not in str(e)
        return
    assert UnitSpec.parse(spec.form) == spec
    assert all(math.isfinite(p) and abs(p) <= 3.4028234663852886e38 for p in spec.shortcut.params)


cli_numbers = st.one_of(
    st.integers(-(2**80), 2**80).map(str),
    st.sampled_from(["nan", "inf", "-inf", "1e400", "-0", "0", "1.5", "18446744073709551616", "9223372036854775807", "x"]),
)


@settings(max_examples=40, deadline=None)
@given(st.fixed_dictionaries({"--seed-offset": cli_numbers, "--n-trials": cli_numbers, "--timeout": cli_numbers, "--threads": cli_numbers}))
def test_run_numbers_are_checked_before_the_study_exists(tmp_path_factory, numbers):
    tmp = tmp_path_factory.mktemp("n")
    path = tmp / "tiny.toml"
    path.write_text('profile = "smoke"\nseeds = [0, 1]\n[factors]\nunit = ["original"]\n')
    try:
        values = {"seed_offset": int(numbers["--seed-offset"]), "n_trials": int(numbers["--n-trials"]),
                  "timeout": float(numbers["--timeout"]), "threads": int(numbers["--threads"])}
    except ValueError:
        values = None  # not a number of that type: Typer refuses it
    if values is not None:
        try:
            check_run_numbers(load_space(str(path)), **values)
        except UserError as e:
            assert "\n" not in str(e)
        else:
            return  # valid numbers train: covered by the run tests
    db = tmp / "s.db"
    args = [a for k, v in numbers.items() for a in (k, v)]
    res = runner.invoke(app, ["run", "--space", str(path), "--storage", f"sqlite:///{db}", *args])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert not db.exists()


@settings(max_examples=40, deadline=None)
@given(
    depth=st.one_of(st.integers(-(2**70), 2**70), st.sampled_from([8, 14, 11])),
    width=st.one_of(st.integers(-(2**70), 2**70), st.integers(1, 8)),
    classes=st.one_of(st.integers(-(2**70), 2**70), st.integers(2, 100)),
    image_size=st.one_of(st.integers(-(2**70), 2**70), st.sampled_from([4, 8, 16])),
)
def test_model_numbers_build_or_fail_in_one_line(depth, width, classes, image_size):
    big = depth > 200 and 1 <= width <= 1024  # valid but slow to build: the bounds are checked elsewhere
    assume(not big)
    res = runner.invoke(app, ["model", "--depth", str(depth), "--width", str(width), "--classes", str(classes), "--image-size", str(image_size), "--format", "json"])
    assert res.exit_code in (0, 2), res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    if res.exit_code == 2:
        assert "Traceback" not in res.output


# --- each rule by example -----------------------------------------------------------------
BASE = 'profile = "smoke"\nseeds = [0, 1]\n'


@pytest.mark.parametrize(
    "text, needle",
    [
        (BASE + "[factors]\nunit = 'original'\ndepth = [8, 9]\n", "depth 9 is not valid"),
        (BASE + "[factors]\nunit = 'original'\nwidth = 0\n", "width must be in [1, 1024]"),
        (BASE + "[factors]\nunit = 'original'\ndepth = 100000\n", "depth must be in [1, 2000]"),
        (BASE + "[factors]\nunit = 'original'\nwidth = 100000000\n", "width must be in [1, 1024]"),
        (BASE + "[factors]\nunit = 'original'\ndepth = 8.5\n", "whole number"),
        (BASE + "[factors]\nunit = ['full_preact', 'h=identity;branch=bn-relu-conv-bn-relu-conv;f=id']\n", "are the same design"),
        (BASE + "[factors]\nunit = 'original'\nwidth = [2, 2.0]\n", "are the same design"),
        (BASE + "[factors]\nunit = 'original'\nlr = nan\n", "lr must be a finite number"),
        (BASE + "[factors]\nunit = 'original'\nlr = -0.1\n", "lr must be a finite number in (0,"),
        (BASE + "[factors]\nunit = 'h=exclusive_gate(1e39);branch=conv-conv'\n", "float32"),
        ('profile = "smoke"\nseeds = [18446744073709551615]\n[factors]\nunit = "original"\n', None),  # TOML itself refuses it
        ('profile = "smoke"\nseeds = [9223372036854775807, -1]\n[factors]\nunit = "original"\n', "seed -1 is out of range"),
        (BASE + "[factors]\nunit = 'original'\n[sampler]\nname = 'random'\nn_trials = 4\nbogus = 1\n", "sampler.bogus' is not a setting of the random sampler"),
        (BASE + "[factors]\nunit = 'original'\n[sampler]\nname = 'grid'\nseed = 1\n", "the grid sampler takes no settings"),
        (BASE + "[factors]\nunit = 'original'\n[sampler]\nname = 'tpe'\nn_trials = 4\nseed = 18446744073709551\n", "sampler.seed' must be in [0, 4294967295]"),
        (BASE + "[factors]\nunit = 'original'\n[pruner]\nname = 'hyperband'\nbogus = 1\n", "pruner.bogus' is not a setting of the hyperband pruner"),
        (BASE + "[factors]\nunit = 'original'\n[pruner]\nname = 'none'\nmin_resource = 1\n", "is not a setting of pruner 'none'"),
        (BASE + "[factors]\nunit = 'original'\n[prefilter]\nmin_grad_ratio = -1\n", "min_grad_ratio' must be a finite number"),
        (BASE + "[factors]\nunit = 'original'\n[prefilter]\nthreshold = 1\n", "prefilter.threshold' is unknown"),
        (BASE + "prefilter = 3\n[factors]\nunit = 'original'\n", "must be a table"),
        (BASE + "[factors]\nunit = 'original'\nepochs = {low = 1, high = 3}\n[sampler]\nname = 'random'\nn_trials = 2\n", "int = true"),
        (BASE + "[factors]\nunit = 'original'\ndepth = {low = 8, high = 20, int = true}\n[sampler]\nname = 'random'\nn_trials = 2\n", "list the values"),
        ("profile = ['smoke']\n[factors]\nunit = 'original'\n", "must be a string"),
        (BASE + "[factors]\n" + "\n".join(f"{n} = [{', '.join(str(v) for v in vals)}]" for n, vals in
                                          [("depth", [8, 14, 20, 26, 32, 38, 44, 50, 56, 62]), ("width", list(range(1, 21))), ("lr", [0.1 * i for i in range(1, 21)]),
                                           ("momentum", [0.01 * i for i in range(20)]), ("epochs", list(range(1, 21))), ("batch_size", list(range(1, 21))),
                                           ("weight_decay", [0.001 * i for i in range(20)])]), "at most 100,000"),
    ],
)
def test_each_bad_value_is_one_line_naming_the_key(text, needle):
    start = time.process_time()
    with pytest.raises(UserError) as e:
        parse_space(text, "bad.toml")
    assert "\n" not in str(e.value)
    if needle is not None:
        assert needle in str(e.value)
    assert time.process_time() - start < 30


def test_file_encodings_and_folders(tmp_path):
    good = 'profile = "smoke"\n[factors]\nunit = "original"\n'
    (tmp_path / "bom.toml").write_bytes(b"\xef\xbb\xbf" + good.encode())
    assert load_space(str(tmp_path / "bom.toml")).factors["unit"] == "original"
    (tmp_path / "latin.toml").write_bytes(good.replace("original", "orig\xe9").encode("latin-1"))
    with pytest.raises(UserError, match="not UTF-8"):
        load_space(str(tmp_path / "latin.toml"))
    (tmp_path / "dir.toml").mkdir()
    with pytest.raises(UserError, match="is a folder"):
        load_space(str(tmp_path / "dir.toml"))
    with pytest.raises(UserError, match="is a folder"):
        load_space(str(tmp_path))


def test_workers_are_capped_by_the_work_and_the_machine():
    from unitsearch.search.launch import cap_workers

    assert cap_workers(3, 10, limit=8) == (3, None)
    n, why = cap_workers(10**9, 10**6, limit=8)
    assert n == 8 and "at most 8 run on one machine" in why
    n, why = cap_workers(6, 2, limit=8)
    assert n == 2 and "only 2 trials are left" in why


def test_the_grid_size_is_counted_not_built():
    text = BASE + "[factors]\nunit = 'original'\n" + "\n".join(f"{n} = [{', '.join(str(i + 1) for i in range(20))}]" for n in ("epochs", "batch_size", "warmup_iters", "check_every", "eval_batch_size"))
    with pytest.raises(UserError, match="20 epochs x 20 batch_size"):
        parse_space(text, "big.toml")
