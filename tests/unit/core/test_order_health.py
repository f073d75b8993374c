"""Where an order stands, read from the engine's own states; and the gauges that add orders up by age."""

from __future__ import annotations

from sandboxes.testkit.core_builders import REFERENCE, line, order
from streams.core import engine
from streams.core.details import OrderException
from streams.core.engine import Policy
from streams.core.exceptions import FAILURE_EXCEPTION, RULE_EXCEPTIONS
from streams.core.health import PAIR_OF_EXCEPTION, Pair, order_health
from streams.core.holds import HOLD_EXCEPTIONS
from streams.core.inputs import FetchedSnapshot, OrderEventIn, ReadDenied, ResultIn
from streams.core.model import Owner
from streams.core.state import OrderState
from streams.inbox import words
from streams.supervision.order_gauges import OrderGauges, age_bucket

POLICY = Policy()
T0 = 1_800_000_000_000  # epoch ms


def snapshot_state(snapshot, now: int = T0) -> OrderState:
    return engine.step(OrderState(order_id=snapshot.order_id), FetchedSnapshot(snapshot=snapshot), POLICY, REFERENCE,
                       now).state


def test_commands_in_flight_are_pending_gaps_dated_from_the_shopify_change():
    state = snapshot_state(order(version=T0 - 5_000))
    health = order_health(state)
    pending = {(gap.pair, gap.reason, gap.since) for gap in health.gaps}
    assert (Pair.SHOPIFY_PEOPLEVOX, "pending", T0 - 5_000) in pending
    assert (Pair.SHOPIFY_ERP, "pending", T0 - 5_000) in pending
    assert [(h.reason, h.since) for h in health.holds] == [("downstream", T0)]  # waiting for the sinks
    assert health.exceptions == ()


def test_an_unknown_sku_is_out_of_sync_with_the_warehouse_held_and_owed_to_ops():
    state = snapshot_state(order(lines=(line("1", "POSTER"),), version=T0 - 1_000), now=T0)
    health = order_health(state)
    assert {(g.pair, g.reason, g.since) for g in health.gaps if g.reason != "pending"} == {
        (Pair.SHOPIFY_PEOPLEVOX, "unknown_sku", T0)}
    assert ("unknown_sku", T0) in [(h.reason, h.since) for h in health.holds]
    assert [(e.type, e.owner, e.since) for e in health.exceptions] == [("UNKNOWN_SKU", "OPS", T0)]


def test_a_partial_event_holds_the_order_until_it_is_read():
    decision = engine.step(OrderState(order_id="7"), OrderEventIn(event_id="e1", event_type="ORDER_EDITED"),
                           POLICY, REFERENCE, T0)
    assert [(h.reason, h.since) for h in order_health(decision.state).holds] == [("shopify_read", T0)]


def test_an_order_in_step_is_healthy():
    state = snapshot_state(order())
    while state.in_flight:  # every system acknowledges, including what each answer leads to
        command = next(iter(state.in_flight.values()))
        state = engine.step(state, ResultIn(command=command, outcome="APPLIED"), POLICY, REFERENCE, T0).state
    assert order_health(state).healthy


def test_every_exception_type_the_engine_raises_belongs_to_a_system_pair_or_is_an_overdue_wait():
    # Every type people can be shown (the inbox has words for each): a type missing here crashed the agent.
    raised = RULE_EXCEPTIONS | set(FAILURE_EXCEPTION.values()) | set(words.TITLES) - HOLD_EXCEPTIONS
    assert raised <= set(PAIR_OF_EXCEPTION)
    assert not HOLD_EXCEPTIONS & set(PAIR_OF_EXCEPTION)  # a wait is its own gap (pending) and hold


def families(gauges: OrderGauges) -> dict[str, list[tuple[dict, float]]]:
    return {f.name: [(s.labels, s.value) for s in f.samples] for f in gauges.collect()}


def test_gauges_count_each_order_once_per_finding_in_its_age_bucket():
    gauges = OrderGauges(clock=lambda: T0 / 1000)
    fresh = order_health(snapshot_state(order("1", lines=(line("1", "POSTER"),)), now=T0 - 30_000))
    old = order_health(snapshot_state(order("2", lines=(line("1", "POSTER"),)), now=T0 - 2 * 3_600_000))
    gauges.watch({"1": fresh, "2": old})
    found = families(gauges)
    unknown = {s["age"]: v for s, v in found["editsync_orders_out_of_sync"] if s["reason"] == "unknown_sku"}
    assert unknown == {"under_1m": 1, "1h_to_6h": 1}
    assert [v for s, v in found["editsync_orders_out_of_sync_oldest_seconds"] if s["reason"] == "unknown_sku"] == [7200]
    assert {s["age"]: v for s, v in found["editsync_orders_held"] if s["reason"] == "unknown_sku"} == {
        "under_1m": 1, "1h_to_6h": 1}
    assert [(s, v) for s, v in found["editsync_exceptions_open_oldest_seconds"]] == [
        ({"type": "UNKNOWN_SKU", "owner": "OPS"}, 7200)]
    assert sum(v for _, v in found["editsync_exceptions_open"]) == 2


def test_age_buckets_are_disjoint_and_cover_every_age():
    assert [age_bucket(a) for a in (0, 59.9, 60, 299, 300, 899, 900, 3599, 3600, 21599, 21600, 10**9)] == [
        "under_1m", "under_1m", "1m_to_5m", "1m_to_5m", "5m_to_15m", "5m_to_15m", "15m_to_1h", "15m_to_1h",
        "1h_to_6h", "1h_to_6h", "over_6h", "over_6h"]


def test_shopify_denying_a_read_or_a_stock_write_is_a_gap_of_the_system_it_keeps_the_order_from():
    denied = engine.step(OrderState(order_id="7"), ReadDenied(required_access="`read_orders` access scope.",
                                                              reason="denied"), POLICY, REFERENCE, T0).state
    assert [(g.pair, g.reason) for g in order_health(denied).gaps] == [
        (Pair.SHOPIFY_PEOPLEVOX, "shopify_access_denied")]
    write = OrderException(exception_id="7:SHOPIFY_ACCESS_DENIED:c", order_id="7", order_name=None,
                           type="SHOPIFY_ACCESS_DENIED",
                           owner=Owner.OPS, severity="HIGH", summary="s", detail={"command_id": "c", "target": "INVENTORY", "outcome": "FAILED",
                                                                "detail": {"required_access": "write_inventory"}},
                           suggested_action="a", first_seen=T0, last_seen=T0)
    state = OrderState(order_id="7", exceptions={write.exception_id: write})
    assert [(g.pair, g.reason) for g in order_health(state).gaps] == [(Pair.SHOPIFY_STOCK, "shopify_access_denied")]
