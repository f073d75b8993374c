import calendar
import json

import pytest

from sandboxes.testkit.support import payload
from streams.ingress.normalise import NormaliseError, event_id_for, normalise


def envelope(topic, body, **extra):
    env = {"body": body if isinstance(body, bytes) else json.dumps(body).encode(), "topic": topic,
           "shop_domain": "s.myshopify.com", "api_version": "2026-10", "webhook_id": "w-1", "event_id": "e-1",
           "triggered_at": "2026-11-23T10:00:00.123456789Z", "received_at": 1_795_000_000_000, "order_id": None}
    env.update(extra)
    return env


def test_orders_create_carries_the_whole_order():
    event = normalise(envelope("orders/create", payload("orders_create")))
    assert event["event_type"] == "ORDER_CREATED"
    assert event["order_id"] == "820982911946154508"
    assert event["payload_complete"] is True
    assert event["triggered_at"] == calendar.timegm((2026, 11, 23, 10, 0, 0)) * 1000 + 123
    order = event["order"]
    assert order["name"] == "#1001"
    assert order["updated_at"] == calendar.timegm((2026, 11, 20, 21, 15, 47)) * 1000  # 16:15:47-05:00
    assert order["tags"] == ["vip", "gift"]
    assert order["current_total_price"] == "403.00" and order["currency"] == "EUR"
    assert order["customer_id"] == "115310627314723954" and order["company_id"] is None
    assert order["note_attributes"] == [{"name": "gift_wrap", "value": "yes"}]
    first, second = order["line_items"]
    assert first == {
        "id": "866550311766439020", "variant_id": "808950810", "product_id": "632910392", "sku": "IPOD2008PINK",
        "title": "IPod Nano - 8GB", "quantity": 1, "current_quantity": 1, "fulfillable_quantity": 1,
        "unit_price": "199.00", "total_discount": "0.00", "requires_shipping": True,
        "properties": [{"name": "Gift message", "value": "Happy birthday"}],
    }
    assert (second["quantity"], second["current_quantity"]) == (2, 1)
    assert order["shipping_address"]["zip"] == "K2P0V6"
    assert order["shipping_address"]["address2"] is None  # Shopify's "" means absent


def test_orders_edited_says_fetch():
    event = normalise(envelope("orders/edited", payload("orders_edited")))
    assert event["event_type"] == "ORDER_EDITED"
    assert event["order_id"] == "820982911946154508"
    assert event["payload_complete"] is False and event["order"] is None
    assert event["order_edit"]["additions"] == [{"line_item_id": "466157049", "delta": 1}]
    assert event["order_edit"]["removals"] == [{"line_item_id": "866550311766439020", "delta": 1}]
    assert event["order_edit"]["committed_at"] is not None


def test_refund_keeps_restock_and_transactions():
    event = normalise(envelope("refunds/create", payload("refunds_create")))
    assert event["event_type"] == "REFUND_CREATED" and event["payload_complete"] is False
    (line,) = event["refund"]["refund_line_items"]
    assert (line["restock_type"], line["location_id"], line["subtotal"]) == ("return", "40642626", "199.0")
    assert event["refund"]["transactions"][0]["amount"] == "199.00"


def test_fulfillment_lines_and_tracking():
    event = normalise(envelope("fulfillments/create", payload("fulfillments_create")))
    assert event["fulfillment"]["tracking_numbers"] == ["1Z2345"]
    assert event["fulfillment"]["line_items"] == [{"line_item_id": "866550311766439020", "delta": 1}]


@pytest.mark.parametrize(
    ("topic", "body", "error_type"),
    [
        ("products/update", {"id": 1}, "unknown_topic"),
        ("orders/create", b"\xff\xfe not json", "invalid_json"),
        ("orders/create", b"[1, 2]", "invalid_json"),
        ("orders/create", {"name": "#1"}, "missing_order_id"),
        ("orders/create", {"id": 1, "line_items": [{"id": 2, "quantity": 1, "price": "ten"}]}, "invalid_payload"),
        ("orders/create", {"id": 1, "line_items": [{"id": 2, "price": "1.00"}]}, "invalid_payload"),
        ("orders/create", {"id": 1, "updated_at": "yesterday"}, "invalid_payload"),
        ("orders/create", {"id": 1, "updated_at": "2026-11-20T16:15:47"}, "invalid_payload"),
        ("orders/create", {"id": 1, "total_price": "NaN"}, "invalid_payload"),
    ],
)
def test_bad_input_has_a_stable_reason(topic, body, error_type):
    with pytest.raises(NormaliseError) as err:
        normalise(envelope(topic, body))
    assert err.value.error_type == error_type
    assert str(err.value)


def test_malformed_triggered_at_header_does_not_reject_the_order():
    event = normalise(envelope("orders/create", {"id": 5}, triggered_at="soon"))
    assert event["triggered_at"] is None


def test_event_id_prefers_shopify_event_id_then_webhook_id_then_content():
    base = envelope("orders/create", {"id": 5})
    assert event_id_for(base) == "e-1"
    assert event_id_for({**base, "event_id": None}) == "webhook:w-1"
    anonymous = {**base, "event_id": None, "webhook_id": None}
    assert event_id_for(anonymous) == event_id_for(dict(anonymous))
    assert event_id_for(anonymous) != event_id_for({**anonymous, "body": b'{"id": 6}'})
