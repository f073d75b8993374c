"""Stock adjustments an order's edits call for, per (inventory item, location).

Shopify commits stock itself for every unit sold, at checkout and when an
edit adds units, and gives units back when the merchant ticks "restock". A
unit taken off the order before it shipped without that tick is left out of
stock although it never left the shelf: that is the drift editsync closes
with an increment. Returned units are the returns process's business, never
editsync's. The target is computed from the latest snapshot alone, so any
delivery order of the same edits arrives at the same stock.
"""

from __future__ import annotations

from collections.abc import Mapping

from streams.core.model import OrderSnapshot

StockKey = str  # "<inventory item id>@<location id>"


def stock_key(inventory_item_id: str, location_id: str) -> StockKey:
    return f"{inventory_item_id}@{location_id}"


def target_adjustments(snapshot: OrderSnapshot) -> dict[StockKey, int]:
    """The net adjustment editsync should have made to each stock level for this order."""
    if snapshot.location_id is None:
        return {}
    totals: dict[StockKey, int] = {}
    for line in snapshot.lines:
        if line.inventory_item_id is None:
            continue
        back_on_shelf = line.units_sold - line.quantity - line.restocked_quantity
        if back_on_shelf > 0:
            key = stock_key(line.inventory_item_id, snapshot.location_id)
            totals[key] = totals.get(key, 0) + back_on_shelf
    return totals


def outstanding(target: Mapping[StockKey, int], applied: Mapping[StockKey, int],
                in_flight: Mapping[StockKey, int]) -> dict[StockKey, int]:
    """What is still to adjust, counting adjustments already sent but not yet confirmed."""
    keys = set(target) | set(applied) | set(in_flight)
    deltas = {key: target.get(key, 0) - applied.get(key, 0) - in_flight.get(key, 0) for key in keys}
    return {key: delta for key, delta in sorted(deltas.items()) if delta}
