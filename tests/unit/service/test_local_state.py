"""Which local table stores the broker's changelog no longer backs (no broker needed)."""

from __future__ import annotations

from pathlib import Path

from rocksdict import Rdict

from streams.supervision.local_state import OFFSET_KEY, StoredPartition, stale, stored_keys, stored_partitions


def store(partition: int, offset: int | None, rows: bool = True) -> StoredPartition:
    return StoredPartition(partition, Path(f"t-{partition}.db"), offset, rows)


def test_a_store_ahead_of_the_log_end_is_stale():
    # Faust's persisted offset is the last applied record: offset 5 needs a log end of at least 6.
    stores = [store(0, 5), store(1, 5), store(2, 4)]
    assert [s.partition for s in stale(stores, {0: 6, 1: 5, 2: 5})] == [1]


def test_a_missing_changelog_backs_nothing():
    assert [s.partition for s in stale([store(0, 0), store(3, 7)], {})] == [0, 3]


def test_rows_without_an_acknowledged_offset_are_stale_an_empty_store_is_not():
    stores = [store(0, None, rows=True), store(1, None, rows=False)]
    assert [s.partition for s in stale(stores, {0: 10, 1: 10})] == [0]


def test_reads_offsets_and_keys_from_rocksdb(tmp_path):
    for partition, offset, keys in ((0, b"12", [b"1001", b"1002"]), (1, None, [])):
        db = Rdict(str(tmp_path / f"order-state-{partition}.db"))
        if offset is not None:
            db[OFFSET_KEY] = offset
        for key in keys:
            db[key] = b"{}"
        db.close()
    (tmp_path / "order-state-backups").mkdir()
    found = stored_partitions(tmp_path, "order-state")
    assert [(s.partition, s.applied_offset, s.has_rows) for s in found] == [(0, 12, True), (1, None, False)]
    assert sorted(stored_keys(found[0].path)) == [b"1001", b"1002"]
