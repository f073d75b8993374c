"""Avro: records per second through editsync's codec, and raw webhooks normalised per second.

The records are the service's own: a raw envelope made by the ingress's
``decide`` from a signed webhook body, normalised by the normaliser agent's
``normalise_record`` (decode the envelope, normalise, encode the event), and a
command as ``records.command_record`` writes it. Two bodies: docs/try-it.md's
2-line webhook fixture, and the 40-line order of the tests as the Shopify
sandbox's webhook sends it.
"""

from __future__ import annotations

import json
import time
from functools import partial
from typing import Any

from benchmarks.core import POLICY, merchant_with_big_order
from benchmarks.report import rate
from sandboxes.shopify.webhooks import order_payload, sign
from sandboxes.testkit.core_builders import REFERENCE, line, order
from sandboxes.testkit.support import FIXTURES
from streams.agents.normaliser import Normalised, normalise_record
from streams.core.commands import Command
from streams.core.engine import step
from streams.core.inputs import OrderEventIn, Tick
from streams.core.model import Target
from streams.core.state import OrderState
from streams.ingress.request import Publish, decide
from streams.kafka import topics
from streams.kafka.avro_codec import AvroCodec
from streams.kafka.records import command_record

SECRET = b"benchmark-secret"
MAX_EVENT_BYTES = 1_000_000


def _envelope(codec: AvroCodec, body: bytes) -> bytes:
    headers = {"X-Shopify-Topic": "orders/create", "X-Shopify-Shop-Domain": "bench.myshopify.com",
               "X-Shopify-API-Version": "2026-10", "X-Shopify-Event-Id": "0b1e5a4e-7c1d-4c4e-9d0a-2f6f3c1b9a77",
               "X-Shopify-Hmac-Sha256": sign(body, SECRET)}
    decision = decide(body, headers, SECRET, int(time.time() * 1000))
    assert isinstance(decision, Publish) and decision.topic == topics.SHOPIFY_WEBHOOKS_RAW, decision
    return codec.encode(topics.SHOPIFY_WEBHOOKS_RAW, decision.value)


def _big_order_body() -> bytes:
    """The 40-line order's ``orders/create``-shaped body as the Shopify sandbox's webhooks carry it."""
    with merchant_with_big_order() as (stack, big, _):
        return json.dumps(order_payload(stack.shop, big.order)).encode()


def _peoplevox_create() -> Command:
    """The Peoplevox create the engine plans for a 2-line order: created, then the debounce tick."""
    now = 1_800_000_000_000
    snapshot = order("5000000001", version=now, lines=(line("1", "TEE-M", 2), line("2", "GIFT-BOX", 1)))
    created = step(OrderState(order_id="5000000001"),
                   OrderEventIn(event_id="create", event_type="ORDER_CREATED", snapshot=snapshot), POLICY,
                   REFERENCE, now)
    assert created is not None
    planned = step(created.state, Tick(), POLICY, REFERENCE, now + POLICY.debounce_ms)
    assert planned is not None
    return next(c for c in planned.commands if c.target is Target.PEOPLEVOX)


def measure(min_seconds: float = 1.0) -> dict[str, Any]:
    codec = AvroCodec()
    results: dict[str, Any] = {}
    for name, body in (("2_line_webhook", (FIXTURES / "orders_create.json").read_bytes()),
                       ("40_line_webhook", _big_order_body())):
        raw = _envelope(codec, body)
        normalised = normalise_record(codec, raw, MAX_EVENT_BYTES)
        assert isinstance(normalised, Normalised), normalised
        event = codec.decode(topics.ORDERS_EVENTS, normalised.value)
        results[name] = {
            "body_bytes": len(body), "envelope_bytes": len(raw), "event_bytes": len(normalised.value),
            "normalise_record": rate(partial(normalise_record, codec, raw, MAX_EVENT_BYTES), min_seconds),
            "event_encode": rate(partial(codec.encode, topics.ORDERS_EVENTS, event), min_seconds),
            "event_decode": rate(partial(codec.decode, topics.ORDERS_EVENTS, normalised.value), min_seconds),
        }
    command = command_record(_peoplevox_create(), 1_800_000_000_000)
    encoded = codec.encode(topics.COMMANDS_PEOPLEVOX, command)
    results["peoplevox_create_command"] = {
        "record_bytes": len(encoded),
        "encode": rate(lambda: codec.encode(topics.COMMANDS_PEOPLEVOX, command), min_seconds),
        "decode": rate(lambda: codec.decode(topics.COMMANDS_PEOPLEVOX, encoded), min_seconds),
    }
    return results
