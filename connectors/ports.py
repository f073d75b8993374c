"""What editsync needs from each downstream system: one small ``Protocol`` per system.

The sinks' executors, the agents and ``connectors.downstream.Downstream``
depend on these, never on a concrete client: ``connectors/`` holds the real
clients (HTTP), ``tests/fakes/`` in-memory ones that keep the same rules.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from streams.core.commands import ErpSalesOrder, FulfillmentOrderChange
from streams.core.details import Held
from streams.core.model import Despatch, OrderSnapshot, SalesOrder


@dataclass(frozen=True)
class StockChange:
    inventory_item_id: str
    location_id: str
    delta: int


@dataclass(frozen=True)
class Written:
    """What the warehouse holds after a command: applied, or refused because picking started."""

    applied: bool
    status: str | None


@dataclass(frozen=True)
class SalesOrderRow:
    """A sales order as Peoplevox reports it: whose it is (the Shopify order id) and where it is."""

    number: str
    reference: str
    status: str


@dataclass(frozen=True)
class OrderUpdate:
    """An order as a list of recently updated orders names it: which, and its version (``updatedAt``, epoch ms)."""

    order_id: str
    updated_at: int


class Shop(Protocol):
    """Shopify's Admin API: the order as it is now, which orders changed lately, inventory adjustments, tags."""

    async def fetch_order(self, order_id: str) -> OrderSnapshot | None: ...

    def updated_since(self, since_ms: int) -> AsyncIterator[OrderUpdate]:
        """Every order updated after ``since_ms``, oldest update first, page by page (id and version only)."""
        ...

    async def find_order_id(self, name: str) -> str | None: ...

    async def ping(self) -> None:
        """Answer if the Admin API answers (raise ``ConnectorError`` otherwise): a cheap read, nothing written."""
        ...

    async def adjust_inventory(self, key: str, changes: list[StockChange], reason: str,
                               reference_document_uri: str | None) -> dict[str, Any]: ...

    async def change_tags(self, order_id: str, *, add: tuple[str, ...] = (), remove: tuple[str, ...] = ()) -> None:
        """Add and remove tags of the order, leaving its other tags as they are (``tagsAdd``, ``tagsRemove``)."""
        ...

    async def change_fulfillment_orders(self, order_id: str, change: FulfillmentOrderChange) -> int:
        """Apply ``change`` to each of the order's fulfillment orders it is for: progress reported on the open ones,
        the ones in progress with nothing fulfilled opened again, a hold of the change's handle on those without
        one, that handle's holds released. How many changed (0: Shopify already showed it)."""
        ...

    async def create_fulfillment(self, order_id: str, lines: dict[str, int], *, carrier: str | None,
                                 tracking_number: str | None, notify_customer: bool) -> tuple[str, ...]:
        """Fulfil what Shopify does not show fulfilled yet of ``lines`` (line id -> units it should show
        fulfilled), with the tracking given (``fulfillmentCreate``). The fulfillments made; none when Shopify
        already shows every unit."""
        ...


class Warehouse(Protocol):
    """Peoplevox's sales orders, with the state check before every write (the warehouse state wins)."""

    async def sales_order(self, number: str) -> SalesOrderRow | None: ...

    async def sales_orders_of(self, prefix: str) -> list[SalesOrderRow]:
        """Every sales order whose number starts with ``prefix`` (an order's own and its revisions)."""
        ...

    async def held(self, number: str) -> Held | None:
        """The sales order as Peoplevox holds it: status, lines (ItemCode, quantity, summed per ItemCode) and the
        header read back through the templates editsync writes. None: Peoplevox has no such sales order."""
        ...

    async def item_codes(self) -> frozenset[str]: ...

    async def despatches(self, number: str) -> tuple[Despatch, ...]:
        """What Peoplevox despatched of the sales order, one despatch each, in the order it made them."""
        ...

    async def upsert(self, order: SalesOrder, reference: str, *, must_exist: bool) -> Written: ...

    async def cancel(self, number: str) -> Written: ...

    async def create_return(self, refund_id: str, number: str, lines: list[tuple[str, int]]) -> None: ...


class WarehouseEvents(Protocol):
    """Peoplevox's event subscriptions: status callbacks to editsync's URL."""

    async def subscribe(self, event_type: str, callback_url: str, filter_: str = "") -> str: ...

    async def unsubscribe(self, subscription_id: int) -> None: ...


class Erp(Protocol):
    async def upsert_sales_order(self, order: ErpSalesOrder) -> str: ...

    async def record_payment(self, order_external_id: str, transaction_id: str, amount: str,
                             currency: str) -> str: ...

    async def create_credit_memo(self, order_external_id: str, refund_id: str, amount: str, currency: str,
                                 lines: list[dict[str, Any]]) -> str: ...

    async def ping(self) -> None:
        """Answer if the ERP answers (raise ``ConnectorError`` otherwise): a cheap question, nothing written."""
        ...

    async def aclose(self) -> None: ...
