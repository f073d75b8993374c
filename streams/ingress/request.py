"""What to do with one Shopify webhook request: a pure decision.

The web view reads the body, calls :func:`decide`, and carries the decision
out. Order of checks: a declared or actual body over the limit is refused
(413) before anything else; an absent or wrong signature is refused (401)
before any header or byte of the body is trusted; then Shopify's headers
must be present where required, printable ASCII and short (400, naming the
header). A signed body that cannot be keyed by order is accepted anyway (200,
so Shopify stops retrying) and dead-lettered whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from streams.ingress.webhooks import (
    HMAC_HEADER,
    InvalidHeaders,
    UnroutableBody,
    order_id_for,
    parse_body,
    read_headers,
    signature_valid,
)
from streams.kafka import topics
from streams.kafka.dead_letters import INGRESS_SOURCE, dead_letter


@dataclass(frozen=True)
class Refuse:
    status: int
    outcome: str  # the metrics label
    message: str


@dataclass(frozen=True)
class Publish:
    """Write ``value`` to ``topic`` keyed by ``key``; answer 200 once the broker acknowledges it."""

    topic: str
    key: bytes | None
    value: dict[str, Any]
    outcome: str
    log_context: Mapping[str, str | None]


def decide(body: bytes, headers: Mapping[str, str], secret: bytes, received_at_ms: int) -> Refuse | Publish:
    if not signature_valid(body, headers.get(HMAC_HEADER), secret):
        return Refuse(401, "forged", "invalid or missing X-Shopify-Hmac-Sha256")
    try:
        meta = read_headers(headers)
    except InvalidHeaders as exc:
        return Refuse(400, "malformed", str(exc))
    context = {"topic": meta.topic, "shop_domain": meta.shop_domain,
               "webhook_id": meta.webhook_id, "event_id": meta.event_id}
    try:
        order_id = order_id_for(meta.topic, parse_body(body))
    except UnroutableBody as exc:
        return Publish(
            topic=topics.DEAD_LETTERS,
            key=None,
            value=dead_letter(source=INGRESS_SOURCE, payload=body, reason=str(exc), error_type=exc.error_type,
                              context=context, failed_at=received_at_ms),
            outcome="dead_lettered",
            log_context=context,
        )
    envelope = {
        "body": body,
        "topic": meta.topic,
        "shop_domain": meta.shop_domain,
        "api_version": meta.api_version,
        "webhook_id": meta.webhook_id,
        "event_id": meta.event_id,
        "triggered_at": meta.triggered_at,
        "received_at": received_at_ms,
        "order_id": order_id,
    }
    return Publish(topics.SHOPIFY_WEBHOOKS_RAW, order_id.encode(), envelope, "accepted",
                   {**context, "order_id": order_id})
