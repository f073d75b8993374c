"""Stock adjustments an order's edits call for, per (inventory item, location).

A unit added by an edit leaves stock (decrement); a unit removed goes back
(increment) unless Shopify already restocked it. The target is computed from
the latest snapshot alone, so any delivery order of the same edits arrives
at the same stock.
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
        original = line.quantity if line.original_quantity is None else line.original_quantity
        key = stock_key(line.inventory_item_id, snapshot.location_id)
        totals[key] = totals.get(key, 0) - (line.quantity - original) - line.restocked_quantity
    return totals


def outstanding(target: Mapping[StockKey, int], applied: Mapping[StockKey, int],
                in_flight: Mapping[StockKey, int]) -> dict[StockKey, int]:
    """What is still to adjust, counting adjustments already sent but not yet confirmed."""
    keys = set(target) | set(applied) | set(in_flight)
    deltas = {key: target.get(key, 0) - applied.get(key, 0) - in_flight.get(key, 0) for key in keys}
    return {key: delta for key, delta in sorted(deltas.items()) if delta}
