"""Records become rows and sentences (streams/inbox/projection.py, words.py); API query parameters."""

from __future__ import annotations

import json

import pytest

from sandboxes.testkit.core_builders import line, order
from streams.core.details import OrderException, exception_detail
from streams.core.inputs import FetchedSnapshot
from streams.core.model import Owner
from streams.inbox import words
from streams.inbox.api import Refused, duration_ms, exception_query, time_ms
from streams.inbox.projection import RecordIn, project
from streams.kafka import topics
from streams.kafka.records import exception_record

NOW = 1_800_000_000_000


def record(topic: str, value: dict, key: str | None = "1001") -> RecordIn:
    return RecordIn(record_id="r", topic=topic, partition=0, offset=3, timestamp=NOW, key=key, value=value)


def test_an_exception_record_becomes_its_row_and_a_timeline_entry_naming_who_and_why():
    issue = OrderException(exception_id="1001:EDIT_AFTER_PICK", order_id="1001", order_name="#1001", type="EDIT_AFTER_PICK",
                  owner=Owner.CX, severity="HIGH", summary="s", detail={"status": "Picking"}, suggested_action="a",
                  state="RESOLVED", first_seen=NOW - 5, last_seen=NOW, actor="Ann", note="Told the customer")
    projected = project(record(topics.EXCEPTIONS, exception_record(issue)))
    assert projected.exception.model_dump(exclude={"record_at", "record_offset"}) == \
        issue.model_dump(mode="json") | {"owner": "CX"}
    assert (projected.exception.record_at, projected.exception.record_offset) == (NOW, 3)
    assert projected.entry.title == "Exception EDIT_AFTER_PICK resolved by Ann: “Told the customer” (Customer service)"
    assert projected.order.order_name == "#1001"


@pytest.mark.parametrize("topic,value,kind,title", [
    (topics.ORDERS_EVENTS, {"event_id": "e", "event_type": "ORDER_EDITED", "order": None}, "event",
     "Shopify: order edited"),
    (topics.COMMANDS_PEOPLEVOX, {"command_id": "c", "target": "PEOPLEVOX", "kind": "replace_sales_order",
                                 "order_version": 2, "payload_json": "{}", "attempt": 2}, "command",
     "Sent to Peoplevox: replace the sales order (attempt 3)"),
    (topics.COMMANDS_RESULTS, {"command_id": "c", "target": "INVENTORY", "kind": "adjust_inventory",
                               "outcome": "FAILED", "reason": "HTTP 502", "attempts": 8}, "result",
     "Shopify inventory: adjust stock failed: HTTP 502"),
    (topics.ORDER_INPUTS, FetchedSnapshot(snapshot=order(version=5, lines=(line("1", "TEE-M", 2), line("2", "CAP", 0)))
                                          ).model_dump(mode="json"), "read", "Read the order from Shopify: 1 line"),
    (topics.ORDER_INPUTS, {"kind": "snapshot", "snapshot": {"name": "#1001"}}, None, None),  # not an order
    (topics.ORDER_INPUTS, {"kind": "action", "action": "retry", "exception_id": "1001:X", "actor": "Ann",
                           "note": None}, "action", "Ann asked to retry 1001:X"),
    (topics.ORDER_INPUTS, {"kind": "recheck"}, "heal",
     "Peoplevox now knows the held items: the order is reconciled again"),
    (topics.ORDER_INPUTS, {"kind": "answering", "target": "ERP"}, "heal",
     "The ERP answers again: what it did not answer for this order is sent again"),
])
def test_each_topic_says_what_happened_in_plain_words(topic, value, kind, title):
    entry = project(record(topic, value)).entry
    assert (entry and entry.kind, entry and entry.title) == (kind, title)


def test_plumbing_and_keyless_records_are_not_history():
    assert project(record(topics.ORDER_INPUTS, {"kind": "tick"})).entry is None
    assert project(record(topics.EXCEPTIONS, {}, key=None)).exception is None


def said(exception_type: str, detail: dict) -> list[str]:
    """An exception's detail as the store reads it back, in words."""
    return words.what_changed(exception_detail(exception_type, detail))


def test_what_changed_reads_as_sentences():
    assert said("UNKNOWN_SKU", {"skus": ["POSTER", "LAMP"]}) == [
        "Peoplevox has no item for SKU POSTER.", "Peoplevox has no item for SKU LAMP."]
    changed = said("EDIT_AFTER_PICK", {"status": "Picking", "change": "update", "diff": {
        "lines_added": {"CAP": 1}, "lines_changed": {"TEE-M": [1, 2]},
        "address": {"before": {"address1": "1 High St"}, "after": {"address1": "3 Late Lane"}}}})
    assert changed == ["The warehouse status was Picking when the order changed; the change (update) was not sent.",
                       "Added 1 × CAP.", "TEE-M: quantity 1 → 2.",
                       "Address changed from 1 High St to 3 Late Lane."]
    assert said("ERP_SYNC_FAILED", {"command_id": "erp:upsert_sales_order:1001:5", "target": "ERP",
                                                  "outcome": "FAILED", "reason": "HTTP 400"}) == [
        "editsync tried to send the sales order in the ERP; it failed: HTTP 400."]
    assert said("PRICE_LIST_MISMATCH", {"lines": [{"line_id": "2", "sku": "HOODIE-M", "charged": "45.00",
                                                                "price_list": "42.00"}]}) == [
        "HOODIE-M was added at 45.00; the company's price list says 42.00."]
    assert said("ORDER_STALLED", {"waiting_for": "shopify_read", "since": 1795581352609}) == [
        "Waiting for Shopify to answer a read of the order since 2026-11-25T04:35:52Z (UTC)."]
    assert [words.age(ms) for ms in (4_000, 125_000, 7_300_000, 200_000_000)] == ["4 s", "2 min", "2 h", "2 d"]


def test_api_filters_are_checked_and_ages_are_durations():
    query = exception_query({"owner": "ops,Finance", "state": "open", "older_than": "2h", "limit": "10"}, NOW)
    assert (query.owners, query.states, query.first_seen_before, query.limit) == (
        ("OPS", "FINANCE"), ("OPEN",), NOW - 7_200_000, 10)
    assert duration_ms("90") == 90_000 and duration_ms("1d") == 86_400_000
    for bad in ({"owner": "SALES"}, {"state": "DONE"}, {"limit": "0"}, {"limit": "500"}, {"offset": "-1"},
                {"older_than": "soon"}, {"limit": "ten"}):
        with pytest.raises(Refused) as refused:
            exception_query(bad, NOW)
        assert refused.value.status == 400
    assert json.dumps(exception_query({}, NOW).__dict__)


def test_durations_and_offsets_the_store_cannot_hold_are_refused_not_a_server_error():
    # The store's integers are 64-bit: these reached SQLite as an OverflowError and were answered 500.
    for bad in ({"older_than": "99999999999999999999d"}, {"newer_than": "99999999999999999999"},
                {"offset": "99999999999999999999"}):
        with pytest.raises(Refused) as refused:
            exception_query(bad, NOW)
        assert refused.value.status == 400
    with pytest.raises(Refused):
        time_ms("99999999999999999999d")
    assert exception_query({"older_than": "36500d", "offset": str(2**62)}, NOW).offset == 2**62
