"""No one has to press retry when the cause is fixed; teams hear of new exceptions; replay changes nothing twice.

The service runs with a short item-code refresh and notification webhooks
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

from streams.kafka.broker import free_port
from tests.integration.conftest import ROOT
from tests.integration.pipeline import pipeline_on_own_broker


class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, dict]] = []

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
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
def pipeline(tmp_path_factory, receiver):
    with pipeline_on_own_broker(tmp_path_factory.mktemp("heal"), EDITSYNC_ITEM_CODES_REFRESH_S="2",
                                EDITSYNC_NOTIFY_OPS_URL=f"{receiver}/ops",
                                EDITSYNC_NOTIFY_FINANCE_URL=f"{receiver}/finance") as running:
        yield running


def api(pipeline) -> httpx.Client:
    token = (Path(pipeline.env["EDITSYNC_DATA_DIR"]) / "api-token").read_text().strip()
    return httpx.Client(base_url=pipeline.service.url, timeout=15, headers={"Authorization": f"Bearer {token}"})


def shopify_requests(pipeline) -> int:
    calls = httpx.get(f"{pipeline.sandboxes.control_url('shopify')}/calls", timeout=10).json()
    return sum(1 for call in calls if call["path"].endswith("/graphql.json"))


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
    out = subprocess.run([sys.executable, "-m", "streams.service.cli", "replay", "--since", "10m", "--rate", "5"], cwd=ROOT,
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
