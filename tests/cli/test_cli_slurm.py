"""``unitsearch slurm`` before anything reaches Slurm: the batch script, the refusals, the connection budget."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from unitsearch.cli import app
from unitsearch.search import create_study, load_space
from unitsearch.search.slurm import parse_minutes
from unitsearch.errors import UserError

from .conftest import one_line_error

runner = CliRunner()

SPACE = """
profile = "smoke"
seeds = [0, 1]

[factors]
unit = ["original", "full_preact"]
"""


def _slurm(*args: str):
    return runner.invoke(app, ["slurm", *args], catch_exceptions=False)


@pytest.fixture
def pg_study(postgres_url, tmp_path):
    path = tmp_path / "two.toml"
    path.write_text(SPACE)
    create_study(postgres_url, "two", load_space(str(path)))
    return postgres_url


@pytest.mark.postgres
def test_dry_run_prints_the_array_script_with_its_gpu_options_and_submits_nothing(pg_study, tmp_path):
    res = _slurm(
        "--study", "two", "--storage", pg_study, "--array", "3", "--parallel", "2", "--gpus-per-task", "1", "--cpus-per-task", "8",
        "--mem", "32G", "--time", "4:00:00", "--partition", "gpu", "--account", "lab", "--qos", "high", "--sbatch", "constraint=a100",
        "--logs", str(tmp_path / "logs"), "--dry-run",
    )
    assert res.exit_code == 0, res.output
    for line in (
        "#SBATCH --array=0-2%2", "#SBATCH --gpus-per-task=1", "#SBATCH --cpus-per-task=8", "#SBATCH --mem=32G", "#SBATCH --time=240",
        "#SBATCH --partition=gpu", "#SBATCH --account=lab", "#SBATCH --qos=high", "#SBATCH --constraint=a100", "#SBATCH --signal=USR2@120",
        "submitit.core._submit",
    ):
        assert line in res.output, (line, res.output)
    assert "pg-test-secret" not in res.output  # the URL's password is in no script
    assert "nothing submitted" in res.output and not (tmp_path / "logs").exists()


@pytest.mark.postgres
def test_cpu_tasks_ask_for_no_gpu(pg_study, tmp_path):
    res = _slurm("--study", "two", "--storage", pg_study, "--gpus-per-task", "0", "--logs", str(tmp_path / "l"), "--dry-run")
    assert res.exit_code == 0 and "gpus" not in res.output and "#SBATCH --array=0-0%1" in res.output, res.output


def test_a_sqlite_study_is_refused_with_one_line(tmp_path):
    line = one_line_error(_slurm("--study", "s", "--storage", f"sqlite:///{tmp_path}/s.db", "--dry-run"))
    assert "SQLite" in line and "cannot share" in line and "--n-trials 0" in line


@pytest.mark.postgres
def test_a_missing_study_says_how_to_create_one(postgres_url):
    line = one_line_error(_slurm("--study", "nope", "--storage", postgres_url, "--dry-run"))
    assert "no study 'nope'" in line and "--n-trials 0" in line


@pytest.mark.postgres
@pytest.mark.parametrize("bad, says", [
    (["--time", "soon"], "bad --time 'soon'"), (["--sbatch", "constraint"], "expected KEY=VALUE"), (["--sbatch", "array=0-9"], "set by `unitsearch slurm` itself"),
])
def test_bad_options_get_one_line(pg_study, bad, says):
    assert says in one_line_error(_slurm("--study", "two", "--storage", pg_study, *bad, "--dry-run"))


def test_time_limits_in_slurm_forms():
    assert [parse_minutes(t) for t in ("90", "30:00", "1:30:00", "1:30:01", "2-00", "1-02:03:00")] == [90, 30, 90, 91, 2880, 1563]
    with pytest.raises(UserError):
        parse_minutes("0")


@pytest.mark.slow
def test_an_array_larger_than_the_free_connections_is_refused(tmp_path):
    from unitsearch.search.slurm import ArraySpec, check_budget, connection_budget

    from ..conftest import pg

    if pg.find_bindir() is None:
        pytest.skip(pg.MISSING_REASON)
    with pg.PostgresServer(max_connections=12) as server:
        url = server.create_database("budget")
        free, most = connection_budget(url)
        assert most == 12 and 0 < free <= 12 - 3  # three are the superuser's reserve
        with pytest.raises(UserError, match=rf"8 workers at once need up to 16 connections; .* has {free} free of max_connections=12: at most {free // 2} workers fit"):
            check_budget(url, ArraySpec(array=8))
        check_budget(url, ArraySpec(array=8, parallel=free // 2))  # the cap makes it fit
