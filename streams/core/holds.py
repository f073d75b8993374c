"""Why an order is waiting, since when, and when waiting becomes an exception.

Every reason an order can be held is named here. Reasons a person already owns
(an open exception: an unknown item code, an edit past the cut-off, a failed
command) are held under that exception's type. The others are waits editsync
expects to end by itself — a Shopify read, an original order's answer, the
sinks' results; when one lasts longer than the bound it becomes an owned
exception naming why, and resolves itself once the wait ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from streams.core.details import ExceptionState, ExceptionType, OrderException, Severity, WaitingDetail
from streams.core.exceptions import read_denied_id
from streams.core.model import Owner
from streams.core.state import OrderState


class Wait(str, Enum):
    SHOPIFY_READ = "shopify_read"  # the order must be read from Shopify and no answer came yet
    PREDECESSOR = "predecessor"  # a recreated order waits for its original to leave the warehouse
    DOWNSTREAM = "downstream"  # commands sent, not answered by their sink yet
    EDIT_WINDOW = "edit_window"  # a new order waits for its first edits before it goes to the warehouse
    DESPATCH_READ = "despatch_read"  # Peoplevox despatched the order; what left could not be read yet


#: What each overdue wait becomes, who owns it, and what they can do.
OVERDUE = {
    Wait.SHOPIFY_READ: (ExceptionType.ORDER_STALLED, "the order could not be read from Shopify",
                        "Check the Shopify connection and the shopify_reads metrics, then retry the order."),
    Wait.DOWNSTREAM: (ExceptionType.ORDER_STALLED, "commands sent to the warehouse, inventory or ERP were not answered",
                      "Check the sinks' lag and the target system, then retry the order."),
    Wait.DESPATCH_READ: (ExceptionType.ORDER_STALLED, "what Peoplevox despatched could not be read, so Shopify "
                         "does not show it fulfilled",
                         "Check the Peoplevox connection (editsync_peoplevox_statuses_total, "
                         "outcome despatch_read_failed); editsync keeps asking and fulfils it once read."),
    Wait.PREDECESSOR: (ExceptionType.RECREATE_UNRESOLVED, "the original order it replaces never answered",
                       "Find the original order; cancel its sales order in Peoplevox if it is still live, "
                       "then retry this order."),
}
HOLD_EXCEPTIONS = frozenset(kind for kind, _, _ in OVERDUE.values())


@dataclass(frozen=True)
class Held:
    reason: str  # a Wait value, or the type of an open exception (lower case)
    since: int


def waits(state: OrderState) -> set[Wait]:
    found = set()
    # A read Shopify denied is already an owned exception (SHOPIFY_ACCESS_DENIED), not a wait.
    denied = read_denied_id(state.order_id) in state.exceptions
    if not denied and (state.needs_fetch or (state.snapshot is None and state.dirty_since is not None)):
        found.add(Wait.SHOPIFY_READ)
    if state.predecessor_ref and not state.predecessor_released and not state.predecessor_blocked:
        found.add(Wait.PREDECESSOR)
    if state.in_flight:
        found.add(Wait.DOWNSTREAM)
    if state.release_at is not None and not state.released:
        found.add(Wait.EDIT_WINDOW)
    if state.despatch_unread is not None:
        found.add(Wait.DESPATCH_READ)
    return found


def track(state: OrderState, now: int) -> OrderState:
    """Start the clock of each wait that began, keep it for each that goes on, drop ended ones."""
    current = {wait.value: state.waiting.get(wait.value, now) for wait in waits(state)}
    return state if current == state.waiting else state.model_copy(update={"waiting": current})


def held(state: OrderState) -> list[Held]:
    """Every reason the order is held now, with its age's start: the waits and the open exceptions."""
    reasons = [Held(reason, since) for reason, since in state.waiting.items()]
    reasons += [Held(e.type.lower(), e.first_seen) for e in state.exceptions.values()
                if e.type not in HOLD_EXCEPTIONS and e.state is ExceptionState.OPEN]
    return reasons


def overdue(state: OrderState, bound_ms: int, now: int) -> dict[str, OrderException]:
    """The hold exceptions the order's waits call for now, by exception id."""
    wanted: dict[str, OrderException] = {}
    name = state.snapshot.name if state.snapshot else None
    for reason, since in sorted(state.waiting.items(), key=lambda item: item[1]):
        if now - since < bound_ms:
            continue
        if Wait(reason) not in OVERDUE:
            continue  # it ends at a time it set itself (the edit window): never overdue
        kind, why, action = OVERDUE[Wait(reason)]
        exception_id = f"{state.order_id}:{kind}"
        if exception_id in wanted:
            continue  # the longest wait names it
        if reason == Wait.SHOPIFY_READ.value and state.read_missing:
            why = "Shopify answers that it has no such order"
            action = ("Look the order up in Shopify's admin: if the shop does not have it (a deleted or another "
                      "shop's order), ignore this; if it does, retry the order.")
        wanted[exception_id] = OrderException(
            exception_id=exception_id, order_id=state.order_id, order_name=name, type=kind, owner=Owner.OPS,
            severity=Severity.HIGH, summary=f"{name or 'order ' + state.order_id} is held: {why}.",
            detail=WaitingDetail(waiting_for=reason, since=since), suggested_action=action, first_seen=now,
            last_seen=now)
    return wanted


def next_deadline(state: OrderState, bound_ms: int, now: int) -> int | None:
    """When the earliest wait that is not overdue yet becomes overdue."""
    due = [since + bound_ms for reason, since in state.waiting.items()
           if since + bound_ms > now and Wait(reason) in OVERDUE]
    return min(due) if due else None
