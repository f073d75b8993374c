"""Run one command against its system and say what happened: the sinks' only decision.

Outcomes are the ``CommandResult`` ones: APPLIED (the system now holds it),
REJECTED_CUTOFF (Peoplevox is past the cut-off; nothing written). Connector
errors propagate: the sink retries a ``TransientError`` and turns a
``PermanentError`` (or the last attempt) into a FAILED result.

A sales order is created or replaced where ``streams.core.peoplevox.place``
says, from the order's sales orders Peoplevox holds now (read first): the
order's own state may be behind Peoplevox (rebuilt after local state was
lost), and a number Peoplevox used is never written again. The result names
the number written (or the live one past the cut-off that stopped it). A
replace whose cancel went through but whose create did not says so in the
error's detail (``WAREHOUSE_HOLDS_NOTHING``): retried, the cancel is a no-op
and the create is tried again; given up, the engine raises its most severe
exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.errors import ConnectorError, PermanentError
from connectors.ports import Erp, StockChange, Warehouse, Written
from streams.core import commands
from streams.core.exceptions import WAREHOUSE_HOLDS_NOTHING
from streams.core.peoplevox import base_number, place
from streams.service.downstream import Downstream


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
    if isinstance(payload, (commands.SalesOrderChange, commands.CreateReturn)):
        return await _peoplevox(downstream.peoplevox, command.order_id, payload)
    return await _erp(downstream.erp, payload)


async def _peoplevox(warehouse: Warehouse, order_id: str, payload: commands.PeoplevoxPayload) -> Outcome:
    if isinstance(payload, commands.CreateReturn):
        await warehouse.create_return(payload.refund_id, payload.sales_order_number,
                                      [(line.item_code, line.quantity) for line in payload.lines])
        return Outcome("APPLIED")
    order = payload.sales_order
    if isinstance(payload, commands.CancelSalesOrder):
        return _written(await warehouse.cancel(order.number), order.number)
    if isinstance(payload, commands.UpdateSalesOrder):
        return _written(await warehouse.upsert(order, order_id, must_exist=True), order.number)
    # Repeating the whole command is safe: a cancelled sales order stays cancelled, the create upserts.
    held = [(row.number, row.status) for row in await warehouse.sales_orders_of(base_number(order.number))
            if row.reference == order_id]
    placement = place(order, held)
    for number in placement.cancel:
        cancelled = await warehouse.cancel(number)
        if not cancelled.applied:
            return _written(cancelled, number)
    try:
        written = await warehouse.upsert(placement.sales_order, order_id, must_exist=False)
    except ConnectorError as error:
        if placement.replaces is not None:
            error.detail = {**error.detail, WAREHOUSE_HOLDS_NOTHING: True, "cancelled": placement.replaces,
                            "not_created": placement.sales_order.number}
        raise
    return _written(written, placement.sales_order.number)


def _written(written: Written, number: str) -> Outcome:
    """What Peoplevox holds after the write: ``number`` applied, or ``number`` past the cut-off."""
    detail: dict[str, Any] = {"number": number, **({"status": written.status} if written.status else {})}
    if not written.applied:
        return Outcome("REJECTED_CUTOFF", f"sales order {number} is at {written.status}", detail)
    return Outcome("APPLIED", detail=detail)


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
