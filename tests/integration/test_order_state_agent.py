"""The order-state agent on the real broker: edits reach every system, or become owned exceptions.

Everything goes the production way: the Shopify sandbox signs and sends
webhooks to the service, the agent reads orders back through the Admin API,
sinks write Peoplevox over SOAP and the ERP over REST, Peoplevox calls back.
"""

from __future__ import annotations

import pytest

from sandboxes.demo import Plan
from tests.integration.pipeline import pipeline_on_own_broker


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    with pipeline_on_own_broker(tmp_path_factory.mktemp("agent")) as running:
        yield running


def test_an_order_and_its_size_swap_reach_peoplevox_stock_and_the_erp(pipeline):
    plan = pipeline.create({"TEE-M": 2, "MUG": 1})
    pipeline.settled([plan])
    stock_before = pipeline.demo.state(pipeline.demo.shopify)["stock"]
    # Swap the tees for a large one without restocking: editsync must cancel-and-replace the
    # sales order (Peoplevox never removes a line) and put the two mediums back on the shelf.
    pipeline.edit(plan, "edit_order", set_quantity={str(plan.first_line_id): 0},
                  add=[[pipeline.variants["TEE-L"], 1]], restock=False)
    results = pipeline.settled([plan])
    live = pipeline.live_sales_orders(plan)
    assert [so["lines"] for so in live] == [{"MUG": 1, "TEE-L": 1}]
    assert len(pipeline.sales_orders(plan)) == 2, "the first sales order is cancelled, not reused"

    def stock_moves() -> list[int]:
        stock = pipeline.demo.state(pipeline.demo.shopify)["stock"]
        return sorted(stock[key] - stock_before[key] for key in stock if stock[key] != stock_before[key])

    # Shopify itself committed the large tee (-1); editsync returned the two mediums it did not restock.
    pipeline.wait_for("the mediums back in stock, once", lambda: stock_moves() == [-1, 2])
    assert results["duplicate_sales_orders"] == 0


def test_an_edit_after_picking_started_is_an_ops_exception_and_nothing_is_sent(pipeline):
    plan = pipeline.create({"HOODIE-M": 1})
    pipeline.settled([plan])
    pipeline.force_status(plan, "Picking")
    # Whether the status callback or the sink's own state check sees Picking first, nothing is written.
    pipeline.edit(plan, "edit_order", add=[[pipeline.variants["CAP"], 1]])
    results = pipeline.settled([plan], done=lambda row: "EDIT_AFTER_PICK" in row["exceptions"])
    exception = next(e for e in pipeline.exceptions().values()
                 if e["order_id"] == str(plan.order_id) and e["type"] == "EDIT_AFTER_PICK")
    assert exception["owner"] == "OPS" and exception["state"] == "OPEN"
    assert [so["lines"] for so in pipeline.live_sales_orders(plan)] == [{"HOODIE-M": 1}]
    assert pipeline.row(plan, results)["peoplevox"].startswith("expected"), "counted as a mismatch"


def test_a_recreated_order_ships_and_its_original_does_not(pipeline):
    original = pipeline.create({"TEE-S": 1, "SOCK": 2})
    pipeline.settled([original])
    new = pipeline.edit(original, "recreate_order", items=[[pipeline.variants["TEE-L"], 1]], marker="note")
    original.superseded = True
    successor = pipeline.demo.plans.setdefault(new["id"], Plan.of(new, ["recreated"]))
    results = pipeline.settled([original, successor])
    assert pipeline.live_sales_orders(original) == []
    assert [so["lines"] for so in pipeline.live_sales_orders(successor)] == [{"TEE-L": 1}]
    assert results["duplicate_sales_orders"] == 0


def test_after_a_crash_with_local_state_wiped_it_heals_without_a_second_sales_order(pipeline):
    """SIGKILL while Peoplevox is slow (commands in flight), data dir deleted, edits made while down."""
    plan = pipeline.create({"TEE-M": 1, "CAP": 1})
    pipeline.settled([plan])
    pipeline.set_faults("peoplevox", latency_ms=4000)
    pipeline.edit(plan, "change_address", address1="9 Moved Street", zip="LS9 9ZZ")
    pipeline.wait_for("the update under way", lambda: any(
        c["kind"] == "update_sales_order" for c in pipeline.records(plan)), timeout_s=20)

    def while_down() -> None:
        pipeline.set_faults("peoplevox", latency_ms=0)
        pipeline.edit(plan, "edit_order", add=[[pipeline.variants["SOCK"], 2]])
        late.append(pipeline.create({"MUG": 3}))

    late: list = []
    pipeline.restart(kill=True, wipe=True, while_down=while_down)
    results = pipeline.settled([plan, *late], timeout_s=120)
    live = pipeline.live_sales_orders(plan)
    assert len(live) == 1 and live[0]["lines"] == {"TEE-M": 1, "CAP": 1, "SOCK": 2}
    assert "9 Moved Street" in str(live[0]["fields"])
    assert results["duplicate_sales_orders"] == 0 and results["lost_edits"] == 0
