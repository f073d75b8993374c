"""Signed webhooks through the real broker, the worker and the normaliser."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from sandboxes.testkit.kafka_reader import read_topic
from sandboxes.testkit.service import SECRET
from sandboxes.testkit.support import payload, webhook_headers
from streams.kafka import topics
from streams.kafka.avro_codec import AvroCodec

CODEC = AvroCodec()


def post(service, topic: str, body: bytes, secret: str = SECRET, **headers: str) -> httpx.Response:
    all_headers = webhook_headers(topic, body, secret.encode(), **{"X-Shopify-Event-Id": str(uuid.uuid4())})
    all_headers.update(headers)
    return httpx.post(f"{service.url}/webhooks/shopify", content=body, headers=all_headers, timeout=15)


def decoded(topic: str, messages) -> list[tuple[bytes | None, int, dict]]:
    return [(m.key(), m.partition(), CODEC.decode(topic, m.value())) for m in messages]


def unique_order(**overrides) -> tuple[str, bytes]:
    order_id = str(uuid.uuid4().int % 10**15 + 10**15)
    return order_id, json.dumps(payload("orders_create", id=int(order_id), **overrides)).encode()


def wait_for_event(bootstrap: str, predicate) -> list:
    return read_topic(bootstrap, topics.ORDERS_EVENTS,
                      until=lambda ms: any(predicate(CODEC.decode(topics.ORDERS_EVENTS, m.value())) for m in ms))


def test_signed_order_create_becomes_a_normalised_event(service, broker):
    order_id, body = unique_order()
    response = post(service, "orders/create", body, **{"X-Shopify-Event-Id": f"ev-{order_id}"})
    assert response.status_code == 200, response.text

    messages = wait_for_event(broker.bootstrap, lambda e: e["order_id"] == order_id)
    (key, partition, event), = [d for d in decoded(topics.ORDERS_EVENTS, messages) if d[2]["order_id"] == order_id]
    assert key == order_id.encode()
    assert event["event_id"] == f"ev-{order_id}" and event["event_type"] == "ORDER_CREATED"
    assert event["payload_complete"] is True
    assert event["order"]["name"] == "#1001"
    assert [li["sku"] for li in event["order"]["line_items"]] == ["IPOD2008PINK", "IPOD2008BLACK"]

    # The raw envelope landed in the same partition under the same key, with the body byte for byte.
    raw = read_topic(broker.bootstrap, topics.SHOPIFY_WEBHOOKS_RAW,
                     until=lambda ms: any(m.key() == order_id.encode() for m in ms))
    (raw_key, raw_partition, envelope), = [d for d in decoded(topics.SHOPIFY_WEBHOOKS_RAW, raw)
                                           if d[0] == order_id.encode()]
    assert raw_partition == partition and envelope["body"] == body


def test_all_events_of_one_order_share_a_partition(service, broker):
    order_id, body = unique_order()
    edited = json.dumps({"order_edit": {**payload("orders_edited")["order_edit"], "order_id": int(order_id)}}).encode()
    refund = json.dumps(payload("refunds_create", order_id=int(order_id))).encode()
    for topic, data in (("orders/create", body), ("orders/edited", edited), ("refunds/create", refund)):
        assert post(service, topic, data).status_code == 200
    messages = read_topic(broker.bootstrap, topics.ORDERS_EVENTS,
                          until=lambda ms: sum(m.key() == order_id.encode() for m in ms) == 3)
    mine = [d for d in decoded(topics.ORDERS_EVENTS, messages) if d[0] == order_id.encode()]
    assert [event["event_type"] for _, _, event in mine] == ["ORDER_CREATED", "ORDER_EDITED", "REFUND_CREATED"]
    assert len({partition for _, partition, _ in mine}) == 1


def test_orders_edited_becomes_a_fetch_event(service, broker):
    order_id = str(uuid.uuid4().int % 10**15 + 10**15)
    body = json.dumps({"order_edit": {**payload("orders_edited")["order_edit"], "order_id": int(order_id)}}).encode()
    assert post(service, "orders/edited", body).status_code == 200
    messages = wait_for_event(broker.bootstrap, lambda e: e["order_id"] == order_id)
    (_, _, event), = [d for d in decoded(topics.ORDERS_EVENTS, messages) if d[2]["order_id"] == order_id]
    assert event["event_type"] == "ORDER_EDITED"
    assert event["payload_complete"] is False and event["order"] is None
    assert event["order_edit"]["staff_note"] == "customer swapped size"


def test_forged_webhook_is_refused_and_writes_nothing(service, broker):
    marker = uuid.uuid4().hex
    forged_id, forged = unique_order(note=marker)
    assert post(service, "orders/create", forged, secret="not-the-secret").status_code == 401
    unsigned = webhook_headers("orders/create", forged, SECRET.encode())
    del unsigned["X-Shopify-Hmac-Sha256"]
    assert httpx.post(f"{service.url}/webhooks/shopify", content=forged, headers=unsigned).status_code == 401

    # A signed order sent afterwards has gone all the way through: anything before it would have too.
    sentinel_id, sentinel = unique_order()
    assert post(service, "orders/create", sentinel).status_code == 200
    wait_for_event(broker.bootstrap, lambda e: e["order_id"] == sentinel_id)
    for spec in topics.TOPICS:
        for message in read_topic(broker.bootstrap, spec.name, idle_s=0.5):
            assert marker.encode() not in message.value(), f"forged body found on {spec.name}"
            assert message.key() != forged_id.encode()


def test_signed_garbage_is_accepted_and_dead_lettered(service, broker):
    marker = uuid.uuid4().hex
    garbage = f"{{not json {marker}".encode()
    response = post(service, "orders/create", garbage, **{"X-Shopify-Webhook-Id": marker})
    assert response.status_code == 200
    messages = read_topic(broker.bootstrap, topics.DEAD_LETTERS,
                          until=lambda ms: any(marker.encode() in m.value() for m in ms))
    (letter,) = [CODEC.decode(topics.DEAD_LETTERS, m.value()) for m in messages if marker.encode() in m.value()]
    assert letter["payload"] == garbage
    assert letter["error_type"] == "invalid_json" and "not JSON" in letter["reason"]
    assert letter["context"]["webhook_id"] == marker and letter["context"]["topic"] == "orders/create"


def test_unknown_topic_is_dead_lettered(service, broker):
    marker = uuid.uuid4().hex
    body = json.dumps({"id": 1, "title": marker}).encode()
    assert post(service, "products/update", body).status_code == 200
    messages = read_topic(broker.bootstrap, topics.DEAD_LETTERS,
                          until=lambda ms: any(marker.encode() in m.value() for m in ms))
    (letter,) = [CODEC.decode(topics.DEAD_LETTERS, m.value()) for m in messages if marker.encode() in m.value()]
    assert letter["error_type"] == "unknown_topic"


def test_payload_the_normaliser_rejects_goes_to_the_dlq_with_its_source(service, broker):
    order_id = str(uuid.uuid4().int % 10**15 + 10**15)
    body = json.dumps({"id": int(order_id), "line_items": [{"id": 1, "quantity": 1, "price": "ten euros"}]}).encode()
    assert post(service, "orders/create", body).status_code == 200
    messages = read_topic(broker.bootstrap, topics.DEAD_LETTERS,
                          until=lambda ms: any(m.key() == order_id.encode() for m in ms))
    (letter,) = [CODEC.decode(topics.DEAD_LETTERS, m.value()) for m in messages if m.key() == order_id.encode()]
    assert letter["source"] == topics.SHOPIFY_WEBHOOKS_RAW and letter["offset"] is not None
    assert letter["error_type"] == "invalid_payload" and letter["payload"] == body


@pytest.mark.parametrize("drop", ["X-Shopify-Topic", "X-Shopify-Shop-Domain"])
def test_signed_request_without_routing_header_is_a_400(service, drop):
    body = b'{"id": 5}'
    headers = webhook_headers("orders/create", body, SECRET.encode())
    del headers[drop]
    response = httpx.post(f"{service.url}/webhooks/shopify", content=body, headers=headers)
    assert response.status_code == 400 and drop in response.text


def test_oversize_body_is_a_413(service):
    body = b'{"id": 5, "note": "' + b"x" * 70_000 + b'"}'
    assert post(service, "orders/create", body).status_code == 413


def test_metrics_count_each_outcome(service):
    def count(outcome: str) -> float:
        for line in httpx.get(f"{service.url}/metrics").text.splitlines():
            if line.startswith(f'editsync_webhook_requests_total{{outcome="{outcome}"}}'):
                return float(line.split()[-1])
        return 0.0

    before = {o: count(o) for o in ("accepted", "forged", "dead_lettered", "malformed", "oversize")}
    _, body = unique_order()
    post(service, "orders/create", body)
    post(service, "orders/create", body, secret="wrong")
    post(service, "orders/create", b"{oops")
    post(service, "orders/create", b'{"id": 1, "note": "' + b"x" * 70_000 + b'"}')
    headers = webhook_headers("orders/create", body, SECRET.encode())
    del headers["X-Shopify-Topic"]
    httpx.post(f"{service.url}/webhooks/shopify", content=body, headers=headers)
    assert {o: count(o) - before[o] for o in before} == {o: 1.0 for o in before}


def test_logs_never_carry_the_secret_or_a_signature(service):
    _, body = unique_order()
    signature = webhook_headers("orders/create", body, SECRET.encode())["X-Shopify-Hmac-Sha256"]
    post(service, "orders/create", body, secret="wrong-secret")
    post(service, "orders/create", b"{broken")
    log = service.log()
    assert "webhook refused 401" in log  # the refusal itself is logged ...
    assert SECRET not in log and "wrong-secret" not in log and signature not in log  # ... without secrets
