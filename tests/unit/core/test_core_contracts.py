"""The core's typed contracts keep reading what earlier versions stored and sent."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from sandboxes.testkit.core_builders import REFERENCE, line, order
from streams.core import inputs
from streams.core.commands import AdjustInventory, Command, ReplaceSalesOrder
from streams.core.inputs import FetchedSnapshot, NoticeIn, PeoplevoxStatus, PredecessorAnswer, SuccessorLinked
from streams.core.state import OrderState
from streams.kafka.records import command_from_record, command_record
from tests.core_harness import Harness

STORED_BEFORE_THE_RENAMES = """{"order_id": "1001", "pvx_status": "Picking", "pvx_status_at": 5, "pvx_revision": 2,
  "pvx": {"number": "1001-R2", "lines": [["TEE-M", 1]]},
  "issues": {"1001:UNKNOWN_SKU": {"exception_id": "1001:UNKNOWN_SKU", "order_id": "1001", "order_name": "#1001",
             "type": "UNKNOWN_SKU", "owner": "OPS", "severity": "HIGH", "summary": "held", "detail": {},
             "suggested_action": "add it"}}}"""


def test_order_state_stored_with_the_old_field_names_still_loads():
    state = OrderState.model_validate_json(STORED_BEFORE_THE_RENAMES)
    assert (state.peoplevox_status, state.peoplevox_status_at, state.peoplevox_revision) == ("Picking", 5, 2)
    assert state.peoplevox_sales_order.number == "1001-R2"
    assert list(state.exceptions) == ["1001:UNKNOWN_SKU"]
    assert OrderState.model_validate_json(state.model_dump_json()) == state


#: Written by the untyped engine (before payloads had models) for the scenario below: the contract on the topic.
REPLACE_PAYLOAD_JSON = (
    '{"diff": {"lines_changed": {"TEE-M": [3, 1]}, "lines_removed": {"MUG": 1, "SOCK": 2}}, "replaces": "1001", '
    '"sales_order": {"address": {"address1": "1 Wall St", "address2": null, "city": "Winterfell", "company": null, '
    '"country_code": "GB", "name": "Jon Snow", "phone": null, "province_code": null, "zip": "W1"}, '
    '"cancelled": false, "email": null, "gift_message": null, "line_notes": [], "lines": [["TEE-M", 1]], '
    '"number": "1001-R1"}}')


def test_a_typed_payload_goes_on_the_topic_exactly_as_the_untyped_one_did():
    h = Harness(reference=REFERENCE)
    h.webhook(order(lines=(line("1", "TEE-M", 3), line("2", "GIFT-BOX"))), "ORDER_CREATED")
    h.settle()
    h.webhook(order(version=2, lines=(line("1", "TEE-M", 1, original=3), line("2", "GIFT-BOX", 0, original=1))))
    h.settle()
    (replace,) = [c for c in h.sent if isinstance(c.payload, ReplaceSalesOrder)]
    record = command_record(replace, 5)
    assert record["payload_json"] == REPLACE_PAYLOAD_JSON
    assert command_from_record(record) == replace


def test_a_command_stored_in_flight_before_payloads_were_typed_still_loads():
    stored = {"command_id": "inventory:adjust_inventory:1:k:1", "order_id": "1", "order_version": 1,
              "target": "INVENTORY", "kind": "adjust_inventory", "idempotency_key": "k",
              "payload": {"stock_key": "i@l", "inventory_item_id": "i", "location_id": "l", "delta": -2,
                          "reason": "correction", "reference_document_uri": "gid://shopify/Order/1"}}
    command = Command.model_validate_json(json.dumps(stored))
    assert isinstance(command.payload, AdjustInventory) and command.payload.delta == -2


def test_a_payload_must_fit_its_kind():
    with pytest.raises(ValidationError):
        Command(command_id="c", order_id="1", order_version=1, target="ERP", kind="record_payment",
                idempotency_key="c", payload={"stock_key": "i@l", "delta": 1})


@pytest.mark.parametrize("wire, expected", [
    (b'{"kind": "tick"}', inputs.Tick()),
    (b'{"kind": "heal"}', inputs.Heal()),
    (b'{"kind": "status", "status": "Picking", "at": 7, "number": "1001"}',
     PeoplevoxStatus(status="Picking", at=7, number="1001")),
    (b'{"kind": "notice", "message": {"type": "SuccessorLinked", "successor_id": "2002"}}',
     NoticeIn(message=SuccessorLinked(successor_id="2002"))),
    (b'{"kind": "notice", "message": {"type": "PredecessorAnswer", "predecessor_id": null, "released": false, '
     b'"reason": "#9 is not an order of this shop"}}',
     NoticeIn(message=PredecessorAnswer(predecessor_id=None, released=False, reason="#9 is not an order of this shop"))),
    (b'{"kind": "fetch", "order_id": "1001"}', inputs.FetchOrder(order_id="1001")),
    (b'{"kind": "resolve", "ref": "#1001", "from_order_id": "2002", '
     b'"message": {"type": "SuccessorLinked", "successor_id": "2002"}}',
     inputs.ResolveOrder(ref="#1001", from_order_id="2002", message=SuccessorLinked(successor_id="2002"))),
])
def test_internal_messages_as_the_untyped_agents_wrote_them_decode_to_their_models(wire, expected):
    assert inputs.decode(wire) == expected
    assert inputs.decode(inputs.encode(expected)) == expected


def test_a_fetched_snapshot_round_trips_and_an_unknown_kind_is_refused():
    message = FetchedSnapshot(snapshot=order())
    assert inputs.decode(inputs.encode(message)) == message
    with pytest.raises(ValidationError):
        inputs.decode(b'{"kind": "reboot"}')
