"""Hostile bodies and headers at the ingress and the normaliser (issue 16), as properties.

Whatever a request carries, ``decide`` answers 401, 400 or a record to publish, never an exception
(which the web layer would turn into a 500); a record to publish always encodes, fits in one Kafka
record and is keyed by a canonical ASCII order id. Whatever a raw record carries, the normaliser's
``normalise_record`` gives an event or a dead letter that encodes, never an exception (an agent crash
that skipped the record).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from fastavro.validation import validate
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lxml import etree

from sandboxes.testkit.support import payload, shopify_signature
from streams.agents.normaliser import Normalised, Rejected, normalise_record
from streams.ingress.callbacks import MAX_NUMBER_CHARS, InvalidCallback, sales_order_number
from streams.ingress.request import Publish, Refuse, decide
from streams.ingress.webhooks import MAX_HEADER_CHARS, numeric_id
from streams.kafka import topics
from streams.kafka.avro_codec import AvroCodec, load_schemas
from streams.kafka.dead_letters import dead_letter
from streams.runtime.settings import RECORD_RESERVE_BYTES, Settings

SECRET = b"hostile-secret"
CODEC = AvroCodec()
ORDER_EVENT_SCHEMA = load_schemas()[0][topics.BY_NAME[topics.ORDERS_EVENTS].schema].parsed
SETTINGS = Settings(shopify_webhook_secret="x")
MAX_EVENT_BYTES = SETTINGS.kafka_max_message_bytes - RECORD_RESERVE_BYTES
HEADERS = ("X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-API-Version", "X-Shopify-Webhook-Id",
           "X-Shopify-Event-Id", "X-Shopify-Triggered-At")
TOPICS = st.sampled_from(["orders/create", "orders/updated", "orders/edited", "orders/cancelled", "refunds/create",
                          "fulfillments/create", "products/update", "orders/", ""])

# Every code point, with lone surrogates (aiohttp gives them for non-UTF-8 header bytes, JSON for "\\ud800")
# and ASCII control characters drawn often enough to matter.
any_text = st.text(st.one_of(st.characters(exclude_categories=()),
                             st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, exclude_categories=()),
                             st.characters(max_codepoint=0x7F, exclude_categories=())), max_size=40)
numbers = st.one_of(st.integers(), st.integers(min_value=2**31 - 2, max_value=2**64),
                    st.integers(min_value=-(2**64), max_value=-(2**31) + 2), st.floats(allow_nan=True, allow_infinity=True))
hostile_scalars = st.one_of(
    st.none(), st.booleans(), numbers, any_text,
    st.sampled_from(["²³", "١٢٣", "00123", "0", " 1", "gid://shopify/Order/007", "1e999", "NaN", "-0", "9" * 30]),
)
json_values = st.recursive(hostile_scalars, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(any_text, children, max_size=4)), max_leaves=12)


def replace_anywhere(data: Any, path: list[int], value: Any) -> Any:
    """``data`` with the node that ``path`` picks (indices modulo each container's size) replaced by ``value``."""
    if not path or not isinstance(data, (dict, list)) or not data:
        return value
    keys = list(data) if isinstance(data, dict) else list(range(len(data)))
    key = keys[path[0] % len(keys)]
    copy = dict(data) if isinstance(data, dict) else list(data)
    copy[key] = replace_anywhere(data[key], path[1:], value)
    return copy


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["mutated order", "mutated line", "mutated line", "mutated line", "mutated edit",
                                 "mutated refund", "json", "bytes", "deep"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "deep":
        depth = draw(st.integers(min_value=1, max_value=3000))
        return b'{"id": 1, "x": ' + b"[" * depth + b"]" * depth + b"}"
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    if kind == "mutated line":  # where the normaliser reads numbers: quantities, ids, prices
        data = payload("orders_create")
        item = data["line_items"][0]
        key = draw(st.sampled_from(["quantity", "current_quantity", "fulfillable_quantity"])
                   | st.sampled_from(sorted(item)))
        item[key] = draw(numbers | hostile_scalars)
        return json.dumps(data).encode()
    fixture = {"mutated order": "orders_create", "mutated edit": "orders_edited",
               "mutated refund": "refunds_create"}[kind]
    data: Any = payload(fixture)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        data = replace_anywhere(data, draw(st.lists(st.integers(min_value=0, max_value=50), max_size=6)),
                                draw(json_values))
    # json.dumps writes NaN and Infinity for non-finite floats and \\udxxx escapes for lone surrogates.
    return json.dumps(data).encode()


@st.composite
def header_sets(draw: st.DrawFn) -> dict[str, str]:
    headers = {"X-Shopify-Topic": draw(TOPICS), "X-Shopify-Shop-Domain": "s.myshopify.com"}
    for name in draw(st.lists(st.sampled_from(HEADERS), max_size=3, unique=True)):
        headers[name] = draw(st.one_of(any_text, st.text(min_size=MAX_HEADER_CHARS, max_size=MAX_HEADER_CHARS + 5)))
    return headers


def record_bytes(key: bytes | None, value: bytes) -> int:
    """What aiokafka's producer counts against max_request_size for one record."""
    return DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, [])


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies(), headers=header_sets(), signed=st.booleans())
@example(body=b'{"id": "\\u0661\\u0662\\u0663"}', headers={"X-Shopify-Topic": "orders/create",
                                                          "X-Shopify-Shop-Domain": "s"}, signed=True)
def test_any_request_is_refused_or_published_in_a_record_that_fits(body, headers, signed):
    if signed:
        headers = {**headers, "X-Shopify-Hmac-Sha256": shopify_signature(body, SECRET)}
    decision = decide(body, headers, SECRET, 1_795_000_000_000)
    if not signed:
        assert decision == Refuse(401, "forged", "invalid or missing X-Shopify-Hmac-Sha256")
        return
    malformed = [name for name in HEADERS if name in headers and not (
        len(headers[name]) <= MAX_HEADER_CHARS and all(" " <= char <= "~" for char in headers[name]))]
    if malformed or not (headers["X-Shopify-Topic"].strip() and headers["X-Shopify-Shop-Domain"].strip()):
        assert isinstance(decision, Refuse) and decision.status == 400
        assert all(name in decision.message for name in malformed)
        return
    encoded = CODEC.encode(decision.topic, decision.value)
    assert record_bytes(decision.key, encoded) <= len(body) + RECORD_RESERVE_BYTES
    if decision.topic == topics.SHOPIFY_WEBHOOKS_RAW:
        assert decision.key.isascii() and decision.key.isdigit() and not decision.key.startswith(b"0")
        assert 0 < int(decision.key) < 2**63
    else:
        assert decision.topic == topics.DEAD_LETTERS and decision.value["payload"] == body


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies(), topic=st.just("orders/create") | TOPICS, event_id=st.none() | st.text(max_size=20))
def test_any_raw_record_becomes_an_event_or_a_dead_letter_that_encodes(body, topic, event_id):
    envelope = {"body": body, "topic": topic, "shop_domain": "s.myshopify.com", "api_version": "2026-10",
                "webhook_id": None, "event_id": event_id, "triggered_at": None, "received_at": 1,
                "order_id": "1"}
    result = normalise_record(CODEC, CODEC.encode(topics.SHOPIFY_WEBHOOKS_RAW, envelope), MAX_EVENT_BYTES)
    if isinstance(result, Normalised):
        event = CODEC.decode(topics.ORDERS_EVENTS, result.value)
        # fastavro writes an "int" of up to 64 bits without complaint; the contract is 32 bits.
        assert validate(event, ORDER_EVENT_SCHEMA, raise_errors=True)
        assert result.key == event["order_id"].encode() and numeric_id(event["order_id"]) == event["order_id"]
    else:
        assert isinstance(result, Rejected) and result.error_type and result.payload == body
        letter = dead_letter(source=topics.SHOPIFY_WEBHOOKS_RAW, payload=body, reason=result.reason,
                             error_type=result.error_type, context=result.context)
        assert record_bytes(b"1", CODEC.encode(topics.DEAD_LETTERS, letter)) <= len(body) + RECORD_RESERVE_BYTES


def normalised(body: dict[str, Any] | bytes, topic: str = "orders/create") -> Normalised | Rejected:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    envelope = {"body": raw, "topic": topic, "shop_domain": "s", "api_version": None, "webhook_id": None,
                "event_id": "e", "triggered_at": None, "received_at": 1, "order_id": "1"}
    return normalise_record(CODEC, CODEC.encode(topics.SHOPIFY_WEBHOOKS_RAW, envelope), MAX_EVENT_BYTES)


def with_quantity(quantity: Any) -> dict[str, Any]:
    order = payload("orders_create")
    order["line_items"][0]["quantity"] = quantity
    return order


@pytest.mark.parametrize("quantity", [2**31, -(2**31) - 1, 2**63, "2147483648", "١٢", 1.5, True, "12abc"])
def test_a_quantity_shopify_cannot_send_is_a_dead_letter(quantity):
    result = normalised(with_quantity(quantity))
    assert isinstance(result, Rejected) and result.error_type == "invalid_payload"
    assert "line_items.quantity" in result.reason


@pytest.mark.parametrize("quantity", [2**31 - 1, -(2**31), "7", 3.0])
def test_quantities_within_32_bits_are_normalised(quantity):
    assert isinstance(normalised(with_quantity(quantity)), Normalised)


def test_an_edit_delta_past_32_bits_is_a_dead_letter():
    edit = payload("orders_edited")
    edit["order_edit"]["line_items"]["additions"] = [{"id": 1, "delta": 2**31}]
    result = normalised(edit, "orders/edited")
    assert isinstance(result, Rejected) and "additions.delta" in result.reason


def test_a_lone_surrogate_is_a_dead_letter_not_an_unencodable_event():
    body = json.dumps(payload("orders_create", note="NOTE")).encode().replace(b"NOTE", b"\\ud800")
    result = normalised(body)
    assert isinstance(result, Rejected) and result.error_type == "invalid_json" and "surrogates" in result.reason


def test_text_that_json_expands_past_the_record_limit_is_a_dead_letter():
    # Python writes 1e5 as 100000.0: tags of short numbers grow when written as text.
    body = json.dumps(payload("orders_create", tags=[1e5] * 10)).encode()
    assert isinstance(normalised(body), Normalised)
    result = normalise_record(CODEC, CODEC.encode(topics.SHOPIFY_WEBHOOKS_RAW, {
        "body": body, "topic": "orders/create", "shop_domain": "s", "api_version": None, "webhook_id": None,
        "event_id": "e", "triggered_at": None, "received_at": 1, "order_id": "1"}), max_event_bytes=200)
    assert isinstance(result, Rejected) and result.error_type == "event_too_large"


def test_a_record_that_is_not_an_envelope_is_a_dead_letter_as_read():
    result = normalise_record(CODEC, b"\xc3\x01garbage", MAX_EVENT_BYTES)
    assert isinstance(result, Rejected) and result.error_type == "undecodable_record" and result.payload is None


@pytest.mark.parametrize("raw", ["²³", "١٢٣", "00123", "0123", "gid://shopify/Order/0042", str(2**63), 2**63,
                                 "+1", " 1", "1 ", "1_000"])
def test_ids_are_canonical_ascii_digits_within_64_bits(raw):
    assert numeric_id(raw) is None


@pytest.mark.parametrize(("raw", "expected"), [("123", "123"), (123, "123"), ("gid://shopify/Order/42", "42"),
                                               (2**63 - 1, str(2**63 - 1))])
def test_canonical_ids_are_kept(raw, expected):
    assert numeric_id(raw) == expected


def test_a_body_at_the_limit_fits_in_a_record_as_envelope_and_as_dead_letter():
    limit = SETTINGS.webhook_max_body_bytes
    longest = "h" * MAX_HEADER_CHARS
    headers = {name: longest for name in HEADERS} | {"X-Shopify-Topic": "orders/create"}
    order = json.dumps(payload("orders_create", id=2**63 - 1, note="")).encode()
    body = order.replace(b'"note": ""', b'"note": "' + b"n" * (limit - len(order)) + b'"')
    assert len(body) == limit
    for candidate in (body, b"{" + body[1:]):  # the order, and the same size as a dead letter
        decision = decide(candidate, headers | {"X-Shopify-Hmac-Sha256": shopify_signature(candidate, SECRET)},
                          SECRET, 1)
        assert isinstance(decision, Publish)
        assert record_bytes(decision.key, CODEC.encode(decision.topic, decision.value)) \
            <= SETTINGS.kafka_max_message_bytes
    letter = dead_letter(source=topics.SHOPIFY_WEBHOOKS_RAW, payload=body, reason=f"not an amount: {body!r}",
                         error_type="invalid_payload", key=b"9" * 19, partition=2**31 - 1, offset=2**62,
                         context={name: longest for name in ("topic", "shop_domain", "webhook_id", "event_id")})
    assert record_bytes(b"9" * 19, CODEC.encode(topics.DEAD_LETTERS, letter)) <= SETTINGS.kafka_max_message_bytes


def test_a_body_limit_the_producer_cannot_carry_is_refused_at_start():
    with pytest.raises(ValueError, match="EDITSYNC_WEBHOOK_MAX_BODY_BYTES"):
        Settings(shopify_webhook_secret="x", webhook_max_body_bytes=2 * 1024 * 1024)
    Settings(shopify_webhook_secret="x", webhook_max_body_bytes=2 * 1024 * 1024,
             kafka_max_message_bytes=2 * 1024 * 1024 + RECORD_RESERVE_BYTES)


@given(any_text | st.text(min_size=90, max_size=120))
def test_a_callback_number_is_refused_or_safe_to_put_in_xml(raw):
    try:
        number = sales_order_number(raw)
    except InvalidCallback as refused:
        assert refused.error_type in {"missing_sales_order_number", "invalid_sales_order_number"}
        return
    assert number == raw and len(number) <= MAX_NUMBER_CHARS
    etree.Element("SearchClause").text = f'SalesOrderNumber.Equals("{number}")'  # lxml refuses what XML cannot hold


@pytest.mark.parametrize("raw", ["\x00", "SO\x011", "SO\r\n1", "\ud800", "\ufffe", "9" * 101, "", None])
def test_callback_numbers_lxml_would_refuse_are_dead_letters(raw):
    with pytest.raises(InvalidCallback):
        sales_order_number(raw)
