"""What Shopify says an edited order still owes, on the real broker: an admin edit that raises the total leaves
the difference to collect (the Shopify sandbox, as Shopify's admin, charges nothing); once the payment grace
(``EDITSYNC_PAYMENT_GRACE_S``) is over that is ``PAYMENT_OUTSTANDING`` for finance, and it resolves itself
when the customer pays the invoice."""

from __future__ import annotations

import time

import pytest

from sandboxes.testkit.pipeline import pipeline_on_own_broker

GRACE_S = 4


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    with pipeline_on_own_broker(tmp_path_factory.mktemp("money"), EDITSYNC_PAYMENT_GRACE_S=str(GRACE_S)) as running:
        yield running


def test_an_upsell_left_to_collect_is_finance_s_until_the_customer_pays_the_invoice(pipeline):
    plan = pipeline.create({"SOCK": 1})
    pipeline.settled([plan])
    # The merchant adds a mug in Shopify's admin: 12.00 to collect, no charge.
    edited = pipeline.demo.op("edit_order", order_id=plan.order_id, add=[[pipeline.variants["MUG"], 1]])
    assert edited["outstanding"] == "12.00", edited
    owed = pipeline.settled([plan], done=lambda order: "PAYMENT_OUTSTANDING/FINANCE" in order.open_exceptions)
    assert owed.order(plan.order_id).in_sync, "the judge, from Shopify's order apart from editsync, asks for it"
    pipeline.demo.op("pay_outstanding", order_id=plan.order_id)
    paid = pipeline.settled([plan], done=lambda order: order.in_sync and not order.open_exceptions)
    assert paid.order(plan.order_id).in_sync


def test_a_balance_the_editing_app_charges_at_once_is_nobody_s(pipeline):
    plan = pipeline.create({"SOCK": 1})
    pipeline.settled([plan])
    charged = pipeline.demo.op("customer_edit_order", order_id=plan.order_id, add=[[pipeline.variants["MUG"], 1]])
    assert charged["outstanding"] == "0.00", charged
    pipeline.settled([plan])
    time.sleep(GRACE_S + 2)  # past the grace: still nothing for finance
    verdict = pipeline.settled([plan])
    assert not verdict.order(plan.order_id).open_exceptions
