"""What the Peoplevox sales order should be, and the smallest change that gets it there.

Peoplevox rules (Peoplevox integration templates, see DESIGN.md): an update may add
or edit sales order lines but never remove one, so a removal needs
cancel-and-replace; an unknown ItemCode is refused, so every SKU must map
first; and once picking has started the warehouse state wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from streams.core.model import Address, OrderSnapshot, Value
from streams.core.reference import Catalogue

#: The pick cycle in order. A status not listed is treated as past any cut-off:
#: when the warehouse says something we do not understand, we do not write over it.
PICK_CYCLE: tuple[str, ...] = ("New", "Picking", "Packed", "Despatched")
CANCELLED = "Cancelled"

GIFT_MESSAGE = re.compile(r"gift[ _-]?(message|note)", re.I)


@dataclass(frozen=True)
class CutOff:
    status: str = "Picking"

    def __post_init__(self) -> None:
        if self.status not in PICK_CYCLE:
            raise ValueError(f"cut-off status {self.status!r} is not one of {', '.join(PICK_CYCLE)}")

    def reached(self, status: str | None) -> bool:
        if status is None:
            return False
        if status not in PICK_CYCLE:
            return True
        return PICK_CYCLE.index(status) >= PICK_CYCLE.index(self.status)


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


@dataclass(frozen=True)
class UnknownSkus:
    """The order cannot go to the warehouse: these SKUs have no ItemCode."""

    skus: tuple[str, ...]


def sales_order_number(snapshot: OrderSnapshot) -> str:
    return (snapshot.name or snapshot.order_id).lstrip("#")


def desired_sales_order(snapshot: OrderSnapshot, catalogue: Catalogue) -> SalesOrder | UnknownSkus | None:
    """The sales order Peoplevox should hold, None when it should hold none (cancelled or nothing to ship)."""
    if snapshot.cancelled:
        return None
    # Returned units were shipped: a return is not an edit of what the warehouse sends.
    returned: dict[str, int] = {}
    for refund in snapshot.refunds:
        for refunded in refund.lines:
            if refunded.restock_type == "RETURN":
                returned[refunded.line_id] = returned.get(refunded.line_id, 0) + refunded.quantity
    quantities: dict[str, int] = {}
    unknown: list[str] = []
    notes: list[tuple[str, str]] = []
    gift_message = None
    for line in snapshot.lines:
        shipped = line.quantity + returned.get(line.line_id, 0)
        if shipped <= 0 or not line.requires_shipping:
            continue
        codes = []
        for sku, quantity in catalogue.expand(line.sku or "", shipped):
            code = catalogue.item_code(sku)
            if code is None:
                unknown.append(sku or f"(line {line.line_id} has no SKU)")
                continue
            quantities[code] = quantities.get(code, 0) + quantity
            codes.append(code)
        for name, value in line.properties:
            if GIFT_MESSAGE.fullmatch(name.strip()):
                gift_message = value
            elif not name.startswith("_") and codes:  # "_"-prefixed properties are hidden from customers
                notes.extend((code, f"{name}: {value}") for code in codes)
    if unknown:
        return UnknownSkus(tuple(sorted(set(unknown))))
    if not quantities:
        return None
    return SalesOrder(
        number=sales_order_number(snapshot),
        lines=tuple(sorted(quantities.items())),
        address=snapshot.shipping_address,
        email=snapshot.email,
        gift_message=gift_message,
        line_notes=tuple(sorted(notes)),
    )


@dataclass(frozen=True)
class Change:
    """``kind`` is none, create, update, replace (cancel-and-replace) or cancel."""

    kind: str
    diff: dict[str, Any]

    @property
    def touches_lines(self) -> bool:
        return bool(self.diff.get("lines_added") or self.diff.get("lines_changed") or self.diff.get("lines_removed"))


def plan(desired: SalesOrder | None, acknowledged: SalesOrder | None) -> Change:
    live = acknowledged if acknowledged is not None and not acknowledged.cancelled else None
    if desired is None:
        return Change("cancel", {"cancel": live.number}) if live else Change("none", {})
    if live is None:
        return Change("create", {"lines_added": dict(desired.lines)})
    comparable = desired.model_copy(update={"number": live.number})
    if comparable == live:
        return Change("none", {})
    diff = diff_sales_orders(live, comparable)
    return Change("replace" if diff.get("lines_removed") else "update", diff)


def diff_sales_orders(before: SalesOrder, after: SalesOrder) -> dict[str, Any]:
    old, new = before.line_map(), after.line_map()
    diff: dict[str, Any] = {}
    added = {code: qty for code, qty in new.items() if code not in old}
    changed = {code: [old[code], qty] for code, qty in new.items() if code in old and old[code] != qty}
    removed = {code: qty for code, qty in old.items() if code not in new}
    for key, value in (("lines_added", added), ("lines_changed", changed), ("lines_removed", removed)):
        if value:
            diff[key] = value
    for field in ("address", "email", "gift_message", "line_notes"):
        if getattr(before, field) != getattr(after, field):
            diff[field] = {"before": _plain(getattr(before, field)), "after": _plain(getattr(after, field))}
    return diff


def _plain(value: Any) -> Any:
    return value.model_dump() if isinstance(value, Value) else value
