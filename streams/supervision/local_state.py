"""Local table stores checked against the broker they belong to, before the worker starts.

Each RocksDB store of a table partition remembers the last changelog offset it
applied. When the broker's changelog holds fewer records than that, the store
describes a history the broker no longer has: the embedded broker keeps its log
in memory, and in production a changelog topic can be deleted and recreated.
Faust refuses to start on such a store (``ConsistencyError``). editsync instead
discards the store and lets the orders it held heal from the source of truth:
their ids are read from the store before it goes, and each gets a ``rebuild``
input, so the order-state agent re-reads it from Shopify and re-derives what to
send (every command id is deterministic, so nothing already done happens twice).

The high watermark comes from a Fetch response (librdkafka caches it per
partition), never from ListOffsets, which the embedded broker answers wrongly.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

log = logging.getLogger(__name__)

#: Where Faust's RocksDB store keeps the applied changelog offset of a partition.
OFFSET_KEY = b"__faust\0offset__"


@dataclass(frozen=True)
class StoredPartition:
    partition: int
    path: Path
    applied_offset: int | None  # None: no changelog write of this store was acknowledged yet
    has_rows: bool


def stale(stores: Iterable[StoredPartition], end_offsets: Mapping[int, int]) -> list[StoredPartition]:
    """Stores the changelog does not back: they claim an offset at or past the log end the broker
    reports (a missing topic ends at 0), or hold rows without any acknowledged changelog offset
    (stopped before the offset was recorded: the rows may belong to a log that is gone)."""
    return [store for store in stores
            if (store.applied_offset is None and store.has_rows)
            or (store.applied_offset is not None and store.applied_offset >= end_offsets.get(store.partition, 0))]


def stored_partitions(tabledir: Path, table: str) -> list[StoredPartition]:
    from rocksdict import AccessType, Rdict

    found = []
    for path in sorted(tabledir.glob(f"{table}-*.db")):
        suffix = path.name[len(table) + 1:-len(".db")]
        if not suffix.isdigit():
            continue
        db = Rdict(str(path), access_type=AccessType.read_only())
        try:
            raw = db.get(OFFSET_KEY)
            has_rows = any(key != OFFSET_KEY for key in db.keys())
        finally:
            db.close()
        found.append(StoredPartition(int(suffix), path, int(raw) if raw is not None else None, has_rows))
    return found


def stored_keys(path: Path) -> list[bytes]:
    from rocksdict import AccessType, Rdict

    db = Rdict(str(path), access_type=AccessType.read_only())
    try:
        return [cast(bytes, key) for key in db.keys() if key != OFFSET_KEY]  # Faust's stores key by bytes
    finally:
        db.close()


def end_offsets(bootstrap: str, topic: str, partitions: Iterable[int], timeout_s: float = 10.0) -> dict[int, int]:
    """Log end offset per partition as Fetch responses report it (0 for a topic that does not exist)."""
    wanted = sorted(set(partitions))
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "editsync-local-state-check",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 50, "log_level": 3})
    try:
        metadata = consumer.list_topics(timeout=timeout_s).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return {p: 0 for p in wanted}
        present = [p for p in wanted if p in metadata.partitions]
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in present])
        ends: dict[int, int] = {p: 0 for p in wanted}
        pending = set(present)
        deadline = time.monotonic() + timeout_s
        while pending and time.monotonic() < deadline:
            consumer.poll(0.1)
            for p in list(pending):
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), cached=True)
                if high >= 0:
                    ends[p] = high
                    pending.discard(p)
        if pending:
            raise TimeoutError(f"no fetch answer for {topic} partitions {sorted(pending)} in {timeout_s} s")
        return ends
    finally:
        consumer.close()


def discard_stale_stores(bootstrap: str, tabledir: Path, table: str, changelog: str) -> list[str]:
    """Remove the stores of ``table`` the broker's changelog does not back; return the order ids they held."""
    stores = stored_partitions(tabledir, table)
    if not stores:
        return []
    gone = stale(stores, end_offsets(bootstrap, changelog, [s.partition for s in stores]))
    order_ids: list[str] = []
    for store in gone:
        order_ids.extend(key.decode() for key in stored_keys(store.path))
        shutil.rmtree(store.path)
    if gone:
        log.warning("local state of %s partitions %s is ahead of changelog %s (recreated, or an embedded broker "
                    "that started empty): discarded it; %d orders will be rebuilt from Shopify", table,
                    [s.partition for s in gone], changelog, len(order_ids))
    return order_ids
