"""A small fact the whole fleet shares, kept on the broker: a one-partition compacted topic read whole.

For what a worker does on behalf of the fleet and every later worker must
know of (the Peoplevox subscription the leader made). One partition keeps
every append in one order, so "the latest record" means the same to every
worker; compaction keeps the latest record of each key. Values are JSON.

The end of the partition is where the consumer reports ``PARTITION_EOF``: the
Fetch response's high watermark, which the embedded broker answers right (its
ListOffsets answer does not, see streams/supervision/lag.py).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition


class LedgerError(RuntimeError):
    """The broker did not answer a read or an append in time: try again later."""


class KafkaLedger:
    def __init__(self, bootstrap: str, topic: str, timeout_s: float = 15.0) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.timeout_s = timeout_s

    async def read(self) -> list[tuple[int, dict[str, Any]]]:
        """Every record on the topic as (offset, value), oldest first, up to the end it has now."""
        return await asyncio.to_thread(self._read)

    async def append(self, key: str, value: dict[str, Any]) -> int:
        """Append once the broker acknowledged it (all replicas); answer its offset."""
        return await asyncio.to_thread(self._append, key, value)

    def _read(self) -> list[tuple[int, dict[str, Any]]]:
        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "editsync-ledger-reader",
                             "enable.auto.commit": False, "enable.partition.eof": True,
                             "fetch.wait.max.ms": 50, "log_level": 3})
        try:
            consumer.assign([TopicPartition(self.topic, 0, OFFSET_BEGINNING)])
            records: list[tuple[int, dict[str, Any]]] = []
            deadline = time.monotonic() + self.timeout_s
            while time.monotonic() < deadline:
                message = consumer.poll(0.2)
                if message is None:
                    continue
                error = message.error()
                if error is not None and error.code() == KafkaError._PARTITION_EOF:
                    return records
                value, offset = message.value(), message.offset()
                if error is None and value is not None and offset is not None:
                    records.append((offset, json.loads(value)))
            raise LedgerError(f"{self.topic} not read to its end within {self.timeout_s} s")
        finally:
            consumer.close()

    def _append(self, key: str, value: dict[str, Any]) -> int:
        producer = Producer({"bootstrap.servers": self.bootstrap, "acks": "all", "log_level": 3})
        delivered: list[Any] = []
        try:
            producer.produce(self.topic, key=key.encode(), value=json.dumps(value).encode(), partition=0,
                             on_delivery=lambda error, message: delivered.append(error or message))
        except KafkaException as error:
            raise LedgerError(f"{self.topic}: append refused ({error})") from error
        producer.flush(self.timeout_s)
        if not delivered or isinstance(delivered[0], KafkaError):
            raise LedgerError(f"{self.topic}: append not acknowledged ({delivered[0] if delivered else 'timed out'})")
        return delivered[0].offset()
