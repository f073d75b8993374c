"""The warehouse's progress on the order's fulfillment orders in Shopify: in progress while Peoplevox holds the
order past the cut-off, and on hold (editsync's own hold) while its edit window is open.

``fulfillmentOrderReportProgress`` "Reports the progress of an open or in-progress fulfillment order" of a
merchant-managed location; ``fulfillmentOrderOpen`` undoes it (from API 2026-01, for one "assigned to a merchant
managed location and has had progress reported"). Apps that lock on "fulfillment conditions" (OrderEditing.com)
stop offering edits on an order whose fulfillment is in progress, beside the lock tag (streams.core.edit_lock).
``fulfillmentOrderHold`` with a ``handle`` is a hold of editsync's own ("Each app can place up to 10 active holds
per fulfillment order"): the merchant sees in Shopify's admin why the order has not gone to the warehouse, and
editsync releases only that hold. Shopify sends no ``orders/updated`` for either, so nothing loops; each is
compared with what Shopify confirmed last, one change of each kind at a time per order, and a failed one is not
sent again until a person retries the order.
"""

from __future__ import annotations

from streams.core.commands import (
    Command,
    CreateFulfillment,
    HoldFulfillmentOrders,
    OpenFulfillmentOrders,
    ReleaseFulfillmentHolds,
    ReportProgress,
    command,
)
from streams.core.edit_lock import warehouse_holds
from streams.core.model import OrderSnapshot
from streams.core.peoplevox import CutOff
from streams.core.state import OrderState

EDIT_WINDOW_HANDLE = "editsync-edit-window"


def window_hold_stands(state: OrderState) -> bool:
    """editsync's edit-window hold is on the fulfillment orders, or on its way on or off: Shopify refuses a
    fulfillment or a progress report of a held fulfillment order, so those wait until it is gone."""
    return state.edit_window_held is True or state.sending(HoldFulfillmentOrders, ReleaseFulfillmentHolds)


def plan_commands(state: OrderState, snapshot: OrderSnapshot, cutoff: CutOff, enabled: bool) -> list[Command]:
    if not enabled or snapshot.cancelled:
        return []
    commands = []
    live = state.peoplevox_sales_order
    picking = warehouse_holds(state, cutoff)
    # A despatch not yet posted goes first: it closes the fulfillment order, which then needs no progress report;
    # and a fulfillment waits for a report on its way (one closing the fulfillment order between a report's read
    # and its write has it refused).
    despatch_first = any(d.number not in state.fulfilled_despatches for d in state.despatches)
    if (picking != bool(state.progress_reported) and not despatch_first and not window_hold_stands(state)
            and not state.sending(ReportProgress, OpenFulfillmentOrders, CreateFulfillment)):
        # One id per sales order and direction, as the lock tag's.
        subject = live.number if live is not None else "none"
        payload = (ReportProgress(reason_notes=f"Peoplevox: sales order {subject} is {state.peoplevox_status}")
                   if picking else OpenFulfillmentOrders())
        commands.append(command(snapshot, payload, subject))
    waiting = not state.released and state.release_at is not None
    if waiting != bool(state.edit_window_held) and not state.sending(HoldFulfillmentOrders, ReleaseFulfillmentHolds):
        hold = (HoldFulfillmentOrders(handle=EDIT_WINDOW_HANDLE,
                                      reason_notes="editsync: waiting for the customer's first edits before the "
                                                   "order goes to the warehouse")
                if waiting else ReleaseFulfillmentHolds(handle=EDIT_WINDOW_HANDLE))
        commands.append(command(snapshot, hold, "edit-window"))
    return commands


def acknowledge(state: OrderState, payload: ReportProgress | OpenFulfillmentOrders | HoldFulfillmentOrders
                | ReleaseFulfillmentHolds) -> OrderState:
    if isinstance(payload, ReportProgress | OpenFulfillmentOrders):
        return state.model_copy(update={"progress_reported": isinstance(payload, ReportProgress)})
    return state.model_copy(update={"edit_window_held": isinstance(payload, HoldFulfillmentOrders)})
