"""Shopify's Admin API in memory: orders as they are now, and stock levels.

Rules kept from the real API (shopify.dev, Admin GraphQL 2026-10):
``inventoryAdjustQuantities`` is ``@idempotent``, so a repeated key changes
nothing; orders are found by name (``name:#1001``), never by a bare id; recently updated orders are listed
oldest update first, strictly after the time asked (``updated_at:>``); ``tagsAdd``/``tagsRemove`` leave the
order's other tags alone, and a tag change makes a new version of the order; ``fulfillmentCreate`` fulfils at
most a line's current quantity.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from connectors.errors import AccessDenied
from connectors.ports import OrderUpdate, StockChange
from connectors.shopify_order import FULFILLMENT_ORDER_MUTATIONS
from streams.core.commands import FulfillmentOrderChange, HoldFulfillmentOrders, OpenFulfillmentOrders, ReportProgress
from streams.core.details import ResultDetail
from streams.core.model import OrderSnapshot


@dataclass
class FakeShop:
    orders: dict[str, OrderSnapshot] = field(default_factory=dict)  # what the Admin API answers now
    levels: dict[str, int] = field(default_factory=dict)  # "<inventory item id>@<location id>" -> adjusted by
    keys: set[str] = field(default_factory=set)
    tag_writes: int = 0
    fulfilled: dict[str, dict[str, int]] = field(default_factory=dict)  # order id -> line id -> units fulfilled
    fulfillments: list[dict[str, Any]] = field(default_factory=list)
    # order id -> {"in_progress": bool, "holds": handles}, as one fulfillment order per order
    fulfillment_orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    fulfillment_order_writes: int = 0
    scopes: frozenset[str] = frozenset({"write_orders", "write_merchant_managed_fulfillment_orders"})  # the token's write scopes this fake checks

    async def fetch_order(self, order_id: str) -> OrderSnapshot | None:
        return self.orders.get(order_id)

    async def updated_since(self, since_ms: int) -> AsyncIterator[OrderUpdate]:
        for order in sorted(self.orders.values(), key=lambda o: (o.version, o.order_id)):
            if order.version > since_ms:
                yield OrderUpdate(order.order_id, order.version)

    async def find_order_id(self, name: str) -> str | None:
        wanted = name if name.startswith("#") else f"#{name}"
        return next((order_id for order_id, order in self.orders.items() if order.name == wanted), None)

    async def ping(self) -> None:
        return None

    async def adjust_inventory(self, key: str, changes: list[StockChange], reason: str,
                               reference_document_uri: str | None) -> dict[str, Any]:
        if key not in self.keys:
            self.keys.add(key)
            for change in changes:
                stock = f"{change.inventory_item_id}@{change.location_id}"
                self.levels[stock] = self.levels.get(stock, 0) + change.delta
        return {"id": f"gid://shopify/InventoryAdjustmentGroup/{len(self.keys)}"}

    async def change_tags(self, order_id: str, *, add: tuple[str, ...] = (), remove: tuple[str, ...] = ()) -> None:
        if "write_orders" not in self.scopes:
            raise AccessDenied("Shopify", "write_orders", ResultDetail(fields=("tagsAdd" if add else "tagsRemove",)))
        order = self.orders[order_id]
        self.tag_writes += 1
        gone = {tag.casefold() for tag in remove}
        tags = [tag for tag in order.tags if tag.casefold() not in gone]
        tags += [tag for tag in add if tag.casefold() not in {each.casefold() for each in tags}]
        self.orders[order_id] = order.model_copy(update={"tags": tuple(tags), "version": order.version + 1})

    async def create_fulfillment(self, order_id: str, lines: dict[str, int], *, carrier: str | None,
                                 tracking_number: str | None, notify_customer: bool) -> tuple[str, ...]:
        if "write_merchant_managed_fulfillment_orders" not in self.scopes:
            raise AccessDenied("Shopify", "write_merchant_managed_fulfillment_orders",
                               ResultDetail(fields=("fulfillmentCreate",)))
        order = self.orders[order_id]
        done = self.fulfilled.setdefault(order_id, {})
        current = {line.line_id: line.quantity for line in order.lines}
        missing = {line_id: min(units, current.get(line_id, 0)) - done.get(line_id, 0)
                   for line_id, units in lines.items()}
        missing = {line_id: units for line_id, units in missing.items() if units > 0}
        if not missing:
            return ()
        for line_id, units in missing.items():
            done[line_id] = done.get(line_id, 0) + units
        self.fulfillments.append({"order_id": order_id, "lines": missing, "carrier": carrier,
                                  "tracking_number": tracking_number, "notify_customer": notify_customer})
        self.orders[order_id] = order.model_copy(update={"version": order.version + 1})
        return (f"gid://shopify/Fulfillment/{len(self.fulfillments)}",)

    async def change_fulfillment_orders(self, order_id: str, change: FulfillmentOrderChange) -> int:
        if "write_merchant_managed_fulfillment_orders" not in self.scopes:
            raise AccessDenied("Shopify", "write_merchant_managed_fulfillment_orders",
                               ResultDetail(fields=(FULFILLMENT_ORDER_MUTATIONS[change.kind][0],)))
        state = self.fulfillment_orders.setdefault(order_id, {"in_progress": False, "holds": set()})
        if isinstance(change, ReportProgress | OpenFulfillmentOrders):
            wanted = isinstance(change, ReportProgress)
            changed = state["in_progress"] != wanted
            state["in_progress"] = wanted
        else:
            wanted = isinstance(change, HoldFulfillmentOrders)
            changed = (change.handle in state["holds"]) != wanted
            (state["holds"].add if wanted else state["holds"].discard)(change.handle)
        self.fulfillment_order_writes += changed
        return int(changed)
