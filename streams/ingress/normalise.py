"""Shopify webhook payloads (REST Order / Refund / Fulfillment resource shapes)
into the normalised ``OrderEvent`` of ``schemas/order_event.avsc``.

Pure: an envelope dict in, an event dict out, or ``NormaliseError`` with a
stable ``error_type`` for the dead-letter topic. Shapes follow Shopify's
webhook reference (shopify.dev/docs/api/webhooks, topics orders/*, refunds/create,
fulfillments/*) and the REST Order resource the order payloads carry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from streams.ingress.webhooks import UnroutableBody, numeric_id, order_id_for, parse_body
from streams.runtime.clock import epoch_ms

EVENT_TYPES: dict[str, str] = {
    "orders/create": "ORDER_CREATED",
    "orders/updated": "ORDER_UPDATED",
    "orders/edited": "ORDER_EDITED",
    "orders/cancelled": "ORDER_CANCELLED",
    "orders/fulfilled": "ORDER_FULFILLED",
    "orders/partially_fulfilled": "ORDER_PARTIALLY_FULFILLED",
    "refunds/create": "REFUND_CREATED",
    "fulfillments/create": "FULFILLMENT_CREATED",
    "fulfillments/update": "FULFILLMENT_UPDATED",
}

ADDRESS_FIELDS = ("name", "first_name", "last_name", "company", "address1", "address2", "city",
                  "province", "province_code", "zip", "country", "country_code", "phone")


class NormaliseError(ValueError):
    def __init__(self, error_type: str, reason: str) -> None:
        super().__init__(reason)
        self.error_type = error_type


def event_id_for(envelope: Mapping[str, Any]) -> str:
    """Shopify's event id when sent; else the delivery id; else a digest of the content."""
    if envelope.get("event_id"):
        return envelope["event_id"]
    if envelope.get("webhook_id"):
        return f"webhook:{envelope['webhook_id']}"
    digest = hashlib.sha256(
        b"\0".join((envelope["topic"].encode(), envelope["shop_domain"].encode(), envelope["body"]))
    ).hexdigest()[:32]
    return f"sha256:{digest}"


def normalise(envelope: Mapping[str, Any]) -> dict[str, Any]:
    """One raw webhook envelope → one ``OrderEvent`` record."""
    topic = envelope["topic"]
    event_type = EVENT_TYPES.get(topic)
    if event_type is None:
        raise NormaliseError("unknown_topic", f"webhook topic {topic!r} is not one editsync handles")
    try:
        payload = parse_body(envelope["body"])
        order_id = order_id_for(topic, payload)
    except UnroutableBody as exc:
        raise NormaliseError(exc.error_type, str(exc)) from exc

    event: dict[str, Any] = {
        "event_id": event_id_for(envelope),
        "event_type": event_type,
        "webhook_topic": topic,
        "webhook_id": envelope.get("webhook_id"),
        "shop_domain": envelope["shop_domain"],
        "api_version": envelope.get("api_version"),
        "triggered_at": _header_timestamp(envelope.get("triggered_at")),
        "received_at": envelope["received_at"],
        "order_id": order_id,
        "payload_complete": False,
        "order": None,
        "order_edit": None,
        "refund": None,
        "fulfillment": None,
    }
    try:
        if topic == "orders/edited":
            event["order_edit"] = _order_edit(payload["order_edit"])
        elif topic.startswith("orders/"):
            event["order"] = _order(payload, order_id)
            event["payload_complete"] = True
        elif topic.startswith("refunds/"):
            event["refund"] = _refund(payload)
        else:
            event["fulfillment"] = _fulfillment(payload)
    except NormaliseError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise NormaliseError("invalid_payload", f"{topic} body is not shaped as Shopify sends it: {exc!r}") from exc
    return event


def _order(p: Mapping[str, Any], order_id: str) -> dict[str, Any]:
    company = p.get("company") or {}
    customer = p.get("customer") or {}
    return {
        "id": order_id,
        "name": _str(p.get("name")),
        "created_at": _optional_timestamp(p.get("created_at"), "created_at"),
        "updated_at": _optional_timestamp(p.get("updated_at"), "updated_at"),
        "cancelled_at": _optional_timestamp(p.get("cancelled_at"), "cancelled_at"),
        "cancel_reason": _str(p.get("cancel_reason")),
        "currency": _str(p.get("currency")),
        "presentment_currency": _str(p.get("presentment_currency")),
        "subtotal_price": _money(p.get("subtotal_price"), "subtotal_price"),
        "total_price": _money(p.get("total_price"), "total_price"),
        "current_total_price": _money(p.get("current_total_price"), "current_total_price"),
        "total_tax": _money(p.get("total_tax"), "total_tax"),
        "current_total_tax": _money(p.get("current_total_tax"), "current_total_tax"),
        "total_discounts": _money(p.get("total_discounts"), "total_discounts"),
        "taxes_included": p.get("taxes_included") if isinstance(p.get("taxes_included"), bool) else None,
        "financial_status": _str(p.get("financial_status")),
        "fulfillment_status": _str(p.get("fulfillment_status")),
        "tags": _tags(p.get("tags")),
        "note": _str(p.get("note")),
        "note_attributes": _attributes(p.get("note_attributes")),
        "source_name": _str(p.get("source_name")),
        "customer_id": numeric_id(customer.get("id")),
        "email": _str(p.get("email") or p.get("contact_email")),
        "company_id": numeric_id(company.get("id")),
        "company_location_id": numeric_id(company.get("location_id")),
        "line_items": [_line_item(item) for item in p.get("line_items") or []],
        "shipping_address": _address(p.get("shipping_address")),
    }


def _line_item(item: Mapping[str, Any]) -> dict[str, Any]:
    line_id = numeric_id(item["id"])
    if line_id is None:
        raise NormaliseError("invalid_payload", f"line item id {item['id']!r} is not a Shopify id")
    return {
        "id": line_id,
        "variant_id": numeric_id(item.get("variant_id")),
        "product_id": numeric_id(item.get("product_id")),
        "sku": _str(item.get("sku")),
        "title": _str(item.get("title")),
        "quantity": _int32(item["quantity"], "line_items.quantity"),
        "current_quantity": _optional_int32(item.get("current_quantity"), "line_items.current_quantity"),
        "fulfillable_quantity": _optional_int32(item.get("fulfillable_quantity"), "line_items.fulfillable_quantity"),
        "unit_price": _money(item["price"], "line_items.price"),
        "total_discount": _money(item.get("total_discount"), "line_items.total_discount"),
        "properties": _attributes(item.get("properties")),
        "requires_shipping": item.get("requires_shipping") if isinstance(item.get("requires_shipping"), bool) else None,
    }


def _order_edit(edit: Mapping[str, Any]) -> dict[str, Any]:
    items = edit.get("line_items") or {}

    def deltas(key: str) -> list[dict[str, Any]]:
        return [{"line_item_id": numeric_id(d["id"]) or _text(d["id"]), "delta": _int32(d["delta"], f"{key}.delta")}
                for d in items.get(key) or []]

    return {
        "id": numeric_id(edit.get("id")) or _text(edit.get("id")),
        "created_at": _optional_timestamp(edit.get("created_at"), "order_edit.created_at"),
        "committed_at": _optional_timestamp(edit.get("committed_at"), "order_edit.committed_at"),
        "staff_note": _str(edit.get("staff_note")),
        "additions": deltas("additions"),
        "removals": deltas("removals"),
    }


def _refund(p: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": numeric_id(p["id"]) or _text(p["id"]),
        "created_at": _optional_timestamp(p.get("created_at"), "refund.created_at"),
        "note": _str(p.get("note")),
        "refund_line_items": [
            {
                "line_item_id": numeric_id(r["line_item_id"]) or _text(r["line_item_id"]),
                "quantity": _int32(r["quantity"], "refund_line_items.quantity"),
                "restock_type": _str(r.get("restock_type")),
                "location_id": numeric_id(r.get("location_id")),
                "subtotal": _money(r.get("subtotal"), "refund_line_items.subtotal"),
            }
            for r in p.get("refund_line_items") or []
        ],
        "transactions": [
            {
                "id": numeric_id(t["id"]) or _text(t["id"]),
                "kind": _str(t.get("kind")),
                "status": _str(t.get("status")),
                "amount": _money(t["amount"], "transactions.amount"),
                "currency": _str(t.get("currency")),
                "gateway": _str(t.get("gateway")),
            }
            for t in p.get("transactions") or []
        ],
    }


def _fulfillment(p: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": numeric_id(p["id"]) or _text(p["id"]),
        "status": _str(p.get("status")),
        "shipment_status": _str(p.get("shipment_status")),
        "location_id": numeric_id(p.get("location_id")),
        "tracking_numbers": [_text(n) for n in p.get("tracking_numbers") or [] if n],
        "line_items": [{"line_item_id": numeric_id(li["id"]) or _text(li["id"]),
                        "delta": _int32(li["quantity"], "fulfillment.line_items.quantity")}
                       for li in p.get("line_items") or []],
    }


def _text(value: Any) -> str:
    """A JSON scalar as text; an object, array or boolean where Shopify sends text is not its shape."""
    if isinstance(value, (dict, list, bool)) or value is None:
        raise TypeError(f"expected text, got {type(value).__name__}")
    return str(value)


def _str(value: Any) -> str | None:
    if value is None:
        return None
    text = _text(value).strip()
    return text or None


#: Shopify's quantities are GraphQL ``Int``s, 32-bit signed (GraphQL spec, "Int"), and so are the
#: OrderEvent schema's. A larger one is not Shopify's: it is dead-lettered, not widened or clamped.
INT32 = range(-(2**31), 2**31)


def _int32(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise NormaliseError("invalid_payload", f"{field} is not an integer: {type(value).__name__}")
    if isinstance(value, float) and not value.is_integer():
        raise NormaliseError("invalid_payload", f"{field} is not an integer: {value!r}")
    if isinstance(value, str) and not (value.isascii() and value.lstrip("-").isdigit()):
        raise NormaliseError("invalid_payload", f"{field} is not an integer: {value[:40]!r}")
    number = int(value)
    if number not in INT32:
        raise NormaliseError("invalid_payload", f"{field} {str(number)[:40]} is outside Shopify's 32-bit range")
    return number


def _optional_int32(value: Any, field: str) -> int | None:
    return None if value is None else _int32(value, field)


def _money(value: Any, field: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise NormaliseError("invalid_payload", f"{field} is not a decimal amount: {value!r}") from exc
    if not amount.is_finite():
        raise NormaliseError("invalid_payload", f"{field} is not a finite amount: {value!r}")
    return str(amount)


def _optional_timestamp(value: Any, field: str) -> int | None:
    """ISO 8601 (Shopify sends offsets, sometimes ``Z``) → epoch milliseconds."""
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(_text(value))
    except (TypeError, ValueError) as exc:
        raise NormaliseError("invalid_payload", f"{field} is not an ISO 8601 time: {value!r}") from exc
    if parsed.tzinfo is None:
        raise NormaliseError("invalid_payload", f"{field} has no UTC offset: {value!r}")
    try:
        return epoch_ms(parsed)
    except OverflowError as exc:  # year 1 at a positive offset is before datetime's range in UTC
        raise NormaliseError("invalid_payload", f"{field} is out of range: {value!r}") from exc


def _header_timestamp(value: Any) -> int | None:
    """A header is informational: a malformed one is dropped, not a reason to dead-letter the order."""
    try:
        return _optional_timestamp(value, "X-Shopify-Triggered-At")
    except NormaliseError:
        return None


def _tags(value: Any) -> list[str]:
    if isinstance(value, list):
        return [tag for tag in map(_str, value) if tag]
    return [tag.strip() for tag in (_str(value) or "").split(",") if tag.strip()]


def _attributes(value: Any) -> list[dict[str, Any]]:
    attributes = []
    for attribute in value or []:
        name = _str(attribute.get("name"))
        if name is not None:
            raw = attribute.get("value")
            attributes.append({"name": name, "value": None if raw is None else _text(raw)})
    return attributes


def _address(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, Mapping):
        return None
    return {field: _str(value.get(field)) for field in ADDRESS_FIELDS}
