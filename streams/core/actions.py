"""What people do about an order's exceptions, and the heal rules that spare them the retry (pure).

A person retries, resolves or ignores one exception (``PersonAction``). Retry
clears the failure that holds the order back and asks for the order to be
re-read and reconciled: the commands that come out carry the same
deterministic ids, so a system that already applied one changes nothing.
Resolve and ignore record who and why.

Two causes heal without anyone: an order held for unknown SKUs once
Peoplevox knows them all (``unknown_skus_now_known``), and commands a system
never answered (``ResultDetail.gave_up``: 5xx, throttling, an outage through every attempt)
once that system is seen answering again (``waiting_for_system``,
``on_system_answering``). A refusal (bad data, a missing permission) never
heals by itself: the same request would be refused again, a person must fix
it. A system that answers others but keeps failing one command is re-sent it
at most ``MAX_AUTO_RETRIES`` times.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.core.details import ExceptionState, ExceptionType, FailureDetail, OrderException, Outcome, UnknownSkuDetail
from streams.core.exceptions import MAX_AUTO_RETRIES, RULE_EXCEPTIONS
from streams.core.holds import HOLD_EXCEPTIONS
from streams.core.inputs import FetchedSnapshot, OrderMissing, PersonAction, ResultIn
from streams.core.model import Target
from streams.core.reference import Catalogue
from streams.core.state import OrderState

ACTIVE = frozenset({ExceptionState.OPEN, ExceptionState.RETRYING})
#: Held for its original: a retry forgets the link, so it is taken again from the order as Shopify has it now
#: (a corrected or removed marker counts) and the original, cancelled in Peoplevox meanwhile, is asked again.
RELINKED_BY_RETRY = frozenset({ExceptionType.RECREATE_AMBIGUOUS, ExceptionType.RECREATE_UNRESOLVED})
UNLINKED = {"predecessor_ref": None, "predecessor_released": False, "predecessor_blocked": False,
            "predecessor_reason": None, "predecessor_asked_at": None, "predecessor_asks": 0}


@dataclass(frozen=True)
class Acted:
    state: OrderState
    exceptions: tuple[OrderException, ...] = ()  # the exception as the person left it
    reread: bool = False  # read the order from Shopify and reconcile it


def on_action(state: OrderState, action: PersonAction, now: int) -> Acted:
    exception = state.exceptions.get(action.exception_id)
    if exception is None or exception.state not in ACTIVE:
        return Acted(state)  # settled meanwhile (by the engine or an earlier action): nothing to do
    if action.action == "retry":
        if exception.state is ExceptionState.RETRYING:
            return Acted(state)  # a redelivered or repeated retry: one is under way
        retrying = exception.model_copy(update={"state": ExceptionState.RETRYING, "actor": action.actor,
                                                "note": action.note, "last_seen": now})
        state = _retrying(state, (retrying,))
        update = {"needs_fetch": True, "dirty_since": now, "fetching_since": None}
        if exception.type in RELINKED_BY_RETRY:
            update.update(UNLINKED)
        return Acted(state.model_copy(update=update), (retrying,), reread=True)
    closed = exception.model_copy(update={"state": ExceptionState.RESOLVED if action.action == "resolve"
                                          else ExceptionState.IGNORED,
                                          "actor": action.actor, "note": action.note, "last_seen": now})
    exceptions = dict(state.exceptions)
    if exception.type in RULE_EXCEPTIONS | HOLD_EXCEPTIONS:
        # Remembered, so the same facts (the same rule breach, the same wait) do not reopen it.
        exceptions[exception.exception_id] = closed
    else:
        del exceptions[exception.exception_id]  # a failed command stays failed: the person took it from here
    return Acted(state.model_copy(update={"exceptions": exceptions}), (closed,))


def _retrying(state: OrderState, retrying: tuple[OrderException, ...]) -> OrderState:
    """The exceptions as retried, their failed commands cleared so the next reconcile sends them again."""
    return state.model_copy(update={
        "exceptions": {**state.exceptions, **{e.exception_id: e for e in retrying}},
        "failed": state.failed - {e.detail.command_id for e in retrying if isinstance(e.detail, FailureDetail)}})


def waiting_for_system(state: OrderState, target: Target) -> tuple[OrderException, ...]:
    """Open failures of ``target``'s system that were it not answering, and that editsync may still re-send
    (Shopify's inventory and order writes are one Admin API: either answering shows both up)."""
    return tuple(e for e in state.exceptions.values()
                 if e.state is ExceptionState.OPEN and isinstance(e.detail, FailureDetail)
                 and e.detail.target.system is target.system and e.detail.detail.gave_up
                 and e.detail.auto_retries < MAX_AUTO_RETRIES)


def on_system_answering(state: OrderState, target: Target, now: int) -> Acted:
    """``target`` answers again: what it never answered for this order goes again (same command ids).

    No re-read: the order's snapshot is as current as its webhooks made it; only the system was missing.
    """
    retrying = tuple(e.model_copy(update={
        "state": ExceptionState.RETRYING, "actor": None, "note": None, "last_seen": now,
        "detail": e.detail.model_copy(update={"auto_retries": e.detail.auto_retries + 1})})
        for e in waiting_for_system(state, target) if isinstance(e.detail, FailureDetail))
    return Acted(_retrying(state, retrying), retrying) if retrying else Acted(state)


def answering(message: object) -> Target | None:
    """The system an order input shows answering editsync, if any.

    Any result but giving up (an applied command, and a refusal too: a system that refuses is up), and a
    Shopify read answered (inventory adjustments go to the same Admin API).
    """
    if isinstance(message, ResultIn):
        gave_up = message.outcome is Outcome.FAILED and message.detail.gave_up
        return None if gave_up else message.command.target
    if isinstance(message, FetchedSnapshot | OrderMissing):
        return Target.INVENTORY
    return None


def unknown_skus_now_known(state: OrderState, catalogue: Catalogue) -> bool:
    """The order is held for SKUs Peoplevox did not know, and it knows every one of them now."""
    for exception in state.exceptions.values():
        detail = exception.detail
        if isinstance(detail, UnknownSkuDetail) and exception.state in ACTIVE and detail.skus:
            if all(catalogue.item_code(sku) for sku in detail.skus):
                return True
    return False
