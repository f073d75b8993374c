"""The lag monitor against the real broker: its figures equal the records produced minus those committed.

Records are produced in multi-record batches, the case where the embedded broker's
``ListOffsets(latest)`` answers the last batch's base offset instead of the log end: a monitor
that asked ListOffsets would under-count here.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from streams.supervision.lag import LagMonitor, LagView

PARTITIONS = 3


def produce(bootstrap: str, topic: str, count: int) -> Counter:
    """``count`` records in batches; how many landed in each partition, from the delivery reports."""
    landed: Counter = Counter()

    def delivered(error, message) -> None:
        assert error is None, error
        landed[message.partition()] += 1

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50, "batch.num.messages": 500})
    for i in range(count):
        producer.produce(topic, key=str(i % 11).encode(), value=b"x", on_delivery=delivered)
    producer.flush(30)
    return landed


def commit(bootstrap: str, group: str, topic: str, offsets: dict[int, int]) -> None:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()], asynchronous=False)
    finally:
        consumer.close()


def wait_for_lags(view: LagView, expected: dict[int, int], timeout_s: float = 20.0) -> dict[int, int]:
    deadline = time.monotonic() + timeout_s
    seen: dict[int, int] = {}
    while time.monotonic() < deadline:
        seen = {p.partition: p.lag for p in view.partitions()}
        if seen == expected:
            return seen
        time.sleep(0.2)
    raise AssertionError(f"lag {seen}, expected {expected}")


def test_lag_is_produced_minus_committed_and_keeps_rising_while_nothing_commits(broker):
    topic, group = f"lag-{uuid.uuid4().hex[:8]}", f"group-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(timeout=30)
    landed = produce(broker.bootstrap, topic, 3000)
    view = LagView()
    monitor = LagMonitor(broker.bootstrap, group, lambda: [topic], view, interval_s=0.5).start()
    try:
        # Nothing committed: everything is lag.
        wait_for_lags(view, {p: landed[p] for p in range(PARTITIONS)})

        done = {p: landed[p] // 3 for p in range(PARTITIONS)}
        commit(broker.bootstrap, group, topic, done)
        wait_for_lags(view, {p: landed[p] - done[p] for p in range(PARTITIONS)})
        assert {p.partition: p.committed for p in view.partitions()} == done

        # A stuck consumer: more records arrive, nothing is committed, lag rises by exactly as many.
        more = produce(broker.bootstrap, topic, 1000)
        wait_for_lags(view, {p: landed[p] + more[p] - done[p] for p in range(PARTITIONS)})
        assert {p.partition: p.high_watermark for p in view.partitions()} == {
            p: landed[p] + more[p] for p in range(PARTITIONS)}

        # Caught up: zero.
        commit(broker.bootstrap, group, topic, {p: landed[p] + more[p] for p in range(PARTITIONS)})
        wait_for_lags(view, dict.fromkeys(range(PARTITIONS), 0))
    finally:
        monitor.stop()
