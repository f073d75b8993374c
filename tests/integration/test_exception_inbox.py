"""People see, fix, retry and resolve exceptions: the API, the CLI and the web inbox on the real broker.

Each exception is raised the production way (the Shopify sandbox sends signed
webhooks, the warehouse and the ERP misbehave through their sandboxes), then
looked for where its owners look: ``GET /exceptions``, ``editsync exceptions
list`` and the inbox's HTML, under the right team. Fixing the cause and
pressing retry must get the order through; resolve and ignore must land on
the order's timeline with the note.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from sandboxes.stack import sandbox_reference
from streams.kafka.broker import free_port
from tests.integration.conftest import ROOT, Service
from tests.integration.pipeline import Pipeline, pipeline_on_own_broker

# The README's inbox pictures come from this test: EDITSYNC_SCREENSHOT_DIR=docs refreshes them; by default
# they go to a temporary folder, so a test run never changes the checkout.
SCREENSHOTS = Path(os.environ.get("EDITSYNC_SCREENSHOT_DIR") or tempfile.mkdtemp(prefix="editsync-inbox-"))
STALE_B2B_PRICE = "42.00"  # editsync's price list says 42.00 for HOODIE-M; Shopify's company catalogue says 45.00


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("inbox")
    with pipeline_on_own_broker(tmp, EDITSYNC_SINK_MAX_ATTEMPTS="2", EDITSYNC_SINK_BACKOFF_S="0.2") as running:
        reference = sandbox_reference(running.sandboxes)
        hoodie = str(running.variants["HOODIE-M"])
        for prices in reference["b2b_prices"].values():
            prices[hoodie] = STALE_B2B_PRICE
        # The price list is read at start: restart once with the finance team's newer list.
        Path(running.env["EDITSYNC_REFERENCE_FILE"]).write_text(json.dumps(reference))
        running.restart(kill=False, wipe=False)
        yield running


class Api:
    def __init__(self, service: Service, token: str) -> None:
        self.url = service.url
        self.http = httpx.Client(base_url=service.url, timeout=15, headers={"Authorization": f"Bearer {token}"})

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def act(self, exception_id: str, action: str, **body: Any) -> httpx.Response:
        return self.http.post(f"/exceptions/{quote(exception_id, safe='')}/{action}", json=body)

    def exception(self, order_id: int, kind: str, state: str | None = None, timeout_s: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = [e for e in self.get("/exceptions", order_id=str(order_id), type=kind)["items"]
                     if state is None or e["state"] == state]
            if found:
                return found[0]
            time.sleep(0.5)
        timeline = [f"{e['at']} {e['title']}" for e in self.http.get(f"/orders/{order_id}").json().get("timeline", [])]
        raise AssertionError(f"no {state or ''} {kind} exception for order {order_id} within {timeout_s}s: "
                             f"{self.get('/exceptions', order_id=str(order_id))}\n" + "\n".join(timeline))


def token_of(pipeline: Pipeline) -> str:
    return (Path(pipeline.env["EDITSYNC_DATA_DIR"]) / "api-token").read_text().strip()


@pytest.fixture(scope="module")
def api(pipeline) -> Api:
    return Api(pipeline.service, token_of(pipeline))


def cli(pipeline: Pipeline, *args: str, url: str | None = None) -> str:
    env = dict(pipeline.env, EDITSYNC_API_URL=url or pipeline.service.url)
    done = subprocess.run([sys.executable, "-m", "streams.service.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def inbox_html(pipeline: Pipeline, path: str, base: str | None = None, name: str = "Test runner") -> str:
    """A page of the inbox as a signed-in person gets it (the cookie is Secure: sent by hand over loopback)."""
    base = base or pipeline.service.url
    with httpx.Client(base_url=base, timeout=15, follow_redirects=False) as http:
        login = http.post("/inbox/login", data={"name": name, "token": token_of(pipeline)})
        assert login.status_code == 303, login.text
        cookie = login.headers["set-cookie"].split(";", 1)[0]
        page = http.get(path, headers={"Cookie": cookie})
        assert page.status_code == 200, page.text
        return page.text


REFUSED: set[int] = set()  # orders whose sales order the ERP was made to refuse


def erp_refuses(pipeline: Pipeline, api: Api, items: dict[str, int]):
    """An order whose sales order the ERP refuses (one 400, a permanent refusal, so no retry)."""
    def quiet() -> bool:  # every earlier order is in the ERP and nothing moved for a while: no one else's call
        in_erp = pipeline.demo.state(pipeline.demo.erp).get("salesOrder", {})
        waiting = [p for p in pipeline.demo.plans.values() if str(p.order_id) not in in_erp and p.order_id not in REFUSED]
        calls = httpx.get(f"{pipeline.sandboxes.control_url('erp')}/calls", timeout=10).json()
        return not waiting and (not calls or time.time() - calls[-1]["at"] > 2.0)

    pipeline.wait_for("the ERP quiet", quiet, timeout_s=60)
    pipeline.set_faults("erp", fail_next=[400])
    plan = pipeline.create(items)
    REFUSED.add(plan.order_id)
    try:
        return plan, api.exception(plan.order_id, "ERP_SYNC_FAILED", "OPEN")
    finally:
        pipeline.set_faults("erp", fail_next=[])


def warehouse(pipeline: Pipeline, method: str, path: str, **body: Any) -> None:
    httpx.request(method, f"{pipeline.sandboxes.control_url('peoplevox')}{path}", json=body or None,
                  timeout=10).raise_for_status()


# --- access ----------------------------------------------------------------------------------


def test_without_the_token_nothing_is_served_and_nothing_secret_ever_is(pipeline, api):
    plan = pipeline.create({"TEE-S": 1, "POSTER": 1})
    exception = api.exception(plan.order_id, "UNKNOWN_SKU")
    anonymous = httpx.Client(base_url=pipeline.service.url, timeout=10, follow_redirects=False)
    for method, path in (("GET", "/exceptions"), ("GET", f"/exceptions/{quote(exception['exception_id'])}"),
                         ("GET", f"/orders/{plan.order_id}"), ("GET", "/orders?changed_since=1h"),
                         ("POST", f"/exceptions/{quote(exception['exception_id'])}/retry"),
                         ("POST", f"/orders/{plan.order_id}/replay")):
        for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": token_of(pipeline)}):
            response = anonymous.request(method, path, headers=headers, json={"by": "mallory"})
            assert response.status_code == 401, (method, path, headers, response.status_code)
    assert anonymous.get("/inbox").headers["location"] == "/inbox/login"
    assert anonymous.post("/inbox/login", data={"name": "m", "token": "wrong"}).status_code == 401
    # A form posted from another site, or without the session's CSRF token, changes nothing.
    login = anonymous.post("/inbox/login", data={"name": "Ann", "token": token_of(pipeline)})
    cookie = login.headers["set-cookie"]
    assert all(flag in cookie for flag in ("HttpOnly", "Secure", "SameSite=Strict"))
    session = {"Cookie": cookie.split(";", 1)[0]}
    retry = f"/inbox/exceptions/{quote(exception['exception_id'], safe='')}/retry"
    assert anonymous.post(retry, headers=session, data={"note": "x"}).status_code == 403
    page = anonymous.get(f"/inbox/exceptions/{quote(exception['exception_id'], safe='')}", headers=session).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    assert anonymous.post(retry, headers={**session, "Origin": "https://evil.example"},
                          data={"csrf": csrf}).status_code == 403
    assert api.get(f"/exceptions/{quote(exception['exception_id'], safe='')}")["state"] == "OPEN"

    secrets = [value for key, value in pipeline.env.items()
               if re.search(r"SECRET|TOKEN|PASSWORD", key) and len(value) >= 8] + [token_of(pipeline)]
    bodies = [json.dumps(api.get("/exceptions", state="OPEN,RETRYING,RESOLVED,IGNORED")),
              json.dumps(api.get(f"/orders/{plan.order_id}")), page, login.text,
              inbox_html(pipeline, "/inbox?state=")]
    assert not [s for s in secrets for body in bodies if s in body]


# --- every exception type where its owners look ---------------------------------------------


def test_each_exception_type_is_raised_and_seen_by_its_team_in_the_api_cli_and_inbox(pipeline, api):
    raised: dict[str, tuple[int, str]] = {}  # type -> (order id, owner)
    refused, _ = erp_refuses(pipeline, api, {"CAP": 1})
    raised["ERP_SYNC_FAILED"] = (refused.order_id, "FINANCE")

    unknown = pipeline.create({"TEE-M": 1, "POSTER": 2})
    raised["UNKNOWN_SKU"] = (unknown.order_id, "OPS")

    picked = pipeline.create({"HOODIE-L": 1})
    readdressed = pipeline.create({"SOCK": 1})
    original = pipeline.create({"TEE-L": 1})
    pipeline.settled([picked, readdressed, original])
    for plan in (picked, readdressed, original):
        pipeline.force_status(plan, "Picking")
    time.sleep(1.5)  # the status callbacks reach editsync
    pipeline.edit(picked, "edit_order", add=[[pipeline.variants["CAP"], 1]])
    raised["EDIT_AFTER_PICK"] = (picked.order_id, "OPS")
    pipeline.edit(readdressed, "change_address", address1="3 Late Lane", zip="LS3 3CC")
    new = pipeline.edit(original, "recreate_order", items=[[pipeline.variants["MUG"], 1]], marker="note")
    raised["RECREATE_AMBIGUOUS"] = (new["id"], "OPS")

    b2b = pipeline.create({"TEE-M": 1}, company_location_id=pipeline.sandboxes.merchant["company_location_id"])
    pipeline.settled([b2b])
    pipeline.edit(b2b, "edit_order", add=[[pipeline.variants["HOODIE-M"], 1]])
    raised["PRICE_LIST_MISMATCH"] = (b2b.order_id, "FINANCE")

    warehouse(pipeline, "DELETE", "/item-types/MUG")  # retired in Peoplevox after editsync last read its items
    retired = pipeline.create({"MUG": 1})
    raised["PVX_UPDATE_FAILED"] = (retired.order_id, "OPS")
    try:
        api.exception(retired.order_id, "PVX_UPDATE_FAILED")
    finally:
        warehouse(pipeline, "POST", "/item-types", item_code="MUG")

    found = {kind: api.exception(order_id, kind) for kind, (order_id, _) in raised.items()}
    cx = api.exception(readdressed.order_id, "EDIT_AFTER_PICK")
    assert cx["owner"] == "CX", "an address change after picking is customer service's to tell the customer"
    for kind, (order_id, owner) in raised.items():
        assert found[kind]["owner"] == owner, (kind, found[kind])
        assert found[kind]["state"] == "OPEN" and found[kind]["what_changed"], found[kind]

    listed = {owner: cli(pipeline, "exceptions", "list", "--owner", owner, "--limit", "200")
              for owner in ("FINANCE", "OPS", "CX")}
    pages = {owner: inbox_html(pipeline, f"/inbox?owner={owner}") for owner in ("FINANCE", "OPS", "CX")}
    for kind, (order_id, owner) in [*raised.items(), ("EDIT_AFTER_PICK", (readdressed.order_id, "CX"))]:
        exception_id = f"{order_id}:{kind}" if kind != "ERP_SYNC_FAILED" and kind != "PVX_UPDATE_FAILED" \
            else found[kind]["exception_id"]
        for other in {"FINANCE", "OPS", "CX"} - {owner}:
            assert exception_id not in listed[other] and f'data-exception="{exception_id}"' not in pages[other]
        assert exception_id in listed[owner], (kind, listed[owner])
        assert f'data-exception="{exception_id}"' in pages[owner], kind
    shown = cli(pipeline, "exceptions", "show", found["UNKNOWN_SKU"]["exception_id"])
    assert "Peoplevox has no item for SKU POSTER" in shown and "runbook" in shown


# --- fixing the cause, then retry ----------------------------------------------------------


def test_retry_after_the_erp_came_back_clears_it_and_the_erp_has_the_order(pipeline, api):
    plan, failed = erp_refuses(pipeline, api, {"SOCK": 2})
    assert str(plan.order_id) not in pipeline.demo.state(pipeline.demo.erp).get("salesOrder", {})
    assert api.act(failed["exception_id"], "retry", by="Fay (finance)").status_code == 202
    assert api.act(failed["exception_id"], "retry", by="Fay (finance)").status_code in (202, 409)
    api.exception(plan.order_id, "ERP_SYNC_FAILED", "RESOLVED")
    assert str(plan.order_id) in pipeline.demo.state(pipeline.demo.erp).get("salesOrder", {})
    timeline = [entry["title"] for entry in api.get(f"/orders/{plan.order_id}")["timeline"]]
    assert any("Fay (finance) asked to retry" in title for title in timeline), timeline
    assert any("The ERP: send the sales order done" in title for title in timeline), timeline


def test_retry_after_the_item_is_back_in_peoplevox_gets_the_order_to_the_warehouse(pipeline, api):
    warehouse(pipeline, "DELETE", "/item-types/SOCK")
    plan = pipeline.create({"SOCK": 1, "TEE-S": 1})
    try:
        failed = api.exception(plan.order_id, "PVX_UPDATE_FAILED", "OPEN")
    finally:
        warehouse(pipeline, "POST", "/item-types", item_code="SOCK")
    out = cli(pipeline, "exceptions", "retry", failed["exception_id"], "--by", "Omar (operations)")
    assert "accepted" in out
    api.exception(plan.order_id, "PVX_UPDATE_FAILED", "RESOLVED")
    assert [so["lines"] for so in pipeline.live_sales_orders(plan)] == [{"SOCK": 1, "TEE-S": 1}]


def test_resolve_and_ignore_are_on_the_timeline_with_who_and_the_note(pipeline, api):
    plan = pipeline.create({"TEE-L": 1, "POSTER": 1})
    held = api.exception(plan.order_id, "UNKNOWN_SKU", "OPEN")
    assert api.act(held["exception_id"], "resolve", by="Ann").status_code == 400, "a note is required"
    assert api.act(held["exception_id"], "ignore", by="Ann", note="Poster ships from the print shop").status_code == 202
    ignored = api.exception(plan.order_id, "UNKNOWN_SKU", "IGNORED")
    assert (ignored["actor"], ignored["note"]) == ("Ann", "Poster ships from the print shop")
    assert api.act(held["exception_id"], "retry", by="Ann").status_code == 409

    paid, failed = erp_refuses(pipeline, api, {"CAP": 2})
    assert api.act(failed["exception_id"], "resolve", by="Fay", note="Keyed into NetSuite by hand").status_code == 202
    api.exception(paid.order_id, "ERP_SYNC_FAILED", "RESOLVED")
    for order_id, expected in ((plan.order_id, "ignored by Ann: “Poster ships from the print shop”"),
                               (paid.order_id, "resolved by Fay: “Keyed into NetSuite by hand”")):
        timeline = [entry["title"] for entry in api.get(f"/orders/{order_id}")["timeline"]]
        assert any(expected in title for title in timeline), timeline
    order = cli(pipeline, "order", str(paid.order_id))
    assert "resolved by Fay" in order and "Shopify: order created" in order


# --- several workers ---------------------------------------------------------------------


def test_two_workers_answer_the_same_queue_and_either_takes_actions(pipeline, api, tmp_path):
    second_env = dict(pipeline.env, EDITSYNC_WEB_PORT=str(free_port()), EDITSYNC_DATA_DIR=str(tmp_path / "w2"),
                      EDITSYNC_API_TOKEN=token_of(pipeline))
    second = Service(second_env, tmp_path / "worker-2.log")
    try:
        second.wait_ready(timeout_s=90)
        other = Api(second, token_of(pipeline))
        plan = pipeline.create({"HOODIE-M": 1, "POSTER": 1})
        api.exception(plan.order_id, "UNKNOWN_SKU", "OPEN")

        def queue(of: Api) -> list[tuple[str, str, str]]:
            return [(e["exception_id"], e["state"], e["first_seen"])
                    for e in of.get("/exceptions", owner="OPS", state="OPEN", limit=200)["items"]]

        first_queue = queue(api)
        assert first_queue

        def same_queue() -> bool:
            return queue(other) == first_queue

        pipeline.wait_for("the second worker's store caught up", same_queue, timeout_s=60)
        held = other.exception(plan.order_id, "UNKNOWN_SKU", "OPEN")
        assert other.act(held["exception_id"], "ignore", by="Ann", note="via worker 2").status_code == 202
        api.exception(plan.order_id, "UNKNOWN_SKU", "IGNORED")
        other.exception(plan.order_id, "UNKNOWN_SKU", "IGNORED")
    finally:
        second.stop()


# --- the inbox in a real browser -----------------------------------------------------------


def chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service as DriverService

    options = Options()
    options.binary_location = os.environ.get("EDITSYNC_TEST_CHROMIUM", "/usr/bin/chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1366,1000"):
        options.add_argument(argument)
    return webdriver.Chrome(service=DriverService(os.environ.get("EDITSYNC_TEST_CHROMEDRIVER",
                                                                 "/usr/bin/chromedriver")), options=options)


def test_in_the_browser_operations_see_an_unknown_sku_add_the_item_retry_and_see_it_resolved(pipeline, api):
    from selenium.webdriver.common.by import By

    plan = pipeline.create({"TEE-M": 1, "POSTER": 1})
    held = api.exception(plan.order_id, "UNKNOWN_SKU", "OPEN")
    browser = chromium()
    try:
        browser.get(f"{pipeline.service.url}/inbox")
        assert browser.current_url.endswith("/inbox/login")
        browser.find_element(By.NAME, "name").send_keys("Olivia (operations)")
        browser.find_element(By.NAME, "token").send_keys(token_of(pipeline))
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        operations = browser.find_element(By.CSS_SELECTOR, 'a.card[data-owner="OPS"]')
        assert int(operations.find_element(By.CLASS_NAME, "count").text) >= 1
        operations.click()
        row = browser.find_element(By.CSS_SELECTOR, f'tr[data-exception="{held["exception_id"]}"]')
        assert "Product not set up in the warehouse" in row.text
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(SCREENSHOTS / "inbox-queue.png"))
        row.find_element(By.PARTIAL_LINK_TEXT, "Product not set up").click()
        assert "Peoplevox has no item for SKU POSTER" in browser.find_element(By.ID, "what-changed").text

        page = browser.current_url
        warehouse(pipeline, "POST", "/item-types", item_code="POSTER", name="Poster")
        browser.find_element(By.ID, "retry").click()
        assert "Retry requested" in browser.find_element(By.CLASS_NAME, "flash").text
        deadline = time.monotonic() + 60
        while browser.find_element(By.ID, "state").text != "resolved" or \
                "Peoplevox: create the sales order done" not in browser.find_element(By.CLASS_NAME, "timeline").text:
            assert time.monotonic() < deadline, browser.find_element(By.TAG_NAME, "main").text
            time.sleep(1)
            browser.get(page)
        assert "Olivia (operations) asked to retry" in browser.find_element(By.CLASS_NAME, "timeline").text
        browser.set_window_size(1366, 1700)
        browser.save_screenshot(str(SCREENSHOTS / "inbox-exception.png"))
    finally:
        browser.quit()
        warehouse(pipeline, "DELETE", "/item-types/POSTER")
    assert [so["lines"] for so in pipeline.live_sales_orders(plan)] == [{"POSTER": 1, "TEE-M": 1}]
