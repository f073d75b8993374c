"""What the warehouse despatched, put back in Shopify as fulfillments.

When Peoplevox despatches a sales order, Shopify should show the despatched lines fulfilled, with the carrier
and tracking number, so the customer gets Shopify's shipping confirmation and Shopify stops offering edits and
cancellations of what already left (``fulfillmentCreate``: "Use this mutation to mark items as fulfilled when
they're ready to ship", shopify.dev/docs/api/admin-graphql/latest/mutations/fulfillmentCreate).

One command per despatch, ever (its id is the despatch number), one at a time per order and in the order
Peoplevox reported them, so a partial despatch is a partial fulfillment and the next one follows it. Each
command says how many units of each line Shopify should show fulfilled once that despatch is posted (a level,
counted over every despatch so far), so the sink only fulfils what is missing: a repeat is no second fulfillment.
A failed one stays failed (``FULFILLMENT_FAILED``) and holds back the despatches after it until a person retries.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.core.commands import (
    Command,
    CreateFulfillment,
    FulfilledLine,
    OpenFulfillmentOrders,
    ReportProgress,
    command,
)
from streams.core.fulfillment_orders import window_hold_stands
from streams.core.model import Despatch, OrderSnapshot
from streams.core.reference import Catalogue
from streams.core.state import OrderState


@dataclass(frozen=True)
class FulfillmentPolicy:
    enabled: bool = True  # off where another connector already posts the warehouse's fulfillments to Shopify
    notify_customer: bool = True  # Shopify sends its shipping confirmation


def known_despatches(state: OrderState, read: tuple[Despatch, ...]) -> OrderState:
    """The state with the despatches a Peoplevox read found that it did not know yet, in the order read."""
    known = {despatch.number for despatch in state.despatches}
    new = tuple(despatch for despatch in read if despatch.number not in known)
    return state.model_copy(update={"despatches": (*state.despatches, *new)}) if new else state


def fulfilled_lines(snapshot: OrderSnapshot, catalogue: Catalogue,
                    despatched: dict[str, int]) -> tuple[FulfilledLine, ...]:
    """How many units of each line the despatched ItemCodes cover, lines taken in order.

    A bundle line counts as many units as its scarcest component covers; a line that needs no shipping is
    never the warehouse's to fulfil.
    """
    left = dict(despatched)
    lines = []
    for line in snapshot.lines:
        if not line.requires_shipping or line.quantity <= 0:
            continue
        per_unit = [(catalogue.item_code(sku) or sku, per) for sku, per in catalogue.expand(line.sku or "", 1)]
        units = min([line.quantity, *(left.get(code, 0) // per for code, per in per_unit if per > 0)])
        if units <= 0:
            continue
        for code, per in per_unit:
            left[code] -= units * per
        lines.append(FulfilledLine(line_id=line.line_id, quantity=units))
    return tuple(lines)


def plan_commands(state: OrderState, snapshot: OrderSnapshot, catalogue: Catalogue,
                  policy: FulfillmentPolicy) -> list[Command]:
    if (not policy.enabled or state.sending(CreateFulfillment, ReportProgress, OpenFulfillmentOrders)
            or window_hold_stands(state)):
        return []
    despatched: dict[str, int] = {}
    for despatch in state.despatches:
        for code, units in despatch.items:
            despatched[code] = despatched.get(code, 0) + units
        if despatch.number in state.fulfilled_despatches:
            continue
        lines = fulfilled_lines(snapshot, catalogue, despatched)
        if not lines:
            continue  # nothing of it is on the order any more (refunded meanwhile): nothing to show
        payload = CreateFulfillment(despatch_number=despatch.number, lines=lines, carrier=despatch.carrier,
                                    tracking_number=despatch.tracking_number, notify_customer=policy.notify_customer)
        # The first despatch Shopify does not show yet; a failed one holds back the next (the engine filters it).
        return [command(snapshot, payload, despatch.number)]
    return []


def acknowledge(state: OrderState, payload: CreateFulfillment) -> OrderState:
    return state.model_copy(update={"fulfilled_despatches": state.fulfilled_despatches | {payload.despatch_number}})
