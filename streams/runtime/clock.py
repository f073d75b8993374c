"""Time as the core counts it: epoch milliseconds, read from the wall clock only by the shell."""

from __future__ import annotations

import time
from typing import Any


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def epoch_ms(value: Any) -> int | None:
    """fastavro reads timestamp-millis as aware datetimes; the core counts in epoch ms."""
    if value is None or isinstance(value, int):
        return value
    return int(value.timestamp() * 1000)
