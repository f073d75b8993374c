"""Shopify's webhook deliveries: REST-shaped payloads, signed and sent as Shopify sends them.

Shapes follow shopify.dev/docs/api/webhooks (topics ``orders/create``,
``orders/updated``, ``orders/edited``, ``orders/cancelled``, ``refunds/create``,
``fulfillments/create``) and the REST ``Order``/``Refund``/``Fulfillment`` resources the order topics carry: numeric
ids, prices as decimal strings, ``tags`` as one comma-separated string,
``orders/edited`` with only the ``order_edit`` summary. Headers and signing
follow "Deliver webhooks through HTTPS" (shopify.dev/docs/apps/build/webhooks):
``X-Shopify-Hmac-Sha256`` is base64(HMAC-SHA256(client secret, raw body)),
plus ``X-Shopify-Topic``, ``-Shop-Domain``, ``-API-Version``, ``-Webhook-Id``,
``-Event-Id`` (shared by every delivery of one event) and ``-Triggered-At``.

Shopify promises neither order nor exactly-once delivery, and retries a
delivery that is not answered 2xx within five seconds. The emitter can do
all of that on purpose: duplicate, delay and reorder deliveries. It can also
lose them: "Webhooks will now be retried a total of 8 times over 4 hours"
(shopify.dev/changelog/updates-to-webhook-retry-mechanism), after which a
delivery is gone, and a subscription can be deleted or never made; with
``drop_rate`` that share of events is never sent at all (``dropped`` lists
them), which is what editsync's sweep of recently updated orders is for.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from sandboxes.shopify.store import Fulfillment, Order, Refund, Shop

log = logging.getLogger(__name__)


def _iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def order_payload(shop: Shop, order: Order) -> dict[str, Any]:
    total = str(order.total)
    return {
        "id": order.id, "admin_graphql_api_id": f"gid://shopify/Order/{order.id}", "name": order.name,
        "email": order.email, "created_at": _iso(order.created_at), "updated_at": _iso(order.updated_at),
        "cancelled_at": _iso(order.cancelled_at), "cancel_reason": order.cancel_reason and order.cancel_reason.lower(),
        "currency": order.currency, "presentment_currency": order.currency,
        "subtotal_price": total, "total_price": str(sum((line.price * line.quantity for line in order.lines), 0)),
        "current_total_price": total, "total_tax": "0.00", "current_total_tax": "0.00", "total_discounts": "0.00",
        "taxes_included": False, "financial_status": "paid" if order.paid >= order.total else "partially_paid",
        "fulfillment_status": _fulfillment_status(order), "tags": ", ".join(sorted(order.tags)), "note": order.note,
        "note_attributes": [{"name": k, "value": v} for k, v in order.attributes],
        "source_name": order.source_name,
        "shipping_lines": [{"title": order.shipping_method[0], "code": order.shipping_method[1]}],
        "customer": {"id": order.customer_id, "email": order.email} if order.customer_id else None,
        "company": {"id": order.company_id, "location_id": order.company_location_id} if order.company_id else None,
        "line_items": [{
            "id": line.id, "admin_graphql_api_id": f"gid://shopify/LineItem/{line.id}",
            "variant_id": line.variant_id, "product_id": shop.variants[line.variant_id].product_id
            if line.variant_id else None, "sku": line.sku, "title": line.title, "quantity": line.quantity,
            "current_quantity": line.current_quantity, "fulfillable_quantity": line.unfulfilled,
            "fulfillment_status": "fulfilled" if line.current_quantity and not line.unfulfilled else
            "partial" if line.shipped else None,
            "price": str(line.price), "total_discount": "0.00", "requires_shipping": line.requires_shipping,
            "properties": [{"name": k, "value": v} for k, v in line.properties]} for line in order.lines],
        "shipping_address": order.shipping_address,
    }


def _fulfillment_status(order: Order) -> str | None:
    open_units = [line for line in order.lines if line.current_quantity > 0]
    if open_units and all(line.unfulfilled == 0 for line in open_units):
        return "fulfilled"
    return "partial" if any(line.shipped for line in order.lines) else None


def fulfillment_payload(order: Order, fulfillment: Fulfillment) -> dict[str, Any]:
    return {"id": fulfillment.id, "order_id": order.id, "status": "success", "created_at": _iso(fulfillment.created_at),
            "location_id": fulfillment.location_id, "shipment_status": None,
            "tracking_company": fulfillment.tracking_company, "tracking_numbers": list(fulfillment.tracking_numbers),
            "tracking_number": fulfillment.tracking_numbers[0] if fulfillment.tracking_numbers else None,
            "notify_customer": fulfillment.notify_customer,
            "line_items": [{"id": line_id, "quantity": units} for line_id, units in fulfillment.lines]}


def refund_payload(order: Order, refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.id, "order_id": order.id, "created_at": _iso(refund.created_at), "note": refund.note,
        "refund_line_items": [{"line_item_id": rl.line_id, "quantity": rl.quantity,
                               "restock_type": rl.restock_type.lower(), "location_id": rl.location_id,
                               "subtotal": str(rl.subtotal)} for rl in refund.lines],
        "transactions": [{"id": refund.transaction_id, "order_id": order.id, "kind": "refund", "status": "success",
                          "amount": str(refund.amount), "currency": order.currency, "gateway": "bogus"}]
        if refund.transaction_id else [],
    }


def edit_payload(order: Order, edit: dict[str, Any]) -> dict[str, Any]:
    return {"order_edit": {
        "id": edit["id"], "app_id": None, "created_at": _iso(edit["created_at"]),
        "committed_at": _iso(edit["created_at"]), "notify_customer": False, "order_id": order.id,
        "staff_note": "", "user_id": None,
        "line_items": {"additions": edit["additions"], "removals": edit["removals"]},
        "discounts": {"line_item": {"additions": [], "removals": []}},
        "shipping_lines": {"additions": [], "removals": []}}}


def sign(body: bytes, secret: bytes) -> str:
    return base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode("ascii")


@dataclass
class Delivery:
    topic: str
    body: bytes
    event_id: str
    triggered_at: str
    webhook_id: str = field(default_factory=lambda: str(uuid.uuid4()))  # kept across retries of this delivery


@dataclass
class DeliveryPlan:
    duplicate_rate: float = 0.0  # share of events delivered twice
    drop_rate: float = 0.0  # share of events never delivered (retries given up, subscription deleted)
    delay_ms: tuple[int, int] = (0, 0)  # each delivery waits a random time in this range
    reorder_window: int = 1  # deliveries are shuffled within groups of this many
    reorder_wait_s: float = 1.0  # a group not yet full goes anyway after this long: Shopify holds nothing back
    max_attempts: int = 5
    retry_base_s: float = 0.5


#: The topics the app subscribes to (docs/connecting/shopify.md): Shopify delivers only what an app subscribed to.
SUBSCRIBED = frozenset({"orders/create", "orders/updated", "orders/edited", "orders/cancelled", "refunds/create",
                        "fulfillments/create", "fulfillments/update"})


@dataclass
class WebhookEmitter:
    """Turns store changes into signed deliveries to one endpoint, on an asyncio loop (subscribed topics only)."""

    shop: Shop
    url: str
    secret: bytes
    api_version: str = "2026-10"
    plan: DeliveryPlan = field(default_factory=DeliveryPlan)
    seed: int | None = None
    delivered: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)
    topics: frozenset[str] = SUBSCRIBED

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._queue: asyncio.Queue[Delivery] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._held: list[Delivery] = []
        self._inflight: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        self.shop.listeners.append(self._on_change)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._client = httpx.AsyncClient(timeout=5.0)  # Shopify waits five seconds for an answer

    async def close(self) -> None:
        """Stop at once: deliveries still retrying are dropped (their receiver is usually gone too)."""
        pending = list(self._inflight)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if pending:
            log.info("webhook emitter closed with %d deliveries undelivered", len(pending))
        if self._client is not None:
            await self._client.aclose()

    async def flush(self) -> None:
        """Send anything held for reordering and wait for every delivery in progress."""
        if self._held and self._loop is not None:
            self._release_held()
        while self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)

    def _on_change(self, topic: str, change: dict[str, Any]) -> None:
        if topic not in self.topics:
            return
        order: Order = change["order"]
        if topic == "orders/edited":
            payload = edit_payload(order, change["edit"])
        elif topic == "refunds/create":
            payload = refund_payload(order, change["refund"])
        elif topic == "fulfillments/create":
            payload = fulfillment_payload(order, change["fulfillment"])
        else:
            payload = order_payload(self.shop, order)
        # Built now, while the store is locked: a delivery shows the order as it was at this event.
        delivery = Delivery(topic, json.dumps(payload).encode(), str(uuid.uuid4()),
                            datetime.now(UTC).isoformat(timespec="milliseconds"))
        if self.plan.drop_rate and self._random.random() < self.plan.drop_rate:
            self.dropped.append({"topic": topic, "event_id": delivery.event_id, "order_id": order.id})
            return
        copies = [delivery]
        if self._random.random() < self.plan.duplicate_rate:
            copies.append(Delivery(topic, delivery.body, delivery.event_id, delivery.triggered_at))
        if self._loop is None:
            log.warning("webhook emitter not started: %s dropped", topic)
            return
        self._loop.call_soon_threadsafe(self._hold, copies)

    def _hold(self, deliveries: list[Delivery]) -> None:
        starts_group = not self._held
        self._held.extend(deliveries)
        if len(self._held) >= self.plan.reorder_window:
            self._release_held()
        elif starts_group and self._loop is not None:
            # Without this the last few events of a quiet spell waited for traffic that might never come.
            self._loop.call_later(self.plan.reorder_wait_s, self._release_held)

    def _release_held(self) -> None:
        batch, self._held = self._held, []
        self._random.shuffle(batch)
        self._release(batch)

    def _release(self, batch: list[Delivery]) -> None:
        for delivery in batch:
            task = asyncio.ensure_future(self._deliver(delivery))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    async def _deliver(self, delivery: Delivery) -> None:
        low, high = self.plan.delay_ms
        if high:
            await asyncio.sleep(self._random.uniform(low, high) / 1000)
        assert self._client is not None
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": delivery.topic,
            "X-Shopify-Hmac-Sha256": sign(delivery.body, self.secret),
            "X-Shopify-Shop-Domain": self.shop.domain,
            "X-Shopify-API-Version": self.api_version,
            "X-Shopify-Webhook-Id": delivery.webhook_id,
            "X-Shopify-Event-Id": delivery.event_id,
            "X-Shopify-Triggered-At": delivery.triggered_at,
        }
        for attempt in range(1, self.plan.max_attempts + 1):
            try:
                response = await self._client.post(self.url, content=delivery.body, headers=headers)
                status: int | str = response.status_code
                if response.is_success:
                    self.delivered.append({"topic": delivery.topic, "event_id": delivery.event_id,
                                           "attempts": attempt})
                    return
            except httpx.HTTPError as error:
                status = type(error).__name__
            await asyncio.sleep(self.plan.retry_base_s * 2 ** (attempt - 1))
        self.failed.append({"topic": delivery.topic, "event_id": delivery.event_id, "last": str(status)})
        log.warning("webhook %s not accepted after %d attempts (%s)", delivery.topic, self.plan.max_attempts, status)
