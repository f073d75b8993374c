"""Feeds the exception store from the topics: every partition, no consumer group.

Each worker reads every partition itself (assigned, not subscribed) so that
with SQLite each worker's store holds every exception and any worker answers
any question; with a shared PostgreSQL the workers write the same rows, which
the store's idempotent writes make harmless. A consumer group would give each
worker only its own partitions' exceptions, which a per-worker store cannot
serve. Reading positions are kept in the store, in the same transaction as
the rows, so a restart neither skips nor (visibly) repeats anything.

The embedded broker forgets its log on restart while the store remembers its
positions, and it answers a fetch past the end with nothing rather than
OFFSET_OUT_OF_RANGE: a position beyond the high watermark of the broker's own
fetch answers means the log started again, and the partition is read anew.

A write the database refuses for a passing reason (PostgreSQL restarting or
failing over, SQLite busy) is tried again, the same batch, until it lands:
a store that stopped following on the first blip would show every worker a
queue frozen at that moment.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition
from sqlalchemy.exc import OperationalError

from streams.inbox.projection import PROJECTED_TOPICS, RecordIn, project
from streams.inbox.store import Batch, Store
from streams.kafka import topics
from streams.kafka.avro_codec import AvroCodec, DecodeError
from streams.kafka.tail import where

log = logging.getLogger(__name__)
BATCH = 500
MAX_RETRY_WAIT_S = 30.0


def record_id(message: Message) -> str:
    digest = hashlib.sha256()
    _, timestamp = message.timestamp()
    topic, partition, _ = where(message)
    for part in (topic.encode(), str(partition).encode(), str(timestamp).encode(),
                 message.key() or b"", message.value() or b""):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()[:40]


class Tailer:
    def __init__(self, bootstrap: str, codec: AvroCodec, store: Store) -> None:
        self._bootstrap = bootstrap
        self._codec = codec
        self._store = store
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="exception-store", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        consumer = Consumer({"bootstrap.servers": self._bootstrap, "group.id": "editsync-exception-store",
                             "enable.auto.commit": False, "auto.offset.reset": "earliest", "log_level": 3})
        try:
            assigned = self._assign(consumer)
            unproven = {tp for tp, start in assigned.items() if start >= 0}  # stored positions not yet checked
            while not self._stop.is_set():
                messages = consumer.consume(BATCH, 0.5)
                batch = Batch()
                for message in messages:
                    if message.error():
                        continue
                    topic, partition, offset = where(message)
                    unproven.discard((topic, partition))
                    batch.positions[(topic, partition)] = offset + 1
                    projected = self._project(message)
                    if projected is not None:
                        batch.projected.append(projected)
                if batch.positions and not self._write(batch):
                    return  # stopping: the batch is read again on the next start
                if unproven:
                    self._check_restarted_logs(consumer, assigned, unproven)
        except Exception:
            log.exception("the exception store stopped following the topics")
        finally:
            consumer.close()

    def _write(self, batch: Batch) -> bool:
        """Apply the batch, waiting out a database that is away; False if the tailer stops first."""
        wait_s = 0.5
        while True:
            try:
                self._store.apply(batch)
                return True
            except OperationalError as error:
                log.warning("the exception store could not write (%s); trying again in %.1f s",
                            type(error.orig).__name__, wait_s)
            if self._stop.wait(wait_s):
                return False
            wait_s = min(wait_s * 2, MAX_RETRY_WAIT_S)

    def _assign(self, consumer: Consumer) -> dict[tuple[str, int], int]:
        stored = self._store.positions()
        assigned: dict[tuple[str, int], int] = {}
        for topic in PROJECTED_TOPICS:
            for partition in consumer.list_topics(topic, timeout=10).topics[topic].partitions:
                assigned[(topic, partition)] = stored.get((topic, partition), OFFSET_BEGINNING)
        consumer.assign([TopicPartition(t, p, offset) for (t, p), offset in assigned.items()])
        return assigned

    def _check_restarted_logs(self, consumer: Consumer, assigned: dict[tuple[str, int], int],
                              unproven: set[tuple[str, int]]) -> None:
        for topic, partition in list(unproven):
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
            if high < 0:
                continue  # no fetch answered yet
            unproven.discard((topic, partition))
            if high < assigned[(topic, partition)]:
                log.warning("%s[%d] ends at %d, below the store's position %d: the log started again, "
                            "reading it anew", topic, partition, high, assigned[(topic, partition)])
                self._store.forget_positions(topic, [partition])
                consumer.seek(TopicPartition(topic, partition, 0))

    def _project(self, message: Message) -> Any:
        topic, partition, offset = where(message)
        try:
            body = message.value() or b""  # a tombstone reads as nothing, and is skipped below
            value = json.loads(body) if topic == topics.ORDER_INPUTS else self._codec.decode(topic, body)
            _, timestamp = message.timestamp()
            return project(RecordIn(record_id=record_id(message), topic=topic, partition=partition,
                                    offset=offset, timestamp=timestamp,
                                    key=(message.key() or b"").decode("utf-8", "replace") or None, value=value))
        except (DecodeError, ValueError, KeyError, TypeError) as error:
            # The agents dead-letter what they cannot read; the store just does not show it.
            log.warning("exception store skipped %s[%d]@%d: %s", topic, partition, offset, error)
            return None
