"""Wall-clock time as the core counts it: epoch milliseconds, read only by the shell."""

from __future__ import annotations

import time


def now_ms() -> int:
    return time.time_ns() // 1_000_000
