"""Each semantic of the order-state engine as a named scenario, checked in the end state of
Peoplevox, inventory and the ERP (simulated, see tests/core_harness.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sandboxes.testkit.core_builders import HOME, REFERENCE, line, order, refund, with_price_list
from streams.core import engine, peoplevox
from streams.core.commands import CancelLiveSalesOrders, command
from streams.core.engine import Policy
from streams.core.exceptions import mismatch_reasons
from streams.core.inputs import OrderEventIn, PeoplevoxStatus, PersonAction, Rebuild, SuccessorLinked
from streams.core.model import Address, Owner, SalesOrder, Target
from streams.core.peoplevox import CutOff
from streams.core.recreate import RecreatePolicy, referenced_order
from streams.core.reference import Catalogue, Reference
from streams.core.state import OrderState
from tests.core_harness import Harness


def harness(**kwargs) -> Harness:
    return Harness(reference=kwargs.pop("reference", REFERENCE), **kwargs)


def created(h: Harness, snapshot=None):
    snapshot = snapshot or order()
    h.webhook(snapshot, "ORDER_CREATED")
    h.settle()
    return snapshot


# --- duplicates, staleness, partial payloads, debounce ------------------------------------

def test_duplicate_event_ids_are_dropped():
    h = harness()
    snapshot = order()
    h.webhook(snapshot, "ORDER_CREATED", event_id="e-1")
    h.webhook(snapshot.model_copy(update={"version": 2, "note": "dup"}), "ORDER_UPDATED", event_id="e-1")
    h.settle()
    assert h.state("1001").snapshot.version == 1
    assert len(h.warehouse.live()) == 1


def test_stale_snapshot_is_ignored():
    h = harness()
    created(h, order(version=5, lines=(line("1", "TEE-M", 2),)))
    h.event("1001", OrderEventIn(event_id="late", event_type="ORDER_UPDATED",
                                 snapshot=order(version=3, lines=(line("1", "TEE-M", 1),))))
    h.settle()
    assert h.warehouse.live()[0]["lines"] == [("TEE-M", 2)]


def test_orders_edited_is_never_acted_on_without_a_fetch():
    h = harness()
    created(h)
    fetches = h.fetches
    edited = order(version=2, lines=(line("1", "TEE-M"), line("2", "MUG", original=0)))
    h.webhook(edited, "ORDER_EDITED", complete=False)
    assert h.state("1001").needs_fetch
    h.settle()
    assert h.fetches == fetches + 1
    assert h.warehouse.live()[0]["lines"] == [("MUG", 1), ("TEE-M", 1)]


def test_event_ahead_of_its_orders_creation_fetches_the_order():
    h = harness()
    h.shop["1001"] = order(version=2, lines=(line("1", "TEE-L"),))
    h.webhook(order(version=2, lines=(line("1", "TEE-L"),)), "ORDER_UPDATED")  # orders/create not seen yet
    decision = engine.on_timer(h.state("1001"), h.policy, h.reference, h.now + 5000)
    assert decision.fetch and not decision.commands
    h.settle()
    assert h.fetches == 1 and h.warehouse.live()[0]["lines"] == [("TEE-L", 1)]


def test_a_burst_within_the_debounce_window_gives_one_fetch_and_one_command_set():
    h = harness()
    created(h, order(lines=(line("1", "TEE-M", 5),)))
    sent_before, fetches = len(h.sent), h.fetches
    for version, quantity in ((2, 4), (3, 3), (4, 2)):
        h.webhook(order(version=version, lines=(line("1", "TEE-M", quantity, original=5),)), "ORDER_EDITED",
                  complete=False)
        h.now += 300
    h.settle()
    burst = h.sent[sent_before:]
    assert h.fetches == fetches + 1
    assert [c.kind for c in burst if c.target is Target.PEOPLEVOX] == ["update_sales_order"]
    assert [c.payload.delta for c in burst if c.target is Target.INVENTORY] == [3]
    assert [c.kind for c in burst if c.target is Target.ERP] == ["upsert_sales_order"]


def test_events_during_a_fetch_trigger_another_round():
    h = harness()
    created(h)
    h.webhook(order(version=2, lines=(line("1", "TEE-M", 2, original=1),)), "ORDER_EDITED", complete=False)
    h.now += 2500
    decision = engine.on_timer(h.state("1001"), h.policy, h.reference, h.now)
    assert decision.fetch
    h.states["1001"] = decision.state
    h.now += 100
    h.webhook(order(version=3, lines=(line("1", "TEE-M", 3, original=1),)), "ORDER_EDITED", complete=False)
    answer = engine.on_snapshot(h.state("1001"), order(version=2, lines=(line("1", "TEE-M", 2, original=1),)),
                                h.policy, h.reference, h.now)
    assert answer.state.needs_fetch and answer.wake_at is not None
    h._take("1001", answer)
    h.settle()
    assert h.warehouse.live()[0]["lines"] == [("TEE-M", 3)]


# --- Peoplevox mapping and diffs ----------------------------------------------------------

def test_skus_map_to_item_codes_and_bundles_expand():
    h = harness()
    created(h, order(lines=(line("1", "SHOPIFY-CAP"), line("2", "GIFT-BOX", 2), line("3", "MUG"))))
    (sales_order,) = h.warehouse.live()
    assert sales_order["lines"] == [("CAP", 1), ("MUG", 3), ("SOCK", 4)]


def test_gift_message_and_address_reach_the_sales_order():
    h = harness()
    created(h)
    moved = Address(name="Jon Snow", address1="2 Castle Black", city="The Wall", zip="W2", country_code="GB")
    h.webhook(order(version=2, shipping_address=moved,
                    lines=(line("1", "TEE-M", properties=(("Gift message", "Happy birthday"),)),)))
    h.settle()
    (sales_order,) = h.warehouse.live()
    assert sales_order["address"]["address1"] == "2 Castle Black"
    assert sales_order["gift_message"] == "Happy birthday"
    assert [c.kind for c in h.sent if c.target is Target.PEOPLEVOX] == ["create_sales_order", "update_sales_order"]


def test_quantity_edit_is_a_minimal_update():
    h = harness()
    created(h, order(lines=(line("1", "TEE-M"), line("2", "MUG"))))
    h.webhook(order(version=2, lines=(line("1", "TEE-M", 2, original=1), line("2", "MUG"))))
    h.settle()
    update = [c for c in h.sent if c.kind == "update_sales_order"][-1]
    assert update.payload.diff.wire() == {"lines_changed": {"TEE-M": [1, 2]}}


def test_size_swap_removes_a_line_so_the_sales_order_is_cancelled_and_replaced():
    h = harness()
    created(h)
    h.webhook(order(version=2, lines=(line("1", "TEE-M", 0, original=1), line("2", "TEE-L", 1, original=0))))
    h.settle()
    assert len(h.warehouse.live()) == 1, "never two live sales orders"
    (live,) = h.warehouse.live()
    assert live["lines"] == [("TEE-L", 1)]
    assert h.warehouse.orders["1001"]["cancelled"] and "1001-R1" in h.warehouse.orders
    assert [c.kind for c in h.sent if c.target is Target.PEOPLEVOX][-1] == "replace_sales_order"


def test_the_old_sales_orders_cancelled_read_during_its_replacement_is_not_the_replacements_status():
    """A replacement cancels the old sales order first; its callback's re-read (Cancelled) can be newer than the
    replacement's answer (New). It is the old one's status: the order is not past the cut-off."""
    h = harness()
    created(h)
    h.webhook(order(version=2, lines=(line("1", "TEE-M", 0, original=1), line("2", "TEE-L", 1, original=0))))
    h.advance(h.policy.debounce_ms + 1)  # the replace is on its way to the sink
    read_at = h.now + 5  # the old one's Cancelled, re-read just after the sink finished
    h._take("1001", engine.on_peoplevox_status(h.state("1001"), PeoplevoxStatus(
        status="Cancelled", at=read_at, number="1001"), h.policy, h.reference, h.now))
    h.deliver()
    assert h.state("1001").peoplevox_sales_order.number == "1001-R1"
    assert h.state("1001").peoplevox_status == "New"
    h.settle()
    assert "EDIT_AFTER_PICK" not in h.open_exceptions("1001")


def test_a_replacement_that_cannot_be_created_after_the_cancel_is_the_most_severe_exception():
    """The sink cancelled the old sales order, then Peoplevox refused the new one: nothing is left to ship."""
    h = harness()
    created(h)
    h.warehouse.refusals["1001-R1"] = "Peoplevox saved 0 of 1 Sales order items rows: Row 1: Item code TEE-L not found"
    h.webhook(order(version=2, lines=(line("1", "TEE-M", 0, original=1), line("2", "TEE-L", 1, original=0))))
    h.settle()
    assert h.warehouse.live() == [], "the cancel went through"
    (exception,) = h.open_exceptions("1001").values()
    assert (exception.type, exception.owner, exception.severity) == ("PVX_NO_LIVE_SALES_ORDER", Owner.OPS, "CRITICAL")
    assert "holds NOTHING" in exception.summary and "1001-R1" in exception.summary and "Row 1" in exception.summary
    assert exception.detail.detail.warehouse_holds_nothing is True


def rebuilt(h: Harness, order_id: str = "1001") -> None:
    """Local state discarded (a stale RocksDB store), the order rebuilt from Shopify as the runner asks."""
    h.states[order_id] = OrderState(order_id=order_id)
    h._take(order_id, engine.step(h.state(order_id), Rebuild(), h.policy, h.reference, h.now))


SWAPPED = order(version=2, lines=(line("1", "TEE-M", 0, original=1), line("2", "TEE-L", 1, original=0)))
SWAPPED_AGAIN = order(version=3, lines=(line("1", "TEE-M", 0, original=1), line("2", "TEE-L", 0, original=0),
                                        line("3", "TEE-S", 1, original=0)))


def test_a_rebuilt_order_learns_its_live_revision_from_peoplevox_before_writing():
    """After a rebuild the order no longer knows Peoplevox holds 1001-R1: the sink reads the order's sales
    orders first, writes nothing under a used number, and the order plans from what Peoplevox holds."""
    h = harness()
    created(h)
    h.webhook(SWAPPED)
    h.settle()
    rebuilt(h)
    h.settle()  # converges: the create of 1001 is not refused and asked for again for ever
    assert [(n, so["lines"]) for n, so in h.warehouse.orders.items() if not so["cancelled"]] == [
        ("1001-R1", [("TEE-L", 1)])], "nothing changed in the warehouse: it already held the order"
    h.webhook(SWAPPED_AGAIN)
    h.settle()
    assert [(n, so["lines"]) for n, so in h.warehouse.orders.items() if not so["cancelled"]] == [
        ("1001-R2", [("TEE-S", 1)])], "the swap reached the warehouse under a new number, one sales order live"
    assert (h.state("1001").peoplevox_sales_order.number, h.state("1001").peoplevox_revision) == ("1001-R2", 2)
    assert h.open_exceptions("1001") == {}


def test_a_size_swap_made_while_state_was_lost_reaches_the_warehouse_after_the_rebuild():
    """Peoplevox holds 1001-R1 (TEE-L); the customer swapped to TEE-S while editsync was down. Written over
    without knowing 1001-R1, Peoplevox (which never removes a line) would ship both sizes."""
    h = harness()
    created(h)
    h.webhook(SWAPPED)
    h.settle()
    h.shop["1001"] = SWAPPED_AGAIN
    rebuilt(h)
    h.settle()
    assert [(n, so["lines"]) for n, so in h.warehouse.orders.items() if not so["cancelled"]] == [
        ("1001-R2", [("TEE-S", 1)])]


def test_an_old_create_delivered_again_after_a_replace_changes_nothing():
    h = harness()
    created(h)
    h.webhook(SWAPPED)
    h.settle()
    before = {n: dict(so) for n, so in h.warehouse.orders.items()}
    state = h.state("1001")
    for result in list(h.results):
        if result.command.target is Target.PEOPLEVOX:
            h._take("1001", engine.on_result(h.state("1001"), h.execute(result.command), h.policy, h.reference,
                                             h.now))
    h.deliver()
    assert h.warehouse.orders == before and h.state("1001").peoplevox_sales_order == state.peoplevox_sales_order


def test_a_rebuilt_order_whose_live_revision_is_being_picked_is_left_alone_and_a_later_edit_is_flagged():
    h = harness()
    created(h)
    h.webhook(SWAPPED)
    h.settle()
    h.warehouse.orders["1001-R1"]["status"] = "Picking"
    rebuilt(h)
    h.settle()
    assert [(n, so["status"]) for n, so in h.warehouse.orders.items() if not so["cancelled"]] == [
        ("1001-R1", "Picking")], "nothing written past the cut-off, nothing created beside it"
    h.webhook(SWAPPED_AGAIN)
    h.settle()
    assert h.warehouse.orders["1001-R1"]["lines"] == [("TEE-L", 1)] and len(h.warehouse.live()) == 1
    assert set(h.open_exceptions("1001")) == {"EDIT_AFTER_PICK"}


MOVED = Address(name="Jon Snow", address1="9 New Rd", city="Leeds", zip="LS1", country_code="GB")


def moved_while_state_was_lost(h: Harness, status: str = "New") -> None:
    """Peoplevox holds 1001-R1 (at ``status``); the customer moved while editsync's state was lost, the webhook
    lost with it, so only the rebuild from Shopify brings the new address."""
    created(h)
    h.webhook(SWAPPED)
    h.settle()
    h.warehouse.orders["1001-R1"]["status"] = status
    h.shop["1001"] = SWAPPED.model_copy(update={"version": 5, "shipping_address": MOVED})
    rebuilt(h)


def test_an_address_changed_while_state_was_lost_reaches_the_warehouse_after_the_rebuild():
    """The sink reads back the header Peoplevox holds (the old address), so the rebuilt order sees the move and
    updates the live revision instead of taking the new address as already there."""
    h = harness()
    moved_while_state_was_lost(h)
    h.settle()
    assert [(n, so["address"]["address1"]) for n, so in h.warehouse.orders.items() if not so["cancelled"]] == [
        ("1001-R1", "9 New Rd")]
    update = [c for c in h.sent if c.target is Target.PEOPLEVOX][-1]
    assert (update.kind, update.payload.sales_order.number) == ("update_sales_order", "1001-R1")
    assert update.payload.diff.wire() == {"address": {"before": HOME.model_dump(), "after": MOVED.model_dump()}}
    assert h.open_exceptions("1001") == {}


def test_an_address_changed_while_state_was_lost_past_the_cut_off_is_customer_services_edit_after_pick():
    h = harness()
    moved_while_state_was_lost(h, "Picking")
    h.settle()
    assert [(n, so["address"]["address1"]) for n, so in h.warehouse.orders.items() if not so["cancelled"]] == [
        ("1001-R1", "1 Wall St")], "nothing written past the cut-off"
    exception = h.open_exceptions("1001")["EDIT_AFTER_PICK"]
    assert exception.owner is Owner.CX and set(exception.detail.diff.wire()) == {"address"}
    assert set(h.open_exceptions("1001")) == {"EDIT_AFTER_PICK"}


def test_fields_peoplevox_does_not_hold_never_look_changed_after_a_rebuild():
    """Peoplevox keeps no phone or company (editsync writes neither): read back they are empty, which must not
    pass for an edit, or a sales order past the cut-off would raise a false EDIT_AFTER_PICK."""
    h = harness()
    at_home = HOME.model_copy(update={"phone": "+44 113 496 0000", "company": "Night's Watch"})
    created(h, order(shipping_address=at_home))
    h.webhook(SWAPPED.model_copy(update={"shipping_address": at_home}))
    h.settle()
    assert h.warehouse.orders["1001-R1"]["address"]["phone"] is None, "the fake stores what an import stores"
    h.warehouse.orders["1001-R1"]["status"] = "Picking"
    rebuilt(h)
    h.settle()
    assert h.open_exceptions("1001") == {}
    assert h.state("1001").peoplevox_sales_order.address == at_home


def test_a_holding_answer_written_without_the_header_is_adopted_as_before():
    """A REJECTED result from the previous version carries number, status and lines only: the header is the one
    the command carried, as it was then (so the move is not seen), and nothing fails."""
    h = harness()
    moved_while_state_was_lost(h)
    for _ in range(5):  # the rebuild reads the order from Shopify, then reconciles: until the create is sent
        if any(c.target is Target.PEOPLEVOX for c in h.outbox):
            break
        h.advance(max(h.policy.debounce_ms + 1, min(h.wakes.values(), default=h.now) - h.now))
    (create,) = [c for c in h.outbox if c.target is Target.PEOPLEVOX]
    h.outbox.remove(create)
    answer = h.execute(create)
    assert answer.outcome == "REJECTED" and answer.detail.header.address.address1 == "1 Wall St"
    old = answer.model_copy(update={"detail": answer.detail.model_copy(update={"header": None})})
    h._take("1001", engine.on_result(h.state("1001"), old, h.policy, h.reference, h.now))
    adopted = h.state("1001").peoplevox_sales_order
    assert adopted == create.payload.sales_order.model_copy(update={"number": "1001-R1"})
    h.settle()
    assert [so["address"]["address1"] for so in h.warehouse.live()] == ["1 Wall St"]
    assert h.open_exceptions("1001") == {}


SENT = SalesOrder(number="1001", lines=(("MUG", 1),), address=HOME.model_copy(update={"address2": ""}),
                  email="jon@example.com", gift_message="", line_notes=(("MUG", "Engraving: A; B"), ("MUG", "Red")))
HELD = peoplevox.HeldHeader(address=HOME, email="jon@example.com", line_notes=(("MUG", "Engraving: A; B; Red"),),
                            stored=frozenset({"name", "address1", "address2", "city", "province_code", "zip",
                                              "country_code", "email", "gift_message", "line_notes"}))


@pytest.mark.parametrize("header, adopted", [
    (HELD, SENT),                                            # held as sent: an empty value reads back as None,
    #                                                          a line's notes as one text
    (HELD.model_copy(update={"address": MOVED}), SENT.model_copy(update={"address": MOVED.model_copy(
        update={"address2": ""})})),
    (HELD.model_copy(update={"line_notes": (("MUG", "Red"),), "gift_message": "Hi"}),
     SENT.model_copy(update={"line_notes": (("MUG", "Red"),), "gift_message": "Hi"})),
    (HELD.model_copy(update={"address": Address(), "stored": frozenset({"email"})}), SENT),  # not held: as sent
    (None, SENT),                                            # an answer from the version before
])
def test_a_rebuilt_order_adopts_the_header_peoplevox_holds_and_the_sent_one_where_it_holds_none(header, adopted):
    state = peoplevox.adopt(OrderState(order_id="1001"), peoplevox.CreateSalesOrder(sales_order=SENT, diff={}),
                            peoplevox.Held(number="1001-R1", status="New", lines=SENT.lines, header=header))
    assert state.peoplevox_sales_order == adopted.model_copy(update={"number": "1001-R1"})


CANCELLED = order(version=2, cancelled_at=2, lines=(line("1", "TEE-M", 0, original=1, restocked=1),))
NOTHING_TO_SHIP = order(version=2, lines=(line("1", "TEE-M", 0, original=1, restocked=1),))


def peoplevox_kinds(h: Harness, order_id: str = "1001") -> list[str]:
    return [c.kind for c in h.sent if c.order_id == order_id and c.target is Target.PEOPLEVOX]


def live_numbers(h: Harness) -> list[str]:
    return [number for number, so in h.warehouse.orders.items() if not so["cancelled"]]


@pytest.mark.parametrize("history", [(), (SWAPPED,)], ids=["first-sales-order", "revision"])
@pytest.mark.parametrize("meanwhile", [CANCELLED, NOTHING_TO_SHIP], ids=["cancelled", "nothing-to-ship"])
def test_a_rebuilt_order_that_wants_nothing_shipped_leaves_no_live_sales_order_it_no_longer_knew(history, meanwhile):
    """Shopify cancelled the order (or it has nothing left to ship) while editsync's state was lost: the
    rebuilt state knows no sales order, but the one editsync made before is still live in Peoplevox."""
    h = harness()
    created(h)
    for snapshot in history:
        h.webhook(snapshot)
        h.settle()
    assert len(live_numbers(h)) == 1
    h.shop["1001"] = meanwhile.model_copy(update={"version": 5})  # its webhook was lost with the state
    rebuilt(h)
    h.settle()
    assert live_numbers(h) == [], "the warehouse must not ship what the customer no longer gets"
    assert peoplevox_kinds(h)[-1] == "cancel_live_sales_orders"
    assert h.erp.sales_orders["1001"]["cancelled"] is meanwhile.cancelled, "the ERP upsert by external id closes it"
    assert h.open_exceptions("1001") == {}
    assert not h.state("1001").peoplevox_unknown, "known again: nothing live"
    before = len(h.sent)
    h.webhook(meanwhile.model_copy(update={"version": 6, "note": "later"}))
    h.settle()
    assert not [c for c in h.sent[before:] if c.target is Target.PEOPLEVOX], "read once, not on every change"


def test_a_rebuilt_cancelled_order_whose_sales_order_is_being_picked_is_left_alone_and_flagged():
    h = harness()
    created(h)
    h.warehouse.orders["1001"]["status"] = "Picking"
    h.shop["1001"] = CANCELLED
    rebuilt(h)
    h.settle()
    assert [(n, so["status"]) for n, so in h.warehouse.orders.items()] == [("1001", "Picking")]
    exception = h.open_exceptions("1001")["EDIT_AFTER_PICK"]
    assert exception.owner is Owner.OPS and exception.detail.change == "cancel"
    assert h.state("1001").peoplevox_sales_order.number == "1001", "the state knows the sales order again"


def test_only_a_rebuilt_order_pays_a_peoplevox_read_to_learn_it_holds_nothing():
    """An order first seen already cancelled was never sent: nothing to read. A rebuilt one may have been."""
    h = harness()
    h.webhook(CANCELLED.model_copy(update={"version": 1}), "ORDER_CREATED")
    h.settle()
    assert peoplevox_kinds(h) == [] and h.warehouse.orders == {}
    rebuilt(h)
    h.settle()
    assert peoplevox_kinds(h) == ["cancel_live_sales_orders"] and h.warehouse.orders == {}
    (answer,) = [r for r in h.results if r.command.target is Target.PEOPLEVOX]
    assert (answer.outcome, answer.detail.cancelled) == ("APPLIED", ())


def test_a_create_whose_answer_was_lost_is_checked_in_peoplevox_when_the_order_is_then_cancelled():
    """Peoplevox took the create but its answer never came (the sink gave up): the state knows no sales order."""
    h = harness()
    h.fail_next[Target.PEOPLEVOX] = "gave up after 5 attempts: timed out"
    created(h)
    h.warehouse.orders["1001"] = held("New")  # what the create that timed out wrote
    h.webhook(CANCELLED, "ORDER_CANCELLED")
    h.settle()
    assert live_numbers(h) == [] and peoplevox_kinds(h)[-1] == "cancel_live_sales_orders"


def held(status: str, reference: str = "1001") -> dict:
    """A sales order as the fake Peoplevox holds it."""
    return {"lines": [("TEE-M", 1)], "address": None, "gift_message": None, "cancelled": status == "Cancelled",
            "status": status, "reference": reference}


CANCEL_LIVE = command(CANCELLED, CancelLiveSalesOrders(number="1001"))


def test_the_sink_cancels_every_live_sales_order_of_the_order_and_none_of_another():
    h = harness()
    h.warehouse.orders.update({"1001": held("Cancelled"), "1001-R1": held("New"), "1001-R2": held("New"),
                               "10010": held("New", reference="10010")})
    answer = h.execute(CANCEL_LIVE)
    assert (answer.outcome, answer.detail.cancelled) == ("APPLIED", ("1001-R1", "1001-R2"))
    assert live_numbers(h) == ["10010"]
    before = {number: dict(so) for number, so in h.warehouse.orders.items()}
    again = h.execute(CANCEL_LIVE)  # redelivered: nothing live is left, nothing is written
    assert (again.outcome, again.detail.cancelled) == ("APPLIED", ()) and h.warehouse.orders == before


def test_the_sink_leaves_a_sales_order_past_the_cut_off_and_says_what_it_holds():
    h = harness()
    h.warehouse.orders.update({"1001": held("Picking"), "1001-R1": held("New")})
    answer = h.execute(CANCEL_LIVE)
    assert answer.outcome == "REJECTED_CUTOFF" and "1001 is at Picking" in answer.reason
    detail = answer.detail.wire()
    assert set(detail.pop("header")) >= {"address", "stored"}  # read back, as for any holding answer
    assert detail == {"status": "Picking", "cancelled": ["1001-R1"], "number": "1001", "lines": [["TEE-M", 1]]}
    assert live_numbers(h) == ["1001"]


RECREATED = order("2002", version=11, name="#1001-E1", lines=(line("9", "TEE-L"),),
                  note_attributes=(("edited_from", "#1001"),))


def recreated_while_state_was_lost(original_status: str = "New") -> Harness:
    """#1001 reached Peoplevox; while editsync's state was lost the app cancelled it and created #1001-E1."""
    h = harness()
    created(h)
    h.warehouse.orders["1001"]["status"] = original_status
    h.shop["1001"] = order("1001", version=10, cancelled_at=9, lines=(line("1", "TEE-M", 0, original=1),))
    rebuilt(h)
    h.webhook(RECREATED, "ORDER_CREATED")
    return h


def test_a_rebuilt_original_releases_its_successor_only_once_its_sales_order_is_cancelled():
    h = recreated_while_state_was_lost()
    before = len(h.results)
    h.settle()
    assert [(so["reference"], so["lines"]) for so in h.warehouse.live()] == [("2002", [("TEE-L", 1)])]
    applied = [(r.command.order_id, r.command.kind) for r in h.results[before:]
               if r.outcome == "APPLIED" and r.command.target is Target.PEOPLEVOX]
    assert applied == [("1001", "cancel_live_sales_orders"), ("2002", "create_sales_order")], \
        "the original's sales order went before the new one was created"
    assert h.state("2002").predecessor_released and h.open_exceptions("2002") == {}


def test_a_rebuilt_originals_successor_waits_while_the_original_cannot_be_checked_in_peoplevox():
    """Peoplevox refused the read-and-cancel: the original may still be live, so the new order must not ship."""
    h = recreated_while_state_was_lost()
    h.refuse_next[Target.PEOPLEVOX] = "Peoplevox answered 503 (text/html)"
    for _ in range(4):
        h.advance(h.policy.debounce_ms + 1)
        h.deliver()
    assert [so["reference"] for so in h.warehouse.live()] == ["1001"], "one parcel, not two"
    failed = h.open_exceptions("1001")["PVX_UPDATE_FAILED"]
    assert failed.detail.command_id.startswith("peoplevox:cancel_live_sales_orders:1001:")
    retry = PersonAction(action="retry", exception_id=failed.exception_id, actor="ann")
    h._take("1001", engine.step(h.state("1001"), retry, h.policy, h.reference, h.now))
    h.settle()
    assert [(so["reference"], so["lines"]) for so in h.warehouse.live()] == [("2002", [("TEE-L", 1)])]


def test_a_rebuilt_original_being_picked_releases_neither():
    h = recreated_while_state_was_lost(original_status="Picking")
    h.settle()
    assert [(so["reference"], so["status"]) for so in h.warehouse.live()] == [("1001", "Picking")]
    assert "original is at Picking" in h.open_exceptions("2002")["RECREATE_AMBIGUOUS"].summary
    assert "EDIT_AFTER_PICK" in h.open_exceptions("1001")


@pytest.mark.parametrize("planned, held, latest", [
    ("1001", [], None),                                                          # a first create
    ("1001", [("1001", "New")], None),                                           # repeated: its answer was lost
    ("1001-R1", [("1001", "New")], None),                                        # a replace
    ("1001-R1", [("1001", "Cancelled")], None),                                  # its create failed: again
    ("1001-R1", [("1001", "Cancelled"), ("1001-R1", "New")], None),              # the replace repeated
    ("1001", [("1001", "Cancelled"), ("1001-R1", "New")], ("1001-R1", "New")),   # rebuilt, or an old create again
    ("1001", [("1001", "Cancelled")], ("1001", "Cancelled")),                    # used and cancelled
    ("1001-R1", [("1001-R2", "Picking"), ("1001-R1", "Cancelled")], ("1001-R2", "Picking")),
    ("1001", [("10010", "New"), ("1001-R1x", "New")], None),                     # other orders' numbers
])
def test_a_sales_order_is_never_created_under_a_number_peoplevox_used_or_behind_its_latest(planned, held, latest):
    assert peoplevox.behind(SalesOrder(number=planned, lines=(("TEE-L", 1),)), held) == latest


def test_a_replace_tried_again_after_its_cancel_went_through_still_says_the_warehouse_holds_nothing():
    """The sink tries a command again after a transient failure: this time the cancel is already done."""
    h = harness()
    created(h)
    h.warehouse.refusals["1001-R1"] = "Peoplevox saved 0 of 1 Sales order items rows: Row 1: Item code TEE-L not found"
    h.webhook(SWAPPED)
    h.settle()
    replace = next(r.command for r in h.results if r.command.kind == "replace_sales_order")
    again = h.execute(replace)
    assert again.outcome == "FAILED" and again.detail.warehouse_holds_nothing is True
    assert (again.detail.cancelled, again.detail.not_created) == (("1001",), "1001-R1")
def test_the_cancel_editsync_made_for_a_replacement_never_counts_as_past_the_cut_off():
    """Peoplevox reports the old sales order Cancelled (editsync's own cancel): no EDIT_AFTER_PICK, and a
    retry creates the replacement instead of closing the critical exception with nothing live."""
    h = harness()
    created(h)
    h.warehouse.refusals["1001-R1"] = "Peoplevox answered 503 (text/html)"
    h.webhook(order(version=2, lines=(line("1", "TEE-M", 0, original=1), line("2", "TEE-L", 1, original=0))))
    h.settle()
    h.peoplevox_status("1001", "Cancelled")  # the status callback of the cancel that went through
    h.settle()
    (exception,) = h.open_exceptions("1001").values()
    assert exception.type == "PVX_NO_LIVE_SALES_ORDER"
    del h.warehouse.refusals["1001-R1"]
    retry = PersonAction(action="retry", exception_id=exception.exception_id, actor="ann")
    h._take("1001", engine.step(h.state("1001"), retry, h.policy, h.reference, h.now))
    h.settle()
    assert [so["lines"] for so in h.warehouse.live()] == [[("TEE-L", 1)]]
    assert h.open_exceptions("1001") == {} and h.state("1001").peoplevox_cancelled is None


def test_a_replacement_whose_number_peoplevox_holds_cancelled_is_retried_under_the_next_number():
    """Peoplevox refused the replacement's lines, so the connector cancelled its new header: that number is
    spent (numbers are never reused), and a retry must take the next one rather than loop on it."""
    h = harness()
    created(h)
    h.warehouse.refusals["1001-R1"] = "Peoplevox saved 0 of 1 Sales order items rows: Row 1: Item code TEE-L not found"
    h.webhook(order(version=2, lines=(line("1", "TEE-M", 0, original=1), line("2", "TEE-L", 1, original=0))))
    h.settle()
    h.peoplevox_status("1001", "Cancelled")
    del h.warehouse.refusals["1001-R1"]
    h.warehouse.orders["1001-R1"] = {"lines": [], "address": None, "gift_message": None, "cancelled": True,
                                     "status": "Cancelled", "reference": "1001"}  # the header it cancelled
    (exception,) = h.open_exceptions("1001").values()
    retry = PersonAction(action="retry", exception_id=exception.exception_id, actor="ann")
    h._take("1001", engine.step(h.state("1001"), retry, h.policy, h.reference, h.now))
    h.settle()
    assert [(number, so["lines"]) for number, so in h.warehouse.orders.items() if not so["cancelled"]] == [
        ("1001-R2", [("TEE-L", 1)])]
    assert h.open_exceptions("1001") == {}


def test_any_other_refused_peoplevox_command_is_an_ordinary_update_failure():
    h = harness()
    h.warehouse.refusals["1001"] = "Peoplevox saved 0 of 1 Sales orders rows: Row 1: Email is invalid"
    created(h)
    (exception,) = h.open_exceptions("1001").values()
    assert (exception.type, exception.severity) == ("PVX_UPDATE_FAILED", "HIGH") and "Row 1" in exception.summary


# --- cut-off --------------------------------------------------------------------------------

def test_edit_after_picking_started_is_not_sent_and_is_owned_by_ops():
    h = harness()
    created(h)
    h.peoplevox_status("1001", "Picking")
    sent_before = len(h.sent)
    h.webhook(order(version=2, lines=(line("1", "TEE-M", 2, original=1),)))
    h.settle()
    assert not [c for c in h.sent[sent_before:] if c.target is Target.PEOPLEVOX]
    assert h.warehouse.live()[0]["lines"] == [("TEE-M", 1)]  # warehouse state wins
    exception = h.open_exceptions("1001")["EDIT_AFTER_PICK"]
    assert exception.owner is Owner.OPS and exception.detail.diff.wire() == {"lines_changed": {"TEE-M": [1, 2]}}
    assert mismatch_reasons(h.state("1001")) == {"edit_after_pick"}


def test_address_change_after_pick_is_owned_by_customer_service():
    h = harness()
    created(h)
    h.peoplevox_status("1001", "Packed")
    h.webhook(order(version=2, shipping_address=HOME.model_copy(update={"zip": "W9"})))
    h.settle()
    assert h.open_exceptions("1001")["EDIT_AFTER_PICK"].owner is Owner.CX


def test_edit_reverted_resolves_the_edit_after_pick_exception():
    h = harness()
    created(h)
    h.peoplevox_status("1001", "Picking")
    h.webhook(order(version=2, lines=(line("1", "TEE-M", 2, original=1),)))
    h.settle()
    h.webhook(order(version=3, lines=(line("1", "TEE-M", 1),)))
    h.settle()
    assert "EDIT_AFTER_PICK" not in h.open_exceptions("1001")
    assert [i.state for i in h.exceptions if i.type == "EDIT_AFTER_PICK"] == ["OPEN", "RESOLVED"]


def test_sink_finding_picking_started_turns_into_the_exception():
    """The engine thought the order was New; the sink's own status check says Picking."""
    h = harness()
    created(h)
    h.warehouse.orders["1001"]["status"] = "Picking"  # changed in the warehouse, callback not yet seen
    h.webhook(order(version=2, lines=(line("1", "TEE-M", 3, original=1),)))
    h.settle()
    assert h.warehouse.live()[0]["lines"] == [("TEE-M", 1)]
    assert h.state("1001").peoplevox_status == "Picking"
    assert "EDIT_AFTER_PICK" in h.open_exceptions("1001")


def test_cut_off_is_configurable():
    h = harness(policy=Policy(cutoff=CutOff("Packed")))
    h.warehouse.cutoff = "Packed"
    created(h)
    h.peoplevox_status("1001", "Picking")
    h.webhook(order(version=2, lines=(line("1", "TEE-M", 2, original=1),)))
    h.settle()
    assert h.warehouse.live()[0]["lines"] == [("TEE-M", 2)]
    with pytest.raises(ValueError):
        CutOff("Shipped")


def test_unknown_warehouse_status_counts_as_past_the_cut_off():
    assert CutOff().reached("OnHold") and not CutOff().reached("New") and not CutOff().reached(None)


# --- recreate-as-new-order ------------------------------------------------------------------

def recreate(h: Harness, marker: dict) -> None:
    h.webhook(order("1001", version=10, cancelled_at=9, lines=(line("1", "TEE-M", 0, original=1),)),
              "ORDER_CANCELLED")
    h.webhook(order("2002", version=11, name="#1001-E1", lines=(line("9", "TEE-L"),), **marker), "ORDER_CREATED")
    h.settle()


@pytest.mark.parametrize("marker", [
    {"note_attributes": (("edited_from", "#1001"),)},
    {"tags": ("edited-from-1001",)},
    {"note": "Edited from order #1001 by the customer"},
])
def test_recreate_cancels_the_original_and_releases_only_the_new_order(marker):
    h = harness()
    created(h)
    recreate(h, marker)
    assert [so["lines"] for so in h.warehouse.live()] == [[("TEE-L", 1)]]
    assert h.warehouse.orders["1001"]["cancelled"]
    assert h.state("1001").successor_id == "2002" and h.state("2002").predecessor_released


def test_new_order_is_held_until_the_original_is_cancelled():
    h = harness()
    created(h)
    h.webhook(order("2002", version=11, name="#1001-E1", lines=(line("9", "TEE-L"),),
                    note_attributes=(("edited_from", "#1001"),)), "ORDER_CREATED")
    h.advance(3000)  # the new order reconciles; the original's cancel has not been confirmed
    assert not [c for c in h.sent if c.order_id == "2002" and c.target is Target.PEOPLEVOX]
    h.settle()
    assert [so["lines"] for so in h.warehouse.live()] == [[("TEE-L", 1)]]


def test_a_link_lost_on_the_way_is_asked_again_until_the_original_answers():
    h = harness()
    created(h)
    h.lose_lookups = 2
    h.webhook(order("2002", version=11, name="#1001-E1", lines=(line("9", "TEE-L"),),
                    note_attributes=(("edited_from", "#1001"),)), "ORDER_CREATED")
    for asked in range(2):
        h.advance(h.policy.debounce_ms + 1)
        h.deliver()
        assert not h.warehouse.orders["1001"]["cancelled"] and len(h.warehouse.live()) == 1
        h.advance(h.policy.fetch_timeout_ms << asked)  # that ask was lost: the new order asks again, backing off
    h.webhook(order("1001", version=10, cancelled_at=9, lines=(line("1", "TEE-M", 0, original=1),)),
              "ORDER_CANCELLED")
    h.settle()
    assert [so["lines"] for so in h.warehouse.live()] == [[("TEE-L", 1)]]
    assert h.state("2002").predecessor_released


def test_a_repeated_link_is_answered_again():
    """The new order asks again when an answer is late; the original answers every time."""
    h = harness()
    created(h)
    recreate(h, {"note_attributes": (("edited_from", "#1001"),)})
    decision = engine.on_successor_linked(h.state("1001"), SuccessorLinked(successor_id="2002"), h.policy,
                                          h.reference, h.now)
    assert [(n.to_order_id, n.message.released) for n in decision.notices] == [("2002", True)]
    assert not decision.commands


def test_recreate_of_an_order_already_being_picked_releases_neither():
    h = harness()
    created(h)
    h.peoplevox_status("1001", "Picking")
    recreate(h, {"note_attributes": (("edited_from", "#1001"),)})
    assert [so["lines"] for so in h.warehouse.live()] == [[("TEE-M", 1)]]
    assert h.open_exceptions("2002")["RECREATE_AMBIGUOUS"].owner is Owner.OPS
    assert "EDIT_AFTER_PICK" in h.open_exceptions("1001")


def test_recreate_of_an_order_already_being_picked_ships_the_new_one_after_ops_cancel_the_original_and_retry():
    """The runbook's way out of RECREATE_AMBIGUOUS: cancel the original in Peoplevox, retry the new order."""
    h = harness()
    created(h)
    h.peoplevox_status("1001", "Picking")
    recreate(h, {"note_attributes": (("edited_from", "#1001"),)})
    ambiguous = h.open_exceptions("2002")["RECREATE_AMBIGUOUS"]
    assert "original is at Picking" in ambiguous.summary
    h.warehouse.orders["1001"]["cancelled"] = True  # operations stopped the original on the floor
    h.peoplevox_status("1001", "Cancelled")
    h.settle()
    assert not any(so["reference"] == "2002" for so in h.warehouse.live())  # nothing moves before the retry
    retry = PersonAction(action="retry", exception_id=ambiguous.exception_id, actor="ann")
    h._take("2002", engine.step(h.state("2002"), retry, h.policy, h.reference, h.now))
    h.settle()
    assert [so["lines"] for so in h.warehouse.live()] == [[("TEE-L", 1)]]
    assert [e.state for e in h.exceptions if e.exception_id == ambiguous.exception_id][-1] == "RESOLVED"


def test_a_marker_naming_no_order_of_the_shop_holds_the_new_order_until_the_marker_is_corrected():
    """A mistyped marker may hide a live original: ops decide, and a retry reads the corrected marker."""
    h = harness()
    new = order("2002", version=11, lines=(line("9", "TEE-L"),), note_attributes=(("edited_from", "#77"),))
    h.webhook(new, "ORDER_CREATED")
    h.settle()
    assert h.warehouse.live() == []
    held = h.open_exceptions("2002")["RECREATE_AMBIGUOUS"]
    assert held.owner is Owner.OPS and "#77 is not an order of this shop" in held.summary
    h.webhook(new.model_copy(update={"version": 12, "note_attributes": ()}))  # the merchant removed the marker
    h.settle()
    assert h.warehouse.live() == []  # a held order waits for the person's decision, not for any edit
    retry = PersonAction(action="retry", exception_id=held.exception_id, actor="ann")
    h._take("2002", engine.step(h.state("2002"), retry, h.policy, h.reference, h.now))
    h.settle()
    assert [so["lines"] for so in h.warehouse.live()] == [[("TEE-L", 1)]]


def test_recreate_markers():
    policy = RecreatePolicy()
    assert referenced_order(order(note_attributes=(("original_order", "gid://shopify/Order/555000111"),)),
                            policy) == "555000111"
    assert referenced_order(order(tags=("vip",), note="call before delivery"), policy) is None
    optional = RecreatePolicy(note_patterns=(r"edited from (#\d+)?",))  # a merchant's pattern: the group may be empty
    assert referenced_order(order(note="Edited from order 12"), optional) is None
    assert referenced_order(order(note="Edited from #12"), optional) == "#12"


# --- SKU mapping ----------------------------------------------------------------------------

def test_unknown_sku_holds_the_whole_order_then_retry_sends_it():
    h = harness()
    created(h, order(lines=(line("1", "TEE-M"), line("2", "NEW-THING"))))
    assert h.warehouse.orders == {}, "held, not half-sent"
    exception = h.open_exceptions("1001")["UNKNOWN_SKU"]
    assert exception.owner is Owner.OPS and exception.detail.wire() == {"skus": ["NEW-THING"]}
    h.reference = Reference(Catalogue(item_codes=REFERENCE.catalogue.item_codes | {"NEW-THING"}))
    h._take("1001", engine.reconcile(h.state("1001"), h.policy, h.reference, h.now))  # what "retry" will do
    h.settle()
    assert h.warehouse.live()[0]["lines"] == [("NEW-THING", 1), ("TEE-M", 1)]
    assert "UNKNOWN_SKU" not in h.open_exceptions("1001")


def test_line_without_sku_is_unknown():
    h = harness()
    created(h, order(lines=(line("1", None),)))
    assert h.open_exceptions("1001")["UNKNOWN_SKU"].detail.wire() == {"skus": ["(line 1 has no SKU)"]}


# --- inventory ------------------------------------------------------------------------------

def test_units_taken_off_before_shipping_go_back_to_stock_added_units_are_shopifys():
    h = harness()
    created(h, order(lines=(line("1", "TEE-M"), line("2", "MUG"))))
    assert h.shopify.levels == {}, "checkout stock is Shopify's own business"
    h.webhook(order(version=2, lines=(line("1", "TEE-M", 0, original=1), line("2", "MUG"),
                                      line("3", "TEE-L", 2, original=0))))
    h.settle()
    assert h.shopify.levels == {"inv-TEE-M@loc-1": 1}, "Shopify commits added units itself"


def test_units_sold_by_an_edit_then_removed_go_back_too():
    h = harness()
    created(h, order(lines=(line("1", "TEE-M", 1),)))
    h.webhook(order(version=2, lines=(line("1", "TEE-M", 3, original=1),)))
    h.webhook(order(version=3, lines=(line("1", "TEE-M", 1, original=1).model_copy(update={"sold_quantity": 3}),)))
    h.settle()
    assert h.shopify.levels == {"inv-TEE-M@loc-1": 2}


def test_no_increment_where_shopify_already_restocked():
    h = harness()
    created(h, order(lines=(line("1", "TEE-M", 2),)))
    h.webhook(order(version=2, lines=(line("1", "TEE-M", 1, original=2, restocked=1),)))
    h.settle()
    assert h.shopify.levels.get("inv-TEE-M@loc-1", 0) == 0


def test_inventory_commands_have_deterministic_idempotency_keys():
    h1, h2 = harness(), harness()
    for h in (h1, h2):
        created(h, order(lines=(line("1", "TEE-M", 3),)))
        h.webhook(order(version=2, lines=(line("1", "TEE-M", 1, original=3),)))
        h.settle()
    keys = [[c.idempotency_key for c in h.sent if c.target is Target.INVENTORY] for h in (h1, h2)]
    assert keys[0] == keys[1] == ["inventory:adjust_inventory:1001:inv-TEE-M@loc-1:1"]


def test_an_adjustment_delivered_twice_changes_stock_once():
    h = harness()
    created(h, order(lines=(line("1", "TEE-M", 3),)))
    h.webhook(order(version=2, lines=(line("1", "TEE-M", 1, original=3),)))
    h.settle()
    (command,) = [c for c in h.sent if c.target is Target.INVENTORY]
    h.execute(command)
    assert h.shopify.levels == {"inv-TEE-M@loc-1": 2}


def test_every_result_delivered_twice_is_counted_once():
    h = harness()
    created(h, order(lines=(line("1", "TEE-M", 3), line("2", "MUG"))))
    h.webhook(order(version=2, lines=(line("1", "TEE-M", 1, original=3), line("2", "MUG", 0, original=1))))
    h.settle()
    before = (dict(h.shopify.levels), {n: dict(so) for n, so in h.warehouse.orders.items()}, h.erp.upserts,
              len(h.sent))
    assert before[0] == {"inv-TEE-M@loc-1": 2, "inv-MUG@loc-1": 1}
    h.redeliver_results()
    h.settle()
    assert (h.shopify.levels, h.warehouse.orders, h.erp.upserts, len(h.sent)) == before


# --- money ----------------------------------------------------------------------------------

def test_many_updated_events_upsert_one_erp_sales_order():
    h = harness()
    created(h)
    for version in range(2, 6):
        h.webhook(order(version=version, note=f"n{version}"))
        h.settle()
    assert list(h.erp.sales_orders) == ["1001"]
    assert h.erp.upserts == 1, "nothing the ERP holds changed"


def test_captured_payment_and_refund_become_payment_and_credit_memo():
    h = harness()
    created(h, order(lines=(line("1", "TEE-M", 2, "25.00"),)))
    assert h.erp.payments == {"t-1001": Decimal("50.00")}
    h.webhook(order(version=2, total=Decimal("25.00"), lines=(line("1", "TEE-M", 1, "25.00", original=2),),
                    refunds=(refund("r-1", "25.00", ("1", 1, "NO_RESTOCK")),)))
    h.settle()
    assert h.erp.credit_memos == {"r-1": Decimal("25.00")}
    assert h.erp.sales_orders["1001"]["total"] == "25.00"


def test_b2b_added_line_off_the_price_list_is_finance_s():
    h = harness(reference=with_price_list({("cl-1", "v-MUG"): Decimal("8.00")}))
    created(h, order(company_location_id="cl-1", lines=(line("1", "MUG", price="8.00"),)))
    assert "PRICE_LIST_MISMATCH" not in h.open_exceptions("1001")
    h.webhook(order(version=2, company_location_id="cl-1",
                    lines=(line("1", "MUG", price="8.00"), line("2", "MUG", price="9.50", original=0))))
    h.settle()
    exception = h.open_exceptions("1001")["PRICE_LIST_MISMATCH"]
    assert exception.owner is Owner.FINANCE
    assert exception.detail.wire()["lines"] == [{"line_id": "2", "sku": "MUG", "variant_id": "v-MUG", "charged": "9.50",
                                      "price_list": "8.00"}]



def test_b2b_added_item_outside_the_companys_catalog_is_finance_s_and_a_retail_order_is_not_judged():
    """The company's price list is its catalog: an added item it does not list was never agreed, whatever it cost."""
    prices = with_price_list({("cl-1", "v-MUG"): Decimal("8.00")})
    h = harness(reference=prices)
    created(h, order(company_location_id="cl-1", lines=(line("1", "MUG", price="8.00"),)))
    h.webhook(order(version=2, company_location_id="cl-1",
                    lines=(line("1", "MUG", price="8.00"), line("2", "SOCK", price="5.00", original=0))))
    h.settle()
    exception = h.open_exceptions("1001")["PRICE_LIST_MISMATCH"]
    assert exception.owner is Owner.FINANCE and "catalog" in exception.summary
    assert exception.detail.wire()["lines"] == [{"line_id": "2", "sku": "SOCK", "variant_id": "v-SOCK",
                                                 "charged": "5.00", "price_list": None}], "no agreed price to name"
    h.webhook(order(version=3, company_location_id="cl-1", lines=(line("1", "MUG", price="8.00"),
                                                                 line("2", "SOCK", 0, price="5.00", original=0))))
    h.settle()
    assert "PRICE_LIST_MISMATCH" not in h.open_exceptions("1001"), "the item taken off again: healed"

    elsewhere = harness(reference=prices)  # a company location without a price list buys at retail
    created(elsewhere, order(company_location_id="cl-2", lines=(line("1", "MUG", price="10.00"),)))
    elsewhere.webhook(order(version=2, company_location_id="cl-2",
                            lines=(line("1", "MUG", price="10.00"), line("2", "SOCK", price="5.00", original=0))))
    elsewhere.settle()
    assert "PRICE_LIST_MISMATCH" not in elsewhere.open_exceptions("1001")



def test_an_edits_balance_left_open_past_the_grace_is_finance_s_and_heals_once_paid():
    """Shopify's admin leaves an upsell's difference to collect: the payment app's grace, then finance."""
    h = harness()
    created(h, order(lines=(line("1", "TEE-M"),)))
    upsold = (line("1", "TEE-M"), line("2", "MUG", price="12.00", original=0))
    h.webhook(order(version=2, lines=upsold, total=Decimal("22.00"), outstanding=Decimal("12.00"),
                    transactions=h.shop["1001"].transactions))
    h.advance(h.policy.debounce_ms + 1)
    h.deliver()
    assert "PAYMENT_OUTSTANDING" not in h.open_exceptions("1001"), "inside the grace the app may still charge it"
    h.settle()  # straight to the grace's end
    owed = h.open_exceptions("1001")["PAYMENT_OUTSTANDING"]
    assert owed.owner is Owner.FINANCE and owed.detail.amount == "12.00" and "12.00 EUR" in owed.summary
    h.webhook(order(version=3, lines=upsold, total=Decimal("22.00"), outstanding=Decimal("0.00")))
    h.settle()
    assert "PAYMENT_OUTSTANDING" not in h.open_exceptions("1001"), "the customer paid the invoice: healed"


def test_a_refund_owed_after_an_edit_is_finance_s_and_an_unedited_unpaid_order_is_nobody_s():
    h = harness()
    created(h, order(lines=(line("1", "TEE-M", 2),)))
    h.webhook(order(version=2, lines=(line("1", "TEE-M", 1, original=2),), total=Decimal("10.00"),
                    outstanding=Decimal("-10.00"), transactions=h.shop["1001"].transactions))
    h.settle()
    refund_owed = h.open_exceptions("1001")["REFUND_OWED"]
    assert refund_owed.detail.amount == "10.00" and refund_owed.owner is Owner.FINANCE

    terms = harness()  # payment terms: owed from checkout, no edit made it so
    created(terms, order(lines=(line("1", "TEE-M"),), outstanding=Decimal("10.00"), transactions=()))
    terms.settle()
    assert not {"PAYMENT_OUTSTANDING", "REFUND_OWED"} & set(terms.open_exceptions("1001"))


# --- cancellation, returns, failures, healing -------------------------------------------------

def test_cancellation_cancels_the_sales_order_and_the_erp_order():
    h = harness()
    created(h)
    h.webhook(order(version=2, cancelled_at=2, lines=(line("1", "TEE-M", 0, original=1, restocked=1),)),
              "ORDER_CANCELLED")
    h.settle()
    assert h.warehouse.live() == [] and h.erp.sales_orders["1001"]["cancelled"] is True


def test_refund_with_return_creates_a_return_in_peoplevox():
    h = harness()
    created(h)
    h.peoplevox_status("1001", "Despatched")
    h.webhook(order(version=2, lines=(line("1", "TEE-M", 0, original=1, restocked=1),),
                    refunds=(refund("r-9", "10.00", ("1", 1, "RETURN")),)))
    h.settle()
    assert h.warehouse.returns == {"r-9"}
    assert h.erp.credit_memos == {"r-9": Decimal("10.00")}


def test_failed_command_becomes_an_owned_exception_and_is_not_resent():
    h = harness()
    h.fail_next[Target.ERP] = "HTTP 500 after 5 attempts"
    created(h)
    (exception,) = [i for i in h.state("1001").exceptions.values() if i.type == "ERP_SYNC_FAILED"]
    assert exception.owner is Owner.FINANCE and "HTTP 500" in exception.summary
    erp_sent = len([c for c in h.sent if c.target is Target.ERP])
    h.webhook(order(version=1, note="same version"), event_id="again")
    h.settle()
    assert len([c for c in h.sent if c.target is Target.ERP]) == erp_sent


def test_heal_resends_in_flight_commands_and_rereads_the_order():
    h = harness()
    h.webhook(order(), "ORDER_CREATED")
    h.advance(3000)  # commands issued, results not yet back
    in_flight = set(h.state("1001").in_flight)
    assert in_flight
    decision = engine.on_heal(h.state("1001"), h.policy, h.now)
    assert {c.command_id for c in decision.commands} == in_flight
    assert decision.state.needs_fetch


def test_state_round_trips_through_json():
    h = harness()
    created(h, order(lines=(line("1", "TEE-M"), line("2", "GIFT-BOX"))))
    state = h.state("1001")
    assert OrderState.model_validate_json(state.model_dump_json()) == state


def test_a_cancelled_sales_order_reported_cancelled_does_not_block_its_re_creation():
    h = harness()
    created(h, order(lines=(line("1", "TEE-M"),)))
    h.webhook(order(version=2, lines=(line("1", "TEE-M", 0, original=1),)))
    h.settle()
    assert h.warehouse.live() == []
    state = h.state("1001")
    h.states["1001"] = state.model_copy(update={"peoplevox_status": "Cancelled", "peoplevox_status_at": h.now})
    h.webhook(order(version=3, lines=(line("1", "TEE-M", 0, original=1), line("2", "MUG", 1, original=0))))
    h.settle()
    assert [so["lines"] for so in h.warehouse.live()] == [[("MUG", 1)]]
    assert "EDIT_AFTER_PICK" not in h.open_exceptions("1001")
