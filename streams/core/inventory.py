"""Stock adjustments an order's edits call for, per (inventory item, location).

Shopify commits stock itself for every unit sold, at checkout and when an
edit adds units, and gives units back when the merchant ticks "restock". A
unit taken off the order before it shipped without that tick is left out of
stock although it never left the shelf: that is the drift editsync closes
with an increment. Returned units are the returns process's business, never
editsync's. The target is computed from the latest snapshot alone, so any
delivery order of the same edits arrives at the same stock.

Each line's units go back where they were committed: the line's own
location (its fulfillment order's), so an order split across warehouses puts
every unit back on its own shelf. Only a line that carries no location falls
back to the order's; a line with units to put back and no location at all is
reported, never adjusted somewhere arbitrary.

:func:`plan_commands` is the inventory part of a reconcile; :func:`acknowledge`
records an adjustment Shopify confirmed.
"""

from __future__ import annotations

from collections.abc import Mapping

from streams.core.commands import AdjustInventory, Command, command, command_id
from streams.core.details import ExceptionType, LocationUnknownDetail, Severity
from streams.core.exceptions import Wanted
from streams.core.model import LineItem, OrderSnapshot, Owner, Target
from streams.core.state import OrderState

StockKey = str  # "<inventory item id>@<location id>"


def stock_key(inventory_item_id: str, location_id: str) -> StockKey:
    return f"{inventory_item_id}@{location_id}"


def _back_on_shelf(line: LineItem) -> int:
    return line.units_sold - line.quantity - line.restocked_quantity


def target_adjustments(snapshot: OrderSnapshot) -> dict[StockKey, int]:
    """The net adjustment editsync should have made to each stock level for this order."""
    totals: dict[StockKey, int] = {}
    for line in snapshot.lines:
        location = line.location_id or snapshot.location_id
        back_on_shelf = _back_on_shelf(line)
        if line.inventory_item_id is None or location is None or back_on_shelf <= 0:
            continue
        key = stock_key(line.inventory_item_id, location)
        totals[key] = totals.get(key, 0) + back_on_shelf
    return totals


def unlocated(snapshot: OrderSnapshot) -> list[str]:
    """Lines with units to put back whose location nobody said: left alone, for a person to place."""
    return [line.line_id for line in snapshot.lines
            if line.inventory_item_id is not None and not (line.location_id or snapshot.location_id)
            and _back_on_shelf(line) > 0]


def outstanding(target: Mapping[StockKey, int], applied: Mapping[StockKey, int],
                in_flight: Mapping[StockKey, int]) -> dict[StockKey, int]:
    """What is still to adjust, counting adjustments already sent but not yet confirmed."""
    keys = set(target) | set(applied) | set(in_flight)
    deltas = {key: target.get(key, 0) - applied.get(key, 0) - in_flight.get(key, 0) for key in keys}
    return {key: delta for key, delta in sorted(deltas.items()) if delta}


def plan_commands(state: OrderState, snapshot: OrderSnapshot, want: Wanted) -> tuple[OrderState, list[Command]]:
    unplaced = unlocated(snapshot)
    if unplaced:
        want(ExceptionType.INVENTORY_LOCATION_UNKNOWN, Owner.OPS, Severity.MEDIUM,
             f"{snapshot.display_name}: units taken off {len(unplaced)} line(s) belong back in stock, but Shopify "
             "named no location for them; they were not adjusted.",
             LocationUnknownDetail(line_ids=tuple(unplaced)),
             "Put the units back at the right location in Shopify, or grant the app "
             "read_merchant_managed_fulfillment_orders so editsync can see where the lines were fulfilled from.")
    in_flight: dict[StockKey, int] = {}
    for sent in state.in_flight.values():
        if isinstance(sent.payload, AdjustInventory):
            in_flight[sent.payload.stock_key] = in_flight.get(sent.payload.stock_key, 0) + sent.payload.delta
    commands = []
    sequence = dict(state.inventory_sequence)
    for key, delta in outstanding(target_adjustments(snapshot), state.inventory_applied, in_flight).items():
        if command_id(snapshot, Target.INVENTORY, "adjust_inventory", f"{key}:{sequence.get(key, 0)}") in state.failed:
            continue  # its last adjustment failed for good: nothing more until a person retries
        sequence[key] = sequence.get(key, 0) + 1
        item, location = key.split("@", 1)
        payload = AdjustInventory(stock_key=key, inventory_item_id=item, location_id=location, delta=delta,
                                  reference_document_uri=f"gid://shopify/Order/{snapshot.order_id}")
        commands.append(command(snapshot, payload, f"{key}:{sequence[key]}"))
    return state.model_copy(update={"inventory_sequence": sequence}), commands


def acknowledge(state: OrderState, payload: AdjustInventory) -> OrderState:
    applied = dict(state.inventory_applied)
    applied[payload.stock_key] = applied.get(payload.stock_key, 0) + payload.delta
    return state.model_copy(update={"inventory_applied": applied})
