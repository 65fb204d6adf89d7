"""How ``run`` looks after its worker processes: signals, how many, and how each one ended.

Schedulers stop a job with SIGTERM (``timeout``, Slurm, systemd), not with Ctrl-C; a
run must stop the same way for both, so that its workers record their running trials as
failed (the next run queues them again) instead of being left training as orphans.
"""

from __future__ import annotations

import functools
import signal
import subprocess
import threading
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape

from ..errors import UserError
from ..limits import max_local_workers

__all__ = ["sigterm_as_interrupt", "cap_workers", "worker_endings", "check_workers"]


def _forward(signum: int, frame: Any) -> None:
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):
        handler(signal.SIGINT, frame)
    else:  # SIGINT ignored or default: stop as Python's own Ctrl-C does
        raise KeyboardInterrupt


def sigterm_as_interrupt(command: Callable) -> Callable:
    """Run ``command`` with SIGTERM handled as SIGINT, whichever SIGINT handler is current then."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread() is not threading.main_thread():
            return command(*args, **kwargs)
        previous = signal.signal(signal.SIGTERM, _forward)
        try:
            return command(*args, **kwargs)
        finally:
            signal.signal(signal.SIGTERM, previous)

    return wrapper


def cap_workers(requested: int, remaining: int, *, limit: int | None = None) -> tuple[int, str | None]:
    """The number of local workers to start, and a line saying why if it is fewer than asked.

    More workers than trials left would only wait; more than :func:`max_local_workers`
    would thrash one machine's cores and memory.
    """
    limit = limit or max_local_workers()
    n = max(1, min(requested, remaining, limit))
    if n == requested:
        return n, None
    if n == max(1, remaining) and remaining < limit:
        why = "no trial is left" if remaining <= 0 else f"only {remaining} trial{'s are' if remaining > 1 else ' is'} left"
    else:
        why = f"at most {limit} run on one machine"
    return n, f"starting {n} worker{'s' if n > 1 else ''}, not {requested}: {why}"


def worker_endings(procs: Sequence[subprocess.Popen]) -> list[str]:
    """One phrase per worker that did not exit cleanly: which one, its pid, and how it ended."""
    out = []
    for i, p in enumerate(procs):
        rc = p.returncode
        if rc in (0, None):
            continue
        if rc < 0:
            try:
                how = f"was killed by {signal.Signals(-rc).name}"
            except ValueError:
                how = f"was killed by signal {-rc}"
        else:
            how = f"exited with status {rc}"
        out.append(f"worker {i} (pid {p.pid}) {how}")
    return out


def check_workers(procs: Sequence[subprocess.Popen], *, done: int, total: int, console: Console) -> None:
    """Say how the workers that died ended; an error only if the plan is not finished without them.

    The other workers, and heartbeats, retry a dead worker's trial: when every (design, seed)
    is done, the run succeeded and its leaderboard is what the user wants to see.
    """
    endings = worker_endings(procs)
    if not endings:
        return
    if done >= total:
        for line in endings:
            console.print(f"warning: {escape(line)}; the other workers finished its trials", highlight=False)
        return
    raise UserError(
        f"{'; '.join(endings)} ({len(endings)} of {len(procs)} workers); {done} of {total} trials done: "
        "see their messages above, then run the same command to resume"
    )
