"""The sweep's listings through ``engine.step``: read an order only when Shopify has a version editsync has not seen.

A webhook that never came (Shopify gave up, a subscription was deleted) must
not leave the warehouse on the old order: the sweep lists orders by
``updatedAt`` and the engine compares that with what it knows.
"""

from __future__ import annotations

from sandboxes.testkit.core_builders import line, order
from streams.core.inputs import FetchedSnapshot, OrderEventIn, ReadDenied, ResultIn, Swept
from tests.unit.core.test_core_holds import Clock, created

SECOND = 1000


def known_at(version: int) -> Clock:
    """An order editsync has read at ``version`` and every system acknowledged, with nothing outstanding."""
    clock = Clock()
    created(clock)
    clock.run_for(3 * SECOND)
    clock.take(FetchedSnapshot(snapshot=order(version=version, lines=(line("1", "TEE-M"),))))
    while clock.state.in_flight:  # each acknowledgement may send what waited for it
        clock.take(ResultIn(command=next(iter(clock.state.in_flight.values())), outcome="APPLIED"))
    clock.run_for(60 * SECOND)
    assert not clock.state.needs_fetch and not clock.state.in_flight and clock.fetches == 1
    clock.commands.clear()
    return clock


def test_a_newer_version_than_editsync_knows_is_read_once_debounced():
    clock = known_at(version=5_000)
    decision = clock.take(Swept(updated_at=6_000))
    assert decision is not None and clock.state.needs_fetch
    clock.run_for(3 * SECOND)
    assert clock.fetches == 2, "read through the usual debounced fetch"
    edited = order(version=6_000, lines=(line("1", "TEE-M"), line("2", "MUG")))
    clock.take(FetchedSnapshot(snapshot=edited))
    assert clock.state.snapshot == edited
    assert [c.kind for c in clock.commands if c.target.value == "PEOPLEVOX"] == ["update_sales_order"], \
        "the edit no webhook announced reaches the warehouse"


def test_the_version_editsync_knows_or_an_older_one_changes_nothing():
    clock = known_at(version=5_000)
    before = clock.state
    for updated_at in (5_000, 4_000):
        assert clock.take(Swept(updated_at=updated_at)) is None
    clock.run_for(60 * SECOND)
    assert clock.state == before and clock.fetches == 1


def test_an_order_never_seen_is_read_and_handled_as_new():
    clock = Clock("7007")
    clock.take(Swept(updated_at=9_000))  # its orders/create never came
    clock.run_for(3 * SECOND)
    assert clock.fetches == 1
    clock.take(FetchedSnapshot(snapshot=order("7007", version=9_000)))
    assert [c.kind for c in clock.commands if c.target.value == "PEOPLEVOX"] == ["create_sales_order"]


def test_a_read_already_coming_answers_the_listing_and_one_under_way_since_before_goes_round_again():
    clock = Clock()
    created(clock)
    assert clock.take(Swept(updated_at=clock.now - 1)) is None, "the debounced read to come will see it"
    clock.run_for(3 * SECOND)  # the read starts
    started = clock.state.fetching_since
    assert started is not None
    assert clock.take(Swept(updated_at=started)) is None, "the read under way started after that update"
    clock.now += 100
    assert clock.take(Swept(updated_at=started + 50)) is not None
    clock.take(FetchedSnapshot(snapshot=order(version=started - 10)))
    assert clock.state.needs_fetch, "its answer predates the update the sweep saw: read again"


def test_a_denied_read_is_asked_again_when_the_sweep_sees_the_order_change():
    clock = Clock()
    clock.take(OrderEventIn(event_id="e1", event_type="ORDER_UPDATED"))
    clock.run_for(3 * SECOND)
    clock.take(ReadDenied(required_access="read_orders", reason="Access denied"))
    clock.run_for(10 * 60 * SECOND)
    assert clock.fetches == 1, "a denied read waits for a change, not for a timer"
    clock.take(Swept(updated_at=clock.now))
    clock.run_for(3 * SECOND)
    assert clock.fetches == 2
