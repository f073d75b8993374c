"""The sandbox shop's data and the merchant-side operations that change it.

Entities and their rules follow Shopify's Admin GraphQL reference (2026-10):
``Order`` (``currentQuantity`` after edits, ``agreements`` whose
``SalesAgreement.reason`` is ORDER at checkout and ORDER_EDIT for each committed
edit, ``refunds`` with ``RefundLineItem.restockType``/``restocked``,
``transactions``), ``InventoryLevel`` quantities per location, fulfillment
orders (one per location that holds lines of the order: each line is
assigned to one location, and "There can be more than one fulfillment order
for an order at a given location", shopify.dev/docs/api/admin-graphql/latest/objects/FulfillmentOrder),
refunds restocked at a location of the merchant's choosing
(``RefundLineItem.location``, "The inventory restock location"), B2B
``PurchasingCompany`` with a company location, and bundles whose components
appear as line items grouped by ``LineItemGroup``. Every change bumps
``updatedAt`` and is announced to listeners as the webhook topic Shopify
would send (``orders/create``, ``orders/updated``, ``orders/edited``,
``orders/cancelled``, ``refunds/create``), the REST-shaped payload built by
``sandboxes.shopify.payloads``.

Fulfillment (``fulfillmentCreate``: "Use this mutation to mark items as
fulfilled when they're ready to ship"; without line items it "fulfills all
items in the fulfillment order") decides how units may leave the order
afterwards. ``RefundLineItemRestockType``: ``RETURN`` is "Use this when
restocking line items that were fulfilled", ``CANCEL`` "Use this when
restocking unfulfilled line items", ``LEGACY_RESTOCK`` "is not accepted when
creating new refunds". Shopify does not document what it answers to a
``RETURN`` of a unit never fulfilled; the sandbox takes the stricter reading
and refuses the whole refund (a ``userErrors`` entry on ``refundCreate``, a
422 from the scenario route), and likewise a ``CANCEL`` of a unit already
fulfilled. ``NO_RESTOCK`` takes fulfilled units first, as Shopify staff and
developers report ("It will end up refunding the shipped quantities first",
community.shopify.dev, "Refunding an unfulfilled item without restocking").
Also stricter where Shopify is silent: an edit cannot take away units that
were fulfilled and not refunded, and an order holding such units cannot be
cancelled (``orderCancel`` requires "no outstanding fulfillments that can't
be cancelled").

Tags (``tagsAdd``/``tagsRemove``, shopify.dev/docs/api/admin-graphql/latest/mutations/tagsAdd): the
schema's ``Order.tags`` says "To add new tags without overwriting existing tags, use the tagsAdd mutation";
tags come as a list or as one comma-separated string (the ``tags`` argument's description). The schema caps a
customer's tags at "up to 255 characters" each (``OrderCreateUpsertCustomerAttributesInput.tags``); the
sandbox holds order tags to the same and refuses a longer one. A tag already there in another case is not
added twice (the stricter reading: Shopify's tag search is case-insensitive, shopify.dev/docs/api/usage/search-syntax).
Every tag change bumps ``updatedAt`` and sends ``orders/updated`` (the topic "Occurs whenever an order is
updated", shopify.dev/docs/api/webhooks); the sandbox sends it even when a change added nothing, the reading
that cannot hide a client's webhook loop.

A customer's order-editing app (``customer_edit_order``) stops offering edits once the order carries the
app's lock tag, as Revize's "early stop via tags" does (the order-editing apps' public docs): the
edit is refused (``EditLocked``, HTTP 409 on the scenario route) and nothing changes; otherwise it is the
same edit as the merchant's (``edit_order``).

Operations are what a merchant (or an order-editing app) does in Shopify's
admin; the store never knows editsync exists.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass
class Variant:
    id: int
    product_id: int
    sku: str | None
    title: str
    price: Decimal
    inventory_item_id: int
    bundle_components: tuple[tuple[int, int], ...] = ()  # (component variant id, quantity per bundle)


@dataclass
class Line:
    id: int
    variant_id: int | None
    sku: str | None
    title: str
    quantity: int  # ordered: at checkout, or as added by an edit
    current_quantity: int
    price: Decimal
    properties: list[tuple[str, str]] = field(default_factory=list)
    requires_shipping: bool = True
    group: dict[str, Any] | None = None  # LineItemGroup for bundle components
    location_id: int | None = None  # the location whose fulfillment order holds the line; its stock moves
    fulfilled: int = 0  # units fulfilled (shipped)
    fulfilled_refunded: int = 0  # of those, units refunded since (returned, or refunded without restock)

    @property
    def shipped(self) -> int:
        """Fulfilled units the customer still has: only these can be returned."""
        return self.fulfilled - self.fulfilled_refunded

    @property
    def unfulfilled(self) -> int:
        return self.current_quantity - self.shipped


@dataclass
class Sale:
    line_id: int
    quantity: int
    action: str  # SaleActionType: ORDER, UPDATE, RETURN
    amount: Decimal


@dataclass
class Agreement:
    id: int
    reason: str  # OrderActionType: ORDER, ORDER_EDIT, REFUND
    happened_at: int
    sales: list[Sale]


@dataclass
class RefundLine:
    line_id: int
    quantity: int
    restock_type: str  # RefundLineItemRestockType: NO_RESTOCK, CANCEL, RETURN
    restocked: bool
    location_id: int | None
    subtotal: Decimal


@dataclass
class Refund:
    id: int
    created_at: int
    amount: Decimal
    lines: list[RefundLine]
    transaction_id: int | None
    note: str | None = None


@dataclass
class Fulfillment:
    id: int
    created_at: int
    location_id: int
    lines: list[tuple[int, int]]  # (line id, units)
    tracking_company: str | None = None
    tracking_numbers: tuple[str, ...] = ()
    notify_customer: bool = False


@dataclass
class FulfillmentHold:
    id: int
    handle: str
    reason: str  # FulfillmentHoldReason
    reason_notes: str | None


@dataclass
class Transaction:
    id: int
    kind: str  # OrderTransactionKind
    status: str  # OrderTransactionStatus
    amount: Decimal
    created_at: int


@dataclass
class Order:
    id: int
    name: str
    created_at: int
    updated_at: int
    currency: str
    email: str | None
    customer_id: int | None
    shipping_address: dict[str, Any] | None
    lines: list[Line]
    location_id: int
    note: str | None = None
    tags: list[str] = field(default_factory=list)
    attributes: list[tuple[str, str]] = field(default_factory=list)
    source_name: str = "web"
    shipping_method: tuple[str, str] = ("Standard", "standard")  # the shipping line's title and code
    company_id: int | None = None
    company_location_id: int | None = None
    cancelled_at: int | None = None
    cancel_reason: str | None = None
    agreements: list[Agreement] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    fulfillments: list[Fulfillment] = field(default_factory=list)
    fulfillment_order_ids: dict[int, int] = field(default_factory=dict)  # location id -> fulfillment order id
    progress_reported: set[int] = field(default_factory=set)  # fulfillment orders marked in progress
    holds: dict[int, list[FulfillmentHold]] = field(default_factory=dict)  # fulfillment order id -> its holds

    def fulfillment_order_lines(self, fulfillment_order_id: int) -> list[Line]:
        """The lines the fulfillment order holds: those of its location."""
        location_id = next(loc for loc, fo in self.fulfillment_order_ids.items() if fo == fulfillment_order_id)
        return [line for line in self.lines if line.location_id == location_id]

    def supported_actions(self, fulfillment_order_id: int) -> list[str]:
        """``FulfillmentOrder.supportedActions`` (``FulfillmentOrderAction``): the one rule of what the mutations
        below accept on a fulfillment order in its status."""
        status = self.fulfillment_order_status(fulfillment_order_id)
        if status == "ON_HOLD":
            return ["RELEASE_HOLD", "HOLD"]
        if status not in ("OPEN", "IN_PROGRESS"):
            return []
        shipped = any(line.fulfilled for line in self.fulfillment_order_lines(fulfillment_order_id))
        reopen = ["MARK_AS_OPEN"] if fulfillment_order_id in self.progress_reported and not shipped else []
        return ["CREATE_FULFILLMENT", "REPORT_PROGRESS", "HOLD", *reopen]

    def fulfillment_order_status(self, fulfillment_order_id: int) -> str:
        """``FulfillmentOrderStatus``: CLOSED once nothing is left to fulfil; ON_HOLD while held; IN_PROGRESS once
        progress was reported or some of it fulfilled; OPEN otherwise."""
        held = self.fulfillment_order_lines(fulfillment_order_id)
        if self.cancelled_at is not None or not any(line.unfulfilled for line in held):
            return "CLOSED"
        if self.holds.get(fulfillment_order_id):
            return "ON_HOLD"
        if fulfillment_order_id in self.progress_reported or any(line.fulfilled for line in held):
            return "IN_PROGRESS"
        return "OPEN"

    def line(self, line_id: int) -> Line:
        for line in self.lines:
            if line.id == line_id:
                return line
        raise StoreError(f"order {self.name} has no line item {line_id}")

    @property
    def total(self) -> Decimal:
        return sum((line.price * line.current_quantity for line in self.lines), Decimal("0.00"))

    @property
    def outstanding(self) -> Decimal:
        """``totalOutstandingSet``: what is still to collect (negative: to refund); nothing once cancelled."""
        return Decimal("0.00") if self.cancelled_at else self.total - self.paid

    @property
    def paid(self) -> Decimal:
        total = Decimal("0.00")
        for t in self.transactions:
            if t.status == "SUCCESS" and t.kind in ("SALE", "CAPTURE"):
                total += t.amount
            elif t.status == "SUCCESS" and t.kind == "REFUND":
                total -= t.amount
        return total


class StoreError(ValueError):
    """A merchant operation Shopify's admin would refuse; ``field`` is the input path a ``UserError`` names,
    ``code`` the mutation's user error code where its schema has one."""

    def __init__(self, message: str, field: tuple[str, ...] = (), code: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.code = code


RESTOCK_TYPES = ("NO_RESTOCK", "CANCEL", "RETURN")


class EditLocked(StoreError):
    """The customer's order-editing app refuses the edit: the order carries its lock tag."""


Listener = Callable[[str, dict[str, Any]], None]
#: The tag the sandbox's customer editing app stops edits on: editsync's default (EDITSYNC_EDIT_LOCK_TAG).
APP_LOCK_TAG = "editsync-locked"
MAX_TAG_CHARS = 255


@dataclass
class Shop:
    domain: str = "editsync-sandbox.myshopify.com"
    currency: str = "USD"
    locations: dict[int, str] = field(default_factory=dict)
    variants: dict[int, Variant] = field(default_factory=dict)
    levels: dict[tuple[int, int], int] = field(default_factory=dict)  # (inventory item, location) -> available
    customers: dict[int, str] = field(default_factory=dict)  # id -> email
    company_locations: dict[int, tuple[int, dict[int, Decimal]]] = field(default_factory=dict)  # -> (company, prices)
    orders: dict[int, Order] = field(default_factory=dict)
    adjustment_keys: dict[str, dict[str, Any]] = field(default_factory=dict)  # @idempotent key -> first result
    adjustments: list[dict[str, Any]] = field(default_factory=list)
    refund_keys: dict[str, tuple[int, int]] = field(default_factory=dict)  # refundCreate @idempotent key -> refund
    listeners: list[Listener] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(5_000_000_001))
    _numbers: Any = field(default_factory=lambda: itertools.count(1001))
    _clock: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock)
    app_lock_tag: str = APP_LOCK_TAG

    # --- set-up ---------------------------------------------------------------------------

    def next_id(self) -> int:
        return next(self._ids)

    def now(self) -> int:
        """Milliseconds, strictly increasing, so every change has a newer updatedAt."""
        self._clock = max(int(time.time() * 1000), self._clock + 1)
        return self._clock

    def add_location(self, name: str) -> int:
        location_id = self.next_id()
        self.locations[location_id] = name
        return location_id

    def add_variant(self, sku: str | None, price: str, title: str | None = None, stock: int = 100,
                    bundle_of: tuple[tuple[int, int], ...] = ()) -> Variant:
        variant = Variant(id=self.next_id(), product_id=self.next_id(), sku=sku, title=title or sku or "item",
                          price=Decimal(price), inventory_item_id=self.next_id(), bundle_components=bundle_of)
        self.variants[variant.id] = variant
        for location_id in self.locations:
            self.levels[(variant.inventory_item_id, location_id)] = stock
        return variant

    def add_customer(self, email: str) -> int:
        customer_id = self.next_id()
        self.customers[customer_id] = email
        return customer_id

    def add_company_location(self, prices: dict[int, str]) -> tuple[int, int]:
        company_id, location_id = self.next_id(), self.next_id()
        self.company_locations[location_id] = (company_id, {v: Decimal(p) for v, p in prices.items()})
        return company_id, location_id

    def variant_by_sku(self, sku: str) -> Variant:
        for variant in self.variants.values():
            if variant.sku == sku:
                return variant
        raise StoreError(f"no variant with SKU {sku!r}")

    # --- merchant operations --------------------------------------------------------------

    def create_order(self, items: list[tuple[int, int]] | list[tuple[int, int, dict[str, str]]],
                     customer_id: int | None = None, address: dict[str, Any] | None = None,
                     note: str | None = None, tags: list[str] | None = None,
                     attributes: list[tuple[str, str]] | None = None, source_name: str = "web",
                     company_location_id: int | None = None, location_id: int | None = None,
                     line_locations: dict[int, int] | None = None,
                     shipping_method: tuple[str, str] = ("Standard", "standard")) -> Order:
        """Place an order; ``line_locations`` routes a variant (a bundle with its components) elsewhere."""
        with self.lock:
            now = self.now()
            location_id = location_id or next(iter(self.locations))
            lines: list[Line] = []
            for item in items:
                variant_id, quantity, *rest = item
                lines.extend(self._lines_for(variant_id, quantity, rest[0] if rest else {}, company_location_id,
                                             (line_locations or {}).get(variant_id, location_id)))
            company_id = self.company_locations[company_location_id][0] if company_location_id else None
            order = Order(id=self.next_id(), name=f"#{next(self._numbers)}", created_at=now, updated_at=now,
                          currency=self.currency, email=self.customers.get(customer_id) if customer_id else None,
                          customer_id=customer_id, shipping_address=address, lines=lines,
                          location_id=location_id, note=note, tags=list(tags or []),
                          attributes=list(attributes or []), source_name=source_name, company_id=company_id,
                          company_location_id=company_location_id, shipping_method=tuple(shipping_method))
            order.agreements.append(Agreement(self.next_id(), "ORDER", now, [
                Sale(line.id, line.quantity, "ORDER", line.price * line.quantity) for line in lines]))
            order.transactions.append(Transaction(self.next_id(), "SALE", "SUCCESS", order.total, now))
            for line in lines:
                self._take_stock(order, line, line.quantity)
            self._assign_fulfillment_orders(order)
            self.orders[order.id] = order
            self._emit("orders/create", order)
            return order

    def edit_order(self, order_id: int, add: list[tuple[int, int]] = (),  # type: ignore[assignment]
                   set_quantity: dict[int, int] | None = None, restock: bool = False,
                   location_id: int | None = None, at_list_price: bool = True) -> Order:
        """A merchant's edit in Shopify's admin: ``_edit`` that charges nothing. A higher total is an "amount to
        collect" that the merchant sends an invoice for (help.shopify.com, editing orders; ``orderInvoiceSend``),
        left in ``totalOutstandingSet`` until the customer pays it (``pay_outstanding``)."""
        return self._edit(order_id, add, set_quantity, restock, location_id, at_list_price, charge=False)

    def pay_outstanding(self, order_id: int) -> Order:
        """The customer pays the invoice for what the order still owes: one SALE for it."""
        with self.lock:
            order = self._order(order_id)
            owed = order.outstanding
            if owed <= 0:
                raise StoreError(f"order {order.name} has nothing outstanding")
            order.transactions.append(Transaction(self.next_id(), "SALE", "SUCCESS", owed, self.now()))
            return self._updated(order)

    def _edit(self, order_id: int, add: list[tuple[int, int]], set_quantity: dict[int, int] | None, restock: bool,
              location_id: int | None, at_list_price: bool, charge: bool) -> Order:
        """A native order edit (orderEditBegin … orderEditCommit): add variants, change or zero quantities.

        A lower total is refunded (with the removed units restocked at their line's location when
        ``restock`` is set); a higher one is charged only with ``charge`` (the customer's editing app takes
        the difference as it commits; an admin edit leaves it to collect).
        Added lines go to ``location_id`` (default: the order's location). On a
        B2B order an added variant takes the company location's catalog price
        unless ``at_list_price`` is off: the editor charged the variant's own
        price, off the company's price list.
        """
        with self.lock:
            order = self._editable(order_id)
            now = self.now()
            sales: list[Sale] = []
            removed: list[tuple[Line, int]] = []
            before = order.total
            price_list = order.company_location_id if at_list_price else None
            for variant_id, quantity in add:
                for line in self._lines_for(variant_id, quantity, {}, price_list, location_id or order.location_id):
                    order.lines.append(line)
                    sales.append(Sale(line.id, line.quantity, "ORDER", line.price * line.quantity))
                    self._take_stock(order, line, line.quantity)
            for line_id, quantity in (set_quantity or {}).items():
                line = order.line(line_id)
                if quantity < 0:
                    raise StoreError("a quantity cannot be negative")
                if quantity < line.shipped:
                    raise StoreError(f"line item {line.id} has {line.shipped} fulfilled units: an edit cannot take "
                                     "them away (refund them with a return)")
                delta = quantity - line.current_quantity
                if delta == 0:
                    continue
                line.current_quantity = quantity
                if delta > 0:
                    sales.append(Sale(line.id, delta, "ORDER", line.price * delta))
                    self._take_stock(order, line, delta)
                else:
                    sales.append(Sale(line.id, delta, "UPDATE", line.price * delta))
                    removed.append((line, -delta))
            if not sales:
                raise StoreError("the edit changes nothing")
            self._assign_fulfillment_orders(order)
            order.agreements.append(Agreement(self.next_id(), "ORDER_EDIT", now, sales))
            difference = order.total - before
            if difference > 0 and charge:
                order.transactions.append(Transaction(self.next_id(), "SALE", "SUCCESS", difference, now))
            order.updated_at = now
            edit = {"id": self.next_id(), "created_at": now,
                    "additions": [{"id": s.line_id, "delta": s.quantity} for s in sales if s.quantity > 0],
                    "removals": [{"id": s.line_id, "delta": -s.quantity} for s in sales if s.quantity < 0]}
            self._emit("orders/edited", order, edit=edit)
            self._emit("orders/updated", order)
            if difference < 0:
                # Only what was paid beyond the new total goes back: an upsell still to collect is netted first.
                self._refund(order, min(-difference, max(order.paid - order.total, Decimal("0.00"))),
                             [(line, qty, "CANCEL" if restock else "NO_RESTOCK", None) for line, qty in removed],
                             count_lines=False)
            return order

    def customer_edit_order(self, order_id: int, add: list[tuple[int, int]] = (),  # type: ignore[assignment]
                            set_quantity: dict[int, int] | None = None, restock: bool = False,
                            location_id: int | None = None, at_list_price: bool = True) -> Order:
        """The customer's edit through an order-editing app: refused on a locked order (the app's lock tag, or a
        fulfillment order in progress, as OrderEditing.com's fulfillment conditions), else ``edit_order``."""
        with self.lock:
            order = self._order(order_id)
            if self.app_lock_tag.casefold() in {tag.casefold() for tag in order.tags}:
                raise EditLocked(f"order {order.name} is locked for edits (tag {self.app_lock_tag!r})")
            started = [fo for fo in order.fulfillment_order_ids.values()
                       if order.fulfillment_order_status(fo) == "IN_PROGRESS"]
            if started:
                raise EditLocked(f"order {order.name} is locked for edits (fulfillment in progress)")
            return self._edit(order_id, add, set_quantity, restock, location_id, at_list_price, charge=True)

    def add_tags(self, order_id: int, tags: list[str]) -> Order:
        with self.lock:
            order = self._order(order_id)
            known = {tag.casefold() for tag in order.tags}
            for tag in _tag_list(tags):
                if tag.casefold() not in known:
                    order.tags.append(tag)
                    known.add(tag.casefold())
            return self._updated(order)

    def remove_tags(self, order_id: int, tags: list[str]) -> Order:
        with self.lock:
            order = self._order(order_id)
            gone = {tag.casefold() for tag in _tag_list(tags)}
            order.tags = [tag for tag in order.tags if tag.casefold() not in gone]
            return self._updated(order)

    def change_address(self, order_id: int, **changes: Any) -> Order:
        with self.lock:
            order = self._editable(order_id)
            order.shipping_address = {**(order.shipping_address or {}), **changes}
            return self._updated(order)

    def set_line_properties(self, order_id: int, line_id: int, properties: dict[str, str]) -> Order:
        with self.lock:
            order = self._editable(order_id)
            line = order.line(line_id)
            merged = dict(line.properties)
            merged.update(properties)
            line.properties = list(merged.items())
            return self._updated(order)

    def cancel_order(self, order_id: int, reason: str = "CUSTOMER", restock: bool = True) -> Order:
        """orderCancel with refund and restock, as a customer-requested cancellation is done."""
        with self.lock:
            order = self._editable(order_id)
            if any(line.shipped for line in order.lines):
                raise StoreError(f"order {order.name} has fulfilled units: it cannot be cancelled")
            now = self.now()
            order.cancelled_at, order.cancel_reason = now, reason
            open_lines = [(line, line.current_quantity, "CANCEL" if restock else "NO_RESTOCK", None)
                          for line in order.lines if line.current_quantity > 0]
            self._emit("orders/cancelled", order)
            if order.paid > 0:
                self._refund(order, order.paid, open_lines)
            else:
                order.updated_at = self.now()
            return order

    def refund(self, order_id: int, lines: dict[int, int], restock_type: str = "NO_RESTOCK",
               location_id: int | None = None) -> Refund:
        """refundCreate for some units of some lines, refunding their price; RETURN when the customer sent them back.

        Restocked units go back at ``location_id`` (``RefundLineItemInput.locationId``), by default
        at the location that held the line.
        """
        with self.lock:
            order = self._order(order_id)
            items = [(line_id, qty, restock_type, location_id) for line_id, qty in lines.items()]
            amount = sum((order.line(line_id).price * qty for line_id, qty in lines.items()), Decimal("0.00"))
            return self.create_refund(order_id, items, amount)

    def create_refund(self, order_id: int, items: list[tuple[int, int, str, int | None]], amount: Decimal,
                      note: str | None = None) -> Refund:
        """refundCreate as the Admin API takes it: (line id, units, restock type, restock location) per item, and
        the money refunded; refused whole, naming the input field, when one item breaks a rule."""
        with self.lock:
            order = self._order(order_id)
            left = {line.id: (line.current_quantity, line.shipped, line.unfulfilled) for line in order.lines}
            chosen: list[tuple[Line, int, str, int | None]] = []
            for index, (line_id, qty, restock_type, location_id) in enumerate(items):
                at = ("refundLineItems", str(index))
                if restock_type not in RESTOCK_TYPES:
                    raise StoreError(f"Restock type {restock_type} is not accepted when creating new refunds.",
                                     (*at, "restockType"))
                if line_id not in left:
                    raise StoreError(f"order {order.name} has no line item {line_id}", (*at, "lineItemId"))
                if location_id is not None and location_id not in self.locations:
                    raise StoreError(f"no location {location_id}", (*at, "locationId"))
                refundable, shipped, unfulfilled = left[line_id]
                if qty <= 0 or qty > refundable:
                    raise StoreError(f"cannot refund {qty} of line {line_id}: {refundable} refundable",
                                     (*at, "quantity"))
                if restock_type == "RETURN" and qty > shipped:
                    raise StoreError(f"cannot return {qty} of line item {line_id}: {shipped} fulfilled unit(s) to "
                                     "return (RETURN is for fulfilled units; use CANCEL or NO_RESTOCK)",
                                     (*at, "restockType"))
                if restock_type == "CANCEL" and qty > unfulfilled:
                    raise StoreError(f"cannot cancel {qty} of line item {line_id}: {unfulfilled} unfulfilled "
                                     "unit(s) (CANCEL is for unfulfilled units; use RETURN)", (*at, "restockType"))
                from_shipped = 0 if restock_type == "CANCEL" else min(qty, shipped)
                left[line_id] = (refundable - qty, shipped - from_shipped, unfulfilled - (qty - from_shipped))
                chosen.append((order.line(line_id), qty, restock_type, location_id))
            if amount < 0 or amount > order.paid:
                raise StoreError(f"cannot refund {amount}: {order.paid} was paid", ("transactions",))
            return self._refund(order, amount, chosen, note=note)

    def fulfill_fulfillment_orders(self, chosen: list[tuple[int, list[tuple[int, int]] | None]],
                                   tracking_company: str | None = None, tracking_numbers: tuple[str, ...] = (),
                                   notify_customer: bool = False) -> Fulfillment:
        """``fulfillmentCreate`` as the Admin API takes it: fulfillment orders by id, each with the line items and
        units to fulfil (None: all it still holds), all of one order and one location ("The fulfillment orders are
        associated with the same Order and are assigned to the same Location"); a fulfillment order with nothing
        left to fulfil (closed) or a quantity beyond what it still holds is refused, and nothing changes."""
        with self.lock:
            holders = {fo_id: (order, location_id) for order in self.orders.values()
                       for location_id, fo_id in order.fulfillment_order_ids.items()}
            lines: dict[int, int] = {}
            orders, locations = set(), set()
            for index, (fo_id, items) in enumerate(chosen):
                at = ("fulfillment", "lineItemsByFulfillmentOrder", str(index))
                if fo_id not in holders:
                    raise StoreError(f"Fulfillment order does not exist. id: {fo_id}", (*at, "fulfillmentOrderId"))
                order, location_id = holders[fo_id]
                orders.add(order.id)
                locations.add(location_id)
                held = {line.id: line for line in order.fulfillment_order_lines(fo_id)}
                remaining = {line_id: 0 if order.cancelled_at else line.unfulfilled for line_id, line in held.items()}
                status = order.fulfillment_order_status(fo_id)
                if "CREATE_FULFILLMENT" not in order.supported_actions(fo_id):
                    raise StoreError(f"Fulfillment order gid://shopify/FulfillmentOrder/{fo_id} has an unfulfillable "
                                     f"status= {status.lower()}.", (*at, "fulfillmentOrderId"))
                for line_id, qty in (items if items is not None else
                                     [(k, v) for k, v in remaining.items() if v > 0]):
                    if line_id not in held or qty <= 0 or qty > remaining[line_id]:
                        raise StoreError("Invalid fulfillment order line item quantity requested.",
                                         (*at, "fulfillmentOrderLineItems"))
                    lines[line_id] = lines.get(line_id, 0) + qty
            if len(orders) != 1 or len(locations) != 1:
                raise StoreError("All fulfillment orders must belong to the same order and be assigned to the same "
                                 "location.", ("fulfillment", "lineItemsByFulfillmentOrder"))
            order = self.fulfill(orders.pop(), lines, tracking_company, tracking_numbers, notify_customer)
            return order.fulfillments[-1]

    # --- fulfillment orders: holds and progress (shopify.dev/docs/api/admin-graphql/latest/mutations/
    # fulfillmentOrderHold, fulfillmentOrderReleaseHold, fulfillmentOrderReportProgress, fulfillmentOrderOpen)

    def _fulfillment_order(self, fulfillment_order_id: int) -> Order:
        for order in self.orders.values():
            if fulfillment_order_id in order.fulfillment_order_ids.values():
                return order
        raise StoreError("Fulfillment order could not be found.", ("id",), "FULFILLMENT_ORDER_NOT_FOUND")

    def hold_fulfillment_order(self, fulfillment_order_id: int, handle: str, reason: str,
                               reason_notes: str | None = None) -> FulfillmentHold:
        """Several holds may stand at once (each app up to 10, one per handle); a closed one cannot be held."""
        with self.lock:
            order = self._fulfillment_order(fulfillment_order_id)
            held = order.holds.setdefault(fulfillment_order_id, [])
            if "HOLD" not in order.supported_actions(fulfillment_order_id):
                raise StoreError("The fulfillment order is not in a holdable state.", ("id",))
            if any(hold.handle == handle for hold in held):
                raise StoreError("A hold with this handle already exists on the fulfillment order.",
                                 ("fulfillmentHold", "handle"), "DUPLICATE_FULFILLMENT_HOLD_HANDLE")
            if len(held) >= 10:
                raise StoreError("The maximum number of holds has been reached for this fulfillment order.",
                                 ("id",), "FULFILLMENT_ORDER_HOLD_LIMIT_REACHED")
            hold = FulfillmentHold(self.next_id(), handle, reason, reason_notes)
            held.append(hold)
            self._updated_fulfillment_order(order, "fulfillment_orders/placed_on_hold", fulfillment_order_id)
            return hold

    def release_fulfillment_order_hold(self, fulfillment_order_id: int, hold_ids: list[int] | None = None) -> Order:
        """Releases the holds named (all of them when none is named); one not on hold is refused."""
        with self.lock:
            order = self._fulfillment_order(fulfillment_order_id)
            held = order.holds.get(fulfillment_order_id, [])
            if not held:
                raise StoreError("The fulfillment order is not on hold.", ("id",))
            unknown = set(hold_ids or ()) - {hold.id for hold in held}
            if unknown:
                raise StoreError(f"Fulfillment hold {sorted(unknown)[0]} could not be found.", ("holdIds",))
            order.holds[fulfillment_order_id] = [h for h in held if hold_ids and h.id not in hold_ids]
            self._updated_fulfillment_order(order, "fulfillment_orders/hold_released", fulfillment_order_id)
            return order

    def report_progress(self, fulfillment_order_id: int, reason_notes: str | None = None) -> Order:
        """Only an open or in-progress fulfillment order takes a progress report; it is then in progress."""
        with self.lock:
            order = self._fulfillment_order(fulfillment_order_id)
            if "REPORT_PROGRESS" not in order.supported_actions(fulfillment_order_id):
                raise StoreError("The fulfillment order's status does not allow reporting progress.", ("id",),
                                 "FULFILLMENT_ORDER_STATUS_INVALID")
            order.progress_reported.add(fulfillment_order_id)
            self._updated_fulfillment_order(order, "fulfillment_orders/progress_reported", fulfillment_order_id)
            return order

    def open_fulfillment_order(self, fulfillment_order_id: int) -> Order:
        """An in-progress fulfillment order of a merchant-managed location that had progress reported (and nothing
        fulfilled) is open again; any other is refused."""
        with self.lock:
            order = self._fulfillment_order(fulfillment_order_id)
            if "MARK_AS_OPEN" not in order.supported_actions(fulfillment_order_id):
                raise StoreError("The fulfillment order cannot be marked as open.", ("id",))
            order.progress_reported.discard(fulfillment_order_id)
            self._updated_fulfillment_order(order, "fulfillment_orders/manually_reported_progress_stopped",
                                            fulfillment_order_id)
            return order

    def _updated_fulfillment_order(self, order: Order, topic: str | None, fulfillment_order_id: int) -> None:
        """A fulfillment order changed: its own topic (an order's subscriptions are orders/*: no orders/updated)."""
        order.updated_at = self.now()
        if topic is not None:
            self._emit(topic, order, fulfillment_order_id=fulfillment_order_id)

    def fulfill(self, order_id: int, lines: dict[int, int] | None = None, tracking_company: str | None = None,
                tracking_numbers: tuple[str, ...] = (), notify_customer: bool = False) -> Order:
        """Ship ``lines`` (line id -> units), by default every unfulfilled unit, one fulfillment per location."""
        with self.lock:
            order = self._editable(order_id)
            chosen = lines if lines is not None else {line.id: line.unfulfilled for line in order.lines
                                                      if line.requires_shipping and line.unfulfilled > 0}
            for line_id, qty in chosen.items():
                line = order.line(line_id)
                if qty <= 0 or qty > line.unfulfilled:
                    raise StoreError(f"cannot fulfill {qty} of line item {line.id}: {line.unfulfilled} unfulfilled")
            if not chosen:
                raise StoreError(f"order {order.name} has nothing to fulfill")
            by_location: dict[int, list[tuple[Line, int]]] = {}
            for line_id, qty in chosen.items():
                line = order.line(line_id)
                line.fulfilled += qty
                by_location.setdefault(line.location_id or order.location_id, []).append((line, qty))
            order.updated_at = self.now()
            for location_id, shipped in by_location.items():
                fulfillment = Fulfillment(self.next_id(), order.updated_at, location_id,
                                          [(line.id, qty) for line, qty in shipped], tracking_company,
                                          tuple(tracking_numbers), notify_customer)
                order.fulfillments.append(fulfillment)
                self._emit("fulfillments/create", order, fulfillment=fulfillment)
            self._emit("orders/updated", order)
            return order

    def recreate_order(self, order_id: int, items: list[tuple[int, int]], marker: str = "note_attribute",
                       cancel_original: bool = True) -> Order:
        """What recreate-style editing apps do: place a new order naming the original.

        Some apps cancel the original (with refund and restock) first; others
        leave it open and only tag it (``replaced-by-<number>``), so Shopify
        still holds it open, paid, with its stock committed, and only the new
        order's marker says it must not ship.
        """
        with self.lock:
            original = self._editable(order_id)
            if cancel_original:
                self.cancel_order(order_id, reason="OTHER")
            attributes, tags, note = [], [], None
            if marker == "note_attribute":
                attributes = [("edited_from", original.name)]
            elif marker == "tag":
                tags = [f"edited-from-{original.name.lstrip('#')}"]
            elif marker == "note":
                note = f"Edited from {original.name}"
            new = self.create_order(items, customer_id=original.customer_id, address=original.shipping_address,
                                    note=note, tags=tags, attributes=attributes, source_name="order-editing-app",
                                    company_location_id=original.company_location_id,
                                    location_id=original.location_id)
            if not cancel_original:
                original.tags.append(f"replaced-by-{new.name.lstrip('#')}")
                self._updated(original)
            return new

    def find_order_by_name(self, name: str) -> Order | None:
        wanted = name if name.startswith("#") else f"#{name}"
        return next((order for order in self.orders.values() if order.name == wanted), None)

    # --- inventory (the Admin API's inventoryAdjustQuantities) ----------------------------

    def adjust_quantities(self, key: str, reason: str, reference: str | None,
                          changes: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """Apply changes atomically; a repeated idempotency key returns the first result, changing nothing."""
        with self.lock:
            if key in self.adjustment_keys:
                return self.adjustment_keys[key], []
            errors = []
            for index, change in enumerate(changes):
                level = (change["inventory_item_id"], change["location_id"])
                if level not in self.levels:
                    errors.append({"field": ["input", "changes", str(index)],
                                   "message": "The specified inventory item is not stocked at the location.",
                                   "code": "ITEM_NOT_STOCKED_AT_LOCATION"})
                elif change.get("change_from") is not None and self.levels[level] != change["change_from"]:
                    errors.append({"field": ["input", "changes", str(index), "changeFromQuantity"],
                                   "message": "The quantity has changed since it was read.",
                                   "code": "CHANGE_FROM_QUANTITY_STALE"})
            if errors:
                return None, errors
            group = {"id": self.next_id(), "created_at": self.now(), "reason": reason,
                     "reference_document_uri": reference, "changes": []}
            for change in changes:
                level = (change["inventory_item_id"], change["location_id"])
                self.levels[level] += change["delta"]
                group["changes"].append({**change, "quantity_after": self.levels[level]})
            self.adjustment_keys[key] = group
            self.adjustments.append(group)
            return group, []

    # --- internals ------------------------------------------------------------------------

    def _order(self, order_id: int) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            raise StoreError(f"no order {order_id}", ("orderId",))
        return order

    def _editable(self, order_id: int) -> Order:
        order = self._order(order_id)
        if order.cancelled_at is not None:
            raise StoreError(f"order {order.name} is cancelled")
        return order

    def _lines_for(self, variant_id: int, quantity: int, properties: dict[str, str],
                   company_location_id: int | None, location_id: int) -> list[Line]:
        variant = self.variants[variant_id]
        if location_id not in self.locations:
            raise StoreError(f"no location {location_id}")
        prices = self.company_locations[company_location_id][1] if company_location_id else {}
        if not variant.bundle_components:
            return [Line(self.next_id(), variant.id, variant.sku, variant.title, quantity, quantity,
                         prices.get(variant.id, variant.price), list(properties.items()), location_id=location_id)]
        # A bundle is sold as its components, grouped (Shopify's LineItemGroup), priced pro rata.
        group = {"id": self.next_id(), "title": variant.title, "quantity": quantity,
                 "variant_id": variant.id, "variant_sku": variant.sku}
        parts = [(self.variants[c], per * quantity) for c, per in variant.bundle_components]
        list_total = sum((v.price * q for v, q in parts), Decimal(0)) or Decimal(1)
        lines = []
        for component, qty in parts:
            share = (variant.price * quantity * component.price * qty / list_total / qty).quantize(Decimal("0.01"))
            lines.append(Line(self.next_id(), component.id, component.sku, component.title, qty, qty, share,
                              list(properties.items()), group=group, location_id=location_id))
        return lines

    def _take_stock(self, order: Order, line: Line, quantity: int) -> None:
        if line.variant_id is None:
            return
        level = (self.variants[line.variant_id].inventory_item_id, line.location_id or order.location_id)
        self.levels[level] = self.levels.get(level, 0) - quantity

    def _assign_fulfillment_orders(self, order: Order) -> None:
        for line in order.lines:
            if line.location_id is not None and line.location_id not in order.fulfillment_order_ids:
                order.fulfillment_order_ids[line.location_id] = self.next_id()

    def _refund(self, order: Order, amount: Decimal, lines: list[tuple[Line, int, str, int | None]],
                count_lines: bool = True, note: str | None = None) -> Refund:
        now = self.now()
        transaction = Transaction(self.next_id(), "REFUND", "SUCCESS", amount, now) if amount > 0 else None
        refund_lines = []
        for line, qty, restock_type, restock_location_id in lines:
            if count_lines and restock_type != "CANCEL":
                # A return, or a refund without restock, takes shipped units first (an edit removes unshipped ones).
                line.fulfilled_refunded += min(qty, line.shipped)
            if count_lines:
                line.current_quantity -= qty
            restocked = restock_type in ("CANCEL", "RETURN")
            location_id = restock_location_id or line.location_id or order.location_id
            if restocked and line.variant_id is not None:
                level = (self.variants[line.variant_id].inventory_item_id, location_id)
                self.levels[level] = self.levels.get(level, 0) + qty
            refund_lines.append(RefundLine(line.id, qty, restock_type, restocked, location_id if restocked else None,
                                           line.price * qty))
        refund = Refund(self.next_id(), now, amount, refund_lines, transaction.id if transaction else None, note)
        order.refunds.append(refund)
        if transaction:
            order.transactions.append(transaction)
        if count_lines and refund_lines:
            order.agreements.append(Agreement(self.next_id(), "REFUND", now, [
                Sale(rl.line_id, -rl.quantity, "RETURN", -rl.subtotal) for rl in refund_lines]))
        order.updated_at = now
        self._emit("refunds/create", order, refund=refund)
        self._emit("orders/updated", order)
        return refund

    def _updated(self, order: Order) -> Order:
        order.updated_at = self.now()
        self._emit("orders/updated", order)
        return order

    def _emit(self, topic: str, order: Order, **extra: Any) -> None:
        for listener in list(self.listeners):
            listener(topic, {"order": order, **extra})


def _tag_list(tags: list[str]) -> list[str]:
    """Each tag of a list whose items may be comma-separated strings, as ``tagsAdd`` takes them."""
    split = [part.strip() for tag in tags for part in tag.split(",")]
    for tag in split:
        if len(tag) > MAX_TAG_CHARS:
            raise StoreError(f"tag {tag[:20]!r}... is longer than {MAX_TAG_CHARS} characters", ("tags",))
    return [tag for tag in split if tag]
