"""The edit lock (streams/core/edit_lock.py): the Shopify order carries the lock tag exactly while Peoplevox holds
its live sales order at or past the cut-off, with one write per change and none for editsync's own webhook."""

from __future__ import annotations

from sandboxes.testkit.core_builders import REFERENCE, order
from streams.core.commands import AddTags, RemoveTags
from streams.core.details import ExceptionType
from streams.core.engine import Policy
from streams.core.health import Pair, order_health
from streams.core.model import Owner, Target
from streams.core.peoplevox import CutOff
from tests.core_harness import Harness

TAG = "editsync-locked"


def harness(policy: Policy | None = None) -> Harness:
    h = Harness(reference=REFERENCE, policy=policy or Policy(lock_tag=TAG))
    h.webhook(order(), "ORDER_CREATED")
    h.settle()
    return h


def tag_commands(h: Harness) -> list[str]:
    return [c.kind for c in h.sent if isinstance(c.payload, (AddTags, RemoveTags))]


def echo(h: Harness) -> None:
    """Shopify answers a tag change with orders/updated, carrying the order as it now is."""
    h.webhook(h.shop["1001"])
    h.settle()


def test_picking_tags_the_order_once_and_its_own_webhook_writes_nothing_more():
    h = harness()
    assert tag_commands(h) == [] and h.shop["1001"].tags == (), "not locked while the warehouse has not started"
    h.peoplevox_status("1001", "Picking")
    h.deliver()
    assert h.shop["1001"].tags == (TAG,) and h.shopify.tag_writes == 1
    echo(h)
    h.peoplevox_status("1001", "Packed")  # further along: still locked, nothing to write
    h.settle()
    assert tag_commands(h) == ["add_tags"] and h.shopify.tag_writes == 1
    assert h.open_exceptions("1001") == {}


def test_the_lock_is_lifted_when_the_warehouse_moves_the_order_back_or_cancels_it():
    h = harness()
    h.peoplevox_status("1001", "Picking")
    h.deliver()
    echo(h)
    h.peoplevox_status("1001", "New")
    h.deliver()
    assert h.shop["1001"].tags == ()
    echo(h)
    h.peoplevox_status("1001", "Picking")
    h.deliver()
    echo(h)
    h.peoplevox_status("1001", "Cancelled")
    h.deliver()
    echo(h)
    assert tag_commands(h) == ["add_tags", "remove_tags", "add_tags", "remove_tags"]
    assert h.shop["1001"].tags == () and h.shopify.tag_writes == 4


def test_a_result_before_the_webhook_plans_no_second_write():
    """The result says Shopify holds the tag while the snapshot read before the write does not show it yet."""
    h = harness()
    h.peoplevox_status("1001", "Picking")
    h.deliver()
    h.peoplevox_status("1001", "Packed")  # reconciles over the snapshot read before the tag was added
    h.settle()
    assert h.shopify.tag_writes == 1 and tag_commands(h) == ["add_tags"]


def test_a_lock_tag_a_merchant_took_off_while_picking_is_put_back():
    h = harness()
    h.peoplevox_status("1001", "Picking")
    h.deliver()
    echo(h)
    snapshot = h.shop["1001"]
    h.webhook(snapshot.model_copy(update={"tags": (), "version": snapshot.version + 1}))
    h.settle()
    assert h.shop["1001"].tags == (TAG,) and h.shopify.tag_writes == 2


def test_the_tag_is_matched_without_case_and_a_lock_editsync_did_not_add_is_left_alone():
    h = Harness(reference=REFERENCE, policy=Policy(lock_tag=TAG))
    h.webhook(order(tags=("VIP", "EditSync-Locked")), "ORDER_CREATED")
    h.settle()
    h.peoplevox_status("1001", "Picking")
    h.settle()
    assert h.shopify.tag_writes == 0, "the order already shows the lock"
    h.peoplevox_status("1001", "New")
    h.settle()
    assert h.shopify.tag_writes == 0 and h.shop["1001"].tags == ("VIP", "EditSync-Locked"), "the merchant's lock"


def test_other_tags_are_kept():
    h = Harness(reference=REFERENCE, policy=Policy(lock_tag=TAG))
    h.webhook(order(tags=("VIP",)), "ORDER_CREATED")
    h.settle()
    h.peoplevox_status("1001", "Picking")
    h.deliver()
    echo(h)
    h.peoplevox_status("1001", "New")
    h.deliver()
    assert h.shop["1001"].tags == ("VIP",)


def test_no_lock_tag_configured_no_lock():
    h = harness(Policy())
    h.peoplevox_status("1001", "Picking")
    h.settle()
    assert tag_commands(h) == [] and h.shopify.tag_writes == 0


def test_the_cut_off_setting_decides_when_the_lock_lands():
    h = harness(Policy(lock_tag=TAG, cutoff=CutOff("Packed")))
    h.peoplevox_status("1001", "Picking")
    h.settle()
    assert h.shopify.tag_writes == 0
    h.peoplevox_status("1001", "Packed")
    h.deliver()
    assert h.shop["1001"].tags == (TAG,)


def test_a_missing_write_orders_scope_is_the_access_denied_exception_and_is_not_repeated():
    h = harness()
    h.shopify.scopes = frozenset()
    h.peoplevox_status("1001", "Picking")
    h.deliver()
    denied = h.open_exceptions("1001")["SHOPIFY_ACCESS_DENIED"]
    assert "write_orders" in denied.suggested_action and denied.detail.detail.required_access == "write_orders"
    echo(h)
    h.peoplevox_status("1001", "Packed")
    h.settle()
    assert tag_commands(h) == ["add_tags"], "a refused write waits for a person's retry"


def test_command_ids_are_deterministic():
    first, second = harness(), harness()
    for h in (first, second):
        h.peoplevox_status("1001", "Picking")
    assert [c.command_id for c in first.outbox if c.kind == "add_tags"] == [
        c.command_id for c in second.outbox if c.kind == "add_tags"] == ["shopify:add_tags:1001:1001"]


def test_a_refused_lock_is_an_operations_exception_between_shopify_and_the_warehouse():
    h = harness()
    h.refuse_next[Target.SHOPIFY] = "Shopify refused tagsAdd"
    h.peoplevox_status("1001", "Picking")
    h.deliver()
    failed = h.open_exceptions("1001")[ExceptionType.EDIT_LOCK_FAILED]
    assert failed.owner is Owner.OPS and TAG in failed.suggested_action and "Shopify inventory" not in failed.summary
    assert [(gap.pair, gap.reason) for gap in order_health(h.state("1001")).gaps] == [
        (Pair.SHOPIFY_PEOPLEVOX, "edit_lock_failed")], "not a stock gap, though it travels with the stock commands"
