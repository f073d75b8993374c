import json

from sandboxes.testkit.support import payload, webhook_headers
from streams.ingress.request import Publish, Refuse, decide
from streams.kafka import topics

SECRET = b"ingress-secret"


def test_signed_order_is_published_keyed_by_order_id():
    body = json.dumps(payload("orders_create")).encode()
    decision = decide(body, webhook_headers("orders/create", body, SECRET, **{"X-Shopify-Event-Id": "e9"}),
                      SECRET, 123)
    assert isinstance(decision, Publish)
    assert decision.topic == topics.SHOPIFY_WEBHOOKS_RAW
    assert decision.key == b"820982911946154508"
    assert decision.value["body"] == body  # byte for byte, so the HMAC still verifies downstream
    assert decision.value["event_id"] == "e9" and decision.value["received_at"] == 123


def test_forged_signature_is_refused_before_headers_are_read():
    body = b'{"id": 1}'
    headers = webhook_headers("orders/create", body, b"wrong-secret")
    del headers["X-Shopify-Topic"]
    assert decide(body, headers, SECRET, 0) == Refuse(401, "forged", "invalid or missing X-Shopify-Hmac-Sha256")


def test_missing_signature_is_refused():
    body = b'{"id": 1}'
    headers = webhook_headers("orders/create", body, SECRET)
    del headers["X-Shopify-Hmac-Sha256"]
    assert decide(body, headers, SECRET, 0).status == 401


def test_signed_but_missing_shop_header_is_a_bad_request():
    body = b'{"id": 1}'
    headers = webhook_headers("orders/create", body, SECRET)
    del headers["X-Shopify-Shop-Domain"]
    decision = decide(body, headers, SECRET, 0)
    assert isinstance(decision, Refuse) and decision.status == 400 and "Shop-Domain" in decision.message


def test_signed_garbage_is_dead_lettered_whole():
    body = b"\x00garbage{"
    decision = decide(body, webhook_headers("orders/create", body, SECRET, **{"X-Shopify-Webhook-Id": "w7"}),
                      SECRET, 5)
    assert isinstance(decision, Publish) and decision.topic == topics.DEAD_LETTERS
    assert decision.value["payload"] == body
    assert decision.value["error_type"] == "invalid_json"
    assert decision.value["context"]["webhook_id"] == "w7"
    assert "X-Shopify-Hmac-Sha256" not in json.dumps(decision.value["context"])
