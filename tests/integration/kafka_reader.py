"""Read a topic from the beginning by assigning partitions directly.

No consumer group: no join to wait for, and nothing the service's own
group could notice.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition


def read_topic(bootstrap: str, topic: str, partitions: int, until: Callable[[list], bool] | None = None,
               timeout_s: float = 20.0, idle_s: float = 1.0) -> list:
    """Messages of ``topic`` until ``until(messages)`` holds, or until ``idle_s`` passes with nothing new.

    With ``until`` given, raises AssertionError if it does not hold by ``timeout_s``.
    """
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "editsync-tests-reader",
                         "enable.auto.commit": False, "log_level": 3})
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    messages: list = []
    deadline = time.monotonic() + timeout_s
    last_new = time.monotonic()
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and not message.error():
                messages.append(message)
                last_new = time.monotonic()
            if until is not None and until(messages):
                return messages
            if until is None and time.monotonic() - last_new > idle_s:
                return messages
    finally:
        consumer.close()
    if until is not None:
        raise AssertionError(f"condition not met on {topic} within {timeout_s}s ({len(messages)} messages)")
    return messages
