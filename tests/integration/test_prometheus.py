"""Dashboards and alerts proven against a real Prometheus scraping a running stack.

``editsync run`` (a subprocess, on its own broker, against the sandboxes) is scraped every
second by Prometheus from Debian's package, with the repo's alert rules loaded. A scenario of a
few orders (one retried ERP write, one refused for good, one unknown SKU, an edit after
picking started, a malformed webhook) runs through it; then every panel of every dashboard is
executed through Prometheus' HTTP API and must return data, lag must fall back to 0 when idle,
and the out-of-sync alert must fire for the edit after pick. Then the webhook partitions are left
paused in the consumer, as Faust can leave partitions after a rebalance: the stall guard resumes
the one an order's webhook lands in and the order goes through. Last, an injected exception stops
the order-state agent's loop: the crash is counted, the stalled-partition alert fires, and the
worker exits with code 70 so that its supervisor replaces it.

The rules are the repo's own, with two thresholds and every ``for:`` shortened (``FAST``) so
that they fire within a test; their real values are proven by ``promtool test rules``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import yaml

from sandboxes.testkit.kafka_reader import read_topic
from sandboxes.testkit.pipeline import Pipeline, pipeline_on_own_broker
from sandboxes.testkit.service import PARTITIONS, ROOT, SECRET
from sandboxes.testkit.support import webhook_headers
from streams.kafka import topics
from streams.supervision.watchdog import EXIT_AGENT_CRASHED
from tests.integration.prometheus import Prometheus

AGENT_INPUTS = {topics.SHOPIFY_WEBHOOKS_RAW, topics.ORDERS_EVENTS, topics.COMMANDS_RESULTS, topics.ORDER_INPUTS,
                topics.SHOPIFY_READS, topics.COMMANDS_RETRY, *topics.COMMANDS_BY_TARGET.values()}
DASHBOARDS = sorted((ROOT / "grafana" / "dashboards").glob("*.json"))
# alert: (threshold as written, threshold in the test, `for:` in the test); every other rule fires at once.
# A partition that just received a record shows lag with its last progress in the past until the
# record is done: the stall rule keeps a `for:`, as in production, so such a blip never fires it.
FAST = {"EditsyncOrdersOutOfSync": ("> 900", "> 1", "0s"), "EditsyncPartitionStalled": ("> 300", "> 5", "4s")}
STALL_S = 8  # EDITSYNC_PARTITION_STALL_S: well above any record's own time here, so only a real stall trips it


def fast_rules() -> dict[str, Any]:
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule.pop("for", None)
            if rule["alert"] in FAST:
                old, new, hold = FAST[rule["alert"]]
                assert rule["expr"].count(old) == 1, (rule["alert"], old)
                rule["expr"], rule["for"] = rule["expr"].replace(old, new), hold
    return rules


def panel_queries() -> list[tuple[str, str, str]]:
    return [(path.name, panel["title"], target["expr"]) for path in DASHBOARDS
            for panel in json.loads(path.read_text())["panels"] for target in panel["targets"]]


def scenario(pipeline: Pipeline) -> None:
    # The first ERP write meets a 503 and is retried.
    pipeline.set_faults("erp", fail_next=[503])
    ok = pipeline.create({"TEE-M": 1, "MUG": 1})
    picked = pipeline.create({"HOODIE-M": 1})
    pipeline.settled([ok, picked])
    # The next ERP write is refused for good: a FAILED result and an ERP_SYNC_FAILED exception.
    pipeline.set_faults("erp", fail_next=[400])
    held = pipeline.create({"POSTER": 1})  # not in Peoplevox: held as UNKNOWN_SKU
    body = b"{not json"
    assert httpx.post(f"{pipeline.service.url}/webhooks/shopify", content=body,
                      headers=webhook_headers("orders/create", body, SECRET.encode())).status_code == 200
    pipeline.force_status(picked, "Picking")
    pipeline.edit(picked, "edit_order", add=[[pipeline.variants["CAP"], 1]])
    pipeline.settled([picked], done=lambda order: "EDIT_AFTER_PICK/OPS" in order.open_exceptions)
    pipeline.settled([held], done=lambda order: "UNKNOWN_SKU/OPS" in order.open_exceptions)


def test_every_panel_returns_data_lag_drains_alerts_fire_and_a_crashed_agent_stalls_and_exits(tmp_path: Path):
    with pipeline_on_own_broker(tmp_path, EDITSYNC_FAULT_INJECTION="true", EDITSYNC_LAG_INTERVAL_S="1",
                                EDITSYNC_AGENT_CRASH_EXIT_S="25", EDITSYNC_PARTITION_STALL_S=str(STALL_S),
                                EDITSYNC_SHOPIFY_SWEEP_S="2") as pipeline:
        target = pipeline.service.url.removeprefix("http://")
        prometheus = Prometheus(tmp_path, [target], fast_rules())
        try:
            scenario(pipeline)

            # Idle: every record processed and committed, as the broker sees it.
            prometheus.wait_for("lag back to 0", lambda: prometheus.value("sum(editsync_consumer_lag)") == 0)
            per_topic = {s["metric"]["topic"]: float(s["value"][1])
                         for s in prometheus.query("count by (topic) (editsync_consumer_lag)")}
            assert set(per_topic.values()) == {PARTITIONS}  # every partition of every topic an agent reads
            assert AGENT_INPUTS <= set(per_topic) and topics.DEAD_LETTERS not in per_topic

            empty = [(name, title, expr) for name, title, expr in panel_queries() if not prometheus.query(expr)]
            assert empty == [], f"panels without data: {empty}"

            out_of_sync = prometheus.wait_for("out-of-sync alert", lambda: prometheus.firing("EditsyncOrdersOutOfSync"))
            assert {"pair": "shopify_peoplevox", "reason": "edit_after_pick"} in [
                {k: a[k] for k in ("pair", "reason")} for a in out_of_sync]
            held = prometheus.query('editsync_orders_held{reason="unknown_sku"}')
            assert [float(s["value"][1]) for s in held] == [1.0]
            assert prometheus.value('sum(editsync_exceptions_open{type="ERP_SYNC_FAILED",owner="FINANCE"})') >= 1
            assert prometheus.firing("EditsyncPartitionStalled") == []
            assert prometheus.query("editsync_partition_stalls_total") == [], "nothing stalled so far"

            stalled_partition_is_resumed_and_its_order_goes_through(pipeline, prometheus)

            # A bug in the order-state agent's loop: its next record raises.
            answer = httpx.put(f"{pipeline.service.url}/_faults", json={"crash_agent": "order_state"})
            assert answer.status_code == 200, answer.text
            pipeline.create({"SOCK": 2})
            crashed = prometheus.wait_for("agent crash alert", lambda: prometheus.firing("EditsyncAgentCrashed"))
            assert [a["agent"] for a in crashed] == ["order_state"]
            stalled = prometheus.wait_for("stalled partition alert",
                                          lambda: prometheus.firing("EditsyncPartitionStalled"))
            assert {a["topic"] for a in stalled} <= {"orders.events.v1", "commands.results.v1", "editsync.order-inputs"}
            assert prometheus.value("sum(editsync_consumer_lag)") > 0
            assert httpx.get(f"{pipeline.service.url}/healthz").status_code == 503
            log = pipeline.service.whole_log()  # the lines docs/alerts.md sends an SRE to, the cause with its traceback
            assert "[ERROR] agent order_state crashed: FaultInjected(" in log
            assert "Traceback" in log.split("agent order_state crashed: FaultInjected(", 1)[1]
            assert "[CRITICAL] agent order_state crashed (FaultInjected(" in log
            assert pipeline.service.process.wait(60) == EXIT_AGENT_CRASHED
        finally:
            prometheus.stop()


def stalled_partition_is_resumed_and_its_order_goes_through(pipeline: Pipeline, prometheus: Prometheus) -> None:
    """An order's webhook partition paused in the consumer and left so: the guard resumes it, the edit goes through."""
    plan = pipeline.create({"TEE-S": 1})
    pipeline.settled([plan])
    key = str(plan.order_id).encode()
    [partition] = {m.partition() for m in read_topic(pipeline.bootstrap, topics.SHOPIFY_WEBHOOKS_RAW) if m.key() == key}
    answer = httpx.put(f"{pipeline.service.url}/_faults",
                       json={"pause_partition": {"topic": topics.SHOPIFY_WEBHOOKS_RAW, "partition": partition}})
    assert answer.status_code == 200, answer.text
    pipeline.edit(plan, "edit_order", add=[[pipeline.variants["CAP"], 1]])
    pipeline.settled([plan], timeout_s=6 * STALL_S)
    assert [so["lines"] for so in pipeline.live_sales_orders(plan)] == [{"TEE-S": 1, "CAP": 1}]
    stalls = prometheus.wait_for("the stall counted", lambda: prometheus.query("editsync_partition_stalls_total > 0"))
    assert [(s["metric"]["topic"], s["metric"]["partition"], s["metric"]["remedy"]) for s in stalls] == [
        (topics.SHOPIFY_WEBHOOKS_RAW, str(partition), "resume")]
    assert f"{topics.SHOPIFY_WEBHOOKS_RAW}[{partition}] has had lag" in pipeline.service.whole_log()
    assert pipeline.service.process.poll() is None, "resumed in place: the worker stays"
