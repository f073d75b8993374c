"""Read a topic from the beginning in tests, through the same group-less reader `editsync tail` uses."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing

from streams.kafka.tail import read_records


def read_topic(bootstrap: str, topic: str, until: Callable[[list], bool] | None = None,
               timeout_s: float = 20.0, idle_s: float = 1.0) -> list:
    """Messages of ``topic`` until ``until(messages)`` holds, or else every message it held when reading began
    (and any that follow within ``idle_s``).

    With ``until`` given, raises AssertionError if it does not hold by ``timeout_s``.
    """
    messages: list = []
    idle = timeout_s if until is not None else idle_s
    with closing(read_records(bootstrap, topic, from_beginning=True, idle_timeout_s=idle,
                              deadline_s=timeout_s, to_end=until is None)) as records:
        for message in records:
            messages.append(message)
            if until is not None and until(messages):
                return messages
    if until is not None:
        raise AssertionError(f"condition not met on {topic} within {timeout_s}s ({len(messages)} messages)")
    return messages
