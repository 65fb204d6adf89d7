"""A worker's study storage that rides out a database restart or outage, within a bound.

Optuna retries only the creation of a trial; any other storage call (an intermediate value, a
user attribute, ``tell``, a heartbeat) fails on the first lost connection, and one failed
heartbeat write ends that trial's heartbeat thread for good. :class:`ResilientStorage` wraps a
worker's storage so that every call is retried with exponential backoff while the database is
unreachable, up to :func:`outage_bound` seconds (``$UNITSEARCH_OUTAGE_SECONDS``, default 600):

- a result finished during an outage stays in the worker's memory and is told once the
  database is back; a ``tell`` whose first attempt did commit (the connection dropped before
  the answer) is recognised and not told twice;
- a heartbeat that fails is retried rather than given up, and no worker declares a trial
  stale until a grace period after its own connection came back, so that the heartbeats of
  trials that lived through the outage are written first;
- past the bound the call raises :class:`StorageUnavailable`, one line; the worker stops, and
  its trial goes on from its last checkpoint when a worker takes it again.

Only connection-level errors are retried (SQLAlchemy's ``OperationalError``,
``InterfaceError``, a pool timeout, and Optuna's commit error caused by one); a data error
fails at once, as before.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import optuna
import sqlalchemy.exc
from optuna.storages import BaseStorage
from optuna.storages._heartbeat import BaseHeartbeat
from optuna.trial import TrialState
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_delay, wait_exponential

from ..errors import UserError

__all__ = ["ResilientStorage", "StorageUnavailable", "outage_bound", "transient"]

OUTAGE_SECONDS = 600  # how long a worker waits for its database before it stops ($UNITSEARCH_OUTAGE_SECONDS)
_TRANSIENT = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, sqlalchemy.exc.TimeoutError, sqlalchemy.exc.DisconnectionError)


class StorageUnavailable(UserError):
    """The study database stayed unreachable past the outage bound."""


def outage_bound() -> float:
    """Seconds a worker keeps retrying an unreachable database: the default, or the environment's."""
    text = os.environ.get("UNITSEARCH_OUTAGE_SECONDS", "").strip()
    if not text:
        return float(OUTAGE_SECONDS)
    if not text.isdigit() or int(text) < 1:
        raise UserError(f"UNITSEARCH_OUTAGE_SECONDS must be a whole number of seconds >= 1, got {text!r}")
    return float(text)


def transient(e: BaseException) -> bool:
    """Whether ``e`` says the connection was lost (worth retrying), not that the data was bad."""
    if isinstance(e, optuna.exceptions.StorageInternalError):
        e = e.__cause__ or e
    return isinstance(e, _TRANSIENT) or (isinstance(e, sqlalchemy.exc.DBAPIError) and e.connection_invalidated)


class ResilientStorage(BaseStorage, BaseHeartbeat):
    """``backend``'s every call retried through an outage of up to ``bound`` seconds.

    Args:
        backend: The storage to wrap (Optuna's cached RDB storage).
        where: The database as a person reads it (the URL without its password).
        bound: Seconds of outage to ride out; None: :func:`outage_bound`.
        say: Where the one line at the start and at the end of an outage goes.
    """

    def __init__(self, backend: Any, where: str, *, bound: float | None = None, say: Callable[[str], None] | None = None) -> None:
        self._backend, self._where = backend, where
        self._bound = outage_bound() if bound is None else bound
        self._say = say or (lambda line: print(line, file=sys.stderr, flush=True))
        interval = backend.get_heartbeat_interval() if isinstance(backend, BaseHeartbeat) else None
        self._wait_cap = float(min(10, interval or 10))  # a heartbeat retried at least once an interval
        self._grace = float(getattr(getattr(backend, "_backend", backend), "grace_period", None) or 2 * (interval or 10))
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._back_at = -float("inf")

    def __getattr__(self, name: str) -> Any:  # ``engine``, ``url``: the RDB storage's, below Optuna's cache
        if name.startswith("__") or name in ("_backend", "_where"):
            raise AttributeError(name)
        inner = self._backend
        while not hasattr(inner, name) and hasattr(inner, "_backend"):
            inner = inner._backend
        return getattr(inner, name)

    # --- the retry -----------------------------------------------------------------------------

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        method = getattr(self._backend, name)
        retrying = Retrying(
            retry=retry_if_exception(transient),
            stop=self._stop,
            wait=wait_exponential(multiplier=0.25, max=self._wait_cap),
            before_sleep=self._down,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    try:
                        result = method(*args, **kwargs)
                    except optuna.exceptions.UpdateFinishedTrialError:
                        if attempt.retry_state.attempt_number > 1 and name == "set_trial_state_values" and self._told(*args, **kwargs):
                            result = True  # the attempt before committed: the result is in, once
                        else:
                            raise
        except BaseException as e:
            if transient(e):
                first = (str(getattr(e, "orig", None) or e.__cause__ or e).strip().splitlines() or [type(e).__name__])[0]
                raise StorageUnavailable(
                    f"the study database {self._where} has been unreachable for {self._bound:.0f} s ({first}); this worker stops: "
                    "its running trial goes on from its last checkpoint when a worker takes it again (raise the bound with UNITSEARCH_OUTAGE_SECONDS)"
                ) from None
            raise
        self._up()
        return result

    def _stop(self, state: RetryCallState) -> bool:
        """Give up after ``bound`` seconds of this call, or of the outage as this process saw it.

        The second rule ends every thread's retries together: the trial's end waits for its
        heartbeat thread, which must not start a fresh bound of its own.
        """
        since = self._down_since
        return stop_after_delay(self._bound)(state) or (since is not None and time.monotonic() - since >= self._bound)

    def _told(self, trial_id: int, state: TrialState, values: Any = None) -> bool:
        try:
            return self._backend.get_trial(trial_id).state == state
        except Exception:  # noqa: BLE001  (still unreachable: let the retry say so)
            return False

    def _down(self, state: RetryCallState) -> None:
        with self._lock:
            if self._down_since is not None:
                return
            self._down_since = time.monotonic()
        self._say(f"warning: lost the study database {self._where}; retrying for up to {self._bound:.0f} s")

    def _up(self) -> None:
        if self._down_since is None:
            return
        with self._lock:
            if self._down_since is None:
                return
            seconds, self._down_since, self._back_at = time.monotonic() - self._down_since, None, time.monotonic()
        self._say(f"the study database {self._where} is back after {seconds:.0f} s")

    # --- heartbeats ------------------------------------------------------------------------------

    def record_heartbeat(self, trial_id: int) -> None:
        try:
            self._call("record_heartbeat", trial_id)
        except StorageUnavailable:
            pass  # the heartbeat thread ends quietly; the worker's next call says it, once

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        stale = self._call("_get_stale_trial_ids", study_id)
        if time.monotonic() - self._back_at < self._grace:
            return []  # the heartbeats of trials that lived through the outage are not written yet
        return stale

    def get_heartbeat_interval(self) -> int | None:
        return self._backend.get_heartbeat_interval()

    def get_heartbeat_stale_trial_callback(self) -> Callable[[optuna.Study, optuna.trial.FrozenTrial], None] | None:
        return self._backend.get_heartbeat_stale_trial_callback()

    def remove_session(self) -> None:
        self._backend.remove_session()


def _retried(name: str) -> Callable[..., Any]:
    def method(self: ResilientStorage, *args: Any, **kwargs: Any) -> Any:
        return self._call(name, *args, **kwargs)

    method.__name__ = name
    return method


for _name in (
    "create_new_study", "delete_study", "set_study_user_attr", "set_study_system_attr", "get_study_id_from_name",
    "get_study_name_from_id", "get_study_directions", "get_study_user_attrs", "get_study_system_attrs", "get_all_studies",
    "create_new_trial", "set_trial_param", "get_trial_id_from_study_id_trial_number", "get_trial_number_from_id",
    "get_trial_param", "set_trial_state_values", "set_trial_intermediate_value", "set_trial_user_attr",
    "set_trial_system_attr", "get_trial", "get_all_trials", "get_n_trials", "get_best_trial", "get_trial_params",
    "get_trial_user_attrs", "get_trial_system_attrs", "check_trial_is_updatable",
):
    setattr(ResilientStorage, _name, _retried(_name))
ResilientStorage.__abstractmethods__ = frozenset()
del _name
