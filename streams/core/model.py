"""Typed values the core decides over: the Shopify order as it is now, and what comes out.

``OrderSnapshot`` is the order as the Admin API (or a complete webhook
payload) describes it at one ``version`` (``updatedAt`` in epoch ms). The core
never sees GraphQL or webhook JSON: connectors and the normaliser map into it.
"""

from __future__ import annotations

from decimal import Decimal
from enum import Enum

from pydantic import BaseModel, ConfigDict


class Value(BaseModel):
    model_config = ConfigDict(frozen=True)


class Address(Value):
    name: str | None = None
    company: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    province_code: str | None = None
    zip: str | None = None
    country_code: str | None = None
    phone: str | None = None


class LineItem(Value):
    """One order line. Quantities are all the snapshot needs to say what changed since checkout.

    ``original_quantity`` is what was bought at checkout (0 for a line an edit
    added; Shopify's ``Order.agreements`` with reason ORDER vs ORDER_EDIT tell
    which); ``sold_quantity`` every unit ever sold on the line, at checkout or
    by edits (the positive sales of all agreements); ``restocked_quantity``
    what Shopify already put back or the customer returned. ``location_id`` is
    where the line's stock was committed: the location of the fulfillment
    order that holds it (None when unknown, e.g. built from a webhook).
    """

    line_id: str
    sku: str | None
    quantity: int  # current quantity: after edits, removals and refunds
    unit_price: Decimal
    original_quantity: int | None = None  # None: unknown, taken as the current quantity
    sold_quantity: int | None = None  # None: unknown, taken as the larger of original and current
    restocked_quantity: int = 0
    variant_id: str | None = None
    inventory_item_id: str | None = None
    properties: tuple[tuple[str, str], ...] = ()
    requires_shipping: bool = True
    location_id: str | None = None

    @property
    def units_sold(self) -> int:
        if self.sold_quantity is not None:
            return self.sold_quantity
        return max(self.quantity, self.original_quantity or 0)


class Transaction(Value):
    transaction_id: str
    kind: str  # SALE, CAPTURE, AUTHORIZATION, REFUND, VOID, ... (Shopify OrderTransactionKind)
    status: str  # SUCCESS, PENDING, FAILURE, ERROR (Shopify OrderTransactionStatus)
    amount: Decimal


class RefundLine(Value):
    line_id: str
    quantity: int
    restock_type: str  # NO_RESTOCK, CANCEL, RETURN, LEGACY_RESTOCK (Shopify RefundLineItemRestockType)
    location_id: str | None = None  # where Shopify restocked the units (None when nothing was restocked)


class Refund(Value):
    refund_id: str
    amount: Decimal
    lines: tuple[RefundLine, ...] = ()


class OrderSnapshot(Value):
    order_id: str
    version: int  # updatedAt, epoch ms: newer snapshots win
    name: str | None = None
    created_at: int | None = None
    cancelled_at: int | None = None
    currency: str = "USD"
    total: Decimal = Decimal(0)  # current total, after edits and refunds
    tax: Decimal = Decimal(0)
    # Shopify's totalOutstandingSet: "positive ... payment from customer to merchant", negative a refund owed to
    # the customer; None where it was not read.
    outstanding: Decimal | None = None
    lines: tuple[LineItem, ...] = ()
    shipping_address: Address | None = None
    email: str | None = None
    customer_id: str | None = None
    company_location_id: str | None = None
    location_id: str | None = None  # the first fulfillment order's location: for lines that carry none
    tags: tuple[str, ...] = ()
    note: str | None = None
    note_attributes: tuple[tuple[str, str], ...] = ()
    source_name: str | None = None
    shipping_method: tuple[str, ...] = ()  # the chosen shipping line's title and code, as the customer chose it
    transactions: tuple[Transaction, ...] = ()
    refunds: tuple[Refund, ...] = ()

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def display_name(self) -> str:
        return self.name or f"order {self.order_id}"


class SalesOrder(Value):
    """The part of a Peoplevox sales order editsync owns."""

    number: str
    lines: tuple[tuple[str, int], ...]  # (ItemCode, quantity), sorted by ItemCode
    address: Address | None = None
    email: str | None = None
    gift_message: str | None = None
    line_notes: tuple[tuple[str, str], ...] = ()  # (ItemCode, "name: value") for personalisation
    cancelled: bool = False

    def line_map(self) -> dict[str, int]:
        return dict(self.lines)


class Despatch(Value):
    """One despatch Peoplevox made of a sales order: what left the warehouse, and how it travels.

    As Peoplevox's "Despatch summary" report lists it, one row per item (Zynk's Peoplevox Despatch XML:
    Despatch number, Carrier, Tracking number, Item code, No of items).
    """

    number: str
    sales_order_number: str
    items: tuple[tuple[str, int], ...]  # (ItemCode, units), sorted by ItemCode
    carrier: str | None = None
    tracking_number: str | None = None


class System(str, Enum):
    """A system editsync calls; the value is the ``target`` label of the API metrics (``editsync_api_*``)."""

    SHOPIFY = "shopify"
    PEOPLEVOX = "peoplevox"
    ERP = "erp"

    @property
    def display(self) -> str:
        """The system's name in a sentence, as people read it in the inbox and the docs."""
        return _SYSTEM_DISPLAY[self]


class Target(str, Enum):
    """Where a command goes; the value is the ``target`` of commands, results and the sink metrics."""

    PEOPLEVOX = "PEOPLEVOX"
    INVENTORY = "INVENTORY"
    ERP = "ERP"
    SHOPIFY = "SHOPIFY"  # writes to the Shopify order itself: its tags, fulfillment orders and fulfillments

    @property
    def system(self) -> System:
        """The system the command is sent to: inventory and order commands are both Shopify Admin API requests."""
        return _TARGET_SYSTEM[self]

    @property
    def display(self) -> str:
        """The target's name in a sentence, as people read it in the inbox and the docs."""
        return _TARGET_DISPLAY[self]


_SYSTEM_DISPLAY = {System.SHOPIFY: "Shopify", System.PEOPLEVOX: "Peoplevox", System.ERP: "the ERP"}
_TARGET_SYSTEM = {Target.PEOPLEVOX: System.PEOPLEVOX, Target.INVENTORY: System.SHOPIFY, Target.ERP: System.ERP,
                  Target.SHOPIFY: System.SHOPIFY}
_TARGET_DISPLAY = {Target.PEOPLEVOX: "Peoplevox", Target.INVENTORY: "Shopify inventory", Target.ERP: "the ERP",
                   Target.SHOPIFY: "Shopify"}


def opening(words: str) -> str:
    """``words`` at the start of a sentence ("the ERP" -> "The ERP")."""
    return words[:1].upper() + words[1:]


class Owner(str, Enum):
    FINANCE = "FINANCE"
    OPS = "OPS"
    CX = "CX"
    #: Never raised by the core: what a reader reads (the Avro enum's default) for a team a later release added.
    UNKNOWN = "UNKNOWN"
