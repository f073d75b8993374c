"""Run one command against its system and say what happened: the sinks' only decision.

Outcomes are ``streams.core.details.Outcome``: APPLIED (the system now holds it),
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
(``warehouse_holds_nothing``): retried, the cancel is a no-op and the create
is tried again; given up, the engine raises its most severe exception.

A cancel of whatever is live (``CancelLiveSalesOrders``, for a rebuilt order
that should ship nothing) reads the order's sales orders the same way and
cancels each live one; one past the cut-off stays and is answered
REJECTED_CUTOFF with what it holds, so the engine adopts and flags it. None
live: APPLIED, nothing written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from connectors.downstream import Downstream
from connectors.errors import ConnectorError, PermanentError
from connectors.ports import Erp, StockChange, Warehouse, Written
from streams.core import commands
from streams.core.details import Outcome, ResultDetail
from streams.core.peoplevox import CANCELLED, base_number, behind, revision_of


@dataclass(frozen=True)
class Answer:
    """What a command came to: the ``CommandResult`` the sink writes, without the command."""

    outcome: Outcome
    reason: str | None = None
    detail: ResultDetail = field(default_factory=ResultDetail)


async def execute(downstream: Downstream, command: commands.Command) -> Answer:
    payload = command.payload
    if payload is None:
        raise PermanentError(f"{command.command_id} carries no payload")
    if isinstance(payload, commands.AdjustInventory):
        group = await downstream.shopify.adjust_inventory(
            command.idempotency_key, [StockChange(payload.inventory_item_id, payload.location_id, payload.delta)],
            payload.reason, payload.reference_document_uri)
        return Answer(Outcome.APPLIED, detail=ResultDetail(adjustment_group=group["id"]))
    if isinstance(payload, commands.TagsChange):
        added = isinstance(payload, commands.AddTags)
        await downstream.shopify.change_tags(command.order_id, add=payload.tags if added else (),
                                             remove=() if added else payload.tags)
        return Answer(Outcome.APPLIED)
    if isinstance(payload, commands.FulfillmentOrderChange):
        changed = await downstream.shopify.change_fulfillment_orders(command.order_id, payload)
        return Answer(Outcome.APPLIED, None if changed else "Shopify already shows it")
    if isinstance(payload, commands.CreateFulfillment):
        made = await downstream.shopify.create_fulfillment(
            command.order_id, {line.line_id: line.quantity for line in payload.lines}, carrier=payload.carrier,
            tracking_number=payload.tracking_number, notify_customer=payload.notify_customer)
        return Answer(Outcome.APPLIED, None if made else "Shopify already shows the despatch fulfilled")
    if isinstance(payload, (commands.SalesOrderChange, commands.CancelLiveSalesOrders, commands.CreateReturn)):
        return await _peoplevox(downstream.peoplevox, command.order_id, payload)
    return await _erp(downstream.erp, payload)


async def _peoplevox(warehouse: Warehouse, order_id: str, payload: commands.PeoplevoxPayload) -> Answer:
    if isinstance(payload, commands.CreateReturn):
        await warehouse.create_return(payload.refund_id, payload.sales_order_number,
                                      [(line.item_code, line.quantity) for line in payload.lines])
        return Answer(Outcome.APPLIED)
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
            return Answer(Outcome.REJECTED, f"Peoplevox already holds {number} ({status}): nothing written",
                          await _holding(warehouse, number, status))
        written = await _create(warehouse, order_id, payload)
        if not written.applied:
            return Answer(Outcome.REJECTED_CUTOFF, f"sales order is at {written.status}",
                          await _holding(warehouse, payload.replaces or order.number, written.status))
    if not written.applied:
        return Answer(Outcome.REJECTED_CUTOFF, f"sales order is at {written.status}",
                      ResultDetail(status=written.status))
    return Answer(Outcome.APPLIED, detail=ResultDetail(status=written.status))


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
        error.detail = error.detail.model_copy(update={
            "warehouse_holds_nothing": True, "cancelled": (payload.replaces,), "not_created": order.number})
        raise


async def _sales_orders(warehouse: Warehouse, order_id: str, base: str) -> list[tuple[str, str]]:
    """The order's sales orders Peoplevox holds (number, status): ``base`` and its revisions, made for the order.

    The prefix search also finds other orders' numbers that start alike (``1001`` finds ``10010``)."""
    return [(row.number, row.status) for row in await warehouse.sales_orders_of(base)
            if row.reference == order_id and revision_of(row.number, base) is not None]


async def _cancel_live(warehouse: Warehouse, order_id: str, number: str) -> Answer:
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
        holding = await _holding(warehouse, held, status)
        return Answer(Outcome.REJECTED_CUTOFF, f"sales order {held} is at {status}",
                      holding.model_copy(update={"cancelled": tuple(done)}))
    return Answer(Outcome.APPLIED, detail=ResultDetail(cancelled=tuple(done)))


async def _holding(warehouse: Warehouse, number: str, status: str | None) -> ResultDetail:
    """What Peoplevox holds under ``number`` (at ``status``), header included, for an order whose state may not
    know (``peoplevox.adopt``, read back by ``ResultDetail.held``)."""
    held = await warehouse.held(number)
    if held is None:
        return ResultDetail(status=status, number=number, lines=())
    return ResultDetail(status=status, number=number, lines=held.lines, header=held.header)


async def _erp(erp: Erp, payload: commands.ErpPayload) -> Answer:
    if isinstance(payload, commands.UpsertSalesOrder):
        internal_id = await erp.upsert_sales_order(payload.sales_order)
    elif isinstance(payload, commands.RecordPayment):
        internal_id = await erp.record_payment(payload.external_id, payload.transaction_id, str(payload.amount),
                                               payload.currency)
    else:
        lines = [line.model_dump(mode="json") for line in payload.lines]
        internal_id = await erp.create_credit_memo(payload.external_id, payload.refund_id, str(payload.amount),
                                                   payload.currency, lines)
    return Answer(Outcome.APPLIED, detail=ResultDetail(erp_id=internal_id))
