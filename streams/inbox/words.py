"""Plain words for what editsync did and why, for people who never read a Kafka record (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from streams.core.model import Target

TEAMS = {"FINANCE": "Finance", "OPS": "Operations", "CX": "Customer service"}
STATES = {"OPEN": "open", "RETRYING": "retrying", "RESOLVED": "resolved", "IGNORED": "ignored"}
TITLES = {
    "UNKNOWN_SKU": "Product not set up in the warehouse",
    "EDIT_AFTER_PICK": "Changed after the warehouse started picking",
    "PRICE_LIST_MISMATCH": "Price differs from the company's price list",
    "RECREATE_AMBIGUOUS": "Replacement order whose original could not be released",
    "PVX_UPDATE_FAILED": "Peoplevox refused or did not answer",
    "INVENTORY_ADJUST_FAILED": "Stock adjustment in Shopify failed",
    "ERP_SYNC_FAILED": "The ERP refused or did not answer",
    "REFUND_NOT_POSTED": "Refund not posted to the ERP",
    "INVENTORY_LOCATION_UNKNOWN": "Units to restock, but no location known",
    "ORDER_STALLED": "Order waiting too long",
    "RECREATE_UNRESOLVED": "Replacement order still waiting for its original",
    "SHOPIFY_ACCESS_DENIED": "Shopify refused editsync access",
    "PVX_NO_LIVE_SALES_ORDER": "The warehouse holds nothing for this order",
}
ACTIONS = {
    "create_sales_order": "create the sales order", "update_sales_order": "update the sales order",
    "replace_sales_order": "replace the sales order", "cancel_sales_order": "cancel the sales order",
    "cancel_live_sales_orders": "cancel whatever sales order the warehouse holds",
    "create_return": "book the return", "adjust_inventory": "adjust stock",
    "add_tags": "close the order for edits in Shopify", "remove_tags": "reopen the order for edits in Shopify",
    "upsert_sales_order": "send the sales order", "record_payment": "record the payment",
    "create_credit_memo": "post the credit memo",
}
#: The waits of streams/core/holds.py, as the ORDER_STALLED and RECREATE_UNRESOLVED they become.
WAITING_FOR = {"shopify_read": "for Shopify to answer a read of the order",
               "downstream": "for Peoplevox, Shopify's inventory or the ERP to answer the changes sent",
               "predecessor": "for the original order this one replaces"}
OUTCOMES = {"APPLIED": "done", "REJECTED": "refused", "REJECTED_CUTOFF": "refused: picking had started",
            "FAILED": "failed"}
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


def what_changed(exception_type: str, detail: Mapping[str, Any]) -> list[str]:
    """The exception's detail as sentences; anything not understood is shown as it is."""
    if exception_type == "UNKNOWN_SKU":
        return [f"Peoplevox has no item for SKU {sku}." for sku in detail.get("skus", [])]
    if exception_type == "EDIT_AFTER_PICK":
        lines = [f"The warehouse status was {detail.get('status')} when the order changed; "
                 f"the change ({detail.get('change')}) was not sent."]
        return lines + _diff_words(detail.get("diff") or {})
    if exception_type == "PRICE_LIST_MISMATCH":
        return [_price_words(line) for line in detail.get("lines", [])]
    if exception_type == "RECREATE_AMBIGUOUS":
        reason = str(detail.get("reason") or "the warehouse is already picking it").rstrip(".")
        return [f"This order replaces {detail.get('predecessor')}, which could not be released: {reason}."]
    if detail.keys() >= {"waiting_for", "since"} and isinstance(detail["since"], int):
        waiting_for = WAITING_FOR.get(str(detail["waiting_for"]), str(detail["waiting_for"]))
        return [f"Waiting {waiting_for} since {iso(detail['since'])} (UTC)."]
    if "command_id" in detail:
        system = target_words(detail.get("target"), "the system")
        kind = str(detail.get("command_id", "")).split(":")[1:2]
        sentence = f"editsync tried to {action(kind[0]) if kind else 'send a change'} in {system}"
        reason = str(detail.get("reason") or "no reason given").rstrip(".")
        return [f"{sentence}; it {OUTCOMES.get(str(detail.get('outcome')), 'failed')}: {reason}."]
    return [f"{key}: {value}" for key, value in detail.items()]


def _diff_words(diff: Mapping[str, Any]) -> list[str]:
    words = []
    for code, quantity in (diff.get("lines_added") or {}).items():
        words.append(f"Added {quantity} × {code}.")
    for code, (before, after) in (diff.get("lines_changed") or {}).items():
        words.append(f"{code}: quantity {before} → {after}.")
    for code, quantity in (diff.get("lines_removed") or {}).items():
        words.append(f"Removed {quantity} × {code}.")
    for field in ("address", "email", "gift_message", "line_notes"):
        if field in diff:
            change = diff[field]
            words.append(f"{field.replace('_', ' ').capitalize()} changed from {_short(change.get('before'))} "
                         f"to {_short(change.get('after'))}.")
    return words


def _price_words(line: Mapping[str, Any]) -> str:
    return (f"{line.get('sku') or 'A line'} was added at {line.get('charged')}; "
            f"the company's price list says {line.get('price_list')}.")


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
