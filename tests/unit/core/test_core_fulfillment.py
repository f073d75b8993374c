"""Peoplevox's despatches as Shopify fulfillments (streams/core/fulfillment.py): exactly the despatched lines,
with their tracking, once per despatch, one despatch after the other."""

from __future__ import annotations

from sandboxes.testkit.core_builders import REFERENCE, line, order
from streams.core import engine
from streams.core.commands import CreateFulfillment
from streams.core.details import ExceptionType
from streams.core.engine import Policy
from streams.core.fulfillment import FulfillmentPolicy
from streams.core.health import Pair, order_health
from streams.core.inputs import PeoplevoxStatus, Tick
from streams.core.model import Despatch, Owner, Target
from tests.core_harness import Harness

TWO_LINES = (line("1", "TEE-M", quantity=2), line("2", "MUG"))


def harness(policy: Policy | None = None, lines: tuple = TWO_LINES) -> Harness:
    h = Harness(reference=REFERENCE, policy=policy or Policy())
    h.webhook(order(lines=lines), "ORDER_CREATED")
    h.settle()
    return h


def despatch(number: str, *items: tuple[str, int], tracking: str | None = "TRK-1") -> Despatch:
    return Despatch(number=number, sales_order_number="1001", items=tuple(sorted(items)), carrier="DPD",
                    tracking_number=tracking)


def fulfillment_commands(h: Harness) -> list[CreateFulfillment]:
    return [c.payload for c in h.sent if isinstance(c.payload, CreateFulfillment)]


def test_a_despatch_becomes_one_fulfillment_of_its_lines_with_carrier_and_tracking():
    h = harness()
    h.peoplevox_status("1001", "Despatched", (despatch("D1", ("TEE-M", 2), ("MUG", 1)),))
    h.deliver()
    assert h.shopify.fulfillments == [{"order_id": "1001", "lines": {"1": 2, "2": 1}, "carrier": "DPD",
                                       "tracking_number": "TRK-1", "notify_customer": True}]
    h.peoplevox_status("1001", "Despatched", (despatch("D1", ("TEE-M", 2), ("MUG", 1)),))  # read again
    h.settle()
    assert len(fulfillment_commands(h)) == 1 and len(h.shopify.fulfillments) == 1
    assert h.state("1001").fulfilled_despatches == {"D1"} and h.open_exceptions("1001") == {}


def test_partial_despatches_are_partial_fulfillments_in_the_order_peoplevox_made_them():
    h = harness()
    first, second = despatch("D1", ("TEE-M", 1), tracking="TRK-1"), despatch("D2", ("TEE-M", 1), ("MUG", 1),
                                                                            tracking="TRK-2")
    h.peoplevox_status("1001", "Despatched", (first, second))
    h.deliver()
    assert [(f["lines"], f["tracking_number"]) for f in h.shopify.fulfillments] == [
        ({"1": 1}, "TRK-1"), ({"1": 1, "2": 1}, "TRK-2")]
    # Levels, not deltas: the second says the tee shows 2 fulfilled, of which 1 already was.
    assert [dict((li.line_id, li.quantity) for li in p.lines) for p in fulfillment_commands(h)] == [
        {"1": 1}, {"1": 2, "2": 1}]


def test_a_repeated_fulfillment_after_a_lost_answer_fulfils_nothing_twice():
    h = harness()
    h.peoplevox_status("1001", "Despatched", (despatch("D1", ("TEE-M", 2), ("MUG", 1)),))
    h.deliver()
    h.redeliver_results()
    sent = [c for c in h.sent if isinstance(c.payload, CreateFulfillment)]
    assert h.execute(sent[0]).reason == "Shopify already shows the despatch fulfilled"
    assert len(h.shopify.fulfillments) == 1


def test_a_bundle_line_counts_the_units_its_scarcest_component_covers():
    h = harness(lines=(line("1", "GIFT-BOX", quantity=2),))
    h.peoplevox_status("1001", "Despatched", (despatch("D1", ("MUG", 2), ("SOCK", 3)),))
    h.deliver()
    assert h.shopify.fulfillments[0]["lines"] == {"1": 1}, "two mugs, but socks for one box only"


def test_a_refused_fulfillment_is_an_owned_exception_that_holds_the_next_despatch_until_retried():
    h = harness()
    h.refuse_next[Target.SHOPIFY] = "Shopify refused fulfillmentCreate: the fulfillment order is on hold"
    h.peoplevox_status("1001", "Despatched", (despatch("D1", ("TEE-M", 1)), despatch("D2", ("MUG", 1))))
    h.deliver()
    failed = h.open_exceptions("1001")[ExceptionType.FULFILLMENT_FAILED]
    assert failed.owner is Owner.OPS and "D1 with tracking number TRK-1" in failed.suggested_action
    assert h.shopify.fulfillments == [] and len(fulfillment_commands(h)) == 1, "D2 waits behind D1"
    assert any(gap.pair is Pair.SHOPIFY_PEOPLEVOX for gap in order_health(h.state("1001")).gaps)


def test_switched_off_where_another_connector_posts_fulfillments():
    h = harness(Policy(fulfillment=FulfillmentPolicy(enabled=False)))
    h.peoplevox_status("1001", "Despatched", (despatch("D1", ("TEE-M", 2), ("MUG", 1)),))
    h.settle()
    assert fulfillment_commands(h) == [] and h.shopify.fulfillments == []


def test_the_customer_is_not_notified_when_the_setting_says_so():
    h = harness(Policy(fulfillment=FulfillmentPolicy(notify_customer=False)))
    h.peoplevox_status("1001", "Despatched", (despatch("D1", ("TEE-M", 2)),))
    h.deliver()
    assert h.shopify.fulfillments[0]["notify_customer"] is False


def test_a_despatch_read_before_the_create_result_arrives_is_not_undone_by_that_results_older_status():
    """Found in the 500-order demo: Peoplevox despatched a sales order a second after it was created; the
    callback's re-read (Despatched, with its despatch) reached the order before the create's result, whose status
    (New, as the sink saw it when writing) then overwrote it: no lock, no fulfillment, nothing said."""
    from streams.core import engine
    from streams.core.inputs import PeoplevoxStatus
    from tests.core_harness import result_over_the_wire
    h = Harness(reference=REFERENCE, policy=Policy(lock_tag="editsync-locked"))
    h.webhook(order(lines=TWO_LINES), "ORDER_CREATED")
    h.advance(h.policy.debounce_ms + 1)
    create = next(c for c in h.outbox if c.kind == "create_sales_order")
    h.outbox.remove(create)
    h.deliver()
    written = h.execute(create).model_copy(update={"completed_at": h.now})  # the sink saw "New" now
    h.now += 1_000
    read = PeoplevoxStatus(status="Despatched", at=h.now, number="1001",
                           despatches=(despatch("D1", ("TEE-M", 2), ("MUG", 1)),))
    h._take("1001", engine.on_peoplevox_status(h.state("1001"), read, h.policy, h.reference, h.now))
    h._take("1001", engine.on_result(h.state("1001"), result_over_the_wire(written), h.policy, h.reference, h.now))
    h.settle()
    assert h.state("1001").peoplevox_status == "Despatched"
    assert h.shopify.fulfillments and "editsync-locked" in h.shop["1001"].tags


def test_a_despatch_that_could_not_be_read_is_asked_for_again_backing_off_and_an_owned_wait_until_it_is():
    """Peoplevox said Despatched but its report did not answer: no callback may come again, so the order asks."""
    h = harness()
    policy, start = h.policy, h.now + 1

    def step(message, at: int):
        decision = engine.step(h.state("1001"), message, policy, h.reference, at)
        h.states["1001"] = decision.state
        return decision

    first = step(PeoplevoxStatus(status="Despatched", at=start, number="1001", despatches_unread=True), start)
    assert first.read_sales_order is None, "the read that just failed was the first ask"
    assert "despatch_read" in first.state.waiting and first.wake_at == start + policy.fetch_timeout_ms
    asks = [at for at in range(start, start + 400_000, 1_000) if step(Tick(), at).read_sales_order == "1001"]
    assert asks == [start + 30_000, start + 90_000, start + 210_000], "30 s, then twice as long each time"
    stalled = h.open_exceptions("1001")["ORDER_STALLED"]
    assert stalled.owner is Owner.OPS and stalled.detail.waiting_for == "despatch_read"
    assert "Peoplevox" in stalled.summary and not fulfillment_commands(h)

    read = step(PeoplevoxStatus(status="Despatched", at=start + 400_000, number="1001",
                                despatches=(despatch("D1", ("TEE-M", 2), ("MUG", 1)),)), start + 400_000)
    assert [type(c.payload) for c in read.commands] == [CreateFulfillment]
    assert "despatch_read" not in read.state.waiting and "ORDER_STALLED" not in h.open_exceptions("1001")
    assert step(Tick(), start + 800_000).read_sales_order is None
