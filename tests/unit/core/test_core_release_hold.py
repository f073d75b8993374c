"""The edit window (streams/core/release.py): a new order reaches Peoplevox only once the window closes, as it
then is; express and B2B orders and a person's release skip the wait; stock and the ERP never wait."""

from __future__ import annotations

from sandboxes.testkit.core_builders import REFERENCE, line, order
from streams.core import engine, holds
from streams.core.commands import AdjustInventory, CreateSalesOrder, SalesOrderChange, UpsertSalesOrder
from streams.core.engine import Policy
from streams.core.health import order_health
from streams.core.inputs import ReleaseNow
from streams.core.release import ReleaseHold
from tests.core_harness import Harness

WINDOW = 600_000
HOLD = Policy(release=ReleaseHold(hold_ms=WINDOW, bypass_tags=frozenset({"express"}),
                                  bypass_shipping=frozenset({"express"})))


def placed(policy: Policy = HOLD, **fields) -> Harness:
    h = Harness(reference=REFERENCE, policy=policy)
    h.webhook(order(created_at=h.now, **fields), "ORDER_CREATED")
    h.advance(policy.debounce_ms + 1)
    h.deliver()
    return h


def warehouse_commands(h: Harness) -> list[SalesOrderChange]:
    return [c.payload for c in h.sent if isinstance(c.payload, SalesOrderChange)]


def test_an_order_edited_inside_the_window_reaches_peoplevox_once_already_edited():
    h = placed()
    assert warehouse_commands(h) == [] and h.warehouse.orders == {}
    waiting = holds.track(h.state("1001"), h.now)
    assert [hold.reason for hold in order_health(waiting).holds] == ["edit_window"]
    assert holds.overdue(waiting, h.policy.hold_bound_ms, h.now + WINDOW) == {}, "a wait with an end is not stalled"
    edited = order(version=2, created_at=h.shop["1001"].created_at, lines=(line("1", "TEE-L"),))
    h.webhook(edited)
    h.settle()
    sent = warehouse_commands(h)
    assert [type(p) for p in sent] == [CreateSalesOrder] and sent[0].sales_order.lines == (("TEE-L", 1),)
    assert h.now >= h.shop["1001"].created_at + WINDOW, "released when the window closed, not before"
    assert holds.waits(h.state("1001")) == set() and h.open_exceptions("1001") == {}


def test_stock_and_the_erp_do_not_wait_for_the_window():
    h = placed(lines=(line("1", "TEE-M", quantity=2, original=3),))
    kinds = {type(c.payload) for c in h.sent}
    assert UpsertSalesOrder in kinds and AdjustInventory in kinds and CreateSalesOrder not in kinds


def test_an_express_or_b2b_order_goes_at_once():
    for fields in ({"tags": ("Express",)}, {"company_location_id": "cl-1"},
                   {"shipping_method": ("DPD Express 24h", "dpd-24")}):
        h = placed(**fields)
        assert [type(p) for p in warehouse_commands(h)] == [CreateSalesOrder], fields


def test_a_person_can_release_a_held_order_now_and_a_repeat_changes_nothing():
    h = placed()
    decision = engine.step(h.state("1001"), ReleaseNow(actor="ops@example.com"), h.policy, h.reference, h.now)
    h._take("1001", decision)
    h.deliver()
    assert [type(p) for p in warehouse_commands(h)] == [CreateSalesOrder]
    assert engine.step(h.state("1001"), ReleaseNow(actor="ops@example.com"), h.policy, h.reference, h.now) is None


def test_an_order_cancelled_inside_the_window_never_reaches_the_warehouse():
    h = placed()
    h.webhook(order(version=2, created_at=h.shop["1001"].created_at, cancelled_at=h.now))
    h.settle()
    assert warehouse_commands(h) == [] and h.warehouse.orders == {}


def test_without_a_window_every_order_goes_at_once():
    h = placed(Policy())
    assert [type(p) for p in warehouse_commands(h)] == [CreateSalesOrder]


def test_a_release_that_comes_before_the_first_reconcile_keeps_the_window_from_opening():
    h = Harness(reference=REFERENCE, policy=HOLD)
    h.webhook(order(created_at=h.now), "ORDER_CREATED")  # debounced: nothing decided yet
    h._take("1001", engine.step(h.state("1001"), ReleaseNow(actor="ops@example.com"), h.policy, h.reference, h.now))
    h.advance(HOLD.debounce_ms + 1)
    h.deliver()
    assert [type(p) for p in warehouse_commands(h)] == [CreateSalesOrder]


def test_a_standard_shipping_method_waits_like_any_order():
    h = placed(shipping_method=("Standard shipping", "standard"))
    assert warehouse_commands(h) == []
