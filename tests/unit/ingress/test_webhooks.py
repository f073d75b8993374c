import pytest

from sandboxes.testkit.support import shopify_signature
from streams.ingress.webhooks import (
    InvalidHeaders,
    UnroutableBody,
    numeric_id,
    order_id_for,
    read_headers,
    sign,
    signature_valid,
)

SECRET = b"hush"


def test_sign_matches_an_independent_hmac():
    body = b'{"id": 1}'
    assert sign(body, SECRET) == shopify_signature(body, SECRET)


def test_valid_signature_accepted():
    body = b'{"id": 1}'
    assert signature_valid(body, shopify_signature(body, SECRET), SECRET)


@pytest.mark.parametrize("header", [None, "", "not base64!!", shopify_signature(b"other", SECRET)])
def test_missing_or_wrong_signature_refused(header):
    assert not signature_valid(b'{"id": 1}', header, SECRET)


def test_signature_with_another_secret_refused():
    body = b'{"id": 1}'
    assert not signature_valid(body, shopify_signature(body, b"other-secret"), SECRET)


def test_one_flipped_byte_in_the_body_is_caught():
    body = b'{"id": 1, "total_price": "10.00"}'
    header = shopify_signature(body, SECRET)
    assert not signature_valid(body.replace(b"10.00", b"11.00"), header, SECRET)


def test_headers_require_topic_and_shop():
    with pytest.raises(InvalidHeaders, match="X-Shopify-Topic"):
        read_headers({"X-Shopify-Shop-Domain": "s.myshopify.com"})
    with pytest.raises(InvalidHeaders, match="X-Shopify-Shop-Domain"):
        read_headers({"X-Shopify-Topic": "orders/create", "X-Shopify-Shop-Domain": "  "})


def test_optional_headers_are_read():
    meta = read_headers({"X-Shopify-Topic": "orders/create", "X-Shopify-Shop-Domain": "s.myshopify.com",
                         "X-Shopify-Event-Id": "e1", "X-Shopify-Webhook-Id": "w1", "X-Shopify-API-Version": "2026-10"})
    assert (meta.event_id, meta.webhook_id, meta.api_version, meta.triggered_at) == ("e1", "w1", "2026-10", None)


@pytest.mark.parametrize(
    ("topic", "payload", "expected"),
    [
        ("orders/create", {"id": 42}, "42"),
        ("orders/updated", {"id": "42"}, "42"),
        ("orders/cancelled", {"id": "gid://shopify/Order/42"}, "42"),
        ("orders/edited", {"order_edit": {"order_id": 42, "id": 7}}, "42"),
        ("refunds/create", {"id": 9, "order_id": 42}, "42"),
        ("fulfillments/update", {"id": 9, "order_id": 42}, "42"),
    ],
)
def test_order_id_by_topic(topic, payload, expected):
    assert order_id_for(topic, payload) == expected


def test_orders_edited_is_keyed_by_its_order_not_the_edit():
    with pytest.raises(UnroutableBody) as err:
        order_id_for("orders/edited", {"id": 42})
    assert err.value.error_type == "missing_order_id"


def test_unknown_topic_is_unroutable():
    with pytest.raises(UnroutableBody) as err:
        order_id_for("products/update", {"id": 42})
    assert err.value.error_type == "unknown_topic"


@pytest.mark.parametrize("raw", [None, 0, -1, True, "", "abc", "gid://shopify/Order/", "00", 1.5])
def test_unusable_ids(raw):
    assert numeric_id(raw) is None
