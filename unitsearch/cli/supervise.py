"""SIGTERM handled as Ctrl-C, for the commands that train.

Schedulers stop a job with SIGTERM (``timeout``, Slurm, systemd), not with Ctrl-C; a
run must stop the same way for both, so that its workers record their running trials as
failed (the next run queues them again) instead of being left training as orphans.
"""

from __future__ import annotations

import functools
import signal
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["sigterm_as_interrupt", "stop_listening"]


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


def stop_listening() -> None:
    """Ignore further SIGINT and SIGTERM: the process has recorded its interrupt and is on its way out.

    A terminal's Ctrl-C reaches every process of the job, and an impatient second one (or the
    one ``run`` forwards) can land while Python shuts down, where it prints a traceback from
    whatever exit handler it interrupts.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
