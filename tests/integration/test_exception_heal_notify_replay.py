"""No one has to press retry when the cause is fixed; teams hear of new exceptions; replay changes nothing twice.

The service runs with a short item-code refresh, a short hold bound (so that
a wait becomes an exception in seconds), its exception store on a real
PostgreSQL (so that a second worker can share it), and notification webhooks
pointing at a receiver in this test (real HTTP on loopback).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from sandboxes.shopify.graphql_api import ALL_SCOPES, FULFILLMENT_ORDER_SCOPE
from sandboxes.testkit.kafka_reader import read_topic
from sandboxes.testkit.pipeline import CODEC, pipeline_on_own_broker
from sandboxes.testkit.service import ROOT
from streams.kafka import topics
from streams.kafka.broker import free_port
from tests.integration.test_exception_inbox import Api, cli, inbox_html, token_of, warehouse
from tests.postgres import postgres_server

HOLD_BOUND_S = 5  # EDITSYNC_HOLD_BOUND_S: every module test's orders settle well within it


class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, dict]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Receiver.received.append((self.path, body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:  # quiet
        pass


@pytest.fixture(scope="module")
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def postgres():
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, receiver, postgres):
    with pipeline_on_own_broker(tmp_path_factory.mktemp("heal"), EDITSYNC_ITEM_CODES_REFRESH_S="2",
                                EDITSYNC_HOLD_BOUND_S=str(HOLD_BOUND_S), EDITSYNC_DATABASE_URL=postgres.url,
                                EDITSYNC_NOTIFY_OPS_URL=f"{receiver}/ops",
                                EDITSYNC_NOTIFY_FINANCE_URL=f"{receiver}/finance") as running:
        yield running


def api(pipeline) -> httpx.Client:
    token = (Path(pipeline.env["EDITSYNC_DATA_DIR"]) / "api-token").read_text().strip()
    return httpx.Client(base_url=pipeline.service.url, timeout=15, headers={"Authorization": f"Bearer {token}"})


def shopify_requests(pipeline) -> int:
    calls = httpx.get(f"{pipeline.sandboxes.control_url('shopify')}/calls", timeout=10).json()
    return sum(1 for call in calls if call["path"].endswith("/graphql.json"))


def scopes(pipeline, token: str, granted: frozenset[str]) -> None:
    """What the merchant's app installation lets editsync's token read, as Shopify's admin changes it."""
    httpx.put(f"{pipeline.sandboxes.control_url('shopify')}/tokens/{token}", json={"scopes": sorted(granted)},
              timeout=10).raise_for_status()


def exception_state(pipeline, order_id: int, kind: str) -> str | None:
    items = api(pipeline).get("/exceptions", params={"order_id": str(order_id), "type": kind}).json()["items"]
    return items[0]["state"] if items else None


def test_a_held_order_heals_itself_once_peoplevox_knows_the_item_and_operations_were_told(pipeline):
    plan = pipeline.create({"CAP": 1, "POSTER": 1})
    pipeline.wait_for("UNKNOWN_SKU open", lambda: exception_state(pipeline, plan.order_id, "UNKNOWN_SKU") == "OPEN")
    pipeline.wait_for("operations notified", lambda: [b for p, b in Receiver.received
                                                      if p == "/ops" and plan.name in b["text"]])
    time.sleep(5)  # two more refreshes of the item codes: still held, and nobody told twice
    assert exception_state(pipeline, plan.order_id, "UNKNOWN_SKU") == "OPEN"
    assert len([b for p, b in Receiver.received if plan.name in b["text"]]) == 1
    assert [p for p, _ in Receiver.received if p != "/ops"] == [], "only the owning team hears of it"

    httpx.post(f"{pipeline.sandboxes.control_url('peoplevox')}/item-types", json={"item_code": "POSTER"},
               timeout=10).raise_for_status()
    pipeline.wait_for("healed without a retry",
                      lambda: exception_state(pipeline, plan.order_id, "UNKNOWN_SKU") == "RESOLVED", timeout_s=30)
    # The resolution and the create command come out of one decision; the sink writes a moment later.
    pipeline.wait_for("the sales order in Peoplevox", lambda: pipeline.live_sales_orders(plan), timeout_s=30)
    assert [so["lines"] for so in pipeline.live_sales_orders(plan)] == [{"CAP": 1, "POSTER": 1}]
    timeline = api(pipeline).get(f"/orders/{plan.order_id}").json()["timeline"]
    kinds = [entry["kind"] for entry in timeline]
    assert "action" not in kinds, "nobody pressed anything"
    assert any("Peoplevox now knows the held items" in entry["title"] for entry in timeline)


def test_replay_rereads_and_reconciles_and_changes_nothing_that_is_already_in_step(pipeline):
    plans = [pipeline.create({"TEE-S": 1, "MUG": 2}), pipeline.create({"HOODIE-L": 1})]
    pipeline.settled(plans)
    time.sleep(2)
    before = ({p.order_id: pipeline.sales_orders(p) for p in plans}, pipeline.demo.state(pipeline.demo.erp))
    reads = shopify_requests(pipeline)
    env = dict(pipeline.env, EDITSYNC_API_URL=pipeline.service.url)
    out = subprocess.run([sys.executable, "-m", "streams.wiring.cli", "replay", "--since", "10m", "--rate", "5"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert all(f"order {p.order_id}" in out.stdout for p in plans), out.stdout
    pipeline.wait_for("the orders read again", lambda: shopify_requests(pipeline) >= reads + len(plans))
    time.sleep(4)
    after = ({p.order_id: pipeline.sales_orders(p) for p in plans}, pipeline.demo.state(pipeline.demo.erp))
    assert after == before
    for plan in plans:
        timeline = api(pipeline).get(f"/orders/{plan.order_id}").json()["timeline"]
        assert any(entry["title"].startswith("Replay requested") for entry in timeline)


# --- waits that outlast the bound, and units with nowhere to go --------------------------------


def seen_by_their_team_only(pipeline, exception_ids: list[str], owner: str = "OPS") -> None:
    """Each exception in its team's queue and nowhere else: the CLI's table and the inbox's HTML."""
    for team in ("FINANCE", "OPS", "CX"):
        listed = cli(pipeline, "exceptions", "list", "--owner", team, "--limit", "200")
        page = inbox_html(pipeline, f"/inbox?owner={team}")
        for exception_id in exception_ids:
            expected = team == owner
            assert (exception_id in listed) is expected, (team, exception_id, listed)
            assert (f'data-exception="{exception_id}"' in page) is expected, (team, exception_id)


def told_ops(plan, title: str) -> bool:
    return any(plan.name in body["text"] and title in body["text"] for path, body in Receiver.received
               if path == "/ops")


def test_an_order_shopify_will_not_read_is_owned_by_operations_then_heals_when_shopify_answers(pipeline):
    ops = Api(pipeline.service, token_of(pipeline))
    plan = pipeline.create({"TEE-S": 1})
    pipeline.settled([plan])
    pipeline.set_faults("shopify", error_rate=1.0)  # every Admin API call answered 5xx
    try:
        pipeline.edit(plan, "edit_order", add=[[pipeline.variants["CAP"], 1]])  # a partial webhook: read the order
        stalled = ops.exception(plan.order_id, "ORDER_STALLED", "OPEN", timeout_s=40)
        assert (stalled["owner"], stalled["detail"]["waiting_for"]) == ("OPS", "shopify_read"), stalled
        seen_by_their_team_only(pipeline, [stalled["exception_id"]])
    finally:
        pipeline.set_faults("shopify", error_rate=0.0)
    # The order asks again by itself, backing off (30 s after its first ask), and this time Shopify answers.
    assert ops.exception(plan.order_id, "ORDER_STALLED", "RESOLVED", timeout_s=90)["actor"] is None
    pipeline.settled([plan])
    assert [so["lines"] for so in pipeline.live_sales_orders(plan)] == [{"TEE-S": 1, "CAP": 1}]
    assert told_ops(plan, "Order waiting too long")


def test_a_replacement_whose_original_never_answers_is_owned_by_operations_then_released(pipeline):
    ops = Api(pipeline.service, token_of(pipeline))
    original = pipeline.create({"TEE-L": 1})
    pipeline.settled([original])
    pipeline.set_faults("peoplevox", error_rate=1.0)  # the warehouse answers every call with a 5xx
    try:
        # The app leaves the original open: only its sales order's cancellation in Peoplevox can release
        # the replacement, and Peoplevox never confirms it.
        replacement = pipeline.recreate(original, {"MUG": 1}, "note_attribute", cancel_original=False)
        unresolved = ops.exception(replacement.order_id, "RECREATE_UNRESOLVED", "OPEN", timeout_s=40)
        stalled = ops.exception(original.order_id, "ORDER_STALLED", "OPEN", timeout_s=40)
        assert (unresolved["owner"], unresolved["detail"]["waiting_for"]) == ("OPS", "predecessor"), unresolved
        assert (stalled["owner"], stalled["detail"]["waiting_for"]) == ("OPS", "downstream"), stalled
        seen_by_their_team_only(pipeline, [unresolved["exception_id"], stalled["exception_id"]])
        assert not pipeline.live_sales_orders(replacement), "held: the replacement is not in the warehouse"
    finally:
        pipeline.set_faults("peoplevox", error_rate=0.0)
    # The sink's next retry reaches Peoplevox: the original's sales order goes, then the replacement ships.
    for plan, kind in ((replacement, "RECREATE_UNRESOLVED"), (original, "ORDER_STALLED")):
        assert ops.exception(plan.order_id, kind, "RESOLVED", timeout_s=90)["actor"] is None
    pipeline.settled([original, replacement])
    assert pipeline.live_sales_orders(original) == [], "the original must not ship"
    assert [so["lines"] for so in pipeline.live_sales_orders(replacement)] == [{"MUG": 1}]
    assert told_ops(replacement, "still waiting for its original")


def test_units_to_put_back_with_no_location_wait_for_a_person_then_go_back_where_they_were_sold(pipeline):
    ops = Api(pipeline.service, token_of(pipeline))
    plan = pipeline.create({"HOODIE-L": 2})
    pipeline.settled([plan])
    token = pipeline.sandboxes.credentials.shopify_token
    before = pipeline.demo.state(pipeline.demo.shopify)
    reference = f"gid://shopify/Order/{plan.order_id}"
    # The app lost the scope that shows fulfillment orders: Shopify leaves them out without an error.
    scopes(pipeline, token, ALL_SCOPES - {FULFILLMENT_ORDER_SCOPE})
    try:
        pipeline.edit(plan, "edit_order", set_quantity={str(plan.first_line_id): 1}, restock=False)
        unplaced = ops.exception(plan.order_id, "INVENTORY_LOCATION_UNKNOWN", "OPEN")
        assert unplaced["owner"] == "OPS" and unplaced["detail"]["line_ids"] == [str(plan.first_line_id)]
        seen_by_their_team_only(pipeline, [unplaced["exception_id"]])
        after = pipeline.demo.state(pipeline.demo.shopify)
        assert [a for a in after["adjustments"] if a["reference_document_uri"] == reference] == [], "never a guess"
        assert after["stock"] == before["stock"]
    finally:
        scopes(pipeline, token, ALL_SCOPES)
    # As the runbook says: access granted, press Retry. The order is read again and the unit goes back.
    assert "accepted" in cli(pipeline, "exceptions", "retry", unplaced["exception_id"], "--by", "Omar (operations)")
    assert ops.exception(plan.order_id, "INVENTORY_LOCATION_UNKNOWN", "RESOLVED")["actor"] is None
    pipeline.settled([plan])  # the judge checks the stock level of the line's own location
    assert [a for a in pipeline.demo.state(pipeline.demo.shopify)["adjustments"] if a["reference_document_uri"] == reference]


# --- several workers, one PostgreSQL (last: the second worker takes half the partitions) --------


def test_two_workers_sharing_one_postgresql_serve_one_queue_and_project_every_record_once(pipeline, postgres,
                                                                                         tmp_path, started):
    """Both workers follow every partition into the same tables: each record is written twice, at the same time."""
    token = token_of(pipeline)
    warehouse(pipeline, "DELETE", "/item-types/SOCK")  # retired: orders with socks are held, one exception each
    try:
        second = started(dict(pipeline.env, EDITSYNC_WEB_PORT=str(free_port()), EDITSYNC_DATA_DIR=str(tmp_path / "w2"),
                              EDITSYNC_API_TOKEN=token), "worker-2.log")
        second.wait_ready(timeout_s=90)
        first, other = Api(pipeline.service, token), Api(second, token)
        time.sleep(3)  # both workers re-read the item types
        plans = [pipeline.create({"SOCK": 1, "TEE-S": 1}) for _ in range(8)]
        held = {plan.order_id: first.exception(plan.order_id, "UNKNOWN_SKU", "OPEN")["exception_id"] for plan in plans}

        def queue(of: Api) -> dict[str, tuple]:
            items = of.get("/exceptions", type="UNKNOWN_SKU", state="OPEN,RETRYING,RESOLVED,IGNORED", limit=200)["items"]
            return {e["exception_id"]: (e["state"], e["first_seen"], e["actor"], e["note"]) for e in items
                    if e["exception_id"] in held.values()}

        pipeline.wait_for("one queue on both workers", lambda: len(queue(first)) == 8 and queue(other) == queue(first))
        ignored, resolved, retried, *healed = plans
        assert other.act(held[ignored.order_id], "ignore", by="Ann", note="Socks ship separately").status_code == 202
        assert other.act(held[resolved.order_id], "resolve", by="Ann", note="Keyed in by hand").status_code == 202
        assert other.act(held[retried.order_id], "retry", by="Ann").status_code == 202
        assert first.exception(ignored.order_id, "UNKNOWN_SKU", "IGNORED")["note"] == "Socks ship separately"
        assert first.exception(resolved.order_id, "UNKNOWN_SKU", "RESOLVED")["actor"] == "Ann"

        def exception_titles(order_id: int) -> list[str]:
            return [e["title"] for e in first.get(f"/orders/{order_id}")["timeline"] if e["kind"] == "exception"]

        # Socks are still missing: the retry puts the exception back to open.
        pipeline.wait_for("retried, then open again", lambda: [t.split(" (")[0] for t in exception_titles(
            retried.order_id)] == ["Exception UNKNOWN_SKU open", "Exception UNKNOWN_SKU retrying by Ann",
                                   "Exception UNKNOWN_SKU open"])

        # The warehouse adds socks back while PostgreSQL is down (a restart, a failover): the held orders heal,
        # their records arrive, and both workers' writes are refused until the database is back.
        postgres.stop()
        try:
            warehouse(pipeline, "POST", "/item-types", item_code="SOCK")
            time.sleep(6)
        finally:
            postgres.start()
        for plan in (retried, *healed):
            first.exception(plan.order_id, "UNKNOWN_SKU", "RESOLVED", timeout_s=90)
        pipeline.wait_for("one queue on both workers again", lambda: queue(other) == queue(first))

        # Every exceptions.v1 record of these orders is on the timeline exactly once, and each exception's row is
        # its last record: nothing doubled by two writers, no transition lost.
        records: dict[str, list[dict]] = {}
        for message in read_topic(pipeline.bootstrap, topics.EXCEPTIONS, idle_s=1.0):
            value = CODEC.decode(topics.EXCEPTIONS, message.value())
            if value["exception_id"] in held.values():
                records.setdefault(value["exception_id"], []).append(value)
        final = queue(first)
        for order_id, exception_id in held.items():
            assert len(exception_titles(order_id)) == len(records[exception_id]), exception_id
            last = records[exception_id][-1]
            assert (final[exception_id][0], final[exception_id][2]) == (last["state"], last.get("actor")), exception_id
        for worker in (pipeline.service, second):
            log = worker.whole_log()
            assert "the exception store could not write" in log, "the database was away while records arrived"
            assert "stopped following the topics" not in log and "DeadlockDetected" not in log
            assert "UniqueViolation" not in log
    finally:
        warehouse(pipeline, "POST", "/item-types", item_code="SOCK")
