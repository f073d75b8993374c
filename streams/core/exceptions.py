"""Owned exceptions: which ones the rules want open now, what a failed command opens, how they settle.

Rule exceptions (``RULE_EXCEPTIONS``) open and resolve themselves as the order
changes; a failure exception stays open until a person retries the order, or,
when its system only did not answer (``GAVE_UP``), until editsync sees that
system answering again (``streams.core.actions.on_system_answering``). A
person's verdict on a rule exception (resolved or ignored) stands until the
facts behind it change; a retried failure is resolved once its system has
nothing left in flight and nothing failed for the order.
"""

from __future__ import annotations

from collections.abc import Mapping

from streams.core.commands import (
    AddTags,
    Command,
    CreateFulfillment,
    HoldFulfillmentOrders,
    OpenFulfillmentOrders,
    ReleaseFulfillmentHolds,
    ReplaceSalesOrder,
    ReportProgress,
    TagsChange,
)
from streams.core.details import Detail, ExceptionState, ExceptionType, FailureDetail, OrderException, Severity
from streams.core.inputs import ResultIn
from streams.core.model import OrderSnapshot, Owner, System, Target, opening
from streams.core.state import OrderState

#: Exception types the engine opens and resolves by itself as the order changes.
RULE_EXCEPTIONS = frozenset({ExceptionType.UNKNOWN_SKU, ExceptionType.EDIT_AFTER_PICK,
                             ExceptionType.PRICE_LIST_MISMATCH, ExceptionType.RECREATE_AMBIGUOUS,
                             ExceptionType.INVENTORY_LOCATION_UNKNOWN, ExceptionType.PAYMENT_OUTSTANDING,
                             ExceptionType.REFUND_OWED})
FAILURE_EXCEPTION = {Target.PEOPLEVOX: ExceptionType.PVX_UPDATE_FAILED,
                     Target.INVENTORY: ExceptionType.INVENTORY_ADJUST_FAILED, Target.ERP: ExceptionType.ERP_SYNC_FAILED,
                     Target.SHOPIFY: ExceptionType.FULFILLMENT_FAILED}
#: A system that answers others and keeps failing one command stops being re-sent it by itself after this many
#: times (``FailureDetail.auto_retries``): then a person decides.
MAX_AUTO_RETRIES = 3


class Wanted:
    """The rule exceptions one reconcile finds, collected as the planners run."""

    def __init__(self, snapshot: OrderSnapshot, now: int) -> None:
        self.snapshot, self.now = snapshot, now
        self.exceptions: dict[str, OrderException] = {}

    def __call__(self, kind: str, owner: Owner, severity: Severity, summary: str, detail: Detail,
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
        kind = ExceptionType.REFUND_NOT_POSTED
    owner = Owner.FINANCE if command.target is Target.ERP else Owner.OPS
    severity, action = Severity.HIGH, "Fix the cause shown, then retry the order."
    if isinstance(command.payload, CreateFulfillment):
        severity = Severity.MEDIUM
        tracking = f" with tracking number {command.payload.tracking_number}" if command.payload.tracking_number else ""
        action = (f"Peoplevox despatched {command.payload.despatch_number}{tracking}, but Shopify does not show it "
                  "fulfilled, so the customer got no shipping confirmation: mark those lines fulfilled in Shopify, "
                  "or fix the cause shown and retry the order.")
    if isinstance(command.payload, TagsChange):
        kind, severity = ExceptionType.EDIT_LOCK_FAILED, Severity.MEDIUM
        tags = ", ".join(command.payload.tags)
        action = (f"The customer can still edit this order although the warehouse is picking it: add the tag {tags} "
                  "to it in Shopify, then retry the order." if isinstance(command.payload, AddTags) else
                  f"The order stays closed for edits although the warehouse let it go: remove the tag {tags} in "
                  "Shopify, then retry the order.")
    if isinstance(command.payload, ReportProgress | OpenFulfillmentOrders):
        kind, severity = ExceptionType.EDIT_LOCK_FAILED, Severity.MEDIUM
        action = ("Shopify does not show the order's fulfillment in progress although the warehouse is picking it: "
                  "mark it in progress in Shopify, then retry the order." if isinstance(command.payload, ReportProgress)
                  else "The order's fulfillment still shows in progress although the warehouse let it go: mark it "
                       "open in Shopify, then retry the order.")
    if isinstance(command.payload, HoldFulfillmentOrders | ReleaseFulfillmentHolds):
        severity = Severity.MEDIUM
        action = (f"editsync's hold ({command.payload.handle}) could not be placed: the order still waits for its "
                  "edit window, only Shopify does not show why. Retry the order." if isinstance(
                      command.payload, HoldFulfillmentOrders) else
                  f"editsync's hold ({command.payload.handle}) on the order's fulfillment could not be released, so "
                  "Shopify will refuse to fulfil it: release the hold in Shopify, then retry the order.")
    if result.detail.required_access is not None and command.target.system is System.SHOPIFY:
        kind, owner = ExceptionType.SHOPIFY_ACCESS_DENIED, Owner.OPS  # a missing access scope
        action = f"Grant the editsync app {result.detail.required_access} in Shopify, then retry the order."
    name = state.snapshot.name if state.snapshot else None
    summary = (f"{name or command.order_id}: {command.kind} was {result.outcome.lower()} by "
               f"{command.target.display}: {result.reason or 'no reason given'}")
    payload = command.payload
    if isinstance(payload, ReplaceSalesOrder) and result.detail.warehouse_holds_nothing:
        kind, severity = ExceptionType.PVX_NO_LIVE_SALES_ORDER, Severity.CRITICAL
        summary = (f"{name or command.order_id}: the warehouse holds NOTHING for this order: sales order "
                   f"{payload.replaces} was cancelled and its replacement {payload.sales_order.number} could not "
                   f"be created: {result.reason or 'no reason given'}")
        action = "Create the order's sales order in Peoplevox now (or fix the cause and retry the order)."
    exception_id = f"{command.order_id}:{kind}:{command.command_id}"
    previous = state.exceptions.get(exception_id)
    # Failed again after editsync re-sent it: the count goes on.
    auto_retries = previous.detail.auto_retries if previous is not None and isinstance(
        previous.detail, FailureDetail) else 0
    detail = FailureDetail(command_id=command.command_id, target=command.target, outcome=result.outcome,
                           reason=result.reason, detail=result.detail, auto_retries=auto_retries)
    if result.detail.gave_up and auto_retries < MAX_AUTO_RETRIES and kind != ExceptionType.PVX_NO_LIVE_SALES_ORDER:
        action = (f"{opening(command.target.system.display)} did not answer: editsync sends this again by itself "
                  "once it answers again. If it is back and this stays open, retry the order.")
    # Failing again after a retry is the same exception, first seen when it first failed (and not news to notify).
    first_seen = previous.first_seen if previous is not None else now
    return OrderException(
        exception_id=exception_id, order_id=command.order_id, order_name=name, type=kind, owner=owner,
        severity=severity, summary=summary, detail=detail, suggested_action=action, first_seen=first_seen,
        last_seen=now)


def read_denied_id(order_id: str) -> str:
    return f"{order_id}:{ExceptionType.SHOPIFY_ACCESS_DENIED}:read"


def settle(current: dict[str, OrderException], wanted: dict[str, OrderException], now: int,
           types: frozenset[str] = RULE_EXCEPTIONS) -> tuple[dict[str, OrderException], list[OrderException]]:
    """Open what the rules want, resolve exceptions of ``types`` they no longer want; keep the others.

    A person's resolve or ignore stands while the facts are the same.
    """
    kept = {key: exception for key, exception in current.items() if exception.type not in types}
    changed: list[OrderException] = []
    for key, exception in wanted.items():
        previous = current.get(key)
        if previous is not None and closed_by_person(previous) and previous.same_facts(exception):
            kept[key] = previous
            continue
        if previous is not None:
            exception = exception.model_copy(update={"first_seen": previous.first_seen})
        if previous is None or not previous.same_content(exception):
            changed.append(exception)
        kept[key] = exception if previous is None or not previous.same_content(exception) else previous
    for key, exception in current.items():
        if exception.type in types and key not in wanted and not closed_by_person(exception):
            changed.append(resolved_by_editsync(exception, now))
    return kept, changed


PERSON_CLOSED = frozenset({ExceptionState.RESOLVED, ExceptionState.IGNORED})


def closed_by_person(exception: OrderException) -> bool:
    return exception.state in PERSON_CLOSED and exception.actor is not None


def resolved_by_editsync(exception: OrderException, now: int) -> OrderException:
    """The cause is gone: resolved by editsync itself, whoever touched the exception before."""
    return exception.model_copy(update={"state": ExceptionState.RESOLVED, "last_seen": now, "actor": None,
                                        "note": None})


def settle_retried(exceptions: Mapping[str, OrderException], in_flight: Mapping[str, Command],
                   now: int) -> tuple[dict[str, OrderException], list[OrderException]]:
    """Resolve retried failures whose system has caught up; the rest stay as they are."""
    busy = {command.target for command in in_flight.values()}
    failing = {failed_target(exception) for exception in exceptions.values()
               if exception.state is ExceptionState.OPEN}
    kept: dict[str, OrderException] = {}
    resolved: list[OrderException] = []
    for key, exception in exceptions.items():
        target = failed_target(exception)
        if (exception.state is ExceptionState.RETRYING and target is not None and target not in busy
                and target not in failing):
            resolved.append(resolved_by_editsync(exception, now))
        else:
            kept[key] = exception
    return kept, resolved


def failed_target(exception: OrderException) -> Target | None:
    """The system whose failed command the exception is about (None for a rule or hold exception)."""
    return exception.detail.target if isinstance(exception.detail, FailureDetail) else None


def mismatch_reasons(state: OrderState) -> set[str]:
    """Why Shopify and the other systems disagree about this order right now (empty when in step)."""
    return {exception.type.lower() for exception in state.exceptions.values()}
