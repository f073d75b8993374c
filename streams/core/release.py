"""The edit window: a new order waits before it first goes to the warehouse, so early edits are not updates.

Most post-purchase edits come in the first minutes after checkout (order hubs hold new orders for them:
Pipe17 "by default, there is a 10 min hold"; Shopify Flow's "Hold fulfillment order" action). While the
window is open editsync sends Peoplevox nothing for the order; what the customer changes meanwhile is simply
the order as it first reaches the warehouse: never an update, never a cancel-and-replace. Stock and the ERP do
not wait: they follow Shopify as always.

The window closes ``hold_ms`` after checkout, at once for orders that must not wait (a tag such as
``express``, a shipping method named express, B2B orders: editing apps give express orders a shorter window
too), or when a person releases the order. Once closed it stays closed: the order's later
edits go to Peoplevox as edits. An order Peoplevox already holds, or one older than the window (read again
after a restart), is not held.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.core.model import OrderSnapshot
from streams.core.state import OrderState


@dataclass(frozen=True)
class ReleaseHold:
    hold_ms: int = 0  # 0: no edit window
    bypass_tags: frozenset[str] = frozenset()  # casefolded: an order tagged so goes at once
    bypass_b2b: bool = True  # a company's order goes at once
    bypass_shipping: frozenset[str] = frozenset()  # casefolded: a shipping method whose title or code holds one


def bypassed(snapshot: OrderSnapshot, hold: ReleaseHold) -> bool:
    if hold.bypass_b2b and snapshot.company_location_id is not None:
        return True
    if any(word in method.casefold() for method in snapshot.shipping_method for word in hold.bypass_shipping):
        return True
    return bool({tag.casefold() for tag in snapshot.tags} & hold.bypass_tags)


def settle(state: OrderState, snapshot: OrderSnapshot, hold: ReleaseHold, now: int) -> OrderState:
    """The state with the window closed once nothing keeps it open, or with when it closes."""
    if state.released:
        return state
    opened = snapshot.created_at
    if (hold.hold_ms <= 0 or opened is None or now >= opened + hold.hold_ms or bypassed(snapshot, hold)
            or state.peoplevox_sales_order is not None or state.peoplevox_unknown):
        return state.model_copy(update={"released": True, "release_at": None})
    return state if state.release_at == opened + hold.hold_ms else state.model_copy(
        update={"release_at": opened + hold.hold_ms})


def release_now(state: OrderState) -> OrderState | None:
    """A person released the order; None when it was released already. One that arrives before the order's
    first reconcile (the window not open yet) keeps the window from opening at all."""
    if state.released:
        return None
    return state.model_copy(update={"released": True, "release_at": None})
