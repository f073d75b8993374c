"""Nothing is held in silence: every wait is named and timed, and an overlong one is an owned exception.

Driven through ``engine.step``, the one entry the order-state agent uses.
"""

from __future__ import annotations

from sandboxes.testkit.core_builders import REFERENCE, line, order
from streams.core import engine, holds
from streams.core.engine import Decision, Policy
from streams.core.inputs import (
    FetchedSnapshot,
    Heal,
    NoticeIn,
    OrderEventIn,
    OrderMissing,
    PersonAction,
    PredecessorAnswer,
    Rebuild,
    ResultIn,
    Tick,
)
from streams.core.state import OrderState

POLICY = Policy()
MINUTE = 60_000


class Clock:
    """Runs one order through ``engine.step``, firing its timers as the agent does."""

    def __init__(self, order_id: str = "1001") -> None:
        self.state = OrderState(order_id=order_id)
        self.now = 1_000_000
        self.wake: int | None = None
        self.fetches = 0
        self.decisions: list[Decision] = []
        self.commands: list = []

    def take(self, message: object) -> Decision | None:
        decision = engine.step(self.state, message, POLICY, REFERENCE, self.now)  # type: ignore[arg-type]
        if decision is not None:
            self.state = decision.state
            self.fetches += decision.fetch
            self.wake = engine.keep_wake(self.wake, decision.wake_at)  # as the agent keeps them
            self.commands.extend(decision.commands)
            self.decisions.append(decision)
        return decision

    def run_for(self, ms: int) -> None:
        end = self.now + ms
        while self.wake is not None and self.wake <= end:
            self.now, self.wake = self.wake, None
            self.take(Tick())
        self.now = end

    def exceptions(self, kind: str) -> list:
        return [e for d in self.decisions for e in d.exceptions if e.type == kind]


def created(clock: Clock, snapshot_id: str = "1001", **fields: object) -> None:
    clock.take(OrderEventIn(event_id=f"created-{snapshot_id}", event_type="ORDER_CREATED"))


def test_a_read_never_answered_becomes_order_stalled_after_the_bound_and_resolves_on_the_answer():
    clock = Clock()
    created(clock)
    clock.run_for(POLICY.hold_bound_ms - MINUTE)
    assert not clock.exceptions("ORDER_STALLED")
    assert [h.reason for h in holds.held(clock.state)] == ["shopify_read"]
    clock.run_for(2 * MINUTE)
    (stalled,) = clock.exceptions("ORDER_STALLED")
    assert stalled.owner.value == "OPS" and stalled.state == "OPEN"
    assert stalled.detail.waiting_for == "shopify_read" and "could not be read from Shopify" in stalled.summary
    clock.take(FetchedSnapshot(snapshot=order(lines=(line("1", "TEE-M"),))))
    resolved = clock.exceptions("ORDER_STALLED")[-1]
    assert resolved.state == "RESOLVED"
    assert "shopify_read" not in clock.state.waiting


def test_unanswered_reads_back_off_instead_of_multiplying():
    clock = Clock()
    created(clock)
    clock.run_for(20 * MINUTE)
    # 30 s, 60 s, 120 s, 240 s, then every 5 minutes: 7 reads in 20 minutes, not 40.
    assert 5 <= clock.fetches <= 8, clock.fetches


def test_a_recreated_order_whose_original_never_answers_raises_recreate_unresolved():
    clock = Clock("2002")
    created(clock, "2002")
    clock.take(FetchedSnapshot(snapshot=order("2002", version=5, note_attributes=(("edited_from", "#1001"),))))
    assert not [c for c in clock.commands if c.target.value == "PEOPLEVOX"], "held until the original answers"
    clock.run_for(POLICY.hold_bound_ms + MINUTE)
    (unresolved,) = clock.exceptions("RECREATE_UNRESOLVED")
    assert unresolved.owner.value == "OPS" and "original order it replaces never answered" in unresolved.summary
    assert unresolved.detail.waiting_for == "predecessor"
    clock.take(NoticeIn(message=PredecessorAnswer(predecessor_id="1001", released=True, reason="cancelled")))
    assert clock.exceptions("RECREATE_UNRESOLVED")[-1].state == "RESOLVED"
    assert any(c.target.value == "PEOPLEVOX" for c in clock.commands), "released once the original answered"


def test_commands_never_answered_become_order_stalled():
    clock = Clock()
    created(clock)
    clock.run_for(POLICY.debounce_ms)
    clock.take(FetchedSnapshot(snapshot=order(lines=(line("1", "TEE-M"),))))
    assert clock.commands and "downstream" in clock.state.waiting
    clock.run_for(POLICY.hold_bound_ms + MINUTE)
    (stalled,) = clock.exceptions("ORDER_STALLED")
    assert stalled.detail.waiting_for == "downstream"
    answered = 0
    while answered < len(clock.commands):  # answering some commands lets the next ones go
        clock.take(ResultIn(command=clock.commands[answered], outcome="APPLIED"))
        answered += 1
    assert not clock.state.in_flight
    assert clock.exceptions("ORDER_STALLED")[-1].state == "RESOLVED"


def test_an_open_exception_is_a_named_hold_with_its_age():
    clock = Clock()
    created(clock)
    clock.take(FetchedSnapshot(snapshot=order(lines=(line("1", "POSTER"),))))
    (unknown,) = [h for h in holds.held(clock.state) if h.reason == "unknown_sku"]
    assert unknown.since == clock.now


def test_a_rebuilt_order_shopify_does_not_know_is_forgotten():
    clock = Clock()
    clock.take(Rebuild())
    decision = clock.take(OrderMissing())
    assert decision is not None and decision.forget


def test_a_missing_order_is_asked_again_and_held_with_that_reason():
    clock = Clock()
    created(clock)
    clock.run_for(POLICY.debounce_ms)
    decision = clock.take(OrderMissing())
    assert decision is not None and not decision.forget
    clock.run_for(POLICY.hold_bound_ms + MINUTE)
    assert clock.fetches > 1, "a read a moment after the webhook may not find the order yet: ask again"
    (stalled,) = clock.exceptions("ORDER_STALLED")
    assert "no such order" in stalled.summary
    assert "Look the order up in Shopify's admin" in stalled.suggested_action, "not the connection's fault"


def test_a_waiting_order_is_healed_after_a_restart():
    clock = Clock("2002")
    created(clock, "2002")
    clock.take(FetchedSnapshot(snapshot=order("2002", version=5, note_attributes=(("edited_from", "#1001"),))))
    assert engine.needs_heal(clock.state), "its timers were in memory: without a heal it would wait forever"
    assert clock.take(Heal()) is not None


def test_a_far_hold_deadline_does_not_push_back_a_read_that_is_due():
    """After a restart, heal asks for a read after the debounce; the results of the commands it re-sent
    carry the hold bound's deadline, minutes away. The read must still happen after the debounce."""
    clock = Clock()
    created(clock)
    clock.run_for(POLICY.debounce_ms)
    clock.take(FetchedSnapshot(snapshot=order(lines=(line("1", "TEE-M"),))))
    sent = list(clock.commands)
    reads = clock.fetches
    clock.take(Heal())
    for command in sent:
        clock.take(ResultIn(command=command, outcome="APPLIED"))
    clock.run_for(POLICY.debounce_ms + 1)
    assert clock.fetches == reads + 1


def test_an_ignored_order_stalled_stays_ignored_while_the_wait_is_the_same():
    """An order Shopify does not have (a webhook from another shop, a deleted test order) waits for good: a person
    ignores its ORDER_STALLED, and the next timer must not open it again as if no one had looked."""
    clock = Clock()
    created(clock)
    clock.run_for(POLICY.debounce_ms)
    clock.take(OrderMissing())
    clock.run_for(POLICY.hold_bound_ms + MINUTE)
    (stalled,) = clock.exceptions("ORDER_STALLED")
    clock.take(PersonAction(action="ignore", exception_id=stalled.exception_id, actor="ann", note="a test order"))
    clock.take(OrderMissing())
    clock.run_for(POLICY.hold_bound_ms)
    assert [(e.state, e.actor) for e in clock.exceptions("ORDER_STALLED")] == [("OPEN", None), ("IGNORED", "ann")]
    assert clock.state.exceptions[stalled.exception_id].state == "IGNORED"
    clock.take(FetchedSnapshot(snapshot=order(lines=(line("1", "TEE-M"),))))
    assert stalled.exception_id not in clock.state.exceptions, "the wait ended: nothing left to remember"
    assert [e.state for e in clock.exceptions("ORDER_STALLED")] == ["OPEN", "IGNORED"]
