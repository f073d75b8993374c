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


@dataclass(frozen=True)
class WebhookHeaders:
    topic: str
    shop_domain: str
    api_version: str | None
    webhook_id: str | None
    event_id: str | None
    triggered_at: str | None


class MissingHeader(ValueError):
    pass


def read_headers(headers: Mapping[str, str]) -> WebhookHeaders:
    """Shopify's headers from a case-insensitive mapping; topic and shop are required."""
    topic = (headers.get(TOPIC_HEADER) or "").strip()
    shop = (headers.get(SHOP_HEADER) or "").strip()
    missing = [name for name, value in ((TOPIC_HEADER, topic), (SHOP_HEADER, shop)) if not value]
    if missing:
        raise MissingHeader(f"missing header(s): {', '.join(missing)}")

    def optional(name: str) -> str | None:
        value = headers.get(name)
        return value.strip() or None if value else None

    return WebhookHeaders(topic, shop, optional(API_VERSION_HEADER), optional(WEBHOOK_ID_HEADER),
                          optional(EVENT_ID_HEADER), optional(TRIGGERED_AT_HEADER))


class UnroutableBody(ValueError):
    """A signed body editsync cannot key by order; ``error_type`` names the class."""

    def __init__(self, error_type: str, reason: str) -> None:
        super().__init__(reason)
        self.error_type = error_type


def parse_body(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnroutableBody("invalid_json", f"body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise UnroutableBody("invalid_json", f"body is JSON {type(payload).__name__}, not an object")
    return payload


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
    """Shopify ids as decimal strings; accepts ints, digit strings and GraphQL gids."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return str(raw) if raw > 0 else None
    if isinstance(raw, str):
        tail = raw.rsplit("/", 1)[-1] if raw.startswith("gid://shopify/") else raw
        return tail if tail.isdigit() and tail.strip("0") else None
    return None
