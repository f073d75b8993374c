"""Shopify webhook rules, as pure functions: signature, headers, the order key.

Shopify signs the raw body with the app's client secret: the
``X-Shopify-Hmac-Sha256`` header is the base64 HMAC-SHA256 of exactly the
bytes received ("Verify webhooks", shopify.dev/docs/apps/build/webhooks/subscribe/https).
Duplicates share ``X-Shopify-Event-Id`` ("Ignore duplicate webhooks").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

HMAC_HEADER = "X-Shopify-Hmac-Sha256"
TOPIC_HEADER = "X-Shopify-Topic"
SHOP_HEADER = "X-Shopify-Shop-Domain"
API_VERSION_HEADER = "X-Shopify-API-Version"
WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"
EVENT_ID_HEADER = "X-Shopify-Event-Id"
TRIGGERED_AT_HEADER = "X-Shopify-Triggered-At"


def sign(body: bytes, secret: bytes) -> str:
    """The header value Shopify sends for ``body``."""
    return base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()


def signature_valid(body: bytes, header_value: str | None, secret: bytes) -> bool:
    """Constant-time check of ``X-Shopify-Hmac-Sha256`` against the body."""
    if not header_value:
        return False
    try:
        received = base64.b64decode(header_value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    expected = hmac.new(secret, body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, received)


#: Shopify's header values are short ASCII: a shop domain is a DNS name (at most 253 characters),
#: topics, API versions and ids far shorter. Anything longer or outside printable ASCII is refused.
MAX_HEADER_CHARS = 255
#: A Shopify webhook is at most a few levels deep (a refund's line item's price set's money).
MAX_JSON_DEPTH = 32
#: Shopify ids are 64-bit integers.
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class WebhookHeaders:
    topic: str
    shop_domain: str
    api_version: str | None
    webhook_id: str | None
    event_id: str | None
    triggered_at: str | None


class InvalidHeaders(ValueError):
    """Shopify's routing headers are missing or malformed: a 400 with this message."""


def read_headers(headers: Mapping[str, str]) -> WebhookHeaders:
    """Shopify's headers from a case-insensitive mapping; topic and shop are required, all must be short ASCII."""
    problems = [f"{name} is not printable ASCII of at most {MAX_HEADER_CHARS} characters"
                for name in (TOPIC_HEADER, SHOP_HEADER, API_VERSION_HEADER, WEBHOOK_ID_HEADER, EVENT_ID_HEADER,
                             TRIGGERED_AT_HEADER)
                if name in headers and not _printable_ascii(headers[name])]
    if problems:
        raise InvalidHeaders("; ".join(problems))
    topic = (headers.get(TOPIC_HEADER) or "").strip()
    shop = (headers.get(SHOP_HEADER) or "").strip()
    missing = [name for name, value in ((TOPIC_HEADER, topic), (SHOP_HEADER, shop)) if not value]
    if missing:
        raise InvalidHeaders(f"missing header(s): {', '.join(missing)}")

    def optional(name: str) -> str | None:
        value = headers.get(name)
        return value.strip() or None if value else None

    return WebhookHeaders(topic, shop, optional(API_VERSION_HEADER), optional(WEBHOOK_ID_HEADER),
                          optional(EVENT_ID_HEADER), optional(TRIGGERED_AT_HEADER))


def _printable_ascii(value: str) -> bool:
    return len(value) <= MAX_HEADER_CHARS and all(" " <= char <= "~" for char in value)


class UnroutableBody(ValueError):
    """A signed body editsync cannot key by order; ``error_type`` names the class."""

    def __init__(self, error_type: str, reason: str) -> None:
        super().__init__(reason)
        self.error_type = error_type


def parse_body(body: bytes) -> dict[str, Any]:
    """A JSON object as RFC 8259 exchanges it (UTF-8, finite numbers), of bounded depth, every string UTF-8.

    Python's own limits are the first line: a number of more than 4,300
    digits or nesting beyond the recursion limit raise ``ValueError`` /
    ``RecursionError`` inside ``json.loads``; both are a dead letter here.
    """
    try:
        payload = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise UnroutableBody("invalid_json", f"body is not UTF-8: {exc}") from exc
    except RecursionError as exc:
        raise UnroutableBody("invalid_json", "body is JSON nested too deeply to parse") from exc
    except ValueError as exc:  # JSONDecodeError, and Python's limit on digits in an integer
        raise UnroutableBody("invalid_json", f"body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise UnroutableBody("invalid_json", f"body is JSON {type(payload).__name__}, not an object")
    _check_values(payload)
    return payload


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_values(payload: dict[str, Any]) -> None:
    """Depth at most MAX_JSON_DEPTH, numbers finite, strings (keys too) free of lone surrogates (``"\\ud800"``)."""
    stack: list[tuple[Any, int]] = [(payload, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise UnroutableBody("invalid_json",
                                     f"body has a string that is not Unicode text: {exc.reason}") from exc
        elif isinstance(value, float) and not math.isfinite(value):
            raise UnroutableBody("invalid_json", "body has a number out of range")
        elif isinstance(value, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise UnroutableBody("invalid_json", f"body is nested deeper than {MAX_JSON_DEPTH} levels")
            children = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)


def order_id_for(topic: str, payload: Mapping[str, Any]) -> str:
    """The Shopify order id a webhook is about, as a string: the Kafka key.

    orders/* carry the order (``id``), except orders/edited, which carries
    ``order_edit.order_id``; refunds/* and fulfillments/* carry ``order_id``.
    """
    if topic == "orders/edited":
        edit = payload.get("order_edit")
        raw = edit.get("order_id") if isinstance(edit, Mapping) else None
        where = "order_edit.order_id"
    elif topic.startswith("orders/"):
        raw, where = payload.get("id"), "id"
    elif topic.startswith(("refunds/", "fulfillments/")):
        raw, where = payload.get("order_id"), "order_id"
    else:
        raise UnroutableBody("unknown_topic", f"webhook topic {topic!r} is not one editsync handles")
    order_id = numeric_id(raw)
    if order_id is None:
        raise UnroutableBody("missing_order_id", f"{topic} body has no usable order id at {where}")
    return order_id


def numeric_id(raw: Any) -> str | None:
    """A Shopify id as its canonical decimal string (the Kafka key), from an int, a digit string or a GraphQL gid.

    Only ASCII digits without leading zeros: ``"00123"`` would key apart from
    ``"123"``, and ``str.isdigit`` also takes "²³" and "١٢٣".
    """
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return str(raw) if 0 < raw <= MAX_ID else None
    if isinstance(raw, str):
        tail = raw.rsplit("/", 1)[-1] if raw.startswith("gid://shopify/") else raw
        if tail.isascii() and tail.isdigit() and not tail.startswith("0") and len(tail) <= len(str(MAX_ID)):
            return tail if int(tail) <= MAX_ID else None
    return None
