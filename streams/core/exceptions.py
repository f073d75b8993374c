"""Owned exceptions: which ones the rules want open now, and what a failed command opens.

Rule exceptions (``RULE_EXCEPTIONS``) open and resolve themselves as the order
changes; a failure exception stays open until a person retries the order.
"""

from __future__ import annotations

from typing import Any

from streams.core.commands import ReplaceSalesOrder
from streams.core.inputs import ResultIn
from streams.core.model import OrderException, OrderSnapshot, Owner, Target
from streams.core.state import OrderState

#: Exception types the engine opens and resolves by itself as the order changes.
RULE_EXCEPTIONS = frozenset({"UNKNOWN_SKU", "EDIT_AFTER_PICK", "PRICE_LIST_MISMATCH", "RECREATE_AMBIGUOUS",
                             "INVENTORY_LOCATION_UNKNOWN"})
FAILURE_EXCEPTION = {Target.PEOPLEVOX: "PVX_UPDATE_FAILED", Target.INVENTORY: "INVENTORY_ADJUST_FAILED",
                     Target.ERP: "ERP_SYNC_FAILED"}
#: Shopify refused a read or a write for a missing access scope (or protected customer data approval).
ACCESS_DENIED = "SHOPIFY_ACCESS_DENIED"
#: The result detail key a sink sets when the system refused for lack of a permission.
REQUIRED_ACCESS = "required_access"
#: Key of a failed cancel-and-replace's result detail: the old sales order was cancelled and the new one
#: could not be created, so the warehouse holds nothing for the order.
WAREHOUSE_HOLDS_NOTHING = "warehouse_holds_nothing"


class Wanted:
    """The rule exceptions one reconcile finds, collected as the planners run."""

    def __init__(self, snapshot: OrderSnapshot, now: int) -> None:
        self.snapshot, self.now = snapshot, now
        self.exceptions: dict[str, OrderException] = {}

    def __call__(self, kind: str, owner: Owner, severity: str, summary: str, detail: dict[str, Any],
                 action: str) -> None:
        exception_id = f"{self.snapshot.order_id}:{kind}"
        self.exceptions[exception_id] = OrderException(
            exception_id=exception_id, order_id=self.snapshot.order_id, order_name=self.snapshot.name, type=kind,
            owner=owner, severity=severity, summary=summary, detail=detail, suggested_action=action,
            first_seen=self.now, last_seen=self.now)


def failure_exception(state: OrderState, result: ResultIn, now: int) -> OrderException:
    command = result.command
    kind = FAILURE_EXCEPTION[command.target]
    if command.target is Target.ERP and command.kind == "create_credit_memo":
        kind = "REFUND_NOT_POSTED"
    owner = Owner.FINANCE if command.target is Target.ERP else Owner.OPS
    severity, action = "HIGH", "Fix the cause shown, then retry the order."
    if REQUIRED_ACCESS in result.detail and command.target is Target.INVENTORY:
        kind, owner = ACCESS_DENIED, Owner.OPS
        action = f"Grant the editsync app {result.detail[REQUIRED_ACCESS]} in Shopify, then retry the order."
    name = state.snapshot.name if state.snapshot else None
    summary = (f"{name or command.order_id}: {command.kind} was {result.outcome.lower()} by "
               f"{command.target.value.title()}: {result.reason or 'no reason given'}")
    payload = command.payload
    if isinstance(payload, ReplaceSalesOrder) and result.detail.get(WAREHOUSE_HOLDS_NOTHING):
        kind, severity = "PVX_NO_LIVE_SALES_ORDER", "CRITICAL"
        summary = (f"{name or command.order_id}: the warehouse holds NOTHING for this order: sales order "
                   f"{payload.replaces} was cancelled and its replacement {payload.sales_order.number} could not "
                   f"be created: {result.reason or 'no reason given'}")
        action = "Create the order's sales order in Peoplevox now (or fix the cause and retry the order)."
    return OrderException(
        exception_id=f"{command.order_id}:{kind}:{command.command_id}", order_id=command.order_id,
        order_name=name, type=kind, owner=owner, severity=severity, summary=summary,
        detail={"command_id": command.command_id, "outcome": result.outcome, "reason": result.reason,
                "detail": result.detail},
        suggested_action=action, first_seen=now, last_seen=now)


def read_denied_id(order_id: str) -> str:
    return f"{order_id}:{ACCESS_DENIED}:read"


def settle(current: dict[str, OrderException], wanted: dict[str, OrderException], now: int,
           types: frozenset[str] = RULE_EXCEPTIONS) -> tuple[dict[str, OrderException], list[OrderException]]:
    """Open what the rules want, resolve exceptions of ``types`` they no longer want; keep the others."""
    kept = {key: exception for key, exception in current.items() if exception.type not in types}
    changed: list[OrderException] = []
    for key, exception in wanted.items():
        previous = current.get(key)
        if previous is not None:
            exception = exception.model_copy(update={"first_seen": previous.first_seen})
        if previous is None or not previous.same_content(exception):
            changed.append(exception)
        kept[key] = exception if previous is None or not previous.same_content(exception) else previous
    for key, exception in current.items():
        if exception.type in types and key not in wanted:
            changed.append(exception.model_copy(update={"state": "RESOLVED", "last_seen": now}))
    return kept, changed


def mismatch_reasons(state: OrderState) -> set[str]:
    """Why Shopify and the other systems disagree about this order right now (empty when in step)."""
    return {exception.type.lower() for exception in state.exceptions.values()}
