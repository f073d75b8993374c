"""Time as the core counts it: epoch milliseconds, read from the wall clock only by the shell."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def epoch_ms(value: Any) -> int | None:
    """fastavro reads timestamp-millis as aware datetimes; the core counts in epoch ms. A naive time is UTC."""
    if value is None or isinstance(value, int):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    # In whole microseconds, not through a float: 1036.003 s * 1000 is 1036002.999…, a millisecond early.
    return (value - _EPOCH) // timedelta(milliseconds=1)
