"""``report --out`` and ``--plots`` never overwrite what the report reads, and fail in one line."""

from __future__ import annotations

import errno
import hashlib
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from unitsearch.cli import app
from unitsearch.errors import UserError
from unitsearch.outputs import write_text

runner = CliRunner()


@pytest.fixture
def db_copy(ablation_db, tmp_path):
    url, name = ablation_db
    src = Path(url.removeprefix("sqlite:///"))
    dst = tmp_path / "studies.db"
    shutil.copy(src, dst)
    return dst, name


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("target", ["{db}", "{db}-wal", "{folder}/./studies.db"])
def test_the_database_survives_out_aimed_at_it(db_copy, target):
    db, name = db_copy
    before = _digest(db)
    out = target.format(db=db, folder=db.parent)
    res = runner.invoke(app, ["report", "--storage", f"sqlite:///{db}", "--study", name, "--format", "json", "--out", out])
    assert res.exit_code == 2, res.output
    assert "is the study database" in res.output and "Traceback" not in res.output
    assert _digest(db) == before


def test_out_through_a_symlink_to_the_database_is_refused(db_copy, tmp_path):
    db, name = db_copy
    link = tmp_path / "board.json"
    link.symlink_to(db)
    before = _digest(db)
    res = runner.invoke(app, ["report", "--storage", f"sqlite:///{db}", "--study", name, "--format", "json", "--out", str(link)])
    assert res.exit_code == 2 and "is the study database" in res.output
    assert _digest(db) == before


def test_out_and_plots_targets_that_cannot_be_written_get_one_line(db_copy, tmp_path):
    db, name = db_copy
    base = ["report", "--storage", f"sqlite:///{db}", "--study", name]
    (tmp_path / "a_file").write_text("x")
    cases = [
        (["--out", str(tmp_path)], "is a folder"),
        (["--plots", str(tmp_path / "a_file")], "is a file"),
        (["--plots", str(db)], "is the study database"),
        (["--out", str(tmp_path / "a_file" / "r.json")], "is a file, not a folder"),
    ]
    for extra, message in cases:
        res = runner.invoke(app, [*base, *extra])
        assert res.exit_code == 2, (extra, res.output)
        lines = [line for line in res.output.splitlines() if line.strip()]
        assert len(lines) == 1 and message in lines[0], (extra, res.output)
    assert (tmp_path / "a_file").read_text() == "x"


def test_a_full_disk_leaves_the_old_file_and_says_so(tmp_path, monkeypatch):
    target = tmp_path / "r.json"
    target.write_text("old")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("os.fsync", full)
    with pytest.raises(UserError, match="no space left"):
        write_text(target, "new" * 1000)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary file left behind


def test_report_reads_unitsearch_storage_and_creates_no_database(db_copy, tmp_path, monkeypatch):
    db, name = db_copy
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["report", "--study", name, "--format", "json"], env={"UNITSEARCH_STORAGE": f"sqlite:///{db}"})
    assert res.exit_code == 0, res.output and name in res.stdout
    missing = tmp_path / "nope.db"
    res = runner.invoke(app, ["report", "--format", "json"], env={"UNITSEARCH_STORAGE": f"sqlite:///{missing}"})
    assert res.exit_code == 2 and "no study database" in res.output
    assert not missing.exists()
