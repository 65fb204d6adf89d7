"""Opening Optuna's RDB storage: SQLite for one machine, PostgreSQL for many.

Workers open it read-write (:func:`open_storage`); ``report`` and the benches open it
read-only (``read_only=True``): no tables are created, no stale trial is failed, no
write lock is taken, and a missing SQLite file is an error rather than a new database.

Heartbeats mark a trial whose worker died as failed, and
:class:`optuna.storages.RetryHeartbeatStaleTrialCallback` queues its (cell, seed)
again. A password in a URL never leaves this module: every message shows
:func:`redact` of the URL.

The environment can shorten the heartbeat (tests, or clusters that preempt often):
``UNITSEARCH_HEARTBEAT_INTERVAL`` and ``UNITSEARCH_GRACE_PERIOD``, whole seconds. Every
worker on a study should use the same values: whichever worker looks for stale trials
judges them by its own grace period.
"""

from __future__ import annotations

import os
import warnings

import optuna
import sqlalchemy
from sqlalchemy.engine import make_url

from ..errors import UserError
from .resilient import ResilientStorage
from .urls import driver_hint, redact, refuse_ephemeral, require_existing, scrub

__all__ = ["DEFAULT_STORAGE", "CONNECTIONS_PER_WORKER", "open_storage", "check_url", "heartbeat_settings"]

# Heartbeats and their retry callback are marked experimental in Optuna 5; they are what we rely on.
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

DEFAULT_STORAGE = "sqlite:///studies.db"
HEARTBEAT_INTERVAL = 10  # seconds between a running trial's heartbeats ($UNITSEARCH_HEARTBEAT_INTERVAL)
GRACE_PERIOD = 30  # a trial silent this long is stale: its worker is gone ($UNITSEARCH_GRACE_PERIOD)
SQLITE_BUSY_TIMEOUT = 120  # seconds a SQLite writer waits for the lock instead of failing
READ_TIMEOUT = 30  # seconds a reader waits for a SQLite writer's commit
CONNECTIONS_PER_WORKER = 2  # a worker's pool: its main thread and its heartbeat thread
_SCHEMES = "sqlite:///FILE, postgresql://USER:PASSWORD@HOST:PORT/DB (psycopg), mysql+pymysql://..."


def heartbeat_settings() -> tuple[int, int]:
    """Seconds between heartbeats and the grace period: the defaults, or the environment's."""
    values = []
    for name, default in (("UNITSEARCH_HEARTBEAT_INTERVAL", HEARTBEAT_INTERVAL), ("UNITSEARCH_GRACE_PERIOD", GRACE_PERIOD)):
        text = os.environ.get(name, "").strip()
        if not text:
            values.append(default)
            continue
        if not text.isdigit() or int(text) < 1:
            raise UserError(f"{name} must be a whole number of seconds >= 1, got {text!r}")
        values.append(int(text))
    interval, grace = values
    if grace <= interval:  # a live trial would be declared stale between two of its heartbeats
        raise UserError(f"the grace period ({grace} s) must be longer than the heartbeat interval ({interval} s)")
    return interval, grace


def check_url(url: str) -> sqlalchemy.engine.URL:
    """Parse a storage URL; PostgreSQL goes through psycopg (version 3); SQLite in memory is refused."""
    try:
        parsed = make_url(url)
    except Exception:
        raise UserError(f"bad storage URL {redact(url)!r}; expected one of: {_SCHEMES}") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql", "mysql"):
        raise UserError(f"unsupported storage {parsed.get_backend_name()!r} in {redact(url)!r}; expected one of: {_SCHEMES}")
    refuse_ephemeral(parsed, redact(url))
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _engine_kwargs(url: sqlalchemy.engine.URL, read_only: bool) -> dict:
    if read_only:
        # A writer holds the SQLite lock only while it commits: wait; an unreachable server fails in seconds.
        timeout = {"timeout": READ_TIMEOUT} if url.get_backend_name() == "sqlite" else {"connect_timeout": 10}
        return {"connect_args": timeout}
    if url.get_backend_name() == "sqlite":
        # Several local workers share the file: wait for the lock rather than fail. pysqlite's own
        # transaction handling is off (isolation_level None): `_lock_on_begin` begins them instead.
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT, "isolation_level": None}}
    # Drop dead connections instead of failing a trial on them; a small pool with no overflow, so
    # that an array of workers stays within the server's max_connections (CONNECTIONS_PER_WORKER).
    return {"pool_pre_ping": True, "pool_size": CONNECTIONS_PER_WORKER, "max_overflow": 0, "connect_args": {"connect_timeout": 10}}


def open_storage(
    url: str = DEFAULT_STORAGE, *, read_only: bool = False, heartbeat: bool = True, max_retry: int = 3, must_exist: bool = False
) -> optuna.storages.RDBStorage | ResilientStorage:
    """Optuna's RDB storage for ``url``.

    Read-write (workers): heartbeats and the retry of stale trials, every call retried
    through a database outage (:class:`~unitsearch.storage.resilient.ResilientStorage`), a pool
    of :data:`CONNECTIONS_PER_WORKER`, SQLite in WAL mode with its write lock taken at the start
    of every transaction. ``must_exist``: a missing
    SQLite file is an error instead of a new, empty study database (for workers joining a
    study that should be there).

    Read-only (``read_only=True``, for reports): no table is created, no heartbeat, no lock,
    and the file must exist. Call ``storage.engine.dispose()`` after the read, so that no
    connection outlives it.

    A SQLite database in memory is refused either way (workers cannot share it, and it dies
    with the process).

    Raises:
        UserError: The URL is malformed, its driver is missing, or the database
            cannot be reached; the message shows the URL without its password.
    """
    parsed = check_url(url)
    if must_exist or read_only:
        require_existing(parsed, redact(url))
    kwargs: dict = {"skip_table_creation": True} if read_only else {}
    if heartbeat and not read_only:
        interval, grace = heartbeat_settings()
        kwargs = {
            "heartbeat_interval": interval,
            "grace_period": grace,
            "heartbeat_stale_trial_callback": optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=max_retry),
        }
    try:
        storage = optuna.storages.RDBStorage(
            parsed.render_as_string(hide_password=False), engine_kwargs=_engine_kwargs(parsed, read_only), **kwargs
        )
    except ImportError as e:  # Optuna re-raises the driver's ModuleNotFoundError as a plain ImportError
        raise UserError(driver_hint(getattr(e.__cause__, "name", None) or e.name, repr(redact(url)))) from None
    except Exception as e:  # noqa: BLE001  (driver, schema or connection errors become one line)
        cause = getattr(e, "orig", None) or e.__cause__ or e
        first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        raise UserError(f"cannot open storage {redact(url)!r}: {scrub(first, parsed)}") from None
    if read_only:
        return storage
    if parsed.get_backend_name() == "sqlite":
        # WAL lets readers (`report`) run while a worker writes; it is a property of the file.
        with storage.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        _lock_on_begin(storage.engine)
    # Optuna would put its cache in front of an RDB storage; the retries go in front of both.
    return ResilientStorage(optuna.storages._CachedStorage(storage), repr(redact(url)))


def _lock_on_begin(engine: sqlalchemy.engine.Engine) -> None:
    """Begin every SQLite transaction with ``BEGIN IMMEDIATE``, taking the write lock up front.

    SQLite has no ``SELECT ... FOR UPDATE``, and pysqlite opens a transaction only at the first
    write, so Optuna's check-then-set that turns a WAITING trial RUNNING was not atomic: two
    workers could pop the same waiting trial and both train it (Optuna then fails the second with
    "Cannot tell a COMPLETE trial"). With the lock taken at BEGIN, the second
    worker waits (busy timeout), then finds the trial RUNNING and takes the next one. Readers
    outside the workers (``report``) are not blocked: WAL lets them read during a write.
    """
    sqlalchemy.event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))

