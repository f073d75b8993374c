"""The edit window on the real broker (``EDITSYNC_RELEASE_HOLD_S``): a new order waits before Peoplevox sees it,
so an edit inside the window is the first version the warehouse gets; express orders and a person's release
(`editsync release`) skip the wait. Stock and the ERP never wait."""

from __future__ import annotations

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
    prefix = 'editsync_orders_held{reason="edit_window"} '
    return sum(float(line.removeprefix(prefix)) for line in httpx.get(f"{pipeline.service.url}/metrics",
                                                                      timeout=10).text.splitlines()
               if line.startswith(prefix))


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
