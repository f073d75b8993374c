"""What the Peoplevox sales order should be, and the smallest change that gets it there.

Peoplevox rules (Peoplevox's default integration templates as integrators document them, e.g.
Zynk's Peoplevox connector docs, and public Peoplevox client code): an update may add
or edit sales order lines but never remove one, so a removal needs
cancel-and-replace; an unknown ItemCode is refused, so every SKU must map
first; and once picking has started the warehouse state wins.

:func:`plan_commands` is the Peoplevox part of a reconcile: at most one change
in flight per order, exceptions for held orders and edits after the cut-off,
returns for returned refund lines; :func:`acknowledge` records what Peoplevox
confirmed.

Sales order numbers are ``<name>`` and, for each cancel-and-replace,
``<name>-R<n>``; Peoplevox never reuses one. The order's state counts the
revisions, but state can be lost (a discarded local store is rebuilt from
Shopify, which knows nothing of Peoplevox numbers). So before a sales order is
created or replaced, the sink reads the order's sales orders from Peoplevox
(a search by the number's prefix); if the state is :func:`behind`, nothing is
written and the sink answers with what Peoplevox holds (:class:`Held`: lines and
the header read back), which :func:`adopt` makes the acknowledged sales order:
the next reconcile plans from it (an update, or a replace under the next
number, or ``EDIT_AFTER_PICK``).

A rebuilt order that should ship nothing (Shopify cancelled it, or it was
recreated as another order, while the state was lost) plans no create to learn
from, so it sends :class:`~streams.core.commands.CancelLiveSalesOrders`: the
sink cancels whatever Peoplevox holds live for it. One past the cut-off is
answered like a refused write and adopted, so it stays and is flagged
(``EDIT_AFTER_PICK``), and a successor is held back as for any original that
could not be released.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic_core import to_jsonable_python

from streams.core.commands import (
    CancelLiveSalesOrders,
    CancelSalesOrder,
    Command,
    CreateReturn,
    CreateSalesOrder,
    PeoplevoxPayload,
    ReplaceSalesOrder,
    ReturnLine,
    SalesOrderChange,
    UpdateSalesOrder,
    command,
)
from streams.core.details import (
    EditAfterPickDetail,
    ExceptionType,
    FieldChange,
    HeaderField,
    Held,
    HeldHeader,
    RecreateAmbiguousDetail,
    SalesOrderDiff,
    Severity,
    UnknownSkuDetail,
)
from streams.core.exceptions import Wanted
from streams.core.inputs import Notice, PredecessorAnswer
from streams.core.model import Address, OrderSnapshot, Owner, SalesOrder, Target
from streams.core.reference import Catalogue, Reference
from streams.core.state import OrderState

#: The pick cycle in order. A status not listed is treated as past any cut-off:
#: when the warehouse says something we do not understand, we do not write over it.
PICK_CYCLE: tuple[str, ...] = ("New", "Picking", "Packed", "Despatched")
CANCELLED = "Cancelled"
DESPATCHED = "Despatched"  # the last status of the pick cycle: what left is in the Despatch summary report

GIFT_MESSAGE = re.compile(r"gift[ _-]?(message|note)", re.I)
REVISION = re.compile(r"-R\d+$")
#: A line's notes share one Notes column in Peoplevox.
NOTES_SEPARATOR = "; "

@dataclass(frozen=True)
class CutOff:
    status: str = "Picking"

    def __post_init__(self) -> None:
        if self.status not in PICK_CYCLE:
            raise ValueError(f"must be one of {', '.join(PICK_CYCLE)}, as Peoplevox spells them, not {self.status!r}")

    def reached(self, status: str | None) -> bool:
        if status is None:
            return False
        if status not in PICK_CYCLE:
            return True
        return PICK_CYCLE.index(status) >= PICK_CYCLE.index(self.status)


def notes_by_code(line_notes: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Each line's notes as the one text its Notes column holds, by ItemCode (lines without notes left out)."""
    notes: dict[str, list[str]] = {}
    for code, note in line_notes:
        notes.setdefault(code, []).append(note)
    return {code: NOTES_SEPARATOR.join(texts) for code, texts in notes.items()}


def base_number(number: str) -> str:
    """The order's own sales order number: ``number`` without its ``-R<n>`` revision suffix."""
    return REVISION.sub("", number)


def revision_of(number: str, base: str) -> int | None:
    """0 for ``base``, n for ``base-R<n>``; None for a number that is not one of this order's sales orders."""
    if number == base:
        return 0
    suffix = number.removeprefix(f"{base}-R")
    return int(suffix) if suffix != number and suffix.isdigit() else None


def behind(sales_order: SalesOrder, held: list[tuple[str, str]]) -> tuple[str, str] | None:
    """The order's latest sales order in Peoplevox (number, status) when creating ``sales_order`` would be
    behind it: Peoplevox already used the number, or holds a later revision. None: write it.

    The number planned may be written if it is past every revision held, or if it is the latest and live
    (the same command repeated after a lost answer: the write upserts).
    """
    base = base_number(sales_order.number)
    revisions = {rev: (number, status) for number, status in held if (rev := revision_of(number, base)) is not None}
    wanted = revision_of(sales_order.number, base) or 0
    latest = max(revisions, default=-1)
    if wanted > latest or (wanted == latest and revisions[latest][1] != CANCELLED):
        return None
    return revisions[latest]


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
    diff: SalesOrderDiff


def plan(desired: SalesOrder | None, acknowledged: SalesOrder | None) -> Change:
    live = acknowledged if acknowledged is not None and not acknowledged.cancelled else None
    if desired is None:
        return Change("cancel", SalesOrderDiff(cancel=live.number)) if live else Change("none", SalesOrderDiff())
    if live is None:
        return Change("create", SalesOrderDiff(lines_added=dict(desired.lines)))
    comparable = desired.model_copy(update={"number": live.number})
    if comparable == live:
        return Change("none", SalesOrderDiff())
    diff = diff_sales_orders(live, comparable)
    return Change("replace" if diff.lines_removed else "update", diff)


def diff_sales_orders(before: SalesOrder, after: SalesOrder) -> SalesOrderDiff:
    old, new = before.line_map(), after.line_map()
    fields: dict[str, Any] = {
        "lines_added": {code: qty for code, qty in new.items() if code not in old},
        "lines_changed": {code: (old[code], qty) for code, qty in new.items() if code in old and old[code] != qty},
        "lines_removed": {code: qty for code, qty in old.items() if code not in new}}
    for field in ("address", "email", "gift_message", "line_notes"):
        if getattr(before, field) != getattr(after, field):
            fields[field] = FieldChange(before=_plain(getattr(before, field)), after=_plain(getattr(after, field)))
    return SalesOrderDiff(**fields)


def _plain(value: Any) -> Any:
    # As JSON has it, so that a diff read back from a record or the state table equals the one planned now.
    return to_jsonable_python(value)


# --- the Peoplevox part of a reconcile ------------------------------------------------------

CHANGES: dict[str, type[CreateSalesOrder | UpdateSalesOrder | ReplaceSalesOrder | CancelSalesOrder]] = {
    "create": CreateSalesOrder, "update": UpdateSalesOrder,
    "replace": ReplaceSalesOrder, "cancel": CancelSalesOrder}


def plan_commands(state: OrderState, snapshot: OrderSnapshot, cutoff: CutOff, reference: Reference, want: Wanted,
                  notices: list[Notice]) -> tuple[OrderState, list[Command]]:
    desired = None if state.successor_id else desired_sales_order(snapshot, reference.catalogue)
    if isinstance(desired, UnknownSkus):
        want(ExceptionType.UNKNOWN_SKU, Owner.OPS, Severity.HIGH,
             f"{snapshot.display_name} is held: {', '.join(desired.skus)} has no Peoplevox ItemCode.",
             UnknownSkuDetail(skus=tuple(desired.skus)),
             "Add the item to Peoplevox (or a SKU override), then retry the order.")
        return state, []
    if state.predecessor_ref and not state.predecessor_released:
        if state.predecessor_blocked:
            # Either the original is past the cut-off, or Shopify has no order of that name (a mistyped
            # marker may hide a live original): two parcels are worse than a held order.
            reason = state.predecessor_reason or "the original was not released"
            want(ExceptionType.RECREATE_AMBIGUOUS, Owner.OPS, Severity.HIGH,
                 f"{snapshot.display_name} replaces {state.predecessor_ref}, which could not be released "
                 f"({reason}): neither is released automatically.",
                 RecreateAmbiguousDetail(predecessor=state.predecessor_ref, reason=reason),
                 "Decide which order ships: cancel the original's sales order in Peoplevox, or correct the "
                 "marker on this order in Shopify; then retry.")
        return state, []
    if any(c.target is Target.PEOPLEVOX for c in state.in_flight.values()):
        return state, []  # one Peoplevox change at a time per order; the result triggers the next
    if desired is None and state.peoplevox_sales_order is None and state.peoplevox_unknown:
        # Rebuilt (or its create's answer was lost), and it should ship nothing (cancelled, recreated as another
        # order, nothing left): a sales order editsync made that the state does not know may still be live, and
        # the warehouse would ship it. Only such orders pay this read of Peoplevox: for every other order
        # editsync's own state says what it sent, and an order first seen cancelled was never sent.
        # Until the answer comes, the order holds its successor back, as it would for a known sales order.
        return state, [command(snapshot, CancelLiveSalesOrders(number=sales_order_number(snapshot)))]
    change = plan(desired, state.peoplevox_sales_order)
    if change.kind == "none":
        returns = _return_commands(state, snapshot, reference)
        if state.successor_id and not state.successor_notified:
            notices.append(Notice(to_order_id=state.successor_id,
                                  message=PredecessorAnswer(predecessor_id=snapshot.order_id, released=True,
                                                            reason="original's sales order cancelled or never sent")))
            state = state.model_copy(update={"successor_notified": True})
        return state, returns
    live = state.peoplevox_sales_order
    # The pick cycle of a sales order editsync already cancelled cannot hold back its successor; nor can one
    # the warehouse reports Cancelled (someone stopped it on the floor) when a cancel is all that is left to do:
    # the cancel goes out, Peoplevox answers it as done, and the successor is released.
    cancelled = live is not None and (live.cancelled or live.number == state.peoplevox_cancelled
                                      or (change.kind == "cancel" and state.peoplevox_status == CANCELLED))
    if live is not None and not cancelled and cutoff.reached(state.peoplevox_status):
        lines = change.diff.touches_lines or change.kind == "cancel"
        want(ExceptionType.EDIT_AFTER_PICK, Owner.OPS if lines else Owner.CX, Severity.HIGH,
             f"{snapshot.display_name} changed after the warehouse started ({state.peoplevox_status}); "
             "the change was not sent.",
             EditAfterPickDetail(status=state.peoplevox_status, change=change.kind, diff=change.diff),
             "Stop or amend the parcel in Peoplevox, or tell the customer the edit missed it.")
        if state.successor_id and not state.successor_notified:
            notices.append(Notice(to_order_id=state.successor_id,
                                  message=PredecessorAnswer(predecessor_id=snapshot.order_id, released=False,
                                                            reason=f"original is at {state.peoplevox_status}")))
            state = state.model_copy(update={"successor_notified": True})
        return state, []
    return state, [_sales_order_command(state, snapshot, change, desired)]


def _sales_order_command(state: OrderState, snapshot: OrderSnapshot, change: Change,
                         desired: SalesOrder | None) -> Command:
    live = state.peoplevox_sales_order
    replaces = None
    if change.kind == "cancel":
        assert live is not None
        sales_order = live.model_copy(update={"cancelled": True})
    else:
        assert desired is not None
        number = desired.number
        if change.kind == "update" and live is not None:
            number = live.number
        elif change.kind != "update" and live is not None:
            # replace, or re-create after a cancel: Peoplevox numbers are never reused
            number, replaces = f"{desired.number}-R{state.peoplevox_revision + 1}", live.number
        sales_order = desired.model_copy(update={"number": number})
    return command(snapshot, CHANGES[change.kind](sales_order=sales_order, diff=change.diff, replaces=replaces))


def _return_commands(state: OrderState, snapshot: OrderSnapshot, reference: Reference) -> list[Command]:
    """A refund with returned lines becomes a return in Peoplevox (once per refund), in ItemCodes."""
    if state.peoplevox_sales_order is None:
        return []
    skus = {line.line_id: line.sku or "" for line in snapshot.lines}
    for refund in snapshot.refunds:
        returned = [line for line in refund.lines if line.restock_type == "RETURN"]
        if returned and refund.refund_id not in state.returns:
            codes: dict[str, int] = {}
            for line in returned:
                for sku, quantity in reference.catalogue.expand(skus.get(line.line_id, ""), line.quantity):
                    code = reference.catalogue.item_code(sku) or sku
                    codes[code] = codes.get(code, 0) + quantity
            payload = CreateReturn(refund_id=refund.refund_id, sales_order_number=state.peoplevox_sales_order.number,
                                   lines=tuple(ReturnLine(item_code=code, quantity=quantity)
                                               for code, quantity in sorted(codes.items())))
            return [command(snapshot, payload, refund.refund_id)]
    return []


def acknowledge(state: OrderState, payload: PeoplevoxPayload) -> OrderState:
    if isinstance(payload, CreateReturn):
        return state.model_copy(update={"returns": state.returns | {payload.refund_id}})
    if isinstance(payload, CancelLiveSalesOrders):
        return state.model_copy(update={"peoplevox_unknown": False})  # nothing of the order is live there
    revision = state.peoplevox_revision + (1 if payload.replaces is not None else 0)
    return state.model_copy(update={"peoplevox_sales_order": payload.sales_order, "peoplevox_revision": revision,
                                    "peoplevox_cancelled": None, "peoplevox_unknown": False})


def adopt(state: OrderState, payload: PeoplevoxPayload, held: Held) -> OrderState:
    """The sink found Peoplevox holding ``held`` where this order's state knew another sales order or none
    (its state was rebuilt): from now on that is what later changes are weighed against, header included, so
    an address changed while the state was lost is sent (or, past the cut-off, raised). A cancel of whatever is
    live carries no header of its own: only a cancel can follow it."""
    live = state.peoplevox_sales_order
    if isinstance(payload, CreateReturn):
        return state
    if live is not None and live.number == held.number:
        return state.model_copy(update={"peoplevox_unknown": False})
    sent = payload.sales_order if isinstance(payload, SalesOrderChange) else SalesOrder(number=held.number, lines=())
    sales_order = _with_header(sent, held.header).model_copy(
        update={"number": held.number, "lines": held.lines, "cancelled": held.status == CANCELLED})
    revision = revision_of(held.number, base_number(held.number)) or 0
    return state.model_copy(update={"peoplevox_sales_order": sales_order, "peoplevox_unknown": False,
                                    "peoplevox_revision": max(revision, state.peoplevox_revision)})


def _with_header(sent: SalesOrder, header: HeldHeader | None) -> SalesOrder:
    """``sent`` with the header fields Peoplevox holds. A field it does not hold keeps the sent value, so it
    never looks changed (past the cut-off that would be a false ``EDIT_AFTER_PICK``); so does one it holds as
    sent. No header (an answer from an older version): the sent header, as it was assumed then."""
    if header is None:
        return sent
    stored = header.stored
    address = sent.address or Address()
    held_address = address.model_copy(update={field: _as_held(getattr(address, field), getattr(header.address, field))
                                              for field in Address.model_fields if field in stored})
    updates: dict[str, Any] = {field: _as_held(getattr(sent, field), getattr(header, field))
                               for field in ("email", "gift_message") if field in stored}
    if held_address != address:
        updates["address"] = held_address
    if "line_notes" in stored and notes_by_code(sent.line_notes) != dict(header.line_notes):
        updates["line_notes"] = tuple(sorted(header.line_notes))
    return sent.model_copy(update=updates)


def _as_held(sent: str | None, held: str | None) -> str | None:
    """The value Peoplevox holds; the sent one if it holds that (an empty value reads back as None)."""
    return sent if (sent or None) == held else held


class PeoplevoxColumns(BaseModel):
    """Which column of the client's import templates holds each value editsync sends ("" = not sent).

    Defaults follow Peoplevox's default integration templates ("Sales orders",
    "Sales order items"); ``gift_message`` and ``line_notes`` are custom fields a
    client adds to its templates (or sets to "" to send none).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    sales_order_number: str = "SalesOrderNumber"
    reference: str = "CustomerPurchaseOrderReferenceNumber"
    status: str = "Status"
    email: str = "Email"
    contact_name: str = "ContactName"
    customer: str = ""
    address1: str = "ShippingAddressLine1"
    address2: str = "ShippingAddressLine2"
    city: str = "ShippingAddressCity"
    region: str = "ShippingAddressRegion"
    postcode: str = "ShippingAddressPostcode"
    country: str = "ShippingAddressCountry"
    gift_message: str = "GiftMessage"
    item_code: str = "ItemCode"
    quantity: str = "QuantityOrdered"
    line: str = "Line"
    line_notes: str = "Notes"

    @field_validator("sales_order_number", "reference", "status", "item_code", "quantity", "line")
    @classmethod
    def _required(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("this column is required: editsync reads and writes sales orders through it")
        return value.strip()

    def header(self) -> tuple[tuple[str, HeaderField], ...]:
        """The configured header columns and the field each holds (the contact name also goes to Customer when
        that is configured); read back, the first column of a field wins."""
        pairs: tuple[tuple[str, HeaderField], ...] = (
            (self.contact_name, "name"), (self.customer, "name"), (self.address1, "address1"),
            (self.address2, "address2"), (self.city, "city"), (self.region, "province_code"),
            (self.postcode, "zip"), (self.country, "country_code"), (self.email, "email"),
            (self.gift_message, "gift_message"))
        return tuple((column, field) for column, field in pairs if column)
