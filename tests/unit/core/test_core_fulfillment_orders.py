"""The warehouse on the order's fulfillment orders (streams/core/fulfillment_orders.py): in progress exactly while
Peoplevox holds the order past the cut-off, on editsync's own hold exactly while its edit window is open."""

from __future__ import annotations

from sandboxes.testkit.core_builders import REFERENCE, order
from streams.core.commands import HoldFulfillmentOrders, ReleaseFulfillmentHolds, ReportProgress
from streams.core.details import ExceptionType
from streams.core.engine import Policy
from streams.core.model import Despatch, Target
from streams.core.release import ReleaseHold
from tests.core_harness import Harness

POLICY = Policy(fulfillment_orders=True)


def harness(policy: Policy = POLICY) -> Harness:
    h = Harness(reference=REFERENCE, policy=policy)
    h.webhook(order(created_at=h.now), "ORDER_CREATED")
    h.settle()
    return h


def kinds(h: Harness) -> list[str]:
    return [c.kind for c in h.sent if c.kind in ("report_progress", "open_fulfillment_orders",
                                                  "hold_fulfillment_orders", "release_fulfillment_holds")]


def test_picking_marks_the_fulfillment_in_progress_once_and_letting_go_opens_it_again():
    h = harness()
    assert kinds(h) == []
    h.peoplevox_status("1001", "Picking")
    h.deliver()
    assert h.shopify.fulfillment_orders["1001"]["in_progress"] is True
    progress = next(c.payload for c in h.sent if isinstance(c.payload, ReportProgress))
    assert progress.reason_notes == "Peoplevox: sales order 1001 is Picking"
    h.peoplevox_status("1001", "Packed")
    h.settle()
    assert kinds(h) == ["report_progress"] and h.shopify.fulfillment_order_writes == 1
    h.peoplevox_status("1001", "New")
    h.deliver()
    assert kinds(h) == ["report_progress", "open_fulfillment_orders"]
    assert h.shopify.fulfillment_orders["1001"]["in_progress"] is False


def test_the_edit_window_is_editsyncs_own_hold_in_shopify_released_when_it_closes():
    h = Harness(reference=REFERENCE, policy=Policy(fulfillment_orders=True, release=ReleaseHold(hold_ms=60_000)))
    h.webhook(order(created_at=h.now), "ORDER_CREATED")
    h.advance(h.policy.debounce_ms + 1)
    h.deliver()
    assert kinds(h) == ["hold_fulfillment_orders"]
    assert next(c.payload for c in h.sent if isinstance(c.payload, HoldFulfillmentOrders)).handle == \
        "editsync-edit-window"
    assert h.shopify.fulfillment_orders["1001"]["holds"] == {"editsync-edit-window"} and h.warehouse.orders == {}
    h.settle()
    assert kinds(h) == ["hold_fulfillment_orders", "release_fulfillment_holds"]
    assert h.shopify.fulfillment_orders["1001"]["holds"] == set() and h.warehouse.orders
    assert isinstance(h.sent[-1].payload, ReleaseFulfillmentHolds) or h.warehouse.orders


def test_a_refused_progress_report_is_the_edit_lock_failing():
    h = harness()
    h.refuse_next[Target.SHOPIFY] = "Shopify refused fulfillmentOrderReportProgress"
    h.peoplevox_status("1001", "Picking")
    h.deliver()
    assert ExceptionType.EDIT_LOCK_FAILED in h.open_exceptions("1001")


def test_off_unless_asked():
    h = harness(Policy())
    h.peoplevox_status("1001", "Picking")
    h.settle()
    assert kinds(h) == []


def test_picking_and_a_despatch_wait_while_editsyncs_own_hold_is_still_on_its_way():
    """A late hold (its sink backlogged) lands after the window closed and picking began: a progress report or a
    fulfillment sent meanwhile would meet a held fulfillment order, which Shopify refuses."""
    h = Harness(reference=REFERENCE, policy=Policy(fulfillment_orders=True, release=ReleaseHold(hold_ms=10_000)))
    h.webhook(order(created_at=h.now), "ORDER_CREATED")
    h.advance(h.policy.debounce_ms + 1)
    late = [c for c in h.outbox if isinstance(c.payload, HoldFulfillmentOrders)]
    h.outbox = [c for c in h.outbox if c not in late]  # the hold waits in its sink's queue
    h.deliver()
    h.advance(10_000)  # the window closes: the order goes to Peoplevox, which starts picking
    h.deliver()
    h.peoplevox_status("1001", "Despatched", (Despatch(number="D1", sales_order_number="1001",
                                                       items=(("TEE-M", 1),), tracking_number="T"),))
    assert kinds(h) == ["hold_fulfillment_orders"] and not any(c.kind == "create_fulfillment" for c in h.sent)
    h.outbox.extend(late)
    h.settle()
    assert kinds(h) == ["hold_fulfillment_orders", "release_fulfillment_holds", "report_progress"]
    assert h.shopify.fulfillments and h.shopify.fulfillment_orders["1001"] == {"in_progress": True, "holds": set()}


def test_a_despatch_reported_at_once_is_fulfilled_before_any_progress_report_never_beside_one():
    """Found in the 500-order demo: Despatched straight away, the progress report and the fulfillment went out
    together; the fulfillment closed the fulfillment order between the report's read and its write."""
    h = harness()
    h.peoplevox_status("1001", "Despatched", (Despatch(number="D1", sales_order_number="1001",
                                                       items=(("TEE-M", 1),), tracking_number="T"),))
    shopify = [c.kind for c in h.outbox if c.target is Target.SHOPIFY]
    assert "create_fulfillment" in shopify and "report_progress" not in shopify
    h.settle()
    assert h.shopify.fulfillments
    later = [c.kind for c in h.sent if c.kind in ("create_fulfillment", "report_progress")]
    assert later.index("create_fulfillment") < later.index("report_progress")
