"""Run one command against its system and say what happened: the sinks' only decision.

Outcomes are the ``CommandResult`` ones: APPLIED (the system now holds it),
REJECTED_CUTOFF (Peoplevox is past the cut-off; nothing written). Connector
errors propagate: the sink retries a ``TransientError`` and turns a
``PermanentError`` (or the last attempt) into a FAILED result.

Before a sales order is created or replaced, the order's sales orders in
Peoplevox are read (``streams.core.peoplevox.behind``): if Peoplevox already
used the number, or holds a later revision, the order's state is behind
(rebuilt after local state was lost, or the command is an old one delivered
again). Nothing is written then: the result is REJECTED with what Peoplevox
holds (number, status, lines, and the header read back: address, email, gift
message, line notes), which the engine adopts and plans from. A
write refused at the cut-off says the same. A replace whose cancel went
through but whose create did not says so in the error's detail
(``WAREHOUSE_HOLDS_NOTHING``): retried, the cancel is a no-op and the create
is tried again; given up, the engine raises its most severe exception.

A cancel of whatever is live (``CancelLiveSalesOrders``, for a rebuilt order
that should ship nothing) reads the order's sales orders the same way and
cancels each live one; one past the cut-off stays and is answered
REJECTED_CUTOFF with what it holds, so the engine adopts and flags it. None
live: APPLIED, nothing written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.downstream import Downstream
from connectors.errors import ConnectorError, PermanentError
from connectors.ports import Erp, StockChange, Warehouse, Written
from streams.core import commands
from streams.core.exceptions import WAREHOUSE_HOLDS_NOTHING
from streams.core.peoplevox import CANCELLED, base_number, behind, revision_of


@dataclass(frozen=True)
class Outcome:
    outcome: str
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


async def execute(downstream: Downstream, command: commands.Command) -> Outcome:
    payload = command.payload
    if payload is None:
        raise PermanentError(f"{command.command_id} carries no payload")
    if isinstance(payload, commands.AdjustInventory):
        group = await downstream.shopify.adjust_inventory(
            command.idempotency_key, [StockChange(payload.inventory_item_id, payload.location_id, payload.delta)],
            payload.reason, payload.reference_document_uri)
        return Outcome("APPLIED", detail={"adjustment_group": group["id"]})
    if isinstance(payload, commands.TagsChange):
        added = isinstance(payload, commands.AddTags)
        await downstream.shopify.change_tags(command.order_id, add=payload.tags if added else (),
                                             remove=() if added else payload.tags)
        return Outcome("APPLIED")
    if isinstance(payload, (commands.SalesOrderChange, commands.CancelLiveSalesOrders, commands.CreateReturn)):
        return await _peoplevox(downstream.peoplevox, command.order_id, payload)
    return await _erp(downstream.erp, payload)


async def _peoplevox(warehouse: Warehouse, order_id: str, payload: commands.PeoplevoxPayload) -> Outcome:
    if isinstance(payload, commands.CreateReturn):
        await warehouse.create_return(payload.refund_id, payload.sales_order_number,
                                      [(line.item_code, line.quantity) for line in payload.lines])
        return Outcome("APPLIED")
    if isinstance(payload, commands.CancelLiveSalesOrders):
        return await _cancel_live(warehouse, order_id, payload.number)
    order = payload.sales_order
    if isinstance(payload, commands.CancelSalesOrder):
        written = await warehouse.cancel(order.number)
    elif isinstance(payload, commands.UpdateSalesOrder):
        written = await warehouse.upsert(order, order_id, must_exist=True)
    else:
        latest = behind(order, await _sales_orders(warehouse, order_id, base_number(order.number)))
        if latest is not None:
            number, status = latest
            return Outcome("REJECTED", f"Peoplevox already holds {number} ({status}): nothing written",
                           {"status": status, **await _holding(warehouse, number)})
        written = await _create(warehouse, order_id, payload)
        if not written.applied:
            return Outcome("REJECTED_CUTOFF", f"sales order is at {written.status}",
                           {"status": written.status, **await _holding(warehouse, payload.replaces or order.number)})
    if not written.applied:
        return Outcome("REJECTED_CUTOFF", f"sales order is at {written.status}", {"status": written.status})
    return Outcome("APPLIED", detail={"status": written.status} if written.status else {})


async def _create(warehouse: Warehouse, order_id: str, payload: commands.SalesOrderChange) -> Written:
    order = payload.sales_order
    if payload.replaces is None:
        return await warehouse.upsert(order, order_id, must_exist=False)
    # Repeating the whole command is safe: a cancelled sales order stays cancelled, the create upserts.
    written = await warehouse.cancel(payload.replaces)
    if not written.applied:
        return written
    try:
        return await warehouse.upsert(order, order_id, must_exist=False)
    except ConnectorError as error:
        error.detail = {**error.detail, WAREHOUSE_HOLDS_NOTHING: True, "cancelled": payload.replaces,
                        "not_created": order.number}
        raise


async def _sales_orders(warehouse: Warehouse, order_id: str, base: str) -> list[tuple[str, str]]:
    """The order's sales orders Peoplevox holds (number, status): ``base`` and its revisions, made for the order.

    The prefix search also finds other orders' numbers that start alike (``1001`` finds ``10010``)."""
    return [(row.number, row.status) for row in await warehouse.sales_orders_of(base)
            if row.reference == order_id and revision_of(row.number, base) is not None]


async def _cancel_live(warehouse: Warehouse, order_id: str, number: str) -> Outcome:
    """Cancel every live sales order of the order; the first one the warehouse keeps is the answer."""
    live = [each for each, status in await _sales_orders(warehouse, order_id, number) if status != CANCELLED]
    cancelled: list[tuple[str, str | None]] = []
    kept: list[tuple[str, str | None]] = []
    for each in live:
        written = await warehouse.cancel(each)
        (cancelled if written.applied else kept).append((each, written.status))
    done = [each for each, _ in cancelled]
    if kept:
        (held, status), *_ = kept
        return Outcome("REJECTED_CUTOFF", f"sales order {held} is at {status}",
                       {"status": status, "cancelled": done, **await _holding(warehouse, held)})
    return Outcome("APPLIED", detail={"cancelled": done})


async def _holding(warehouse: Warehouse, number: str) -> dict[str, Any]:
    """What Peoplevox holds under ``number``, header included, for an order whose state may not know
    (``peoplevox.adopt``, read back by ``engine._held``)."""
    held = await warehouse.held(number)
    if held is None:
        return {"number": number, "lines": []}
    return {"number": number, "lines": [[code, quantity] for code, quantity in held.lines],
            "header": None if held.header is None else held.header.model_dump(mode="json")}


async def _erp(erp: Erp, payload: commands.ErpPayload) -> Outcome:
    if isinstance(payload, commands.UpsertSalesOrder):
        internal_id = await erp.upsert_sales_order(payload.sales_order.model_dump(mode="json"))
    elif isinstance(payload, commands.RecordPayment):
        internal_id = await erp.record_payment(payload.external_id, payload.transaction_id, str(payload.amount),
                                               payload.currency)
    else:
        lines = [line.model_dump(mode="json") for line in payload.lines]
        internal_id = await erp.create_credit_memo(payload.external_id, payload.refund_id, str(payload.amount),
                                                   payload.currency, lines)
    return Outcome("APPLIED", detail={"erp_id": internal_id})
