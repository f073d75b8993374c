"""Property: any interleaving and duplication of an order's events (and of the sinks' results)
converges to the same downstream end state as in-order delivery (level-triggered, idempotent effects)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.core.model import Transaction
from tests.core_harness import Harness
from tests.unit.core_builders import HOME, REFERENCE, line, order, refund

SKUS = ["TEE-S", "TEE-M", "TEE-L", "MUG", "SOCK", "GIFT-BOX"]

edit = st.one_of(
    st.tuples(st.just("quantity"), st.integers(0, 5), st.integers(0, 3)),
    st.tuples(st.just("add"), st.sampled_from(SKUS), st.integers(1, 3)),
    st.tuples(st.just("address"), st.sampled_from(["W1", "W2", "W3"]), st.none()),
    st.tuples(st.just("gift"), st.sampled_from(["Happy birthday", "Congrats"]), st.none()),
    st.tuples(st.just("refund"), st.integers(0, 5), st.sampled_from(["NO_RESTOCK", "CANCEL"])),
    st.tuples(st.just("cancel"), st.none(), st.none()),
)


@st.composite
def histories(draw):
    """Successive snapshots of one order: checkout, then edits (cancel ends it)."""
    lines = [line(str(i), sku, quantity) for i, (sku, quantity) in
             enumerate(draw(st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 3)), min_size=1, max_size=3)))]
    snapshot = order(version=1, lines=tuple(lines))
    snapshots = [snapshot]
    for number, (kind, a, b) in enumerate(draw(st.lists(edit, max_size=6)), start=2):
        lines = list(snapshot.lines)
        changes: dict = {"version": number}
        if kind == "quantity":
            index = a % len(lines)
            sold = lines[index].units_sold + max(0, b - lines[index].quantity)
            lines[index] = lines[index].model_copy(update={"quantity": b, "sold_quantity": sold})
        elif kind == "add":
            lines.append(line(f"n{number}", a, b, original=0))
        elif kind == "address":
            changes["shipping_address"] = HOME.model_copy(update={"zip": a})
        elif kind == "gift":
            lines[0] = lines[0].model_copy(update={"properties": (("Gift message", a),)})
        elif kind == "refund":
            index = a % len(lines)
            if lines[index].quantity == 0:
                continue
            restocked = 1 if b in ("CANCEL", "RETURN") else 0
            lines[index] = lines[index].model_copy(update={
                "quantity": lines[index].quantity - 1,
                "restocked_quantity": lines[index].restocked_quantity + restocked})
            changes["refunds"] = (*snapshot.refunds, refund(f"r{number}", "10.00", (lines[index].line_id, 1, b)))
        else:
            changes["cancelled_at"] = number
        changes["lines"] = tuple(lines)
        changes["total"] = sum((li.unit_price * li.quantity for li in lines), Decimal(0))
        changes["transactions"] = (Transaction(transaction_id="t-1001", kind="SALE", status="SUCCESS",
                                               amount=snapshots[0].total),)
        snapshot = snapshot.model_copy(update=changes)
        snapshots.append(snapshot)
        if kind == "cancel":
            break
    return snapshots


def end_state(h: Harness) -> dict:
    live = h.warehouse.live()
    assert len(live) <= 1, "two live sales orders for one order"
    return {
        "warehouse": [(so["lines"], so["address"], so["gift_message"]) for so in live],
        "stock": {key: level for key, level in h.shopify.levels.items() if level},
        "erp_orders": h.erp.sales_orders,
        "payments": h.erp.payments,
        "credit_memos": h.erp.credit_memos,
    }


def event_type(index: int, snapshot) -> str:
    return "ORDER_CREATED" if index == 0 else "ORDER_CANCELLED" if snapshot.cancelled else "ORDER_EDITED"


def in_order(snapshots) -> dict:
    h = Harness(reference=REFERENCE)
    for index, snapshot in enumerate(snapshots):
        h.webhook(snapshot, event_type(index, snapshot), complete=index == 0 or snapshot.cancelled)
        h.settle()
    return end_state(h)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), snapshots=histories())
def test_any_interleaving_and_duplication_converges(data, snapshots):
    expected = in_order(snapshots)

    deliveries = [(index, complete) for index, snapshot in enumerate(snapshots)
                  for complete in data.draw(st.lists(st.booleans(), min_size=1, max_size=2), label="copies")]
    order_of_delivery = data.draw(st.permutations(deliveries), label="delivery order")
    h = Harness(reference=REFERENCE)
    h.shop[snapshots[0].order_id] = snapshots[-1]  # Shopify already holds the final order
    for index, complete in order_of_delivery:
        snapshot = snapshots[index]
        h.webhook(snapshot, event_type(index, snapshot), complete=complete,
                  event_id=f"e{index}" if data.draw(st.booleans(), label="same event id") else None)
        step = data.draw(st.sampled_from(["nothing", "timer", "deliver", "both", "redeliver results"]),
                         label="then")
        if step in ("timer", "both"):
            h.advance(data.draw(st.integers(0, 5000), label="ms"))
        if step in ("deliver", "both"):
            h.deliver()
        if step == "redeliver results":  # a sink re-ran commands after a rebalance
            h.redeliver_results()
    h.settle()
    assert end_state(h) == expected
