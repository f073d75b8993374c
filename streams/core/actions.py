"""What people do about an order's exceptions, and the heal rule that spares them the retry (pure).

A person retries, resolves or ignores one exception (``PersonAction``). Retry
clears the failure that holds the order back and asks for the order to be
re-read and reconciled: the commands that come out carry the same
deterministic ids, so a system that already applied one changes nothing.
Resolve and ignore record who and why.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.core.exceptions import RULE_EXCEPTIONS
from streams.core.inputs import PersonAction
from streams.core.model import OrderException
from streams.core.reference import Catalogue
from streams.core.state import OrderState

ACTIVE = frozenset({"OPEN", "RETRYING"})


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
        if exception.state == "RETRYING":
            return Acted(state)  # a redelivered or repeated retry: one is under way
        retrying = exception.model_copy(update={"state": "RETRYING", "actor": action.actor, "note": action.note,
                                                "last_seen": now})
        updates = {"exceptions": {**state.exceptions, exception.exception_id: retrying},
                   "failed": state.failed - {exception.detail.get("command_id")},
                   "needs_fetch": True, "dirty_since": now, "fetching_since": None}
        return Acted(state.model_copy(update=updates), (retrying,), reread=True)
    closed = exception.model_copy(update={"state": "RESOLVED" if action.action == "resolve" else "IGNORED",
                                          "actor": action.actor, "note": action.note, "last_seen": now})
    exceptions = dict(state.exceptions)
    if exception.type in RULE_EXCEPTIONS:
        exceptions[exception.exception_id] = closed  # remembered, so the same facts do not reopen it
    else:
        del exceptions[exception.exception_id]  # a failed command stays failed: the person took it from here
    return Acted(state.model_copy(update={"exceptions": exceptions}), (closed,))


def unknown_skus_now_known(state: OrderState, catalogue: Catalogue) -> bool:
    """The order is held for SKUs Peoplevox did not know, and it knows every one of them now."""
    for exception in state.exceptions.values():
        skus = exception.detail.get("skus") or []
        if exception.type == "UNKNOWN_SKU" and exception.state in ACTIVE and skus:
            if all(catalogue.item_code(sku) for sku in skus):
                return True
    return False
