"""The sinks on the real broker while Peoplevox, the ERP and Shopify push back.

Each test acts as merchant and warehouse, makes a system misbehave through
its sandbox's fault controls, and then judges the end state of every system
and the results topic: the effect happens exactly once, or the command
becomes an owned exception, never silence.
"""

from __future__ import annotations

import time

import httpx
import pytest
from confluent_kafka import Producer

from sandboxes.testkit.pipeline import CODEC, Pipeline, pipeline_on_own_broker
from sandboxes.testkit.support import shortest_retry_span_s
from streams.kafka import topics

BACKOFF_S = 0.5
MAX_ATTEMPTS = 8
OUTAGE_S = 30.0
ERP_TOKEN_S = 5
PEOPLEVOX_TIMEOUT_S = 2.0


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    with pipeline_on_own_broker(tmp_path_factory.mktemp("sinks"), EDITSYNC_SINK_BACKOFF_S=str(BACKOFF_S),
                                EDITSYNC_SINK_MAX_ATTEMPTS=str(MAX_ATTEMPTS),
                                EDITSYNC_PEOPLEVOX_TIMEOUT_S=str(PEOPLEVOX_TIMEOUT_S)) as running:
        # NetSuite access tokens last an hour; here a few seconds, so every test crosses expiries.
        httpx.put(f"{running.sandboxes.control_url('erp')}/oauth", json={"token_lifetime_s": ERP_TOKEN_S},
                  timeout=10).raise_for_status()
        yield running


def results_for(pipeline: Pipeline, plan) -> list[dict]:
    return pipeline.records(plan, topics.COMMANDS_RESULTS)


def effects(pipeline: Pipeline, plan) -> tuple:
    """What the order changed in every system: its sales orders, ERP records, stock, returns, tags, fulfillments."""
    state = pipeline.demo.state
    shop = state(pipeline.demo.shopify)
    order = shop["orders"][str(plan.order_id)]
    return (pipeline.sales_orders(plan), state(pipeline.demo.erp), shop["stock"],
            state(pipeline.demo.peoplevox)["returns"], order["tags"], order["fulfillments"])


def metric(pipeline: Pipeline, name: str, **labels: str) -> float:
    total = 0.0
    for line in httpx.get(f"{pipeline.service.url}/metrics", timeout=10).text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_every_command_delivered_twice_has_its_effect_once(pipeline):
    plan = pipeline.create({"TEE-M": 3, "MUG": 1})
    pipeline.settled([plan])
    pipeline.edit(plan, "edit_order", set_quantity={str(plan.first_line_id): 1}, restock=False)
    mug_line = next(line["id"] for line in pipeline.demo.state(pipeline.demo.shopify)["orders"][str(plan.order_id)]
                    ["lines"] if line["sku"] == "MUG")
    pipeline.edit(plan, "refund", lines={str(mug_line): 1}, restock_type="NO_RESTOCK")
    pipeline.settled([plan])
    pipeline.force_status(plan, "Despatched")  # the lock tag and the fulfillment: the Shopify order's commands
    pipeline.wait_for("the despatch fulfilled", lambda: pipeline.demo.state(pipeline.demo.shopify)["orders"][
        str(plan.order_id)]["fulfillments"], timeout_s=20)
    pipeline.settled([plan])
    time.sleep(2)  # the last results in flight reach the agent
    before = effects(pipeline, plan)
    sent = {topic: pipeline.records(plan, topic) for topic in topics.COMMANDS_BY_TARGET.values()}
    assert all(sent.values()), {topic: len(records) for topic, records in sent.items()}
    kinds = {record["kind"] for records in sent.values() for record in records}
    assert {"create_sales_order", "replace_sales_order", "adjust_inventory", "record_payment",
            "create_credit_memo", "add_tags", "create_fulfillment"} <= kinds, kinds
    results_before = len(results_for(pipeline, plan))

    producer = Producer({"bootstrap.servers": pipeline.bootstrap})
    for topic, records in sent.items():
        for record in records:  # every command this order ever had, again, twice
            for _ in range(2):
                producer.produce(topic, key=str(plan.order_id).encode(), value=CODEC.encode(topic, record))
    assert producer.flush(10) == 0
    redelivered = sum(len(records) for records in sent.values()) * 2
    pipeline.wait_for("every redelivered command answered",
                      lambda: len(results_for(pipeline, plan)) >= results_before + redelivered, timeout_s=60)

    after = effects(pipeline, plan)
    assert after[0].keys() == before[0].keys() and [so["lines"] for so in after[0].values()] == \
        [so["lines"] for so in before[0].values()], "no second sales order, no line changed"
    assert {t: len(r) for t, r in after[1].items()} == {t: len(r) for t, r in before[1].items()}, \
        "no second ERP record of any type"
    assert after[2] == before[2], "no second stock adjustment"
    assert after[3] == before[3], "no second return"
    assert pipeline.settled([plan]).totals["duplicate_sales_orders"] == 0


def test_an_update_racing_the_pick_cycle_is_refused_at_the_state_check(pipeline):
    """Picking starts and editsync has not heard yet: the sink's re-read refuses, nothing is written."""
    plan = pipeline.create({"HOODIE-L": 1})
    pipeline.settled([plan])
    warehouse = pipeline.sandboxes.warehouse
    with warehouse.lock:  # the floor's status callback is late: editsync learns it only from its own check
        subscriptions = dict(warehouse.subscriptions)
        warehouse.subscriptions.clear()
    try:
        pipeline.force_status(plan, "Picking")
        saves_before = pipeline.calls_to("peoplevox", "SaveData")
        pipeline.edit(plan, "edit_order", add=[[pipeline.variants["SOCK"], 1]])
        refused = pipeline.wait_for("a REJECTED_CUTOFF result", lambda: [
            r for r in results_for(pipeline, plan) if r["outcome"] == "REJECTED_CUTOFF"])
        assert refused[0]["kind"] == "update_sales_order"
        verdict = pipeline.settled([plan], done=lambda order: "EDIT_AFTER_PICK/OPS" in order.open_exceptions)
    finally:
        with warehouse.lock:
            warehouse.subscriptions.update(subscriptions)
    saves_after = pipeline.calls_to("peoplevox", "SaveData")
    assert saves_after == saves_before, "nothing written to Peoplevox"
    assert [so["lines"] for so in pipeline.live_sales_orders(plan)] == [{"HOODIE-L": 1}]
    assert verdict.order(plan.order_id).unexplained == (), "the pre-edit sales order held, explained by ops"


def test_a_bad_day_outage_storms_and_expired_sessions_lose_nothing(pipeline):
    """Peoplevox down for 30 s, ERP 429 storm and 5xx burst, Shopify throttling, sessions expired mid-run."""
    assert shortest_retry_span_s(MAX_ATTEMPTS, BACKOFF_S) > OUTAGE_S, "the test's retries must outlast the outage"
    retries_before = metric(pipeline, "editsync_command_retries_total")
    auths_before = pipeline.calls_to("peoplevox", "Authenticate")
    erp_tokens_before = pipeline.calls_to("erp", "POST token")
    pipeline.set_faults("peoplevox", down_for_s=OUTAGE_S)
    pipeline.set_faults("erp", throttle_rate=0.5, fail_next=[500, 502, 503, 500, 503])
    pipeline.set_faults("shopify", throttle_rate=0.3)
    started = time.monotonic()
    plans = []
    for sku in ("TEE-S", "TEE-L", "CAP", "SOCK"):
        plan = pipeline.create({sku: 1, "MUG": 1})
        plans.append(plan)
    for plan in plans[:2]:
        pipeline.edit(plan, "change_address", address1="5 Other Road", zip="LS5 5AA")
    pipeline.edit(plans[2], "edit_order", add=[[pipeline.variants["HOODIE-M"], 1]])
    pipeline.demo.op("pay_outstanding", order_id=plans[2].order_id)  # the admin edit's invoice, paid
    # Sessions expire while Peoplevox is still down: the first call after the outage must log in again
    # (the client's own retries can finish every command within a second of the outage ending).
    time.sleep(max(0.0, OUTAGE_S - 2 - (time.monotonic() - started)))
    httpx.post(f"{pipeline.sandboxes.control_url('peoplevox')}/expire-sessions", timeout=10).raise_for_status()
    httpx.post(f"{pipeline.sandboxes.control_url('erp')}/expire-tokens", timeout=10).raise_for_status()
    pipeline.set_faults("erp", throttle_rate=0.0)
    pipeline.set_faults("shopify", throttle_rate=0.0)

    verdict = pipeline.settled(plans, timeout_s=90)
    assert verdict.totals["duplicate_sales_orders"] == 0 and verdict.totals["lost_orders"] == 0
    failed = [r for plan in plans for r in results_for(pipeline, plan) if r["outcome"] == "FAILED"]
    assert failed == [], "every transient failure was retried to success"
    assert metric(pipeline, "editsync_command_retries_total", target="PEOPLEVOX") > 0
    assert metric(pipeline, "editsync_command_retries_total", target="ERP") > 0
    assert metric(pipeline, "editsync_command_retries_total") > retries_before
    auths = pipeline.calls_to("peoplevox", "Authenticate")
    assert auths > auths_before, "the expired session was renewed"
    assert pipeline.calls_to("erp", "POST token") > erp_tokens_before + OUTAGE_S / ERP_TOKEN_S / 2, \
        "NetSuite access tokens ran out and were renewed throughout"
    assert all(verdict.order(plan.order_id).open_exceptions == () for plan in plans)


def test_a_command_that_keeps_failing_becomes_an_owned_exception(pipeline):
    """A permanent refusal is not retried: it becomes a FAILED result and an exception with an owner."""
    pipeline.set_faults("erp", fail_next=[400] * 3)
    plan = pipeline.create({"CAP": 2})
    try:
        verdict = pipeline.settled([plan], done=lambda order: any(
            e.startswith("ERP_SYNC_FAILED/") for e in order.open_exceptions))
    finally:
        pipeline.set_faults("erp", fail_next=[])
    order = verdict.order(plan.order_id)
    assert "ERP_SYNC_FAILED/FINANCE" in order.open_exceptions
    assert order.mismatches and order.unexplained == (), "the missing ERP records are explained by finance's exception"


def test_size_swaps_while_peoplevox_often_fails_leave_exactly_one_live_sales_order_each(pipeline):
    """10 % of Peoplevox calls answer 5xx with an HTML page, 5 % time out after the import happened.

    Every swap is a cancel-and-replace; a failure between the cancel and the create must be retried to
    the end, and a lost answer must not add the lines twice: one live sales order, the right lines.
    """
    plans = [pipeline.create({"TEE-M": 1, "MUG": 1}) for _ in range(6)]
    pipeline.settled(plans)
    calls_before = len(httpx.get(f"{pipeline.sandboxes.control_url('peoplevox')}/calls", timeout=10).json())
    pipeline.set_faults("peoplevox", error_rate=0.10, timeout_rate=0.05, hang_s=PEOPLEVOX_TIMEOUT_S + 1)
    try:
        for plan in plans:
            pipeline.edit(plan, "edit_order", set_quantity={str(plan.first_line_id): 0},
                          add=[[pipeline.variants["TEE-L"], 1]])
        verdict = pipeline.settled(plans, timeout_s=240)
    finally:
        pipeline.set_faults("peoplevox", error_rate=0.0, timeout_rate=0.0)
    calls = httpx.get(f"{pipeline.sandboxes.control_url('peoplevox')}/calls", timeout=10).json()[calls_before:]
    faults = {fault: sum(1 for call in calls if call["fault"] == fault) for fault in ("error", "down")}
    # Random faults: some run may see no timeout (about 1 in 10), but never none at all (about 1 in 1,000).
    assert faults["error"] + faults["down"] > 0, f"the faults must have happened: {faults}"
    for plan in plans:
        assert [so["lines"] for so in pipeline.live_sales_orders(plan)] == [{"TEE-L": 1, "MUG": 1}], plan.name
        replaced = [r for r in results_for(pipeline, plan) if r["kind"] == "replace_sales_order"]
        assert [r["outcome"] for r in replaced][-1:] == ["APPLIED"], plan.name
    failed = [r for plan in plans for r in results_for(pipeline, plan) if r["outcome"] == "FAILED"]
    assert failed == [], "nothing permanent"
    assert verdict.totals["duplicate_sales_orders"] == 0
    assert all(verdict.order(plan.order_id).open_exceptions == () for plan in plans)


def test_a_slow_warehouse_gets_several_orders_at_once_and_each_exactly_once(pipeline):
    """With Peoplevox taking a second a call, one call at a time would make every order queue behind the
    slowest: the sink runs several orders' commands at once (EDITSYNC_SINK_CONCURRENCY), one per order."""
    calls_before = len(httpx.get(f"{pipeline.sandboxes.control_url('peoplevox')}/calls", timeout=10).json())
    pipeline.set_faults("peoplevox", latency_ms=1000)
    try:
        plans = [pipeline.create({"SOCK": 1, "CAP": 1}) for _ in range(6)]
        verdict = pipeline.settled(plans, timeout_s=120)
    finally:
        pipeline.set_faults("peoplevox", latency_ms=0)
    saves = [(call["at"] - call["duration_ms"] / 1000, call["at"])  # a call is logged when it ends
             for call in httpx.get(f"{pipeline.sandboxes.control_url('peoplevox')}/calls", timeout=10).json()[calls_before:]
             if call["operation"] == "SaveData"]
    at_once = max(sum(1 for start, end in saves if start <= moment < end) for moment, _ in saves)
    assert at_once >= 2, f"one Peoplevox write at a time: {saves}"
    assert verdict.totals["duplicate_sales_orders"] == 0
    for plan in plans:
        assert [so["lines"] for so in pipeline.live_sales_orders(plan)] == [{"SOCK": 1, "CAP": 1}]
