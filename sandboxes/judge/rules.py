"""The business rules, written down once more and independently of editsync's code.

Every expectation is a plain function of Shopify's final order (and, where
the merchant configured something, editsync's reference file as written).
Nothing here imports ``streams``: a rule that editsync gets wrong must not be
got wrong here the same way by sharing its code.

- **Peoplevox ships what the customer still gets, plus what was shipped and
  sent back**: per line, the current quantity plus units refunded with a
  return. A cancelled order, or one recreated as another order, ships nothing.
  SKUs go through the merchant's overrides; a SKU the reference file lists as
  a bundle ships as its components. If any SKU has no Peoplevox ItemCode the
  order is held: no sales order, and an ``UNKNOWN_SKU`` exception for ops.
- **Header**: the shipping address (name, lines, city, region, postcode,
  country), the order's email, and the gift message (a line property named
  "Gift message" or "Gift note", any case, space, dash or underscore).
  Other line properties not starting with "_" (hidden from customers) are
  personalisation notes on that line's ItemCodes, each "Name: value".
- **Returns**: every unit refunded with a return is a Peoplevox return of its
  ItemCode against the order's sales order (an order the warehouse does not
  hold has nothing to return against).
- **ERP**: one sales order per Shopify order, whose open lines are the current
  quantities per SKU and whose total is Shopify's current total; a cancelled
  order's sales order is closed. Every successful sale or capture is money
  received against that sales order, every refund with money a credit memo
  for it, amounts as in Shopify.
- **Stock**: a unit leaves the shelf of its line's location (the location of
  the fulfillment order holding the line) when it is sold, and comes back only
  where it is put back. Shopify restocks a refund line at
  ``RefundLineItem.location``, "The inventory restock location"
  (``RefundLineItemInput.locationId``: "The intended location for
  restocking"), which the merchant may choose: a unit returned at another
  warehouse is back on that warehouse's shelf, not its line's. Per stock
  level, the merchant's stock is the starting stock less the units of every
  order still to ship (current quantities of open orders: Shopify keeps them
  committed, also for an original an editing app left open) and the units
  refunded with a restock or a return, plus those Shopify restocked there.
  So the adjustments editsync makes for an order are whatever Shopify did not
  do itself: units sold less units refunded with a restock or a return, less
  units still to ship, each at the line's location. (A refund without restock
  is taken as made before the order shipped: the sandbox refuses a return of
  a unit never fulfilled, as Shopify's ``RETURN`` is for "line items that were
  fulfilled".)
- **Balance**: an edited order whose total is not what its transactions
  paid (sales and captures less refunds) needs ``PAYMENT_OUTSTANDING`` for
  finance when the customer owes, ``REFUND_OWED`` when the customer is owed.
- **B2B**: a line an edit added to a company's order at a price other than the
  company location's agreed price is a ``PRICE_LIST_MISMATCH`` for finance, and
  so is one of a variant outside the company location's price list when it has
  one (charged at retail); a location without any agreed price buys at retail.
- **Cut-off**: once the warehouse is picking (``Picking`` or later), an edit is
  not sent; the order counts as handled only if Peoplevox still holds exactly
  the sales order Shopify's order called for when picking started, and an
  ``EDIT_AFTER_PICK`` exception is open: ops when the lines differ, customer
  service when only the header does.
- **Fulfillments**: what Peoplevox despatched of the order's sales orders
  Shopify shows fulfilled, per ItemCode (a fulfilled line counts its ItemCodes
  as the warehouse picks them), so the customer got a shipping confirmation
  for what left; units fulfilled by other means (by hand) are not the
  warehouse's.
- **Which exception explains a mismatch**: ``EXPLAINED_BY`` below, by area. An
  order whose sales order was cancelled and never replaced, while it should
  ship, is explained only by ``PVX_NO_LIVE_SALES_ORDER`` (the warehouse holds
  nothing) or by the order being held.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sandboxes.judge.models import Address, Header, Level, MerchantReference, ShopOrder

PICK_CYCLE = ("New", "Picking", "Packed", "Despatched")
CANCELLED = "Cancelled"
GIFT_MESSAGE = re.compile(r"gift[ _-]?(message|note)", re.IGNORECASE)
MONEY_IN = frozenset({"SALE", "CAPTURE"})

OPS, FINANCE, CX = "OPS", "FINANCE", "CX"
#: An order editsync cannot read, or whose commands go unanswered, is held everywhere: ops owns that.
HELD = frozenset({("ORDER_STALLED", OPS), ("SHOPIFY_ACCESS_DENIED", OPS)})
#: Per area of mismatch, the open exceptions (type, owner) that tell a person about it.
EXPLAINED_BY: dict[str, frozenset[tuple[str, str]]] = {
    "peoplevox": HELD | {("PVX_UPDATE_FAILED", OPS), ("PVX_NO_LIVE_SALES_ORDER", OPS), ("RECREATE_UNRESOLVED", OPS),
                         ("RECREATE_AMBIGUOUS", OPS)},
    "erp": HELD | {("ERP_SYNC_FAILED", FINANCE), ("REFUND_NOT_POSTED", FINANCE)},
    "stock": HELD | {("INVENTORY_ADJUST_FAILED", OPS), ("INVENTORY_LOCATION_UNKNOWN", OPS)},
    # An edit that slipped past the cut-off leaves Shopify's lines other than what was despatched.
    "shopify": HELD | {("FULFILLMENT_FAILED", OPS), ("EDIT_AFTER_PICK", OPS), ("EDIT_AFTER_PICK", CX)},
    "exceptions": frozenset(),  # a missing exception explains nothing
}


@dataclass(frozen=True)
class ExpectedSalesOrder:
    header: Header
    lines: dict[str, int]
    notes: dict[str, frozenset[str]]


@dataclass(frozen=True)
class Held:
    """The order cannot go to the warehouse: these SKUs have no ItemCode."""

    skus: tuple[str, ...]


def past_cutoff(status: str, cutoff: str = "Picking") -> bool:
    return status != CANCELLED and (status not in PICK_CYCLE or PICK_CYCLE.index(status) >= PICK_CYCLE.index(cutoff))


def returned_units(order: ShopOrder) -> Counter[int]:
    """Per line, units refunded with a return: shipped, then sent back."""
    returned: Counter[int] = Counter()
    for refund in order.refunds:
        for line in refund.lines:
            if line.restock_type == "RETURN":
                returned[line.line_id] += line.quantity
    return returned


def item_codes(sku: str | None, quantity: int, reference: MerchantReference) -> list[tuple[str | None, int]]:
    """What the warehouse picks for ``quantity`` of a SKU: its components when it is a bundle, each overridden."""
    parts = reference.bundles.get(sku or "", ((sku, 1),))
    return [(reference.sku_overrides.get(part, part) if part else None, per * quantity) for part, per in parts]


def sales_order(order: ShopOrder, reference: MerchantReference,
                known: frozenset[str]) -> ExpectedSalesOrder | Held | None:
    if order.cancelled:
        return None
    returned = returned_units(order)
    lines: Counter[str] = Counter()
    notes: dict[str, set[str]] = {}
    unknown: set[str] = set()
    gift_message = None
    for line in order.lines:
        ships = line.current_quantity + returned[line.line_id]
        if ships <= 0:
            continue
        codes = []
        for code, quantity in item_codes(line.sku, ships, reference):
            if code is None or code not in known:
                unknown.add(code or f"(line {line.line_id} has no SKU)")
                continue
            lines[code] += quantity
            codes.append(code)
        for name, value in line.properties:
            if GIFT_MESSAGE.fullmatch(name.strip()):
                gift_message = value
            elif not name.startswith("_"):
                for code in codes:
                    notes.setdefault(code, set()).add(f"{name}: {value}")
    if unknown:
        return Held(tuple(sorted(unknown)))
    if not lines:
        return None
    address = order.address or Address()
    header = {"name": address.name, "address1": address.address1, "address2": address.address2,
              "city": address.city, "region": address.province_code, "postcode": address.zip,
              "country": address.country_code, "email": order.email, "gift_message": gift_message}
    return ExpectedSalesOrder(header=Header(**{name: value or None for name, value in header.items()}),
                              lines=dict(lines), notes={code: frozenset(n) for code, n in notes.items()})


def returns(order: ShopOrder, reference: MerchantReference) -> dict[str, int]:
    """ItemCode -> units the warehouse should have received back."""
    skus = {line.line_id: line.sku for line in order.lines}
    expected: Counter[str] = Counter()
    for line_id, quantity in returned_units(order).items():
        for code, units in item_codes(skus.get(line_id), quantity, reference):
            expected[code or "?"] += units
    return dict(expected)


def fulfilled_codes(order: ShopOrder, reference: MerchantReference) -> dict[str, int]:
    """ItemCode -> units of them Shopify shows fulfilled."""
    fulfilled: Counter[str] = Counter()
    for line in order.lines:
        for code, units in item_codes(line.sku, line.fulfilled, reference):
            if units:
                fulfilled[code or "?"] += units
    return dict(fulfilled)


def erp_open_lines(order: ShopOrder) -> dict[str, int]:
    lines: Counter[str] = Counter()
    for line in order.lines:
        if line.current_quantity > 0:
            lines[line.sku or f"line {line.line_id}"] += line.current_quantity
    return {} if order.cancelled else dict(lines)


def money_received(order: ShopOrder) -> list[Decimal]:
    return sorted(t.amount for t in order.transactions if t.kind in MONEY_IN and t.status == "SUCCESS")


def credit_memos(order: ShopOrder) -> list[Decimal]:
    return sorted(refund.amount for refund in order.refunds if refund.amount > 0)


def units_out(order: ShopOrder) -> Counter[Level]:
    """Per stock level, the order's units off the shelf.

    At each line's location: the units still to ship (open orders) and the units refunded with a restock or a
    return (taken from that shelf, shipped or not); at each refund line's restock location, less what Shopify
    put back there.
    """
    out: Counter[Level] = Counter()
    lines = {line.line_id: line for line in order.lines}
    for line in order.lines:
        if line.level is not None and not order.cancelled:
            out[line.level] += line.current_quantity
    for refund in order.refunds:
        for refunded in refund.lines:
            shelf = lines[refunded.line_id].level if refunded.line_id in lines else None
            if shelf is not None and (refunded.restocked or refunded.restock_type == "RETURN"):
                out[shelf] += refunded.quantity
            if refunded.restocked and refunded.level is not None:
                out[refunded.level] -= refunded.quantity
    return out


def editsync_adjustments(order: ShopOrder) -> dict[Level, int]:
    """What editsync must have adjusted for the order: units sold, less what Shopify restocked, less units out."""
    moves: Counter[Level] = Counter()
    for line in order.lines:
        if line.level is not None:
            moves[line.level] += line.sold
    for refund in order.refunds:
        for line in refund.lines:
            if line.restocked and line.level is not None:
                moves[line.level] -= line.quantity
    moves.subtract(units_out(order))
    return {level: delta for level, delta in moves.items() if delta}


def stock_levels(start: dict[Level, int], orders: Iterable[ShopOrder]) -> dict[Level, int]:
    out = _units_out_of(orders)
    return {level: start.get(level, 0) - out[level] for level in set(start) | set(out)}


def stock_before_orders(stock: dict[Level, int], orders: Iterable[ShopOrder]) -> dict[Level, int]:
    """The starting stock ``stock_levels`` counts from, seen from a shop that already has ``orders``.

    A run judged on a shop with earlier orders (a second ``editsync demo`` against one ``editsync run``)
    starts from a stock those orders already took units from; every order counts from what the shelf
    held before any of them.
    """
    out = _units_out_of(orders)
    return {level: stock.get(level, 0) + out[level] for level in set(stock) | set(out)}


def _units_out_of(orders: Iterable[ShopOrder]) -> Counter[Level]:
    total: Counter[Level] = Counter()
    for order in orders:
        total.update(units_out(order))
    return total


def balance_owed(order: ShopOrder) -> Decimal:
    """What an edited order still owes (positive) or is owed (negative), from its total and its transactions:
    sales and captures in, refunds out. An unedited or cancelled order owes nothing an edit made."""
    edited = any(line.current_quantity != line.at_checkout for line in order.lines)
    if order.cancelled or not edited:
        return Decimal(0)
    paid = Decimal(0)
    for transaction in order.transactions:
        if transaction.status == "SUCCESS" and transaction.kind in ("SALE", "CAPTURE"):
            paid += transaction.amount
        elif transaction.status == "SUCCESS" and transaction.kind == "REFUND":
            paid -= transaction.amount
    return order.total - paid


def price_list_breaches(order: ShopOrder, reference: MerchantReference) -> list[str]:
    if order.company_location_id is None:
        return []
    listed = {variant: price for (location, variant), price in reference.b2b_prices.items()
              if location == order.company_location_id}
    breaches = []
    for line in order.lines:
        if line.at_checkout != 0 or line.current_quantity <= 0 or not listed:
            continue
        agreed = listed.get(line.variant_id or 0)
        if agreed is None:
            breaches.append(f"{line.sku} at {line.price}, not in the company's catalog")
        elif agreed != line.price:
            breaches.append(f"{line.sku} at {line.price}, agreed {agreed}")
    return breaches
