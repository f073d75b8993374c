"""The edit window on the real broker (``EDITSYNC_RELEASE_HOLD_S``): a new order waits before Peoplevox sees it,
so an edit inside the window is the first version the warehouse gets; express orders and a person's release
(`editsync release`) skip the wait. Stock and the ERP never wait."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from sandboxes.testkit.pipeline import pipeline_on_own_broker

HOLD_S = 12
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    with pipeline_on_own_broker(tmp_path_factory.mktemp("window"), EDITSYNC_RELEASE_HOLD_S=str(HOLD_S)) as running:
        yield running


def held_for_the_window(pipeline) -> float:
    """Orders ``editsync_orders_held`` counts as waiting for their edit window, every age bucket."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in httpx.get(f"{pipeline.service.url}/metrics",
                                                                   timeout=10).text.splitlines()
               if line.startswith("editsync_orders_held{") and 'reason="edit_window"' in line)


def test_an_order_edited_inside_its_window_reaches_peoplevox_once_already_edited(pipeline):
    plan = pipeline.create({"TEE-M": 1, "MUG": 1})
    pipeline.wait_for("the order held for its edit window", lambda: held_for_the_window(pipeline) >= 1, timeout_s=10)
    pipeline.wait_for("the ERP's sales order, which does not wait", lambda: str(plan.order_id) in
                      pipeline.demo.state(pipeline.demo.erp)["salesOrder"], timeout_s=10)
    assert pipeline.sales_orders(plan) == {}, "Peoplevox sees nothing while the window is open"
    pipeline.edit(plan, "edit_order", set_quantity={str(plan.first_line_id): 0},
                  add=[[pipeline.variants["TEE-L"], 1]], restock=True)
    verdict = pipeline.settled([plan], timeout_s=HOLD_S + 30)
    assert verdict.totals["lost_orders"] == 0
    (number, sales_order), = pipeline.sales_orders(plan).items()
    assert number == plan.name.lstrip("#") and sales_order["lines"] == {"TEE-L": 1, "MUG": 1}, \
        "one sales order, the edited one: no update, no cancel-and-replace"
    assert held_for_the_window(pipeline) == 0


def test_an_express_order_goes_at_once_and_a_person_can_release_a_held_one(pipeline):
    express = pipeline.create({"SOCK": 1}, tags=["Express"])
    held = pipeline.create({"CAP": 1})
    started = time.monotonic()
    pipeline.wait_for("the express order in Peoplevox", lambda: pipeline.live_sales_orders(express),
                      timeout_s=HOLD_S - 2)
    assert pipeline.sales_orders(held) == {}
    env = dict(pipeline.env, EDITSYNC_API_URL=pipeline.service.url)
    done = subprocess.run([sys.executable, "-m", "streams.wiring.cli", "release", str(held.order_id),
                           "--by", "ops@example.com"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    pipeline.wait_for("the released order in Peoplevox", lambda: pipeline.live_sales_orders(held),
                      timeout_s=HOLD_S - 2)
    assert time.monotonic() - started < HOLD_S, "released before its window closed"


def test_the_inbox_sends_a_held_order_to_the_warehouse_in_the_signed_in_persons_name(pipeline):
    held = pipeline.create({"BEANIE": 1})
    started = time.monotonic()
    token = (Path(pipeline.env["EDITSYNC_DATA_DIR"]) / "api-token").read_text().strip()
    base = pipeline.service.url
    auth = {"Authorization": f"Bearer {token}"}
    pipeline.wait_for("the order on the inbox's timeline", lambda: httpx.get(
        f"{base}/orders/{held.order_id}", headers=auth, timeout=10).status_code == 200, timeout_s=HOLD_S - 4)
    with httpx.Client(base_url=base, timeout=15, follow_redirects=False) as http:
        login = http.post("/inbox/login", data={"name": "Ana (operations)", "token": token})
        cookie = {"Cookie": login.headers["set-cookie"].split(";", 1)[0]}
        page = http.get(f"/inbox/orders/{held.order_id}", headers=cookie).text
        csrf = re.search(r'id="release">\s*<input type="hidden" name="csrf" value="([^"]+)"', page).group(1)
        sent = http.post(f"/inbox/orders/{held.order_id}/release", data={"csrf": csrf},
                         headers={**cookie, "Origin": base})
        assert sent.status_code == 303 and sent.headers["location"].endswith("?done=release"), sent.text
    pipeline.wait_for("the released order in Peoplevox", lambda: pipeline.live_sales_orders(held),
                      timeout_s=HOLD_S - 2)
    assert time.monotonic() - started < HOLD_S, "released before its window closed"

    def released_on_the_timeline() -> bool:
        timeline = httpx.get(f"{base}/orders/{held.order_id}", headers=auth, timeout=10).json()["timeline"]
        return any("Ana (operations) released the order" in entry["title"] for entry in timeline)

    pipeline.wait_for("who released it, on the order's timeline", released_on_the_timeline, timeout_s=20)
