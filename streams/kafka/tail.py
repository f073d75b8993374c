"""``editsync tail TOPIC``: print a topic's records as JSON lines, decoded from Avro.

For operators and the walkthrough in docs/try-it.md. Reads by assigning partitions
(no consumer group), so it never disturbs the workers' offsets.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from collections.abc import Generator
from contextlib import closing
from datetime import datetime
from itertools import islice
from typing import Any, TextIO

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, Message, TopicPartition

from streams.kafka.avro_codec import AvroCodec, DecodeError
from streams.kafka.topics import BY_NAME, INTERNAL, TOPICS


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(value).decode()}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


class NoSuchTopic(LookupError):
    """The broker has no such topic: a typo, or a topic editsync has not created yet."""


def _value(codec: AvroCodec, topic: str, data: bytes | None) -> Any:
    """Avro for the topics with a schema; editsync's internal topics (and Faust's) carry JSON."""
    if data is None:
        return None
    if topic in BY_NAME:
        try:
            return _jsonable(codec.decode(topic, data))
        except DecodeError as exc:
            return {"undecodable": str(exc)}
    try:
        return json.loads(data)
    except ValueError:
        return _jsonable(data)


def where(message: Message) -> tuple[str, int, int]:
    """Topic, partition and offset of a consumed record (librdkafka leaves them unset only on error events)."""
    topic, partition, offset = message.topic(), message.partition(), message.offset()
    if topic is None or partition is None or offset is None:
        raise ValueError(f"not a consumed record: {message.error()}")
    return topic, partition, offset


def read_records(bootstrap: str, topic: str, *, from_beginning: bool, idle_timeout_s: float,
                 deadline_s: float | None = None, to_end: bool = False) -> Generator[Message, None, None]:
    """A topic's records from every partition, assigned directly (no consumer group).

    Stops once nothing arrived for ``idle_timeout_s``, or ``deadline_s`` after
    the start; with ``to_end``, only once every partition was also read up to
    the end ListOffsets gave when reading began, so a slow first fetch is not
    mistaken for an empty topic (on Tansu that end is the last batch's first
    offset; the idle timeout reads the rest of that batch, which comes in the
    same fetch). The consumer is closed when the iterator is.
    """
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "editsync-reader",
                         "enable.auto.commit": False, "log_level": 3})
    try:
        found = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if found is None or found.error is not None or not found.partitions:
            raise NoSuchTopic(f"no topic {topic!r} on {bootstrap}; editsync's are "
                              + ", ".join([spec.name for spec in TOPICS] + list(INTERNAL)))
        partitions = found.partitions
        start = OFFSET_BEGINNING if from_beginning else OFFSET_END
        # Watermarks, not ListOffsets: Tansu answers that with the last batch's first offset (supervision/lag.py).
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in partitions} if to_end else {}
        consumer.assign([TopicPartition(topic, p, start) for p in partitions])
        started = last = time.monotonic()
        while (time.monotonic() - last < idle_timeout_s or any(ends.values())) and (
                deadline_s is None or time.monotonic() - started < deadline_s):
            message = consumer.poll(0.2)
            if message is None or message.error():
                continue
            last = time.monotonic()
            _, partition, offset = where(message)
            if partition in ends and offset + 1 >= ends[partition]:
                ends[partition] = 0  # read up to where it ended when reading began
            yield message
    finally:
        consumer.close()


def tail(bootstrap: str, topic: str, codec: AvroCodec, from_beginning: bool, limit: int | None,
         idle_timeout_s: float, out: TextIO = sys.stdout) -> int:
    """Print records until ``limit`` were printed or nothing arrived for ``idle_timeout_s``."""
    printed = 0
    with closing(read_records(bootstrap, topic, from_beginning=from_beginning,
                              idle_timeout_s=idle_timeout_s)) as records:
        for message in islice(records, limit):
            value = _value(codec, topic, message.value())
            raw_key = message.key()
            key = raw_key.decode("utf-8", "replace") if raw_key is not None else None
            out.write(json.dumps({"key": key, "partition": message.partition(), "offset": message.offset(),
                                  "value": value}) + "\n")
            out.flush()
            printed += 1
    return printed
