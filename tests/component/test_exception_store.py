"""The exception store on SQLite and on a real PostgreSQL: idempotent projection, queries, queues, timeline."""

from __future__ import annotations

import threading

import pytest

from streams.core.details import OrderException
from streams.core.model import Owner
from streams.inbox.projection import RecordIn, project
from streams.inbox.store import Batch, ExceptionQuery, Store, metadata
from streams.kafka import topics
from streams.kafka.records import exception_record
from tests.postgres import binaries, postgres_server

HOUR = 3_600_000
NOW = 1_800_000_000_000


@pytest.fixture(scope="module")
def postgres_url():
    if binaries() is None:
        pytest.skip("PostgreSQL binaries missing: `make test` installs Debian's postgresql package")
    with postgres_server() as server:
        yield server.url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}" if request.param == "sqlite" else \
        request.getfixturevalue("postgres_url")
    opened = Store(url)
    yield opened
    metadata.drop_all(opened.engine)
    opened.close()


def issue(order_id: str = "1001", kind: str = "UNKNOWN_SKU", owner: Owner = Owner.OPS, state: str = "OPEN",
          first_seen: int = NOW - HOUR, **fields) -> OrderException:
    values = dict(exception_id=f"{order_id}:{kind}", order_id=order_id, order_name=f"#{order_id}", type=kind,
                  owner=owner, severity="HIGH", summary=f"{kind} on #{order_id}", detail={"skus": ["POSTER"]},
                  suggested_action="Add the item, then retry.", state=state, first_seen=first_seen,
                  last_seen=first_seen)
    return OrderException(**(values | fields))


def record(value: dict, offset: int, topic: str = topics.EXCEPTIONS, at: int = NOW, partition: int = 0) -> RecordIn:
    return RecordIn(record_id=f"{topic}/{partition}/{offset}/{at}", topic=topic, partition=partition, offset=offset,
                    timestamp=at, key=value["order_id"], value=value)


def batch(*records: RecordIn) -> Batch:
    return Batch([project(r) for r in records], {(r.topic, r.partition): r.offset + 1 for r in records})


def test_a_redelivered_batch_changes_nothing(store):
    opened = record(exception_record(issue()), 0)
    command = record({"command_id": "c1", "order_id": "1001", "order_version": 1, "target": "ERP",
                      "kind": "upsert_sales_order", "payload_json": "{}", "attempt": 0}, 0, topics.COMMANDS_ERP)
    for _ in range(3):
        store.apply(batch(opened, command))
    page = store.list_exceptions(ExceptionQuery())
    assert page.total == 1 and page.items[0].state == "OPEN"
    assert sorted(e.kind for e in store.timeline("1001")) == ["command", "exception"]


def test_an_older_record_never_replaces_a_newer_one_and_first_seen_is_the_earliest(store):
    store.apply(batch(record(exception_record(issue(state="RESOLVED", actor="ann", note="done",
                                                    first_seen=NOW - HOUR)), 7, at=NOW)))
    store.apply(batch(record(exception_record(issue(state="OPEN", first_seen=NOW - 2 * HOUR)), 3, at=NOW - 10)))
    row = store.get_exception("1001:UNKNOWN_SKU")
    assert (row.state, row.actor, row.note, row.first_seen) == ("RESOLVED", "ann", "done", NOW - HOUR)
    store.apply(batch(record(exception_record(issue(state="OPEN", first_seen=NOW - 3 * HOUR)), 8, at=NOW + 1)))
    row = store.get_exception("1001:UNKNOWN_SKU")
    assert (row.state, row.first_seen) == ("OPEN", NOW - 3 * HOUR)


def test_a_recreated_topic_starts_at_offset_zero_and_its_newer_records_still_win(store):
    store.apply(batch(record(exception_record(issue(state="OPEN")), 40, at=NOW)))
    store.apply(batch(record(exception_record(issue(state="RETRYING", actor="ann")), 0, at=NOW + 5)))
    assert store.get_exception("1001:UNKNOWN_SKU").state == "RETRYING"


def test_filters_by_owner_type_state_and_age_and_pages_oldest_first(store):
    rows = [issue(str(1000 + n), kind, owner, state, first_seen=NOW - n * HOUR)
            for n, (kind, owner, state) in enumerate([
                ("UNKNOWN_SKU", Owner.OPS, "OPEN"), ("EDIT_AFTER_PICK", Owner.CX, "OPEN"),
                ("ERP_SYNC_FAILED", Owner.FINANCE, "RETRYING"), ("UNKNOWN_SKU", Owner.OPS, "RESOLVED"),
                ("REFUND_NOT_POSTED", Owner.FINANCE, "OPEN"), ("EDIT_AFTER_PICK", Owner.OPS, "IGNORED")])]
    store.apply(batch(*(record(exception_record(r), n) for n, r in enumerate(rows))))

    def ids(**query) -> list[str]:
        return [row.order_id for row in store.list_exceptions(ExceptionQuery(**query)).items]

    assert ids(owners=("FINANCE",)) == ["1004", "1002"]
    assert ids(types=("UNKNOWN_SKU",), states=("OPEN",)) == ["1000"]
    assert ids(states=("OPEN", "RETRYING"), first_seen_before=NOW - 2 * HOUR) == ["1004", "1002"]
    assert ids(first_seen_after=NOW - HOUR) == ["1001", "1000"]
    assert ids(order_id="1003") == ["1003"]
    first, second = (store.list_exceptions(ExceptionQuery(limit=4, offset=o)) for o in (0, 4))
    assert first.total == second.total == 6
    assert [r.order_id for r in first.items + second.items] == ["1005", "1004", "1003", "1002", "1001", "1000"]
    queues = {q.owner: q for q in store.queues(["FINANCE", "OPS", "CX"])}
    assert (queues["FINANCE"].open, queues["FINANCE"].retrying, queues["FINANCE"].oldest_first_seen) == \
        (1, 1, NOW - 4 * HOUR)
    assert (queues["OPS"].open, queues["OPS"].retrying) == (1, 0), "resolved and ignored are not queued"
    assert (queues["CX"].open, queues["CX"].oldest_first_seen) == (1, NOW - HOUR)


def test_the_timeline_is_in_time_order_and_names_what_happened(store):
    event = {"order_id": "1001", "event_id": "e1", "event_type": "ORDER_CREATED", "payload_complete": True,
             "order": {"name": "#1001"}}
    result = {"command_id": "c1", "order_id": "1001", "order_version": 1, "target": "PEOPLEVOX",
              "kind": "create_sales_order", "outcome": "FAILED", "reason": "Item code POSTER not found",
              "attempts": 1}
    store.apply(batch(record(result, 0, topics.COMMANDS_RESULTS, at=NOW + 2)))
    store.apply(batch(record(event, 0, topics.ORDERS_EVENTS, at=NOW),
                      record({"order_id": "1001", "kind": "tick"}, 0, topics.ORDER_INPUTS, at=NOW + 1),
                      record({"order_id": "1001", "kind": "status", "status": "Picking", "number": "1001",
                              "at": NOW + 3}, 1,
                             topics.ORDER_INPUTS, at=NOW + 3)))
    assert [e.title for e in store.timeline("1001")] == [
        "Shopify: order created",
        "Peoplevox: create the sales order failed: Item code POSTER not found",
        "Peoplevox: sales order 1001 is Picking"]
    assert store.order("1001").order_name == "#1001"
    assert [o.order_id for o in store.orders_changed(NOW + 1)] == ["1001"]
    assert store.orders_changed(NOW + 4) == []


def test_read_positions_only_move_forward(store):
    store.apply(Batch([], {(topics.EXCEPTIONS, 0): 10, (topics.EXCEPTIONS, 1): 3}))
    store.apply(Batch([], {(topics.EXCEPTIONS, 0): 4, (topics.EXCEPTIONS, 1): 5}))
    assert store.positions() == {(topics.EXCEPTIONS, 0): 10, (topics.EXCEPTIONS, 1): 5}


def test_two_workers_projecting_the_same_records_into_one_postgresql_agree(postgres_url):
    """Every worker projects every partition (group-less): concurrent identical writes must converge."""
    stores = [Store(postgres_url), Store(postgres_url)]
    try:
        history = [exception_record(issue(str(2000 + n % 20), state=("OPEN", "RETRYING", "RESOLVED")[n // 20]))
                   for n in range(60)]
        records = [record(value, n, at=NOW + n) for n, value in enumerate(history)]
        errors: list[BaseException] = []

        def project_all(s: Store) -> None:
            try:
                for start in range(0, len(records), 7):
                    s.apply(batch(*records[start:start + 7]))
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=project_all, args=(s,)) for s in stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        for s in stores:
            page = s.list_exceptions(ExceptionQuery(limit=100))
            assert page.total == 20 and {row.state for row in page.items} == {"RESOLVED"}
            assert len(s.timeline("2000")) == 3
    finally:
        metadata.drop_all(stores[0].engine)
        for s in stores:
            s.close()


def in_threads(*calls) -> list[BaseException]:
    """Run each call in its own thread, all released at once; the errors they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(calls))

    def run(call) -> None:
        try:
            start.wait()
            call()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_workers_starting_together_on_an_empty_postgresql_all_open_the_store(postgres_url):
    opened: list[Store] = []
    try:
        assert in_threads(*[lambda: opened.append(Store(postgres_url))] * 6) == []
        assert len(opened) == 6
    finally:
        if opened:
            metadata.drop_all(opened[0].engine)
        for s in opened:
            s.close()


def test_two_writers_whose_fetches_bring_the_partitions_in_opposite_orders_never_deadlock(postgres_url):
    """Each worker's consumer returns partitions in its own order: the same rows, locked in two orders."""
    stores = [Store(postgres_url), Store(postgres_url)]
    records = [record(exception_record(issue(str(3000 + 100 * p + n))), n, at=NOW + n, partition=p)
               for p in range(8) for n in range(10)]
    rounds = [[r for r in records if r.offset == n] for n in range(10)]

    def project_all(s: Store, reverse: bool) -> None:
        for _ in range(10):
            for taken in rounds:
                s.apply(batch(*(reversed(taken) if reverse else taken)))

    try:
        assert in_threads(lambda: project_all(stores[0], False), lambda: project_all(stores[1], True)) == []
        assert stores[0].list_exceptions(ExceptionQuery(limit=200)).total == 80
        assert stores[1].positions() == {(topics.EXCEPTIONS, p): 10 for p in range(8)}
    finally:
        metadata.drop_all(stores[0].engine)
        for s in stores:
            s.close()
