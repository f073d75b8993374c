"""Sandboxes over real HTTP, driven by editsync's own connectors (and zeep for SOAP).

No broker: these check the contracts both sides of each API rely on, and
the failure modes the sinks must survive.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import time
from decimal import Decimal

import httpx
import pytest

from connectors.errors import AccessDenied, PermanentError, TransientError
from connectors.peoplevox import PeoplevoxClient, PeoplevoxWarehouse, Refused, RowsRefused
from connectors.ports import StockChange
from connectors.shopify import ShopifyAdmin
from sandboxes.shopify.cost import Bucket
from sandboxes.shopify.store import EditLocked, StoreError
from sandboxes.stack import SandboxStack
from sandboxes.testkit.support import shopify_signature
from streams.core.commands import HoldFulfillmentOrders, OpenFulfillmentOrders, ReleaseFulfillmentHolds, ReportProgress
from streams.core.model import Address
from streams.core.peoplevox import CutOff, SalesOrder

SECRET = b"sandbox-webhook-secret"


class Receiver(http.server.BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def receiver():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/webhooks/shopify"
    server.shutdown()


@pytest.fixture(scope="module")
def stack(receiver):
    with SandboxStack(receiver, SECRET, pick_delay_s=(3600, 3600), bucket=Bucket(maximum=1000, restore_rate=500),
                      seed=1) as sandboxes:
        yield sandboxes


def run(coroutine):
    return asyncio.run(coroutine)


def shopify(stack: SandboxStack) -> ShopifyAdmin:
    return ShopifyAdmin(stack.shopify_url, stack.credentials.shopify_token)


def warehouse(stack: SandboxStack, timeout_s: float = 15.0, attempts: int = 1) -> PeoplevoxWarehouse:
    """One attempt per call unless asked: these tests look at how each single failure is classified."""
    c = stack.credentials
    return PeoplevoxWarehouse(PeoplevoxClient(stack.peoplevox_url, c.peoplevox_client_id, c.peoplevox_username,
                                              c.peoplevox_password, timeout_s, attempts=attempts,
                                              retry_delay_s=0.05), CutOff("Picking"))


def new_order(stack: SandboxStack, **extra):
    v = stack.merchant["variants"]
    return stack.shop.create_order([(v["TEE-M"], 2), (v["MUG"], 1)], address={"name": "Ann", "city": "Leeds"},
                                   **extra)


# --- Shopify -------------------------------------------------------------------------------


def test_webhooks_are_signed_as_shopify_signs_them(stack):
    Receiver.received.clear()
    order = new_order(stack)
    stack.call(stack.emitter.flush())
    (headers, body), *_ = [(h, b) for h, b in Receiver.received if h["X-Shopify-Topic"] == "orders/create"]
    assert headers["X-Shopify-Hmac-Sha256"] == shopify_signature(body, SECRET)
    assert headers["X-Shopify-Shop-Domain"] == stack.shop.domain and headers["X-Shopify-Event-Id"]
    assert json.loads(body)["id"] == order.id and json.loads(body)["name"] == order.name


def test_a_reordered_delivery_is_not_held_back_when_no_more_events_come(stack):
    """Deliveries are shuffled in groups; the last event of a quiet spell must still go out (it once waited
    for company that never came, and the demo's last edit never reached editsync)."""
    Receiver.received.clear()
    stack.emitter.plan.reorder_window = 50
    try:
        order = new_order(stack)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not Receiver.received:
            time.sleep(0.1)
    finally:
        stack.emitter.plan.reorder_window = 1
    assert [json.loads(body)["id"] for _, body in Receiver.received] == [order.id]


def test_the_order_read_through_the_admin_api_says_what_changed(stack):
    v = stack.merchant["variants"]
    order = new_order(stack)
    first = order.lines[0]
    stack.shop.edit_order(order.id, add=[(v["CAP"], 1)], set_quantity={first.id: 1})
    snapshot = run(shopify(stack).fetch_order(str(order.id)))
    lines = {line.sku: line for line in snapshot.lines}
    assert (lines["TEE-M"].quantity, lines["TEE-M"].original_quantity, lines["TEE-M"].sold_quantity) == (1, 2, 2)
    assert (lines["CAP"].quantity, lines["CAP"].original_quantity) == (1, 0)
    assert lines["CAP"].inventory_item_id == str(stack.shop.variants[v["CAP"]].inventory_item_id)
    assert snapshot.version == order.updated_at and snapshot.location_id
    assert snapshot.total == Decimal("55.00")  # 1 × 25 + 12 + 18
    assert snapshot.shipping_method == ("Standard", "standard"), "what the edit window's bypass looks at"


def test_an_unknown_token_is_refused_with_shopifys_answer(stack):
    response = httpx.post(f"{stack.shopify_url}/admin/api/2026-10/graphql.json", json={"query": "{ shop { id } }"},
                          headers={"X-Shopify-Access-Token": "wrong"})
    assert response.status_code == 401 and "Invalid API key or access token" in response.json()["errors"]
    with pytest.raises(PermanentError):
        run(ShopifyAdmin(stack.shopify_url, "wrong").fetch_order("1"))


def test_throttling_answers_in_shopifys_shape_and_the_connector_waits_it_out(stack):
    token = {"X-Shopify-Access-Token": stack.credentials.shopify_token}
    query = "query { orders(first: 250) { nodes { id lineItems(first: 250) { nodes { id } } } } }"
    answer = httpx.post(f"{stack.shopify_url}/admin/api/2026-10/graphql.json", json={"query": query},
                        headers=token).json()
    assert answer["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    order = new_order(stack)
    async def six_reads():  # ~400 points each against a 1,000-point bucket refilling 500/s: some must wait
        client = shopify(stack)
        return [await client.fetch_order(str(order.id)) for _ in range(6)]

    assert all(snapshot.order_id == str(order.id) for snapshot in run(six_reads()))
    stack.bucket.take(int(stack.bucket.status()["currentlyAvailable"]))  # empty the bucket: see the raw refusal
    # Costs 998: the bucket needs about 2 s to refill that much, so a slow machine still sees the refusal.
    raw = httpx.post(f"{stack.shopify_url}/admin/api/2026-10/graphql.json", headers=token, json={
        "query": "{ orders(first: 166) { nodes { id lineItems(first: 3) { nodes { id } } } } }"}).json()
    assert raw["errors"][0]["extensions"]["code"] == "THROTTLED" and "data" not in raw
    assert set(raw["extensions"]["cost"]["throttleStatus"]) == {"maximumAvailable", "currentlyAvailable",
                                                                "restoreRate"}


def test_a_lock_tag_goes_ahead_of_order_reads_waiting_for_the_bucket(stack):
    """Under a burst the reads can hold the bucket for minutes; the tag that closes an order for edits may not
    queue behind them."""
    order = new_order(stack)
    finished: list[str] = []

    async def reads_then_a_tag():
        client = shopify(stack)
        await client.fetch_order(str(order.id))  # the connector learns what a read asks (~400 points)
        stack.bucket.take(int(stack.bucket.status()["currentlyAvailable"]))  # each read now waits ~0.8 s

        async def read(n: int) -> None:
            await client.fetch_order(str(order.id))
            finished.append(f"read {n}")

        async def tag() -> None:
            await asyncio.sleep(0.1)  # the reads are queued first
            await client.change_tags(str(order.id), add=("editsync-locked",))
            finished.append("tag")

        await asyncio.gather(*(read(n) for n in range(3)), tag())

    run(reads_then_a_tag())
    assert finished[0] == "tag", finished
    assert "editsync-locked" in stack.shop.orders[order.id].tags


def test_a_query_is_charged_what_it_returned_after_needing_what_it_asked_for(stack):
    """Shopify refunds requested minus actual cost: a 2-line order read costs little, once it may run."""
    from connectors.shopify_order import ORDER_QUERY, PageSizes

    variables = {"id": f"gid://shopify/Order/{new_order(stack).id}", **PageSizes().variables()}
    stack.bucket.refund(int(stack.bucket.maximum))  # full, whatever the tests before left
    token = {"X-Shopify-Access-Token": stack.credentials.shopify_token}
    cost = httpx.post(f"{stack.shopify_url}/admin/api/2026-10/graphql.json", headers=token, json={
        "query": ORDER_QUERY, "variables": variables}).json()["extensions"]["cost"]
    assert cost["requestedQueryCost"] > 300 and 5 < cost["actualQueryCost"] < 60, cost
    # Leave 300 points fewer than requested: the fixture refills 500/s, so that is 0.6 s of slack.
    stack.bucket.take(int(stack.bucket.status()["currentlyAvailable"]) - cost["requestedQueryCost"] + 300)
    refused = httpx.post(f"{stack.shopify_url}/admin/api/2026-10/graphql.json", headers=token, json={
        "query": ORDER_QUERY, "variables": variables}).json()
    assert refused["errors"][0]["extensions"]["code"] == "THROTTLED", "the requested cost must be available"


def test_an_inventory_adjustment_sent_twice_changes_stock_once(stack):
    variant = stack.shop.variants[stack.merchant["variants"]["SOCK"]]
    location = next(iter(stack.shop.locations))
    before = stack.shop.levels[(variant.inventory_item_id, location)]
    change = [StockChange(str(variant.inventory_item_id), str(location), 3)]
    for _ in range(2):
        run(shopify(stack).adjust_inventory("inventory:adjust:1:key", change, "correction", "gid://shopify/Order/1"))
    assert stack.shop.levels[(variant.inventory_item_id, location)] == before + 3


def test_the_ping_is_a_query_shopify_accepts_and_down_is_transient(stack):
    """What the probe asks while inventory adjustments wait for Shopify to answer again."""
    stack.shopify.control.calls.clear()
    run(shopify(stack).ping())
    (call,) = stack.shopify.control.calls
    assert (call.operation, call.status) == ("orders", 200)
    stack.shopify.control.faults.update({"fail_next": [502]})
    with pytest.raises(TransientError):
        run(shopify(stack).ping())


def test_shopify_5xx_and_429_are_transient(stack):
    stack.shopify.control.faults.update({"fail_next": [503]})
    with pytest.raises(TransientError):
        run(shopify(stack).fetch_order("1"))
    stack.shopify.control.faults.update({"fail_next": [429]})
    assert run(shopify(stack).fetch_order("1")) is None  # waited Retry-After, then answered (no such order)


def test_a_fulfillment_fulfils_what_shopify_does_not_show_yet_with_its_tracking_and_once(stack):
    order = new_order(stack)
    tee, mug = (str(line.id) for line in order.lines)
    seen: list[tuple[str, dict]] = []
    stack.shop.listeners.append(lambda topic, change: seen.append((topic, change)))
    made = run(shopify(stack).create_fulfillment(str(order.id), {tee: 1}, carrier="DPD", tracking_number="TRK-1",
                                        notify_customer=True))
    assert len(made) == 1 and [line.fulfilled for line in order.lines] == [1, 0]
    fulfillment = order.fulfillments[-1]
    assert (fulfillment.tracking_company, fulfillment.tracking_numbers, fulfillment.notify_customer) == (
        "DPD", ("TRK-1",), True)
    assert [topic for topic, _ in seen] == ["fulfillments/create", "orders/updated"]
    # Levels: the tee should show 2 fulfilled, the mug 1; the first tee already is, so one of each goes.
    run(shopify(stack).create_fulfillment(str(order.id), {tee: 2, mug: 1}, carrier="DPD", tracking_number="TRK-2",
                                 notify_customer=False))
    assert [line.fulfilled for line in order.lines] == [2, 1] and len(order.fulfillments) == 2
    assert run(shopify(stack).create_fulfillment(str(order.id), {tee: 2, mug: 1}, carrier=None, tracking_number=None,
                                        notify_customer=False)) == (), "a repeat fulfils nothing"


def test_shopify_refuses_a_fulfillment_it_cannot_make_and_without_the_scope(stack):
    order = new_order(stack)
    fo_id = next(iter(order.fulfillment_order_ids.values()))
    tee = order.lines[0].id
    api = "/admin/api/2026-10/graphql.json"
    document = ("mutation($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) "
                "{ fulfillment { id } userErrors { field message } } }")
    too_many = {"f": {"lineItemsByFulfillmentOrder": [{
        "fulfillmentOrderId": f"gid://shopify/FulfillmentOrder/{fo_id}",
        "fulfillmentOrderLineItems": [{"id": f"gid://shopify/FulfillmentOrderLineItem/{tee}", "quantity": 3}]}]}}
    token = {"X-Shopify-Access-Token": stack.credentials.shopify_token}
    answer = httpx.post(f"{stack.shopify_url}{api}", headers=token,
                        json={"query": document, "variables": too_many}).json()["data"]["fulfillmentCreate"]
    assert answer["fulfillment"] is None and answer["userErrors"][0]["message"] == (
        "Invalid fulfillment order line item quantity requested.")
    assert order.lines[0].fulfilled == 0, "nothing changes"
    stack.shopify.grant("no-fulfil", {"read_orders", "read_merchant_managed_fulfillment_orders"})
    with pytest.raises(AccessDenied) as denied:
        run(ShopifyAdmin(stack.shopify_url, "no-fulfil").create_fulfillment(
            str(order.id), {str(tee): 1}, carrier=None, tracking_number=None, notify_customer=False))
    assert "write_merchant_managed_fulfillment_orders" in denied.value.detail.required_access


def test_fulfillment_orders_go_in_progress_on_hold_and_back_as_shopify_allows(stack):
    order = new_order(stack)
    fo = next(iter(order.fulfillment_order_ids.values()))
    oid = str(order.id)

    def change(payload) -> int:
        return run(shopify(stack).change_fulfillment_orders(oid, payload))

    assert change(ReportProgress(reason_notes="Peoplevox: sales order 1 is Picking")) == 1
    assert order.fulfillment_order_status(fo) == "IN_PROGRESS"
    assert change(ReportProgress(reason_notes="again")) == 0, "already in progress: nothing to report"
    with pytest.raises(EditLocked):
        stack.shop.customer_edit_order(order.id, set_quantity={order.lines[0].id: 1})
    assert change(OpenFulfillmentOrders()) == 1 and order.fulfillment_order_status(fo) == "OPEN"
    stack.shop.hold_fulfillment_order(fo, "merchant-check", "OTHER")  # someone else's hold stays
    assert change(HoldFulfillmentOrders(handle="editsync-edit-window", reason_notes="edit window")) == 1
    assert change(HoldFulfillmentOrders(handle="editsync-edit-window", reason_notes="edit window")) == 0
    with pytest.raises(PermanentError, match="unfulfillable status= on_hold"):
        run(shopify(stack).create_fulfillment(oid, {str(order.lines[0].id): 1}, carrier=None, tracking_number=None,
                                              notify_customer=False))
    assert change(ReleaseFulfillmentHolds(handle="editsync-edit-window")) == 1
    assert [hold.handle for hold in order.holds[fo]] == ["merchant-check"]
    assert change(ReportProgress(reason_notes="on hold")) == 0, "one held by the merchant is left as it is"
    with pytest.raises(StoreError, match="status does not allow reporting progress"):
        stack.shop.report_progress(fo)  # as Shopify refuses it


# --- Peoplevox -----------------------------------------------------------------------------


def sales_order(number: str, *lines: tuple[str, int]) -> SalesOrder:
    return SalesOrder(number=number, lines=tuple(sorted(lines)), address=Address(name="Ann", city="Leeds"))


def held(stack: SandboxStack, number: str) -> dict:
    return stack.warehouse.state()["sales_orders"][number]


def test_soap_round_trip_through_zeep_and_the_state_check(stack):
    codes = run(warehouse(stack).item_codes())
    assert codes >= {"TEE-M", "MUG"} and "POSTER" not in codes
    written = run(warehouse(stack).upsert(sales_order("S1", ("TEE-M", 2)), "111", must_exist=False))
    assert written.applied and held(stack, "S1")["lines"] == {"TEE-M": 2}
    assert held(stack, "S1")["fields"]["ShippingAddressCity"] == "Leeds" and held(stack, "S1")["reference"] == "111"
    stack.warehouse.set_status("S1", "Picking")
    refused = run(warehouse(stack).upsert(sales_order("S1", ("TEE-M", 3)), "111", must_exist=True))
    assert not refused.applied and refused.status == "Picking"
    assert held(stack, "S1")["lines"] == {"TEE-M": 2}, "nothing written past the cut-off"
    assert not run(warehouse(stack).cancel("S1")).applied


def test_a_refused_row_raises_instead_of_passing_silently(stack):
    """SaveData answers ResponseId 0 for a partly refused import: only TotalCount tells, and it is checked."""
    client = warehouse(stack).client
    rows = [{"SalesOrderNumber": "S5", "CustomerPurchaseOrderReferenceNumber": "555"},
            {"SalesOrderNumber": "S6" * 16, "CustomerPurchaseOrderReferenceNumber": "666"}]
    with pytest.raises(RowsRefused, match="saved 1 of 2 Sales orders rows: Row 2: SalesOrderNumber is longer") as error:
        run(client.save("Sales orders", rows))
    assert error.value.detail.refused == ("Row 2: SalesOrderNumber is longer than 30 characters",)
    assert "S5" in stack.warehouse.orders, "the sandbox saved the good row, as Peoplevox does"
    run(warehouse(stack).upsert(sales_order("S5", ("MUG", 1)), "555", must_exist=True))
    with pytest.raises(RowsRefused, match="Row 2: Item code POSTER not found"):
        run(warehouse(stack).upsert(sales_order("S5", ("MUG", 2), ("POSTER", 1)), "555", must_exist=True))


def test_a_new_sales_order_whose_lines_are_refused_is_not_left_as_a_header(stack):
    with pytest.raises(PermanentError, match="Item code POSTER not found.*S2 was cancelled") as error:
        run(warehouse(stack).upsert(sales_order("S2", ("POSTER", 1)), "222", must_exist=False))
    assert error.value.detail.header_cancelled and held(stack, "S2")["status"] == "Cancelled"
    assert held(stack, "S2")["lines"] == {}


def test_peoplevox_refuses_unknown_columns_and_line_removal(stack):
    with pytest.raises(Refused, match="ShippingCity not in template 'Sales orders'"):
        run(warehouse(stack).client.save("Sales orders", [{"SalesOrderNumber": "S7", "ShippingCity": "Leeds"}]))
    assert "S7" not in stack.warehouse.orders, "an unknown column refuses the whole import"
    with pytest.raises(Refused, match="Template 'Sales Orders' not found"):
        run(warehouse(stack).client.get("Sales Orders"))
    run(warehouse(stack).upsert(sales_order("S3", ("MUG", 1)), "333", must_exist=False))
    with pytest.raises(RowsRefused, match="lines cannot be removed"):
        run(warehouse(stack).client.save("Sales order items", [{"SalesOrderNumber": "S3", "ItemCode": "MUG",
                                                                 "QuantityOrdered": "0", "Line": "1"}]))


def test_a_write_repeated_after_a_lost_answer_edits_its_lines_instead_of_adding_them(stack):
    """Peoplevox timeouts lose the answer, not the import: the retry must not ship the customer two of each."""
    run(warehouse(stack).upsert(sales_order("S8", ("CAP", 1)), "888", must_exist=False))
    stack.peoplevox.control.faults.update({"timeout_rate": 1.0, "hang_s": 2.0})
    try:
        with pytest.raises(TransientError):
            run(warehouse(stack, timeout_s=1.0).upsert(sales_order("S8", ("CAP", 2)), "888", must_exist=True))
    finally:
        stack.peoplevox.control.faults.update({"timeout_rate": 0.0})
    for _ in range(2):
        run(warehouse(stack).upsert(sales_order("S8", ("CAP", 2), ("MUG", 1)), "888", must_exist=True))
    assert held(stack, "S8")["lines"] == {"CAP": 2, "MUG": 1}
    assert sorted(held(stack, "S8")["line_rows"]) == ["1", "2"]


def test_the_header_peoplevox_holds_is_read_back_through_the_columns_editsync_writes(stack):
    """What a rebuilt order adopts: the header as imported (an empty value reads back as None), each line's
    Notes text, and which fields the templates hold at all (a phone is never written, so never read back)."""
    address = Address(name="Ann Lee", address1="1 Wall St", address2="", city="Leeds", province_code="WYK",
                      zip="LS1 4AP", country_code="GB", phone="+44 113 496 0000", company="Lee Ltd")
    order = SalesOrder(number="S10", lines=(("CAP", 1), ("MUG", 2)), address=address, email="ann@example.com",
                       gift_message="Happy day", line_notes=(("MUG", "Engraving: A; B"), ("MUG", "Colour: red")))
    run(warehouse(stack).upsert(order, "1010", must_exist=False))
    fields = held(stack, "S10")["fields"]
    assert {column: fields[column] for column in ("ContactName", "ShippingAddressRegion", "ShippingAddressPostcode",
                                                  "ShippingAddressCountry", "GiftMessage")} == {
        "ContactName": "Ann Lee", "ShippingAddressRegion": "WYK", "ShippingAddressPostcode": "LS1 4AP",
        "ShippingAddressCountry": "GB", "GiftMessage": "Happy day"}
    with stack.warehouse.lock:  # corrected on Peoplevox's own screens: only reading it back tells
        stack.warehouse.orders["S10"].fields["ShippingAddressPostcode"] = "LS1 5AB"
    address = address.model_copy(update={"zip": "LS1 5AB"})
    found = run(warehouse(stack).held("S10"))
    assert (found.number, found.status, found.lines) == ("S10", "New", (("CAP", 1), ("MUG", 2)))
    assert found.header.address == address.model_copy(update={"address2": None, "phone": None, "company": None})
    assert (found.header.email, found.header.gift_message) == ("ann@example.com", "Happy day")
    assert found.header.line_notes == (("MUG", "Engraving: A; B; Colour: red"),)
    assert found.header.stored == {"name", "address1", "address2", "city", "province_code", "zip", "country_code",
                                   "email", "gift_message", "line_notes"}
    assert run(warehouse(stack).held("S10-R1")) is None


def test_getdata_pages_are_small_and_every_page_is_read(stack):
    """Peoplevox serves a search page by page (TotalCount counts them all), at most 20 rows a page here."""
    parts = [f"PART-{n:02}" for n in range(31)]
    with stack.warehouse.lock:
        stack.warehouse.item_types.update({code: code for code in parts})
    total, first = run(warehouse(stack).client.get("Item types", per_page=500))
    assert total >= 31 and len(first) == stack.warehouse.max_items_per_page < total
    assert set(parts) <= run(warehouse(stack).item_codes())
    # A sales order with more lines than a page: every line must be known before one is added (PART-00 sorts
    # first), or the new item is written over a line the first page did not show.
    run(warehouse(stack).upsert(sales_order("S9", *((code, 1) for code in parts[1:])), "999", must_exist=False))
    assert len(held(stack, "S9")["line_rows"]) == 30
    run(warehouse(stack).upsert(sales_order("S9", *((code, 2) for code in parts)), "999", must_exist=True))
    assert held(stack, "S9")["lines"] == {code: 2 for code in parts}
    assert held(stack, "S9")["line_rows"]["31"]["item_code"] == "PART-00", "the new item is a new line"
    assert [(row.number, row.reference) for row in run(warehouse(stack).sales_orders_of("S9"))] == [("S9", "999")]


def test_an_expired_session_is_renewed_mid_run(stack):
    peoplevox = warehouse(stack)

    async def scenario():
        await peoplevox.status("nope")
        stack.warehouse.expire_sessions()
        await peoplevox.status("nope")
        return peoplevox.client.authentications

    assert run(scenario()) == 2


def test_a_wrong_password_is_a_permanent_error(stack):
    client = PeoplevoxClient(stack.peoplevox_url, "editsync", "integration", "wrong")
    with pytest.raises(PermanentError, match="Invalid Username or Password"):
        run(client.get("Item types"))


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_peoplevox_down_is_transient(stack, status):
    """The failure hits a SOAP call (the WSDL is already loaded), answered with IIS's or ASP.NET's HTML."""
    pvx = warehouse(stack)

    async def scenario():
        await pvx.status("S1")  # loads the WSDL and logs in
        stack.peoplevox.control.faults.update({"fail_next": [status]})
        await pvx.status("S1")

    with pytest.raises(TransientError, match=f"answered {status}"):
        run(scenario())
    last = stack.peoplevox.control.calls[-1]
    assert (last.method, last.operation, last.status) == ("POST", "GetData", status)


def test_a_single_failure_is_ridden_out_by_the_client_itself(stack):
    pvx = warehouse(stack, attempts=3)

    async def scenario():
        await pvx.status("S1")  # loads the WSDL and logs in
        stack.peoplevox.control.faults.update({"fail_next": [500, 503]})
        return await pvx.status("S1")

    assert run(scenario()) == "Picking"
    assert [c.status for c in stack.peoplevox.control.calls_to("GetData")[-3:]] == [500, 503, 200]


def test_status_changes_reach_subscribed_callbacks(stack, receiver):
    callback = receiver.replace("/webhooks/shopify", "/webhooks/peoplevox") + \
        "?token=t&order={SalesOrderNumber}&status={SalesOrderStatus.Name}"
    run(warehouse(stack).client.subscribe("SalesOrderStatusChanges", callback))
    run(warehouse(stack).upsert(sales_order("S4", ("CAP", 1)), "444", must_exist=False))
    stack.warehouse.set_status("S4", "Picking")
    for _ in range(50):
        if any("order=S4&status=Picking" in c["url"] for c in stack.peoplevox.callbacks):
            break
        time.sleep(0.1)
    assert any("order=S4&status=Picking" in c["url"] and c["status"] == 200 for c in stack.peoplevox.callbacks)


def test_a_despatch_is_read_from_the_despatch_summary_with_carrier_tracking_and_items(stack):
    run(warehouse(stack).upsert(sales_order("S40", ("TEE-M", 2), ("MUG", 1)), "400", must_exist=False))
    assert run(warehouse(stack).despatches("S40")) == ()
    stack.warehouse.set_status("S40", "Despatched")
    (despatch,) = run(warehouse(stack).despatches("S40"))
    made = stack.warehouse.despatches[-1]
    assert (despatch.number, despatch.carrier, despatch.tracking_number) == (made.number, made.carrier,
                                                                            made.tracking_number)
    assert despatch.items == (("MUG", 1), ("TEE-M", 2)) and despatch.sales_order_number == "S40"
    stack.warehouse.set_status("S40", "Despatched")
    assert len(run(warehouse(stack).despatches("S40"))) == 1, "one despatch, however often the status is set"
    with pytest.raises(PermanentError, match="Report 'Despatches' not found"):
        run(warehouse(stack).client.get("Despatches", report=True))
