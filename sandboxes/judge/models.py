"""What each system holds, what the demo did, and what the judge found, as typed values.

The adapters (``adapters.py``) fill these from the sandboxes' inspection
endpoints; the rules (``rules.py``) and the verdict (``verdict.py``) read
only these, so a sandbox that changes its shape changes one adapter.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Level(NamedTuple):
    """One Shopify stock level: an inventory item at a location."""

    inventory_item_id: int
    location_id: int

    def __str__(self) -> str:
        return f"{self.inventory_item_id}@{self.location_id}"


# --- Shopify: the source of truth for what the customer bought and paid -------------------------

class Address(Model):
    name: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    province_code: str | None = None
    zip: str | None = None
    country_code: str | None = None


class ShopLine(Model):
    line_id: int
    variant_id: int | None
    sku: str | None
    current_quantity: int
    sold: int  # every unit Shopify committed for the line, at checkout or by edits
    at_checkout: int  # 0 for a line an edit added
    price: Decimal
    level: Level | None  # where the line's stock moves; None for an item without inventory
    properties: tuple[tuple[str, str], ...] = ()
    fulfilled: int = 0  # units Shopify shows fulfilled


class ShopRefundLine(Model):
    line_id: int
    quantity: int
    restock_type: str  # NO_RESTOCK, CANCEL, RETURN
    restocked: bool
    level: Level | None


class ShopRefund(Model):
    refund_id: int
    amount: Decimal
    lines: tuple[ShopRefundLine, ...] = ()


class ShopTransaction(Model):
    transaction_id: int
    kind: str
    status: str
    amount: Decimal


class ShopOrder(Model):
    order_id: int
    name: str
    cancelled: bool
    email: str | None
    total: Decimal
    address: Address | None
    company_location_id: int | None
    lines: tuple[ShopLine, ...]
    refunds: tuple[ShopRefund, ...] = ()
    transactions: tuple[ShopTransaction, ...] = ()


class Shop(Model):
    orders: dict[int, ShopOrder]
    stock: dict[Level, int]
    adjustments: dict[int, dict[Level, int]]  # adjustments made through the Admin API, per order they name
    sku_of_item: dict[int, str]  # inventory item id -> SKU, to name levels


# --- Peoplevox ------------------------------------------------------------------------------------

class Header(Model):
    """The sales order header fields a merchant checks (None: empty or not held)."""

    name: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    region: str | None = None
    postcode: str | None = None
    country: str | None = None
    email: str | None = None
    gift_message: str | None = None


class WarehouseSalesOrder(Model):
    number: str
    reference: str  # the Shopify order id
    status: str
    header: Header
    lines: dict[str, int]  # ItemCode -> quantity, summed over the sales order's lines
    notes: dict[str, frozenset[str]]  # ItemCode -> its personalisation notes


class WarehouseReturn(Model):
    sales_order_number: str
    item_code: str
    quantity: int


class WarehouseDespatch(Model):
    sales_order_number: str
    items: dict[str, int]  # ItemCode -> units that left the warehouse


class Warehouse(Model):
    sales_orders: tuple[WarehouseSalesOrder, ...]
    returns: tuple[WarehouseReturn, ...]
    item_codes: frozenset[str]
    despatches: tuple[WarehouseDespatch, ...] = ()


# --- ERP --------------------------------------------------------------------------------------------

class ErpSalesOrder(Model):
    external_id: str  # the Shopify order id
    open_lines: dict[str, int]  # SKU -> quantity on lines not closed
    total: Decimal
    closed: bool  # cancelled, or every line closed
    customer: str | None


class ErpMoney(Model):
    """Money received against a sales order (payment or customer deposit), or given back (credit memo)."""

    external_id: str
    amount: Decimal
    order_external_id: str | None  # the sales order it is linked to, by its external id
    customer: str | None = None


class Erp(Model):
    sales_orders: dict[str, ErpSalesOrder]
    received: tuple[ErpMoney, ...]
    credit_memos: tuple[ErpMoney, ...]


# --- editsync's own records and configuration ---------------------------------------------------------

class OpenException(Model):
    order_id: str
    type: str
    owner: str


class MerchantReference(Model):
    """editsync's reference file as the merchant wrote it."""

    sku_overrides: dict[str, str] = Field(default_factory=dict)
    bundles: dict[str, tuple[tuple[str, int], ...]] = Field(default_factory=dict)
    b2b_prices: dict[tuple[int, int], Decimal] = Field(default_factory=dict)  # (company location, variant) -> price


# --- what the demo did, and the verdict -------------------------------------------------------------

class Plan(BaseModel):
    """What the demo (or a test) did to one order, as far as the judge must know it."""

    order_id: int
    name: str
    first_line_id: int
    kinds: list[str] = Field(default_factory=list)
    edits: int = 0
    superseded: bool = False  # recreated as another order: it must not ship
    successor_of: int | None = None  # this order recreates that one
    at_cutoff: dict[str, Any] | None = None  # Shopify's order (sandbox summary) when the warehouse started picking

    @classmethod
    def of(cls, order: dict[str, Any], kinds: list[str]) -> Plan:
        """The plan for an order as the sandbox's scenario answer summarises it."""
        return cls(order_id=order["id"], name=order["name"], first_line_id=order["lines"][0]["id"], kinds=kinds)


class Mismatch(Model):
    field: str  # e.g. peoplevox.lines, erp.total, stock.TEE-M@<location>, exceptions.EDIT_AFTER_PICK
    expected: str
    actual: str

    @property
    def area(self) -> str:
        return self.field.split(".", 1)[0]


class OrderVerdict(Model):
    order_id: int
    name: str
    did: str
    mismatches: tuple[Mismatch, ...]
    unexplained: tuple[Mismatch, ...]  # the mismatches no open exception of the expected type and owner explains
    open_exceptions: tuple[str, ...]  # "TYPE/OWNER"
    lost: bool
    live_sales_orders: int

    @property
    def in_sync(self) -> bool:
        return not self.mismatches


class Verdict(Model):
    orders: tuple[OrderVerdict, ...]
    stock: tuple[Mismatch, ...]  # levels wrong as the merchant sees them, over all of Shopify's orders
    totals: dict[str, Any]

    def order(self, order_id: int) -> OrderVerdict:
        return next(o for o in self.orders if o.order_id == order_id)
