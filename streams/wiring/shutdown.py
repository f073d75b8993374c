"""Stopping on SIGINT/SIGTERM at any moment, within a bound, with exit code 0.

Before the Faust worker runs (broker, sandboxes, topics, the local state check),
a signal raises ``StopRequested`` so the start-up unwinds through its context
managers. Once the worker runs, Faust handles the signal and stops its services,
which can wait on a consumer group join in progress. Either way a stop deadline
started by the first signal ends the process after ``grace_s``: Kubernetes kills
a pod that outlives its grace period anyway, and at-least-once processing with
idempotent effects makes a hard stop safe (uncommitted input is read again).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

log = logging.getLogger(__name__)

#: Below Kubernetes' default 30 s termination grace period and the 10 s docs/operating/cli.md promises.
GRACE_S = 6.0


class StopRequested(BaseException):
    """A stop signal arrived before the worker was running (a BaseException, like KeyboardInterrupt)."""


class StopDeadline:
    def __init__(self, grace_s: float = GRACE_S, on_expiry: Callable[[], None] = lambda: None) -> None:
        self.grace_s = grace_s
        self.on_expiry = on_expiry
        # A stop for a crashed agent or a stalled partition exits non-zero (supervision/watchdog.py, stall_guard.py).
        self.exit_code = 0
        self._started = threading.Event()

    def start(self) -> None:
        if self._started.is_set():
            return
        self._started.set()
        threading.Thread(target=self._expire, name="stop-deadline", daemon=True).start()

    def _expire(self) -> None:
        threading.Event().wait(self.grace_s)
        log.warning("still stopping %.0f s after the stop signal: exiting now", self.grace_s)
        try:
            self.on_expiry()
        finally:
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(self.exit_code)

    def install_early_handlers(self) -> None:
        def stop(signum: int, _frame: FrameType | None) -> None:
            self.start()
            raise StopRequested(signal.Signals(signum).name)

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
