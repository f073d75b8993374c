"""Consumer lag that keeps rising when the consumer is stuck, measured beside the agents, not by them.

Lag is the distance from the group's committed offset to the partition's
high watermark. Both ends are read here, on a thread of its own, so a stuck
or crashed agent cannot freeze the figure (Faust's own view of end offsets
is refreshed only by its fetches: faust-streaming PR #139):

- the high watermark comes from *Fetch* responses. A consumer with no group
  is assigned every partition of the consumed topics and keeps fetching (and
  discarding) from the end, so librdkafka's cached watermarks stay fresh.
  A ``ListOffsets(latest)`` request is never used: the embedded Tansu broker
  answers it with the last batch's base offset, not the log end (docs/architecture.md,
  "Known limits of the embedded broker"), which would under-report lag;
- the committed offsets come from the broker (``OffsetFetch`` through
  ``AdminClient.list_consumer_group_offsets``), the only progress that
  survives a crash.

Each worker exports the partitions it owns (``owned``), so with several
workers the per-partition series are disjoint and ``sum without (instance)``
adds up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from confluent_kafka import OFFSET_END, Consumer, ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)
TopicPartitionKey = tuple[str, int]


def partition_lag(high_watermark: int, low_watermark: int, committed: int | None) -> int:
    """Records the group still has to process in one partition.

    With nothing committed (or a commit below the log start, after retention)
    the group starts from the log start, so all of the log is lag.
    """
    start = max(committed if committed is not None and committed >= 0 else low_watermark, low_watermark, 0)
    return max(0, high_watermark - start)


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    high_watermark: int
    committed: int | None
    lag: int


class LagView(Collector):
    """The latest figures the monitor measured, exported for the partitions this worker owns."""

    def __init__(self) -> None:
        self.group = ""
        self._partitions: tuple[PartitionLag, ...] = ()
        self._refreshed_at: float | None = None
        self._owned: Callable[[], frozenset[TopicPartitionKey] | None] = lambda: None

    def export_only(self, owned: Callable[[], frozenset[TopicPartitionKey] | None]) -> None:
        """Limit the export to what ``owned()`` names (None: everything, e.g. a monitor outside a worker)."""
        self._owned = owned

    def update(self, group: str, partitions: Iterable[PartitionLag], at: float) -> None:
        # One assignment of a new tuple: the scrape (another thread) sees the old or the new figures, whole.
        self.group, self._partitions, self._refreshed_at = group, tuple(partitions), at

    @property
    def refreshed_at(self) -> float | None:
        """When the figures were measured (Unix time); None before the first measurement."""
        return self._refreshed_at

    def partitions(self) -> tuple[PartitionLag, ...]:
        owned = self._owned()
        return tuple(p for p in self._partitions if owned is None or (p.topic, p.partition) in owned)

    def collect(self) -> Iterable[GaugeMetricFamily]:
        labels = ["group", "topic", "partition"]
        lag = GaugeMetricFamily("editsync_consumer_lag",
                                "Records not yet committed by the consumer group: high watermark (from fetch "
                                "responses) minus committed offset, for the partitions this worker owns.",
                                labels=labels)
        committed = GaugeMetricFamily("editsync_consumer_committed_offset",
                                      "The consumer group's committed offset (next record to process).", labels=labels)
        high = GaugeMetricFamily("editsync_consumer_high_watermark",
                                 "The partition's high watermark as the last fetch response reported it.",
                                 labels=["topic", "partition"])
        for p in self.partitions():
            key = [self.group, p.topic, str(p.partition)]
            lag.add_metric(key, p.lag)
            high.add_metric(key[1:], p.high_watermark)
            if p.committed is not None:
                committed.add_metric(key, p.committed)
        refreshed = GaugeMetricFamily("editsync_lag_monitor_refreshed_timestamp_seconds",
                                      "When the lag monitor last measured (Unix time); stale means lag is unknown.")
        if self._refreshed_at is not None:
            refreshed.add_metric([], self._refreshed_at)
        yield from (lag, committed, high, refreshed)


class LagMonitor:
    """Measures a consumer group's lag every ``interval_s`` on its own thread, into a ``LagView``."""

    def __init__(self, bootstrap: str, group: str, topics: Callable[[], Iterable[str]], view: LagView,
                 interval_s: float = 2.0, clock: Callable[[], float] = time.time) -> None:
        self._bootstrap, self._group, self._topics = bootstrap, group, topics
        self._view, self._interval_s, self._clock = view, interval_s, clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="editsync-lag-monitor", daemon=True)

    def start(self) -> LagMonitor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        # No group: this consumer never joins, never commits, and so never disturbs the group it watches.
        consumer = Consumer({"bootstrap.servers": self._bootstrap, "group.id": f"{self._group}.lag-monitor",
                             "enable.auto.commit": False, "enable.partition.eof": False,
                             "fetch.wait.max.ms": int(self._interval_s * 500),
                             "queued.max.messages.kbytes": 1024, "auto.offset.reset": "latest"})
        admin = AdminClient({"bootstrap.servers": self._bootstrap})
        assigned: set[TopicPartitionKey] = set()
        next_measure = 0.0
        try:
            while not self._stop.is_set():
                try:
                    if time.monotonic() >= next_measure:
                        assigned = self._reassign(consumer, admin, assigned)
                        self._measure(consumer, admin, assigned)
                        next_measure = time.monotonic() + self._interval_s
                    # Fetching from the end keeps the cached high watermarks current; the records are dropped.
                    consumer.consume(num_messages=1000, timeout=min(0.5, self._interval_s))
                except KafkaException as error:
                    log.warning("lag monitor: %s; measuring again in %.0f s", error, self._interval_s)
                    self._stop.wait(self._interval_s)
        finally:
            consumer.close()

    def _reassign(self, consumer: Consumer, admin: AdminClient,
                  assigned: set[TopicPartitionKey]) -> set[TopicPartitionKey]:
        wanted = set(self._topics())
        metadata = admin.list_topics(timeout=5)
        partitions = {(name, p) for name, topic in metadata.topics.items() if name in wanted
                      for p in topic.partitions}
        if partitions != assigned:
            consumer.assign([TopicPartition(t, p, OFFSET_END) for t, p in sorted(partitions)])
        return partitions

    def _measure(self, consumer: Consumer, admin: AdminClient, assigned: set[TopicPartitionKey]) -> None:
        committed = self._committed(admin)
        figures = []
        for topic, partition in sorted(assigned):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
            if high < 0:
                continue  # no fetch answered yet for this partition: unknown, not zero
            done = committed.get((topic, partition))
            figures.append(PartitionLag(topic, partition, high, done, partition_lag(high, max(low, 0), done)))
        self._view.update(self._group, figures, self._clock())

    def _committed(self, admin: AdminClient) -> dict[TopicPartitionKey, int]:
        futures = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(self._group)])
        answer = futures[self._group].result(timeout=10)
        return {(tp.topic, tp.partition): tp.offset for tp in answer.topic_partitions or () if tp.offset >= 0}
