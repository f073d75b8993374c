"""People act on exceptions: retry, resolve, ignore, and the heal that needs no one (streams/core/actions.py)."""

from __future__ import annotations

from dataclasses import replace

from sandboxes.testkit.core_builders import REFERENCE, line, order
from streams.core import engine
from streams.core.actions import answering, unknown_skus_now_known, waiting_for_system
from streams.core.exceptions import MAX_AUTO_RETRIES
from streams.core.inputs import FetchedSnapshot, PersonAction, Recheck, ResultIn, SystemAnswering, Tick
from streams.core.model import Owner, Target
from streams.core.reference import Catalogue, Reference
from tests.core_harness import Harness


class People(Harness):
    def act(self, order_id: str, action: str, exception_id: str, note: str | None = None):
        person = PersonAction(action=action, exception_id=exception_id, actor="ann@shop", note=note)
        decision = engine.step(self.state(order_id), person, self.policy, self.reference, self.now)
        if decision is not None:
            self._take(order_id, decision)
        return decision

    def answering(self, order_id: str, target: Target):
        """editsync saw ``target`` answer again (another order's command went through, or its probe did)."""
        decision = engine.step(self.state(order_id), SystemAnswering(target=target), self.policy, self.reference,
                               self.now)
        if decision is not None:
            self._take(order_id, decision)
        return decision

    def records(self, exception_id: str) -> list[str]:
        """Every state the exception was published in, oldest first (what exceptions.v1 carries)."""
        return [exception.state for exception in self.exceptions if exception.exception_id == exception_id]


def erp_failed() -> tuple[People, str]:
    h = People(reference=REFERENCE)
    h.fail_next[Target.ERP] = "HTTP 503 after 8 attempts"
    h.webhook(order(), "ORDER_CREATED")
    h.settle()
    (failed,) = [e for e in h.state("1001").exceptions.values() if e.type == "ERP_SYNC_FAILED"]
    return h, failed.exception_id


def test_retry_resends_the_same_command_once_the_erp_is_back_and_resolves_the_exception():
    h, exception_id = erp_failed()
    failed_command = h.state("1001").exceptions[exception_id].detail.command_id
    assert h.erp.sales_orders == {}
    reads = h.fetches
    decision = h.act("1001", "retry", exception_id, note="NetSuite is back")
    assert [(e.state, e.actor, e.note) for e in decision.exceptions] == [("RETRYING", "ann@shop", "NetSuite is back")]
    assert failed_command not in h.state("1001").failed
    h.settle()
    assert list(h.erp.sales_orders) == ["1001"] and h.erp.upserts == 1
    resent = [c.command_id for c in h.sent if c.kind == "upsert_sales_order"]
    assert resent == [failed_command, failed_command], "the same deterministic command, not a new one"
    assert h.records(exception_id) == ["OPEN", "RETRYING", "RESOLVED"]
    assert exception_id not in h.state("1001").exceptions
    assert h.fetches == reads + 1, "the retry re-read the order before reconciling"


def test_a_retry_that_fails_again_reopens_the_exception():
    h, exception_id = erp_failed()
    h.fail_next[Target.ERP] = "HTTP 503 after 8 attempts"
    h.act("1001", "retry", exception_id)
    h.settle()
    assert h.records(exception_id) == ["OPEN", "RETRYING", "OPEN"]
    assert h.state("1001").exceptions[exception_id].state == "OPEN"


def test_a_repeated_retry_is_one_retry():
    h, exception_id = erp_failed()
    h.act("1001", "retry", exception_id)
    assert h.act("1001", "retry", exception_id) is None, "nothing to do, and the pending re-read keeps its timer"
    h.advance(h.policy.debounce_ms + 1)  # the re-read is due once the debounce is over, not minutes later
    h.deliver()
    assert h.erp.upserts == 1


def test_retrying_an_unknown_sku_reopens_it_until_the_item_exists_then_the_order_ships():
    h = People(reference=REFERENCE)
    h.webhook(order(lines=(line("1", "TEE-M"), line("2", "POSTER"))), "ORDER_CREATED")
    h.settle()
    exception_id = "1001:UNKNOWN_SKU"
    assert h.state("1001").exceptions[exception_id].owner is Owner.OPS
    h.act("1001", "retry", exception_id)
    h.settle()
    assert h.records(exception_id) == ["OPEN", "RETRYING", "OPEN"] and h.warehouse.orders == {}
    h.reference = Reference(replace(REFERENCE.catalogue, item_codes=REFERENCE.catalogue.item_codes | {"POSTER"}))
    h.act("1001", "retry", exception_id)
    h.settle()
    assert h.records(exception_id)[-2:] == ["RETRYING", "RESOLVED"]
    assert [dict(so["lines"]) for so in h.warehouse.live()] == [{"POSTER": 1, "TEE-M": 1}]


def test_a_recheck_reconciles_a_held_order_only_once_its_items_exist():
    h = People(reference=REFERENCE)
    h.webhook(order(lines=(line("1", "TEE-M"), line("2", "POSTER"))), "ORDER_CREATED")
    h.settle()
    assert engine.step(h.state("1001"), Recheck(), h.policy, h.reference, h.now) is None
    h.reference = Reference(replace(REFERENCE.catalogue, item_codes=REFERENCE.catalogue.item_codes | {"POSTER"}))
    h._take("1001", engine.step(h.state("1001"), Recheck(), h.policy, h.reference, h.now))
    h.deliver()
    assert h.records("1001:UNKNOWN_SKU") == ["OPEN", "RESOLVED"], "no retry, no re-read: the items now exist"
    assert [dict(so["lines"]) for so in h.warehouse.live()] == [{"POSTER": 1, "TEE-M": 1}]


def test_a_resolved_rule_exception_stays_resolved_until_the_facts_change():
    h = People(reference=REFERENCE)
    h.webhook(order(), "ORDER_CREATED")
    h.settle()
    h.peoplevox_status("1001", "Picking")
    h.webhook(order(version=2, lines=(line("1", "TEE-M"), line("2", "CAP"))))
    h.settle()
    exception_id = "1001:EDIT_AFTER_PICK"
    decision = h.act("1001", "resolve", exception_id, note="Added the cap to the parcel by hand")
    (closed,) = decision.exceptions
    assert (closed.state, closed.actor, closed.note) == ("RESOLVED", "ann@shop", "Added the cap to the parcel by hand")
    h.webhook(order(version=3, lines=(line("1", "TEE-M"), line("2", "CAP")), note="same lines"))
    h.settle()
    assert h.records(exception_id) == ["OPEN", "RESOLVED"], "the same facts do not reopen it"
    h.webhook(order(version=4, lines=(line("1", "TEE-M"), line("2", "CAP"), line("3", "MUG"))))
    h.settle()
    assert h.records(exception_id) == ["OPEN", "RESOLVED", "OPEN"], "a new edit after picking is news"
    assert h.state("1001").exceptions[exception_id].actor is None


def test_an_ignored_failure_is_closed_and_its_command_not_resent():
    h, exception_id = erp_failed()
    erp_sent = len([c for c in h.sent if c.target is Target.ERP])
    (closed,) = h.act("1001", "ignore", exception_id, note="Keyed into NetSuite by hand").exceptions
    assert closed.state == "IGNORED" and exception_id not in h.state("1001").exceptions
    h.webhook(order(note="anything"), event_id="later")
    h.settle()
    assert len([c for c in h.sent if c.target is Target.ERP]) == erp_sent
    assert h.act("1001", "resolve", exception_id) is None, "an action on a closed exception changes nothing"


def test_unknown_skus_now_known_is_the_auto_heal_rule():
    h = People(reference=REFERENCE)
    h.webhook(order(lines=(line("1", "TEE-M"), line("2", "POSTER"), line("3", "LAMP"))), "ORDER_CREATED")
    h.settle()
    state = h.state("1001")
    codes = REFERENCE.catalogue.item_codes
    assert not unknown_skus_now_known(state, REFERENCE.catalogue)
    assert not unknown_skus_now_known(state, Catalogue(codes | {"POSTER"}))
    assert unknown_skus_now_known(state, Catalogue(codes | {"POSTER", "LAMP"}))
    assert not unknown_skus_now_known(h.state("2002"), Catalogue(codes | {"POSTER", "LAMP"}))


# --- a system that did not answer, and answers again -------------------------------------------


def test_once_the_erp_answers_again_what_it_never_answered_goes_again_once_without_anyone():
    h, exception_id = erp_failed()
    assert h.state("1001").exceptions[exception_id].suggested_action.startswith(
        "The ERP did not answer: editsync sends this again by itself")
    reads = h.fetches
    assert h.answering("1001", Target.PEOPLEVOX) is None, "Peoplevox answering says nothing about the ERP"
    decision = h.answering("1001", Target.ERP)
    assert [(e.state, e.actor) for e in decision.exceptions] == [("RETRYING", None)]
    assert [c.kind for c in decision.commands] == ["upsert_sales_order"], "sent at once, without a re-read"
    h.deliver()
    assert list(h.erp.sales_orders) == ["1001"] and h.erp.upserts == 1
    assert h.records(exception_id) == ["OPEN", "RETRYING", "RESOLVED"]
    assert h.fetches == reads
    assert h.answering("1001", Target.ERP) is None, "nothing waits any more"
    h.settle()
    assert h.erp.upserts == 1 and h.erp.payments, "the payment that waited for the sales order followed, once"


def test_a_refusal_never_heals_by_itself():
    h = People(reference=REFERENCE)
    h.refuse_next[Target.ERP] = "Invalid Field Value for the following field: entity"
    h.webhook(order(), "ORDER_CREATED")
    h.settle()
    (failed,) = [e for e in h.state("1001").exceptions.values() if e.type == "ERP_SYNC_FAILED"]
    assert waiting_for_system(h.state("1001"), Target.ERP) == ()
    assert h.answering("1001", Target.ERP) is None
    assert h.erp.sales_orders == {} and h.records(failed.exception_id) == ["OPEN"], "a person must fix the data"


def test_a_command_the_erp_keeps_not_answering_goes_again_a_bounded_number_of_times():
    h, exception_id = erp_failed()
    first_seen = h.state("1001").exceptions[exception_id].first_seen
    for _ in range(MAX_AUTO_RETRIES):
        h.now += 60_000
        h.fail_next[Target.ERP] = "HTTP 503 after 8 attempts"
        assert h.answering("1001", Target.ERP) is not None
        h.deliver()
        assert h.state("1001").exceptions[exception_id].state == "OPEN"
    assert h.answering("1001", Target.ERP) is None, "then a person decides"
    assert h.state("1001").exceptions[exception_id].first_seen == first_seen, "the same exception, not news"
    assert h.state("1001").exceptions[exception_id].suggested_action == "Fix the cause shown, then retry the order."
    assert h.records(exception_id) == ["OPEN", *["RETRYING", "OPEN"] * MAX_AUTO_RETRIES]
    assert h.act("1001", "retry", exception_id) is not None, "and a person can still retry"
    h.settle()
    assert h.records(exception_id)[-1] == "RESOLVED" and h.erp.upserts == 1


def test_what_shows_a_system_answering():
    h, _ = erp_failed()
    command = next(c for c in h.sent if c.target is Target.ERP)
    assert answering(ResultIn(command=command, outcome="APPLIED")) is Target.ERP
    assert answering(ResultIn(command=command, outcome="FAILED", reason="400", detail={"http_status": 400})) is Target.ERP
    assert answering(ResultIn(command=command, outcome="FAILED", reason="503", detail={"gave_up": True})) is None
    assert answering(FetchedSnapshot(snapshot=order())) is Target.INVENTORY, "the Admin API answers reads"
    assert answering(Tick()) is None
