"""Core rules for issue 19's Shopify part: stock goes back per line's location; denied access is owned by ops."""

from __future__ import annotations

from decimal import Decimal

from sandboxes.testkit.core_builders import order
from streams.core import engine, inventory
from streams.core.inputs import ReadDenied, ResultIn
from streams.core.model import LineItem, Owner, Target
from tests.unit.core.test_core_scenarios import created, harness


def placed(line_id: str, sku: str, quantity: int, sold: int, location: str | None, restocked: int = 0) -> LineItem:
    return LineItem(line_id=line_id, sku=sku, quantity=quantity, unit_price=Decimal("10.00"), original_quantity=sold,
                    sold_quantity=sold, restocked_quantity=restocked, variant_id=f"v-{sku}",
                    inventory_item_id=f"inv-{sku}", location_id=location)


def test_units_go_back_to_the_location_that_held_each_line():
    h = harness()
    lines = (placed("1", "TEE-M", 3, 3, "york"), placed("2", "MUG", 2, 2, "leeds"), placed("3", "SOCK", 1, 1, "york"))
    created(h, order(lines=lines, location_id="york"))
    # An edit takes units off a line at each warehouse (the Leeds one partly restocked by Shopify).
    h.webhook(order(version=2, location_id="york", lines=(
        placed("1", "TEE-M", 1, 3, "york"), placed("2", "MUG", 0, 2, "leeds", restocked=1),
        placed("3", "SOCK", 1, 1, "york"))))
    h.settle()
    assert h.shopify.levels == {"inv-TEE-M@york": 2, "inv-MUG@leeds": 1}


def test_a_line_without_a_location_falls_back_to_the_orders():
    snapshot = order(location_id="york", lines=(placed("1", "TEE-M", 0, 2, None),))
    assert inventory.target_adjustments(snapshot) == {"inv-TEE-M@york": 2}
    assert inventory.unlocated(snapshot) == []


def test_units_with_no_location_at_all_are_an_ops_exception_not_a_guess():
    h = harness()
    created(h, order(location_id=None, lines=(placed("1", "TEE-M", 2, 2, None),)))
    h.webhook(order(version=2, location_id=None, lines=(placed("1", "TEE-M", 0, 2, None),)))
    h.settle()
    assert h.shopify.levels == {}
    exception = h.open_exceptions("1001")["INVENTORY_LOCATION_UNKNOWN"]
    assert exception.owner is Owner.OPS and exception.detail.wire() == {"line_ids": ["1"]}


def test_a_denied_read_is_an_ops_exception_naming_the_scope_and_is_not_asked_again_by_timer():
    h = harness()
    snapshot = created(h)
    reads = h.fetches
    h.webhook(order(version=2), complete=False)
    h.now += h.policy.debounce_ms + 1
    timer = engine.on_timer(h.state("1001"), h.policy, h.reference, h.now)
    assert timer.fetch
    h.states["1001"], _ = timer.state, h.wakes.pop("1001")
    # The read agent got ACCESS_DENIED instead of the order.
    decision = engine.on_read_denied(h.state("1001"), ReadDenied(
        required_access="`read_orders` access scope",
        reason="Shopify denied access: the app needs `read_orders` access scope"), h.now)
    h._take("1001", decision)
    (exception,) = decision.exceptions
    assert (exception.type, exception.owner, exception.state) == ("SHOPIFY_ACCESS_DENIED", Owner.OPS, "OPEN")
    assert "`read_orders` access scope" in exception.suggested_action and exception.detail.required_access
    assert decision.wake_at is None and not decision.fetch
    for _ in range(5):  # hours of timers: no read is asked for again until something changes
        h.advance(h.policy.fetch_timeout_ms * 10)
    assert h.pending_fetches == set() and h.fetches == reads
    # The same denial again changes nothing a person must see twice.
    assert engine.on_read_denied(h.state("1001"), ReadDenied(
        required_access="`read_orders` access scope",
        reason="Shopify denied access: the app needs `read_orders` access scope"), h.now).exceptions == ()
    # Scope granted; the order's next change is read, and the exception resolves.
    h.webhook(order(version=3), complete=False)
    h.settle()
    assert h.fetches == reads + 1 and "SHOPIFY_ACCESS_DENIED" not in h.open_exceptions("1001")
    resolved = [i for i in h.exceptions if i.type == "SHOPIFY_ACCESS_DENIED" and i.state == "RESOLVED"]
    assert len(resolved) == 1 and snapshot.order_id == "1001"


def test_a_denied_read_still_needs_healing_after_a_restart():
    h = harness()
    created(h)
    h._take("1001", engine.on_read_denied(h.state("1001"), ReadDenied(required_access="x", reason="y"), h.now))
    state = h.state("1001")
    assert state.needs_fetch and state.fetching_since is None and state.dirty_since is None


def test_an_inventory_write_denied_for_a_scope_is_shopify_access_denied():
    h = harness()
    created(h, order(lines=(placed("1", "TEE-M", 2, 2, "york"),)))
    h.webhook(order(version=2, lines=(placed("1", "TEE-M", 0, 2, "york"),)))
    h.advance(h.policy.debounce_ms + 1)
    command = next(c for c in h.outbox if c.target is Target.INVENTORY)
    h.outbox.remove(command)
    result = ResultIn(command=command, outcome="FAILED",
                      reason="Shopify denied access: the app needs `write_inventory` access scope",
                      detail={"required_access": "`write_inventory` access scope", "fields": ["inventoryAdjustQuantities"]})
    h._take("1001", engine.on_result(h.state("1001"), result, h.policy, h.reference, h.now))
    exception = h.open_exceptions("1001")["SHOPIFY_ACCESS_DENIED"]
    assert exception.owner is Owner.OPS and "`write_inventory` access scope" in exception.suggested_action
    h.settle()
    assert h.shopify.levels == {}, "a failed command is not re-sent until a person retries"
