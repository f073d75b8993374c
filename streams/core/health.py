"""Where one order stands for the people watching: out of sync with which system, held, owed a decision.

A pure reading of ``OrderState`` (no clock, no Prometheus): each finding
carries the moment it started, so a caller can tell an order out of sync for
three hours from one out of sync for three seconds. The service aggregates
these over all orders a worker owns into gauges at scrape time.

Pairs name the two systems that disagree, Shopify (the source of truth for
what was bought) and the one that must follow it: the warehouse
(``shopify_peoplevox``), stock (``shopify_stock``) and the ERP
(``shopify_erp``). A command in flight is a disagreement too (reason
``pending``), dated from the Shopify change it carries: a command that never
comes back shows up as an old ``pending``, not as nothing.
"""

from __future__ import annotations

from enum import Enum

from streams.core.details import ExceptionState, ExceptionType
from streams.core.exceptions import failed_target
from streams.core.holds import HOLD_EXCEPTIONS, held
from streams.core.model import Target, Value
from streams.core.state import OrderState


class Pair(str, Enum):
    SHOPIFY_PEOPLEVOX = "shopify_peoplevox"
    SHOPIFY_STOCK = "shopify_stock"
    SHOPIFY_ERP = "shopify_erp"


#: Writes to the Shopify order (the edit lock, fulfillments) bring Shopify in step with the warehouse.
PAIR_OF_TARGET = {Target.PEOPLEVOX: Pair.SHOPIFY_PEOPLEVOX, Target.INVENTORY: Pair.SHOPIFY_STOCK,
                  Target.ERP: Pair.SHOPIFY_ERP, Target.SHOPIFY: Pair.SHOPIFY_PEOPLEVOX}

#: Which systems an open exception of each type leaves apart. A type missing here is a test failure
#: (tests/unit/core/test_order_health.py), so a new exception type cannot drop out of the mismatch figures.
#: Hold exceptions (streams/core/holds.py: an overdue wait) are not here: the wait is the gap.
PAIR_OF_EXCEPTION: dict[str, Pair] = {
    ExceptionType.EDIT_AFTER_PICK: Pair.SHOPIFY_PEOPLEVOX,
    ExceptionType.UNKNOWN_SKU: Pair.SHOPIFY_PEOPLEVOX,
    ExceptionType.RECREATE_AMBIGUOUS: Pair.SHOPIFY_PEOPLEVOX,
    ExceptionType.PVX_UPDATE_FAILED: Pair.SHOPIFY_PEOPLEVOX,
    ExceptionType.PVX_NO_LIVE_SALES_ORDER: Pair.SHOPIFY_PEOPLEVOX,
    ExceptionType.INVENTORY_ADJUST_FAILED: Pair.SHOPIFY_STOCK,
    ExceptionType.INVENTORY_LOCATION_UNKNOWN: Pair.SHOPIFY_STOCK,
    ExceptionType.ERP_SYNC_FAILED: Pair.SHOPIFY_ERP,
    ExceptionType.REFUND_NOT_POSTED: Pair.SHOPIFY_ERP,
    ExceptionType.PRICE_LIST_MISMATCH: Pair.SHOPIFY_ERP,
    # What Shopify says is owed is not what was paid: the ERP's money cannot match the order's.
    ExceptionType.PAYMENT_OUTSTANDING: Pair.SHOPIFY_ERP,
    ExceptionType.REFUND_OWED: Pair.SHOPIFY_ERP,
    # A denied read keeps the order from every system, the warehouse first; a denied inventory write is
    # the stock's gap (a failed command's own target decides, below).
    ExceptionType.SHOPIFY_ACCESS_DENIED: Pair.SHOPIFY_PEOPLEVOX,
    # Shopify offers edits the warehouse can no longer take (or refuses ones it could).
    ExceptionType.EDIT_LOCK_FAILED: Pair.SHOPIFY_PEOPLEVOX,
    # Shopify does not show what the warehouse despatched.
    ExceptionType.FULFILLMENT_FAILED: Pair.SHOPIFY_PEOPLEVOX,
}

PENDING = "pending"


class Gap(Value):
    """Shopify and one system disagree about this order, for ``reason``, since ``since`` (epoch ms)."""

    pair: Pair
    reason: str
    since: int


class Hold(Value):
    """The order is waiting before editsync can move it on (streams/core/holds.py names every reason)."""

    reason: str
    since: int


class OpenException(Value):
    type: str
    owner: str
    since: int


class OrderHealth(Value):
    gaps: tuple[Gap, ...] = ()
    holds: tuple[Hold, ...] = ()
    exceptions: tuple[OpenException, ...] = ()

    @property
    def healthy(self) -> bool:
        return not (self.gaps or self.holds or self.exceptions)


def order_health(state: OrderState) -> OrderHealth:
    gaps: dict[tuple[Pair, str], int] = {}

    def gap(pair: Pair, reason: str, since: int) -> None:
        key = (pair, reason)
        gaps[key] = min(since, gaps.get(key, since))

    for command in state.in_flight.values():
        gap(PAIR_OF_TARGET[command.target], PENDING, command.order_version)
    exceptions = []
    for exception in state.exceptions.values():
        if exception.state is not ExceptionState.OPEN:
            continue
        if exception.type not in HOLD_EXCEPTIONS:  # an overdue wait: its gap is the wait's own (pending, ...)
            # A failed command's gap is its own system's.
            target = failed_target(exception)
            pair = PAIR_OF_TARGET[target] if target is not None else PAIR_OF_EXCEPTION[exception.type]
            gap(pair, exception.type.lower(), exception.first_seen)
        exceptions.append(OpenException(type=exception.type, owner=exception.owner.value, since=exception.first_seen))
    return OrderHealth(gaps=tuple(Gap(pair=p, reason=r, since=s) for (p, r), s in sorted(gaps.items())),
                       holds=tuple(Hold(reason=h.reason, since=h.since) for h in held(state)),
                       exceptions=tuple(exceptions))
