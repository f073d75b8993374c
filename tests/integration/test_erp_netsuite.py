"""editsync's NetSuite connector against the NetSuite sandbox, over real HTTP on loopback.

Two halves: the connector's behaviour (convergent upserts, token renewal,
cancellation, money and credit memos linked to the one sales order, error
classes), and the sandbox's own rules driven by raw requests, so a sandbox
grown kinder than NetSuite fails here too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from connectors.erp import NetSuiteRest
from connectors.errors import PermanentError, TransientError
from connectors.netsuite_auth import ClientCredentials
from sandboxes.erp.oauth import TOKEN_PATH
from sandboxes.stack import ERP_ADJUSTMENT_ITEM, Credentials, SandboxStack
from streams.core.commands import ErpLine, ErpSalesOrder


@pytest.fixture(scope="module")
def stack():
    with SandboxStack("http://127.0.0.1:9/webhooks/shopify", b"unused", pick_delay_s=(3600, 3600), seed=3) as sandboxes:
        yield sandboxes


@pytest.fixture(autouse=True)
def fresh_tokens(stack):
    stack.erp.integration.token_lifetime_s = 3600.0
    stack.erp.control.faults.update({"fail_next": [], "down_for_s": 0})


def netsuite(stack: SandboxStack, key: bytes | None = None) -> NetSuiteRest:
    c = stack.credentials
    return NetSuiteRest.connect(stack.erp_url, c.erp_client_id, c.erp_certificate_id, key or c.erp_private_key_pem,
                                stack.erp_default_customer_id)


def with_netsuite(stack: SandboxStack, steps: Callable[[NetSuiteRest], Awaitable[Any]]) -> Any:
    async def go() -> Any:
        erp = netsuite(stack)
        try:
            return await steps(erp)
        finally:
            await erp.aclose()
    return asyncio.run(go())


def order(external_id: str, *lines: tuple[str, str, int, str], cancelled: bool = False) -> ErpSalesOrder:
    return ErpSalesOrder(external_id=external_id, number=f"#{external_id}", currency="USD", total=Decimal(0),
                         tax=Decimal(0), cancelled=cancelled, customer_id=None,
                         lines=tuple(ErpLine(line_id=line_id, sku=sku, quantity=quantity, unit_price=Decimal(price))
                                     for line_id, sku, quantity, price in lines))


def held(stack: SandboxStack, external_id: str) -> list[tuple[str, str, int, float, bool]]:
    so = stack.erp.by_external_id("salesOrder", external_id)
    assert so is not None
    return sorted((line["custcol_shopify_line_id"], line["item"]["refName"], int(line["quantity"]), line["rate"],
                   bool(line.get("isClosed"))) for line in so["item"]["items"])


# --- the connector ---------------------------------------------------------------------------------


def test_reupserting_an_edited_order_ten_times_leaves_exactly_its_current_lines(stack):
    versions = [order("5001", ("1", "MUG", 2, "12.00"), ("2", "SOCK", 1, "8.00"))]
    for n in range(1, 10):  # quantities change, a line goes, a line comes back, another is added
        lines = [("1", "MUG", 1 + n % 3, "12.00")]
        if n % 2 == 0:  # present in the first and every other version, absent from the last
            lines.append(("2", "SOCK", n, "8.00"))
        if n >= 5:
            lines.append(("3", "CAP", 1, "18.00"))
        versions.append(order("5001", *lines))

    async def steps(erp: NetSuiteRest) -> list[str]:
        ids = [await erp.upsert_sales_order(version) for version in versions]
        ids.append(await erp.upsert_sales_order(versions[-1]))  # the last one delivered again
        return ids

    ids = with_netsuite(stack, steps)
    assert len(set(ids)) == 1, "one sales order"
    final = versions[-1]
    assert held(stack, "5001") == sorted((line.line_id, line.sku, line.quantity, float(line.unit_price), False)
                                         for line in final.lines)
    so = stack.erp.by_external_id("salesOrder", "5001")
    first_line_number = next(line["line"] for line in so["item"]["items"] if line["custcol_shopify_line_id"] == "1")
    assert first_line_number == 1, "a line NetSuite already had keeps its line key across every upsert"
    assert so["total"] == sum(line.quantity * float(line.unit_price) for line in final.lines)
    assert so["entity"]["id"] == stack.erp_default_customer_id


def test_the_erp_keeps_syncing_across_token_expiry(stack):
    stack.erp.integration.token_lifetime_s = 1.0
    tokens_before = _token_requests(stack)

    async def steps(erp: NetSuiteRest) -> int:
        written = 0
        deadline = time.monotonic() + 3.5
        while time.monotonic() < deadline:  # outlives three token lifetimes
            await erp.upsert_sales_order(order("5002", ("1", "MUG", 1 + written % 4, "12.00")))
            written += 1
            await asyncio.sleep(0.1)
        stack.erp.integration.expire_all()  # revoked before its time: the next call is answered 401
        await erp.upsert_sales_order(order("5002", ("1", "MUG", 9, "12.00")))
        return written + 1

    written = with_netsuite(stack, steps)
    assert written > 10 and held(stack, "5002") == [("1", "MUG", 9, 12.0, False)]
    assert _token_requests(stack) - tokens_before >= 4, "renewed as tokens ran out, and after the 401"
    statuses = [c.status for c in stack.erp.control.calls if c.path.endswith("/eid:5002")]
    assert statuses.count(401) == 1, "renewal ahead of expiry means only the revoked token was ever refused"


def test_cancellation_closes_every_line_and_deletes_none(stack):
    with_netsuite(stack, lambda erp: erp.upsert_sales_order(order("5003", ("1", "MUG", 2, "12.00"),
                                                                  ("2", "CAP", 1, "18.00"))))
    with_netsuite(stack, lambda erp: erp.upsert_sales_order(order("5003", cancelled=True)))
    assert held(stack, "5003") == [("1", "MUG", 2, 12.0, True), ("2", "CAP", 1, 18.0, True)]
    assert stack.erp.by_external_id("salesOrder", "5003")["orderStatus"] == {"id": "H", "refName": "Closed"}


def test_an_order_cancelled_before_the_erp_saw_it_is_recorded_closed(stack):
    with_netsuite(stack, lambda erp: erp.upsert_sales_order(order("5004", ("1", "SOCK", 3, "8.00"), cancelled=True)))
    assert held(stack, "5004") == [("1", "SOCK", 3, 8.0, True)]


def test_deposit_payment_and_credit_memo_link_to_the_one_sales_order(stack):
    refund_lines = [{"line_id": "1", "sku": "MUG", "quantity": 1, "unit_price": "12.00", "restock_type": "RETURN"}]

    async def steps(erp: NetSuiteRest) -> None:
        await erp.upsert_sales_order(order("5005", ("1", "MUG", 2, "12.00"), ("2", "CAP", 1, "18.00")))
        for _ in range(2):  # every command may arrive twice
            await erp.record_payment("5005", "t-5005", "42.00", "USD")
            await erp.create_credit_memo("5005", "r-5005", "12.00", "USD", refund_lines)

    with_netsuite(stack, steps)
    so = stack.erp.by_external_id("salesOrder", "5005")
    deposit = stack.erp.by_external_id("customerDeposit", "shopify-txn-t-5005")
    memo = stack.erp.by_external_id("creditMemo", "shopify-refund-r-5005")
    assert deposit["salesOrder"]["id"] == so["id"] and deposit["customer"]["id"] == so["entity"]["id"]
    assert deposit["payment"] == 42.0
    assert memo["entity"]["id"] == so["entity"]["id"] and memo["custbody_shopify_order_id"] == "5005"
    assert [(line["item"]["refName"], line["quantity"], line["rate"]) for line in memo["item"]["items"]] == \
        [("MUG", 1.0, 12.0)], "written once, not appended on redelivery"

    httpx.post(f"{stack.control_url('erp')}/bill/5005", timeout=10).raise_for_status()
    with_netsuite(stack, lambda erp: erp.record_payment("5005", "t-5005-capture", "30.00", "USD"))
    payment = stack.erp.by_external_id("customerPayment", "shopify-txn-t-5005-capture")
    (invoice,) = [i for i in stack.erp.state()["invoice"].values() if i["createdFrom"]["id"] == so["id"]]
    assert payment["customer"]["id"] == so["entity"]["id"]
    assert [(a["doc"]["id"], a["apply"], a["amount"]) for a in payment["apply"]["items"]] == \
        [(invoice["id"], True, 30.0)], "money after billing is a payment applied to the order's invoice"
    assert invoice["amountRemaining"] == invoice["total"] - 30.0


def test_refusals_are_permanent_with_netsuite_detail_and_throttling_transient(stack):
    mug = order("5006", ("1", "MUG", 1, "12.00"))

    async def steps(erp: NetSuiteRest) -> None:
        with pytest.raises(PermanentError, match="no item records for 'NOT-IN-NETSUITE'"):
            await erp.upsert_sales_order(order("5006", ("1", "NOT-IN-NETSUITE", 1, "1.00")))
        with pytest.raises(PermanentError, match="no sales order"):
            await erp.record_payment("no-such-order", "t1", "5.00", "USD")
        for fault, error, reason in (({"fail_next": [400]}, PermanentError, "Invalid content in the request body"),
                                     ({"fail_next": [429]}, TransientError, "429"),
                                     ({"fail_next": [503]}, TransientError, "503"),
                                     ({"down_for_s": 1}, TransientError, "unreachable")):
            stack.erp.control.faults.update(fault)
            with pytest.raises(error, match=reason):
                await erp.upsert_sales_order(mug)
            stack.erp.control.faults.update({"fail_next": [], "down_for_s": 0})
        await erp.upsert_sales_order(mug)

    with_netsuite(stack, steps)
    other_key = Credentials().erp_private_key_pem  # a certificate NetSuite never mapped

    async def with_wrong_key() -> None:
        erp = netsuite(stack, other_key)
        try:
            await erp.upsert_sales_order(mug)
        finally:
            await erp.aclose()

    with pytest.raises(PermanentError, match="signature does not verify"):
        asyncio.run(with_wrong_key())


# --- the sandbox's rules, in raw requests ------------------------------------------------------------


@pytest.fixture
def api(stack):
    """An authorised raw client: the sandbox judged without editsync's connector in between."""
    async def token() -> str:
        async with httpx.AsyncClient() as client:
            c = stack.credentials
            return await ClientCredentials(f"{stack.erp_url}/auth/oauth2/v1/token", c.erp_client_id,
                                           c.erp_certificate_id, c.erp_private_key_pem, client).token()
    with httpx.Client(base_url=f"{stack.erp_url}/record/v1",
                      headers={"Authorization": f"Bearer {asyncio.run(token())}"}, timeout=10) as client:
        yield client


def refs(stack: SandboxStack) -> dict[str, dict[str, str]]:
    items = {sku: internal for internal, sku in stack.erp.state()["items"].items()}
    return {"entity": {"id": stack.erp_default_customer_id}, "mug": {"id": items["MUG"]}, "cap": {"id": items["CAP"]}}


def test_sandbox_merges_sublists_and_removes_only_with_replace(stack, api):
    r = refs(stack)
    body = {"entity": r["entity"], "item": {"items": [{"item": r["mug"], "quantity": 1}]}}
    assert api.put("/salesOrder/eid:6001", json=body).status_code == 204
    assert api.put("/salesOrder/eid:6001", json=body).status_code == 204
    lines = stack.erp.by_external_id("salesOrder", "6001")["item"]["items"]
    assert [line["line"] for line in lines] == [1, 2], "a line without a key is added, as NetSuite does"
    update = {"item": {"items": [{"line": 2, "quantity": 5}]}}
    assert api.put("/salesOrder/eid:6001", json=update).status_code == 204
    lines = stack.erp.by_external_id("salesOrder", "6001")["item"]["items"]
    assert [(line["line"], line["quantity"]) for line in lines] == [(1, 1.0), (2, 5.0)]
    assert api.put("/salesOrder/eid:6001", params={"replace": "item"}, json=update).status_code == 204
    lines = stack.erp.by_external_id("salesOrder", "6001")["item"]["items"]
    assert [(line["line"], line["quantity"]) for line in lines] == [(2, 5.0)], "replace=item drops unlisted lines"
    bad_key = {"item": {"items": [{"line": 99, "quantity": 1}]}}
    assert api.put("/salesOrder/eid:6001", json=bad_key).status_code == 400


@pytest.mark.parametrize("change, detail", [
    ({"entity": None}, "Please enter value(s) for: Customer"),
    ({"entity": {"externalId": "shopify-1"}}, "Invalid Field Value"),
    ({"orderStatus": "Cancelled"}, "orderStatus"),
    ({"orderStatus": "H"}, "orderStatus"),
    ({"status": "Closed"}, "read-only"),
    ({"total": 10}, "read-only"),
    ({"giftMessage": "hi"}, "does not exist"),
    ({"item": {"items": []}}, "at least one line item"),
    ({"item": {"items": [{"item": {"id": "999999"}, "quantity": 1}]}}, "Invalid Field Value"),
])
def test_sandbox_refuses_what_netsuite_refuses(stack, api, change, detail):
    r = refs(stack)
    body = {"entity": r["entity"], "orderStatus": "B", "item": {"items": [{"item": r["cap"], "quantity": 1}]}}
    body = {k: v for k, v in {**body, **change}.items() if v is not None}
    response = api.put("/salesOrder/eid:6002", json=body)
    assert response.status_code == 400, response.text
    assert detail in response.json()["o:errorDetails"][0]["detail"]


def test_sandbox_sublists_are_links_unless_expanded_and_names_are_case_insensitive(stack, api):
    r = refs(stack)
    body = {"entity": r["entity"], "item": {"items": [{"item": r["cap"], "quantity": 1}]}}
    assert api.put("/salesorder/eid:6003", json=body).status_code == 204
    assert api.put("/salesOrder/eid:6003", json={"item": {"items": [{"line": 1, "isclosed": True}]}}).status_code == 204
    plain = api.get("/salesOrder/eid:6003").json()
    assert set(plain["item"]) == {"links"}
    expanded = api.get("/salesOrder/eid:6003", params={"expandSubResources": "true"}).json()
    assert expanded["item"]["items"][0]["isClosed"] is True and expanded["orderStatus"]["id"] == "H"


def test_sandbox_money_records_need_their_customer_and_invoices(stack, api):
    r = refs(stack)
    api.put("/salesOrder/eid:6004", json={"entity": r["entity"], "item": {"items": [{"item": r["mug"], "quantity": 1}]}})
    so_id = stack.erp.by_external_id("salesOrder", "6004")["id"]
    assert api.put("/customerDeposit/eid:d-6004", json={"payment": 5, "salesOrder": {"id": so_id}}).status_code == 400
    assert api.put("/customerPayment/eid:p-6004", json={"customer": r["entity"], "payment": 5}).status_code == 400
    assert api.put("/creditMemo/eid:c-6004", json={"entity": r["entity"], "createdFrom": {"id": so_id},
                                                    "item": {"items": [{"item": r["mug"], "quantity": 1}]}}
                   ).status_code == 400, "createdFrom is set by transforms only"
    assert api.put("/customerDeposit/eid:d-6004", json={"customer": r["entity"], "payment": 5,
                                                         "salesOrder": {"id": so_id}}).status_code == 204


def test_sandbox_takes_a_negative_rate_only_on_an_other_charge_item_and_no_credit_memo_below_zero(stack, api):
    r = refs(stack)
    adjustment = {"id": {sku: i for i, sku in stack.erp.state()["items"].items()}[ERP_ADJUSTMENT_ITEM]}

    def memo(external_id: str, *lines: tuple[dict[str, str], int]) -> httpx.Response:
        return api.put(f"/creditMemo/eid:{external_id}", json={"entity": r["entity"], "item": {"items": [
            {"item": item, "quantity": 1, "rate": rate} for item, rate in lines]}})

    assert memo("c-6005", (r["mug"], 20), (r["cap"], -5)).status_code == 400, "a negative inventory line"
    assert memo("c-6006", (r["mug"], 20), (adjustment, -20)).status_code == 400, "a credit memo of nothing"
    assert memo("c-6007", (r["mug"], 20), (adjustment, -5)).status_code == 204
    assert stack.erp.by_external_id("creditMemo", "c-6007")["total"] == 15.0


def test_sandbox_tokens_need_a_signed_assertion_and_expire(stack):
    url = f"{stack.erp_url}/auth/oauth2/v1/token"
    assert url.endswith(TOKEN_PATH)
    answer = httpx.post(url, data={"grant_type": "client_credentials",
                                   "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                                   "client_assertion": "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.e30.c2ln"}, timeout=10)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant", "RS256 and unsigned refused"
    stack.erp.integration.token_lifetime_s = 0.5

    async def token() -> str:
        async with httpx.AsyncClient() as client:
            c = stack.credentials
            return await ClientCredentials(url, c.erp_client_id, c.erp_certificate_id, c.erp_private_key_pem,
                                           client).token()
    bearer = {"Authorization": f"Bearer {asyncio.run(token())}"}
    assert httpx.get(f"{stack.erp_url}/record/v1/customer/{stack.erp_default_customer_id}", headers=bearer,
                     timeout=10).status_code == 200
    time.sleep(0.6)
    expired = httpx.get(f"{stack.erp_url}/record/v1/customer/{stack.erp_default_customer_id}", headers=bearer,
                        timeout=10)
    assert expired.status_code == 401 and expired.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN"


def _token_requests(stack: SandboxStack) -> int:
    return sum(1 for c in stack.erp.control.calls if c.path == TOKEN_PATH and c.status == 200)
