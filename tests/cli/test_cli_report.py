"""``unitsearch report`` through Typer's CliRunner, and the Optuna CLI on the same database."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from unitsearch.cli import app

from .conftest import make_trial, one_line_error, write_study

runner = CliRunner()


def _report(*args: str):
    return runner.invoke(app, ["report", *args])


def test_json_to_stdout(ablation_db):
    url, name = ablation_db
    res = _report("--storage", url, "--format", "json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["study"] == name and data["verdict"]["best"] == "full_preact"
    assert data["verdict"]["fail_units_below_baseline"] is True


def test_table_is_the_default(ablation_db):
    url, name = ablation_db
    res = _report("--storage", url, "--study", name)
    assert res.exit_code == 0, res.output
    assert "Leaderboard" in res.stdout and "Verdict." in res.stdout


def test_out_file_and_plots(ablation_db, tmp_path):
    url, name = ablation_db
    out = tmp_path / "r" / "board.csv"
    res = _report("--storage", url, "--study", name, "--metric", "test", "--format", "csv",
                  "--out", str(out), "--plots", str(tmp_path / "plots"))
    assert res.exit_code == 0, res.output
    assert res.stdout == ""  # everything went to files; "wrote ..." lines are on stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert rows[0]["rank"] == "1" and len(rows) == 10
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["errors.png", "factors.png", "learning_curves.png"]
    assert f"wrote {out}" in res.stderr


def test_markdown_with_baseline(ablation_db):
    url, name = ablation_db
    res = _report("--storage", url, "--format", "markdown", "--baseline", "relu_preact")
    assert res.exit_code == 0, res.output
    assert "| Δ vs relu_preact |" in res.stdout


def test_bad_input_is_one_line_exit_2(ablation_db, tmp_path):
    url, _ = ablation_db
    assert "studies: abl" in one_line_error(_report("--storage", url, "--study", "missing"))
    assert "designs in study 'abl'" in one_line_error(_report("--storage", url, "--baseline", "nope"))
    assert "does not exist" in one_line_error(_report("--storage", f"sqlite:///{tmp_path / 'none.db'}"))
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    write_study(empty, "e", [make_trial("original", 0, "failed")])
    assert "no finished trials" in one_line_error(_report("--storage", empty))


def test_password_is_never_printed():
    res = _report("--storage", "postgresql://alice:s3cret@127.0.0.1:1/studies")
    line = one_line_error(res)
    assert "s3cret" not in res.output and "alice:***@127.0.0.1" in line


def _optuna_cli() -> list[str]:
    script = Path(sys.executable).parent / "optuna"
    if script.exists():
        return [str(script)]
    if shutil.which("optuna"):
        return [shutil.which("optuna")]
    # Optuna 5 has no ``python -m optuna``; its console script calls optuna.cli.main.
    return [sys.executable, "-c", "import sys; from optuna.cli import main; sys.exit(main())"]


def test_optuna_cli_reads_the_database(ablation_db, ablation):
    url, name = ablation_db
    proc = subprocess.run(
        [*_optuna_cli(), "trials", "--storage", url, "--study-name", name, "-f", "json"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    trials = json.loads(proc.stdout)
    assert len(trials) == len(ablation[0])
    assert {t["state"] for t in trials} == {"COMPLETE", "PRUNED", "FAIL", "RUNNING"}


def test_repeated_study_pools_runs_on_other_seeds(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    for name, seeds in (("run", (0, 1)), ("run+seed100", (100, 101))):
        write_study(url, name, [make_trial(d, s, "complete", e + s % 2) for d, e in (("original", 12.0), ("full_preact", 8.0)) for s in seeds])
    res = _report("--storage", url, "--study", "run", "--study", "run+seed100", "--format", "json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["study"] == "run + run+seed100" and data["verdict"]["n_seeds"] == 4
    same = _report("--storage", url, "--study", "run", "--study", "run")  # a repeated name is one study, not a pool of two
    assert same.exit_code == 0 and "run + run" not in same.stdout
