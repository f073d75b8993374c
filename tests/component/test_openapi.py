"""The OpenAPI document ``GET /openapi.json`` serves, checked by schemathesis against ``editsync run`` on loopback.

One ``editsync run`` as ``make run`` starts it (embedded broker, sandboxes): the exceptions API's actions and
the callbacks are acknowledged by a real broker, so an answer of 503 would be a defect here, not the
weather. Schemathesis generates requests from the document, valid and invalid, and checks every answer:
a status the document lists, the content type it names, a body its schema accepts, never a 5xx, and no
operation that takes a token answering without one. An exception published on ``exceptions.v1`` the way
the order-state agent publishes it gives the reads and actions something to find.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest
import requests
import schemathesis
from confluent_kafka import Producer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from sandboxes.testkit.service import SECRET, Service, service_env
from sandboxes.testkit.support import shopify_signature, wait_for
from streams.ingress import webhooks
from streams.kafka import topics
from streams.kafka.avro_codec import AvroCodec
from streams.wiring import openapi

API_TOKEN = "component-api-token-5c1d9e"
CALLBACK_TOKEN = "component-callback-token-8b2f"
ORDER_ID = "820982911946154508"
EXCEPTION_ID = f"{ORDER_ID}:ERP_SYNC_FAILED:component"
# Where each webhook topic carries the order id (streams/ingress/webhooks.py, order_id_for).
KEYED_BY = {"orders/create": {"id": int(ORDER_ID)}, "orders/edited": {"order_edit": {"order_id": int(ORDER_ID)}},
            "refunds/create": {"order_id": int(ORDER_ID)}, "fulfillments/create": {"order_id": int(ORDER_ID)}}
EXAMPLES = 25  # per operation: 20 operations, well under a minute on a shared 2-core machine


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("openapi")
    running = Service(service_env(tmp, EDITSYNC_API_TOKEN=API_TOKEN, EDITSYNC_PEOPLEVOX_CALLBACK_TOKEN=CALLBACK_TOKEN),
                      tmp / "editsync.log")
    try:
        running.wait_ready()
        publish_exception(Path(running.env["EDITSYNC_DATA_DIR"]))
        wait_for("the exception in the store", lambda: httpx.get(
            f"{running.url}/exceptions/{EXCEPTION_ID}", headers={"Authorization": f"Bearer {API_TOKEN}"}
        ).status_code == 200, timeout_s=30)
        yield running
    finally:
        running.stop()


def publish_exception(data_dir: Path) -> None:
    now = int(time.time() * 1000)
    record = {"exception_id": EXCEPTION_ID, "order_id": ORDER_ID, "order_name": "#1001", "type": "ERP_SYNC_FAILED",
              "owner": "FINANCE", "severity": "HIGH", "state": "OPEN", "first_seen": now - 60_000, "last_seen": now,
              "summary": "The ERP refused the sales order.", "detail_json": '{"reason": "400 Bad Request"}',
              "suggested_action": "Check the customer in the ERP, then retry.", "actor": None, "note": None}
    producer = Producer({"bootstrap.servers": (data_dir / "embedded-bootstrap").read_text().strip()})
    producer.produce(topics.EXCEPTIONS, key=ORDER_ID.encode(), value=AvroCodec().encode(topics.EXCEPTIONS, record))
    assert producer.flush(30) == 0


# The document as the code builds it; the last test checks the server serves this same document.
schema = schemathesis.openapi.from_dict(openapi.document(), config=SchemathesisConfig.from_dict({
    "auth": {"openapi": {"bearerToken": {"bearer": API_TOKEN}, "peoplevoxToken": {"api_key": CALLBACK_TOKEN}}},
    "checks": {"enabled": False, **{check: {"enabled": True} for check in (
        "not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance",
        "ignored_auth")}},
}))


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_conforms_to_the_document(case, service):
    case.call_and_validate(base_url=service.url)


@given(case=schema["/webhooks/shopify"]["POST"].as_strategy(),
       topic=st.sampled_from([None, *KEYED_BY]))
@settings(max_examples=EXAMPLES * 2, deadline=None, suppress_health_check=list(HealthCheck))
def test_signed_webhooks_of_any_shape_are_answered_as_documented(service, case, topic):
    """Generated requests cannot sign: these are signed, so the body and headers reach the ingress rules and,
    under a known Shopify topic and with an order id where Shopify puts it, the normaliser."""
    if topic is not None and isinstance(case.body, dict):
        case.body = {**case.body, **KEYED_BY[topic]}
    request = case.as_transport_kwargs(base_url=service.url)
    if "json" in request:  # schemathesis leaves some bodies for the client to serialise: sign what is sent
        request["data"] = json.dumps(request.pop("json")).encode()
    request["headers"][webhooks.HMAC_HEADER] = shopify_signature(request["data"], SECRET.encode())
    if topic is not None:
        request["headers"][webhooks.TOPIC_HEADER] = topic
    response = requests.request(**request, timeout=30)
    case.validate_response(response)
    assert response.status_code != 401, "signed with the service's secret"


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/exceptions/{exception_id}", None),
    ("POST", "/exceptions/{exception_id}/retry", {"by": "component test"}),
    ("POST", "/exceptions/{exception_id}/resolve", {"by": "component test"}),  # no note: 400
    ("GET", "/orders/{order_id}", None),
    ("POST", "/orders/{order_id}/replay", None),
])
def test_the_answers_about_a_known_exception_conform_too(service, method, path, body):
    known = {"exception_id": EXCEPTION_ID, "order_id": ORDER_ID}
    case = schema[path][method].Case(path_parameters={name: value for name, value in known.items() if name in path},
                                     **({} if body is None else {"body": body}))
    response = case.call_and_validate(base_url=service.url, headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert response.status_code in (200, 202, 400), response.text


def test_the_running_server_serves_the_document_it_is_built_from_and_survived_the_requests(service):
    assert httpx.get(f"{service.url}{openapi.PATH}").json() == openapi.document()
    # Signed webhooks of any shape, replays of made-up orders and callbacks of made-up sales orders reached the
    # agents: once the normaliser has finished the webhooks, none of them has crashed.
    wait_for("the normaliser through the signed webhooks", lambda: re.search(
        r'^editsync_records_processed_total\{topic="shopify.webhooks.raw"\} [1-9]',
        httpx.get(f"{service.url}/metrics").text, flags=re.M), timeout_s=30)
    assert httpx.get(f"{service.url}/healthz").json() == {"status": "alive"}
