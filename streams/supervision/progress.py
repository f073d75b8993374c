"""When each partition this worker owns last made progress, as the agents themselves report it.

A Faust sensor sees every event an agent finishes (``on_stream_event_out``),
so no agent loop needs a hook of its own. Partitions are dated from the
moment they were assigned, so one that never processes anything after an
assignment ages like one that stopped. Together with the lag (which comes
from the broker) this tells a stalled partition (lag and no progress) from
an idle one (no lag).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import faust
from faust.types import TP, EventT, StreamT
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from streams.supervision.lag import TopicPartitionKey


class Progress(Collector):
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._topics: frozenset[str] | None = None
        self._owned: frozenset[TopicPartitionKey] | None = None
        self._last: dict[TopicPartitionKey, float] = {}

    def watch_topics(self, topics: Iterable[str]) -> None:
        """Only these topics count (Faust also assigns changelog partitions, which no agent iterates)."""
        self._topics = frozenset(topics)

    def owned(self) -> frozenset[TopicPartitionKey] | None:
        """The consumed partitions this worker owns now; None until the first assignment."""
        return self._owned

    def assigned(self, partitions: Iterable[TopicPartitionKey]) -> None:
        now = self._clock()
        owned = frozenset(p for p in partitions if self._topics is None or p[0] in self._topics)
        self._last = {p: self._last.get(p, now) if p in (self._owned or ()) else now for p in owned}
        self._owned = owned

    def revoked(self, partitions: Iterable[TopicPartitionKey]) -> None:
        gone = set(partitions)
        self._owned = frozenset(p for p in self._owned or () if p not in gone)
        self._last = {p: at for p, at in self._last.items() if p not in gone}

    def processed(self, partition: TopicPartitionKey) -> None:
        self._last[partition] = self._clock()

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "editsync_partition_last_progress_timestamp_seconds",
            "When an agent last finished a record of this partition, or when the partition was assigned "
            "(Unix time). time() minus this is how long the partition has not moved.",
            labels=["topic", "partition"])
        for (topic, partition), at in sorted(self._last.items()):
            family.add_metric([topic, str(partition)], at)
        yield family


class ProgressSensor(faust.Sensor):
    """Feeds ``Progress`` and the processed-records counter from Faust's own event bookkeeping."""

    def __init__(self, progress: Progress, count: Callable[[str], None]) -> None:
        super().__init__()
        self._progress, self._count = progress, count

    def on_stream_event_out(self, tp: TP, offset: int, stream: StreamT, event: EventT,
                            state: dict | None = None) -> None:
        self._progress.processed((tp.topic, tp.partition))
        self._count(tp.topic)
