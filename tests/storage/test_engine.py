"""Opening storages: heartbeat settings, SQLite's lock wait and WAL, and URLs that never show a password."""

from __future__ import annotations

import socket
import sqlite3
import threading

import optuna
import pytest

from unitsearch.cli import app
from unitsearch.errors import UserError
from unitsearch.storage import open_storage, redact
from unitsearch.storage.engine import GRACE_PERIOD, HEARTBEAT_INTERVAL, SQLITE_BUSY_TIMEOUT, heartbeat_settings

SECRET = "s3cretpw"
SPACE = 'profile = "smoke"\nseeds = [0]\n\n[factors]\nunit = ["original"]\n'


def _closed_port() -> int:
    with socket.socket() as s:  # bound, then released: nothing listens there
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- heartbeats ----------------------------------------------------------------------------


def test_heartbeats_default_to_ten_and_thirty_seconds_and_retry_stale_trials(tmp_path, monkeypatch):
    monkeypatch.delenv("UNITSEARCH_HEARTBEAT_INTERVAL", raising=False)
    monkeypatch.delenv("UNITSEARCH_GRACE_PERIOD", raising=False)
    storage = open_storage(f"sqlite:///{tmp_path}/s.db")
    assert (storage.heartbeat_interval, storage.grace_period) == (HEARTBEAT_INTERVAL, GRACE_PERIOD) == (10, 30)
    assert isinstance(storage.get_heartbeat_stale_trial_callback(), optuna.storages.RetryHeartbeatStaleTrialCallback)
    assert open_storage(f"sqlite:///{tmp_path}/s.db", heartbeat=False).heartbeat_interval is None


def test_the_environment_shortens_the_heartbeat(tmp_path, monkeypatch):
    monkeypatch.setenv("UNITSEARCH_HEARTBEAT_INTERVAL", "1")
    monkeypatch.setenv("UNITSEARCH_GRACE_PERIOD", "3")
    storage = open_storage(f"sqlite:///{tmp_path}/s.db")
    assert (storage.heartbeat_interval, storage.grace_period) == (1, 3)


@pytest.mark.parametrize(
    "interval, grace, needle",
    [
        ("0", "3", "UNITSEARCH_HEARTBEAT_INTERVAL must be a whole number of seconds >= 1, got '0'"),
        ("1", "2.5", "UNITSEARCH_GRACE_PERIOD must be a whole number of seconds >= 1, got '2.5'"),
        ("5", "5", "the grace period (5 s) must be longer than the heartbeat interval (5 s)"),
    ],
)
def test_bad_heartbeat_settings_are_one_line_errors(monkeypatch, interval, grace, needle):
    monkeypatch.setenv("UNITSEARCH_HEARTBEAT_INTERVAL", interval)
    monkeypatch.setenv("UNITSEARCH_GRACE_PERIOD", grace)
    with pytest.raises(UserError, match="^" + needle.replace("(", r"\(").replace(")", r"\)") + "$"):
        heartbeat_settings()


# --- SQLite: several local workers on one file ------------------------------------------------


def test_sqlite_storage_is_in_wal_mode_and_waits_for_the_lock(tmp_path):
    path = tmp_path / "s.db"
    storage = open_storage(f"sqlite:///{path}")
    with storage.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_TIMEOUT * 1000
    # WAL is a property of the file: a connection opened afterwards, by anyone, sees it.
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    # Another process holds the write lock for a moment: the storage waits instead of failing
    # with "database is locked".
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    released = threading.Event()

    def commit() -> None:
        released.set()  # before COMMIT: a write that got through saw the lock released
        holder.execute("COMMIT")

    release = threading.Timer(1.0, commit)
    release.start()
    try:
        study = optuna.create_study(storage=storage, study_name="waits")
        study.enqueue_trial({})
        assert released.is_set()  # it did wait for the holder
    finally:
        release.join(timeout=10)
        holder.close()
    assert len(study.trials) == 1


def _pop_all(url: str, barrier, results) -> None:
    """A worker's share of the waiting trials: ``ask`` until it gets a fresh (not enqueued) trial."""
    study = optuna.load_study(study_name="pop", storage=open_storage(url, heartbeat=False))
    barrier.wait(timeout=60)
    got = []
    while True:
        trial = study.ask()
        if "key" not in trial.user_attrs:  # the queue is empty
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            break
        got.append(trial.user_attrs["key"])
        study.tell(trial, 0.0)
    results.put(got)


@pytest.mark.slow
def test_sqlite_hands_each_waiting_trial_to_one_worker_only(tmp_path):
    # Without BEGIN IMMEDIATE two processes could both see a trial WAITING and both run it.
    import multiprocessing

    url = f"sqlite:///{tmp_path}/s.db"
    study = optuna.create_study(study_name="pop", storage=open_storage(url, heartbeat=False))
    for i in range(100):
        study.enqueue_trial({}, user_attrs={"key": i})
    ctx = multiprocessing.get_context("fork")  # the workers only touch the database
    barrier, results = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_pop_all, args=(url, barrier, results)) for _ in range(4)]
    for p in procs:
        p.start()
    try:
        taken = [key for _ in procs for key in results.get(timeout=120)]
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    assert sorted(taken) == list(range(100))
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]


# --- URLs: a password never reaches the output ----------------------------------------------


def _invoke(capfd, args: list[str]) -> tuple[int, str]:
    """The CLI in this process; capfd sees every byte written to fds 1 and 2 (loggers included)."""
    with pytest.raises(SystemExit) as exit_info:
        app(args, prog_name="unitsearch")
    out, err = capfd.readouterr()
    return exit_info.value.code, out + err


def _command(name: str, url: str, space: str) -> list[str]:
    if name == "run":
        return ["run", "--space", space, "--storage", url]
    if name == "worker":
        return ["worker", "--storage", url, "--study", "tiny"]
    return ["report", "--storage", url, "--study", "tiny"]


def _assert_one_line_exit_2(code: int, output: str, *, needle: str = "") -> None:
    lines = [line for line in output.splitlines() if line.strip()]
    assert code == 2, output
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    assert "Traceback" not in output
    assert SECRET not in output
    assert needle in lines[0], output


URLS = {
    "closed_port": "postgresql://u:" + SECRET + "@127.0.0.1:{port}/db",
    "malformed": "postgresql://u:" + SECRET + "@127.0.0.1:notaport/db",
    "unknown_scheme": "mongodb://u:" + SECRET + "@127.0.0.1/db",
}


@pytest.mark.parametrize("command", ["run", "worker", "report"])
@pytest.mark.parametrize("kind", list(URLS))
def test_a_bad_storage_url_is_one_line_without_its_password(command, kind, tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("UNITSEARCH_STORAGE", raising=False)
    (tmp_path / "tiny.toml").write_text(SPACE)
    url = URLS[kind].format(port=_closed_port())
    code, output = _invoke(capfd, _command(command, url, str(tmp_path / "tiny.toml")))
    _assert_one_line_exit_2(code, output)
    assert not (tmp_path / "studies.db").exists()


@pytest.mark.postgres
@pytest.mark.parametrize("command", ["run", "worker", "report"])
def test_a_wrong_password_on_a_real_server_is_one_line_without_it(command, postgres_server, tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.toml").write_text(SPACE)
    url = postgres_server.url("postgres", password=SECRET)
    code, output = _invoke(capfd, _command(command, url, str(tmp_path / "tiny.toml")))
    _assert_one_line_exit_2(code, output, needle="password authentication failed")
    assert postgres_server.password not in output


def test_redact_hides_the_password_and_shows_no_part_of_an_unparseable_url():
    assert redact(f"postgresql://u:{SECRET}@db.example.org:5432/studies") == "postgresql://u:***@db.example.org:5432/studies"
    assert SECRET not in redact(URLS["malformed"])
    assert redact("sqlite:///studies.db") == "sqlite:///studies.db"
