"""Run one command against its system and say what happened: the sinks' only decision.

Outcomes are the ``CommandResult`` ones: APPLIED (the system now holds it),
REJECTED_CUTOFF (Peoplevox is past the cut-off; nothing written). Connector
errors propagate: the sink retries a ``TransientError`` and turns a
``PermanentError`` into a FAILED result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.shopify import StockChange
from streams.core.model import Command, Target
from streams.core.peoplevox import SalesOrder
from streams.service.downstream import Downstream


@dataclass(frozen=True)
class Outcome:
    outcome: str
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


async def execute(downstream: Downstream, command: Command) -> Outcome:
    if command.target is Target.PEOPLEVOX:
        return await _peoplevox(downstream, command)
    if command.target is Target.INVENTORY:
        payload = command.payload
        group = await downstream.shopify.adjust_inventory(
            command.idempotency_key, [StockChange(payload["inventory_item_id"], payload["location_id"],
                                                  payload["delta"])],
            payload.get("reason", "correction"), payload.get("reference_document_uri"))
        return Outcome("APPLIED", detail={"adjustment_group": group["id"]})
    return await _erp(downstream, command)


async def _peoplevox(downstream: Downstream, command: Command) -> Outcome:
    warehouse, payload = downstream.peoplevox, command.payload
    if command.kind == "create_return":
        await warehouse.create_return(payload["refund_id"], payload["sales_order_number"],
                                      [(line["item_code"], line["quantity"]) for line in payload["lines"]])
        return Outcome("APPLIED")
    order = SalesOrder.model_validate(payload["sales_order"])
    if command.kind == "cancel_sales_order":
        written = await warehouse.cancel(order.number)
    elif command.kind == "replace_sales_order":
        written = await warehouse.cancel(payload["replaces"])
        if written.applied:
            written = await warehouse.upsert(order, command.order_id, must_exist=False)
    else:
        written = await warehouse.upsert(order, command.order_id, must_exist=command.kind == "update_sales_order")
    if not written.applied:
        return Outcome("REJECTED_CUTOFF", f"sales order is at {written.status}", {"status": written.status})
    return Outcome("APPLIED", detail={"status": written.status} if written.status else {})


async def _erp(downstream: Downstream, command: Command) -> Outcome:
    erp, payload = downstream.erp, command.payload
    if command.kind == "upsert_sales_order":
        internal_id = await erp.upsert_sales_order(payload["sales_order"])
    elif command.kind == "record_payment":
        internal_id = await erp.record_payment(payload["external_id"], payload["transaction_id"], payload["amount"],
                                               payload["currency"])
    else:
        internal_id = await erp.create_credit_memo(payload["external_id"], payload["refund_id"], payload["amount"],
                                                   payload["currency"], payload["lines"])
    return Outcome("APPLIED", detail={"erp_id": internal_id})
