"""In-memory downstream systems behind the same protocols as the real clients (``connectors/ports.py``).

Their coroutines never wait on anything, so :func:`run_now` runs one to completion in place.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_now(coroutine: Coroutine[Any, Any, T]) -> T:
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise AssertionError("a fake downstream system awaited something real")
