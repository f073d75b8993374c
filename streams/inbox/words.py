"""Plain words for what editsync did and why, for people who never read a Kafka record (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from streams.core.details import (
    EditAfterPickDetail,
    ExceptionDetail,
    ExceptionState,
    ExceptionType,
    FailureDetail,
    Outcome,
    PriceListDetail,
    PriceMismatch,
    RecreateAmbiguousDetail,
    SalesOrderDiff,
    UnknownSkuDetail,
    WaitingDetail,
)
from streams.core.model import Target

TEAMS = {"FINANCE": "Finance", "OPS": "Operations", "CX": "Customer service"}
STATES: dict[str, str] = {state: state.value.lower() for state in ExceptionState}
TITLES: dict[str, str] = {
    ExceptionType.UNKNOWN_SKU: "Product not set up in the warehouse",
    ExceptionType.EDIT_AFTER_PICK: "Changed after the warehouse started picking",
    ExceptionType.PRICE_LIST_MISMATCH: "Added at a price or item off the company's price list",
    ExceptionType.RECREATE_AMBIGUOUS: "Replacement order whose original could not be released",
    ExceptionType.PVX_UPDATE_FAILED: "Peoplevox refused or did not answer",
    ExceptionType.INVENTORY_ADJUST_FAILED: "Stock adjustment in Shopify failed",
    ExceptionType.ERP_SYNC_FAILED: "The ERP refused or did not answer",
    ExceptionType.REFUND_NOT_POSTED: "Refund not posted to the ERP",
    ExceptionType.INVENTORY_LOCATION_UNKNOWN: "Units to restock, but no location known",
    ExceptionType.ORDER_STALLED: "Order waiting too long",
    ExceptionType.RECREATE_UNRESOLVED: "Replacement order still waiting for its original",
    ExceptionType.SHOPIFY_ACCESS_DENIED: "Shopify refused editsync access",
    ExceptionType.PVX_NO_LIVE_SALES_ORDER: "The warehouse holds nothing for this order",
    ExceptionType.EDIT_LOCK_FAILED: "The order could not be closed for edits in Shopify",
    ExceptionType.FULFILLMENT_FAILED: "Despatched, but not fulfilled in Shopify",
    ExceptionType.PAYMENT_OUTSTANDING: "Edited: the customer owes the difference",
    ExceptionType.REFUND_OWED: "Edited: the customer is owed a refund",
}
ACTIONS = {
    "create_sales_order": "create the sales order", "update_sales_order": "update the sales order",
    "replace_sales_order": "replace the sales order", "cancel_sales_order": "cancel the sales order",
    "cancel_live_sales_orders": "cancel whatever sales order the warehouse holds",
    "create_return": "book the return", "adjust_inventory": "adjust stock",
    "add_tags": "close the order for edits in Shopify", "remove_tags": "reopen the order for edits in Shopify",
    "report_progress": "show the fulfillment in progress", "open_fulfillment_orders": "show the fulfillment open again",
    "hold_fulfillment_orders": "hold the order for its first edits (edit window)",
    "release_fulfillment_holds": "release the edit window's hold", "create_fulfillment": "fulfil what was despatched",
    "upsert_sales_order": "send the sales order", "record_payment": "record the payment",
    "create_credit_memo": "post the credit memo",
}
#: The waits of streams/core/holds.py, as the ORDER_STALLED and RECREATE_UNRESOLVED they become.
WAITING_FOR = {"shopify_read": "for Shopify to answer a read of the order",
               "downstream": "for Peoplevox, Shopify or the ERP to answer the changes sent",
               "predecessor": "for the original order this one replaces",
               "edit_window": "for the customer's first edits before it goes to the warehouse"}
OUTCOMES: dict[str, str] = {Outcome.APPLIED: "done", Outcome.REJECTED: "refused",
                            Outcome.REJECTED_CUTOFF: "refused: picking had started", Outcome.FAILED: "failed"}
EVENTS = {"ORDER_CREATED": "order created", "ORDER_UPDATED": "order updated", "ORDER_EDITED": "order edited",
          "ORDER_CANCELLED": "order cancelled", "ORDER_FULFILLED": "order fulfilled",
          "ORDER_PARTIALLY_FULFILLED": "order partly fulfilled", "REFUND_CREATED": "refund made",
          "FULFILLMENT_CREATED": "fulfilment created", "FULFILLMENT_UPDATED": "fulfilment updated"}


def target_words(target: object, unknown: str | None = None) -> str:
    """A command target as people read it (the code's one name for it); anything else reads as ``unknown``,
    or as itself."""
    try:
        return Target(target).display
    except ValueError:
        return str(target) if unknown is None else unknown


def title(exception_type: str) -> str:
    return TITLES.get(exception_type, exception_type.replace("_", " ").capitalize())


def action(kind: str) -> str:
    return ACTIONS.get(kind, kind.replace("_", " "))


def what_changed(detail: ExceptionDetail) -> list[str]:
    """The exception's detail as sentences; anything without words of its own is shown as it is."""
    match detail:
        case UnknownSkuDetail():
            return [f"Peoplevox has no item for SKU {sku}." for sku in detail.skus]
        case EditAfterPickDetail():
            lines = [f"The warehouse status was {detail.status} when the order changed; "
                     f"the change ({detail.change}) was not sent."]
            return lines + _diff_words(detail.diff)
        case PriceListDetail():
            return [_price_words(line) for line in detail.lines]
        case RecreateAmbiguousDetail():
            reason = (detail.reason or "the warehouse is already picking it").rstrip(".")
            return [f"This order replaces {detail.predecessor}, which could not be released: {reason}."]
        case WaitingDetail():
            waiting_for = WAITING_FOR.get(detail.waiting_for, detail.waiting_for)
            return [f"Waiting {waiting_for} since {iso(detail.since)} (UTC)."]
        case FailureDetail():
            kind = detail.command_id.split(":")[1:2]
            sentence = f"editsync tried to {action(kind[0]) if kind else 'send a change'} in {detail.target.display}"
            reason = (detail.reason or "no reason given").rstrip(".")
            return [f"{sentence}; it {OUTCOMES.get(detail.outcome, 'failed')}: {reason}."]
    return [f"{key}: {value}" for key, value in detail.wire().items()]


def _diff_words(diff: SalesOrderDiff) -> list[str]:
    words = []
    for code, quantity in diff.lines_added.items():
        words.append(f"Added {quantity} × {code}.")
    for code, (before, after) in diff.lines_changed.items():
        words.append(f"{code}: quantity {before} → {after}.")
    for code, quantity in diff.lines_removed.items():
        words.append(f"Removed {quantity} × {code}.")
    for field, change in diff.header_changes().items():
        words.append(f"{field.replace('_', ' ').capitalize()} changed from {_short(change.before)} "
                     f"to {_short(change.after)}.")
    return words


def _price_words(line: PriceMismatch) -> str:
    if line.price_list is None:
        return f"{line.sku or 'A line'} was added at {line.charged}; the company's catalog does not include it."
    return f"{line.sku or 'A line'} was added at {line.charged}; the company's price list says {line.price_list}."


def _short(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(str(v) for v in value.values() if v) or "nothing"
    return "nothing" if value in (None, "", [], ()) else str(value)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def age(ms: int) -> str:
    """A duration the way people say it: 45 s, 12 min, 3 h, 2 d."""
    seconds = max(0, ms // 1000)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"
