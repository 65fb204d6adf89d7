"""A trial that fails says why: its ``status`` is ``failed`` and its ``reason`` names the cause.

The objective records failures inside training itself; this wrapper covers everything
around it (building the network, loading data, the pre-filter, an interrupt), so that no
FAIL trial keeps the ``running`` status it was given when it started. It runs inside the
trial, before Optuna records the FAIL, because a finished trial's attributes are frozen.
A trial whose worker died without a word (SIGKILL, a lost machine) is failed by the
heartbeat of another worker; its stored status cannot change then, and the report
reads its Optuna state instead.
"""

from __future__ import annotations

from collections.abc import Callable

import optuna

from ..storage import TrialStatus, write_trial
from .objective import NotRun

__all__ = ["record_failures", "failure_reason"]


def failure_reason(e: BaseException) -> str:
    """One line for the ``reason`` attribute."""
    if isinstance(e, KeyboardInterrupt):
        return "interrupted (Ctrl-C, SIGTERM or preemption) during the trial; queued again, it goes on from its last checkpoint"
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {text}"[:500] if text else type(e).__name__


def record_failures(objective: Callable[[optuna.Trial], float]) -> Callable[[optuna.Trial], float]:
    """``objective`` that marks its trial ``failed`` with a reason on any exception but a prune."""

    def run(trial: optuna.Trial) -> float:
        try:
            return objective(trial)
        except (optuna.TrialPruned, NotRun):
            raise
        except BaseException as e:
            try:
                if trial.user_attrs.get("status") in (None, "", TrialStatus.RUNNING):
                    write_trial(trial, status=TrialStatus.FAILED, reason=failure_reason(e))
            except Exception:  # noqa: BLE001  (the storage is gone: Optuna's FAIL still says it)
                pass
            raise

    return run
