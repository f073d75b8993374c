"""What the ERP should record for an order: the sales order, payments, credit memos; B2B prices.

The ERP sales order is upserted by Shopify order id as external id, so a
second "order updated" can never create a second sales order. Payments and
credit memos are keyed by Shopify's own transaction and refund ids.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from streams.core.model import OrderSnapshot, Transaction
from streams.core.reference import PriceLists

CAPTURED_KINDS = frozenset({"SALE", "CAPTURE"})


def erp_sales_order(snapshot: OrderSnapshot) -> dict[str, Any]:
    return {
        "external_id": snapshot.order_id,
        "number": snapshot.name,
        "currency": snapshot.currency,
        "total": str(snapshot.total),
        "tax": str(snapshot.tax),
        "cancelled": snapshot.cancelled,
        "customer_id": snapshot.customer_id,
        "lines": [{"line_id": line.line_id, "sku": line.sku, "quantity": line.quantity,
                   "unit_price": str(line.unit_price)} for line in snapshot.lines if line.quantity > 0],
    }


def fingerprint(record: dict[str, Any]) -> str:
    """Stable digest of what the ERP holds, to tell whether an upsert is needed."""
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:24]


def captured_payments(snapshot: OrderSnapshot) -> list[Transaction]:
    return [t for t in snapshot.transactions if t.kind in CAPTURED_KINDS and t.status == "SUCCESS"]


def price_list_mismatches(snapshot: OrderSnapshot, price_lists: PriceLists) -> list[dict[str, Any]]:
    """B2B lines added after checkout whose price differs from the company location's price list."""
    mismatches = []
    for line in snapshot.lines:
        if line.quantity <= 0 or line.original_quantity != 0:
            continue
        agreed = price_lists.agreed_price(snapshot.company_location_id, line.variant_id)
        if agreed is not None and agreed != line.unit_price:
            mismatches.append({"line_id": line.line_id, "sku": line.sku, "variant_id": line.variant_id,
                               "charged": str(line.unit_price), "price_list": str(agreed)})
    return mismatches
