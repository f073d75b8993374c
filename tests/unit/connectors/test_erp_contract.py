"""Contract tests: the NetSuite connector against request and response shapes from Oracle's own examples.

No sandbox: an ``httpx.MockTransport`` answers with the documented responses
and records what the connector sent, which is checked against the documented
requests. Sources (Oracle NetSuite help, docs.oracle.com/en/cloud/saas/netsuite/
ns-online-help/<page>.html):

- section_162755359851 "POST Request to the Token Endpoint and the Access Token Response":
  the form fields and the answer ``{"access_token", "expires_in": "3600", "token_type": "bearer"}``.
- section_162790605110 "The Request Token Structure": JWT header ``typ``/``alg``/``kid``, payload
  ``iss``/``scope``/``aud``/``iat``/``exp``.
- section_158394344595 "Using SuiteQL with SuiteTalk REST Web Services": ``POST …/query/v1/suiteql``,
  ``Prefer: transient``, ``{"q": …}``; section_1540810951 "Listing All Record Instances" for the
  collection shape (``links``, ``items``, ``totalResults``).
- section_156335203191 "Using the Upsert Operation" and section_1545142173 "Updating a Record
  Instance": ``PUT …/eid:<id>``, ``204`` with ``Location``.
- section_1545141947 "Format of Sublists and Subrecords": sublists as links unless
  ``expandSubResources=true``.
- section_159795516182 "Use Case For Approving Your Sales Order": ``"entity": {"id": "110"}``,
  ``"orderStatus": "B"``, ``"item": {"items": [{"item": {"id": 98}, "quantity": 1}]}``.
- section_159795512874 "Use Case For Updating Your Sales Order": ``{"line": 1, "isclosed": true}``
  closes a line; ``?replace=item`` removes lines not listed.
- article_0830072110 "Customer Deposit" and article_0224093711 "Customer Payment": ``customer``,
  ``payment``, ``salesOrder``; ``apply.items[].doc.id``, ``apply``, ``amount``.
- section_156570709583 "Error Handling in REST Web Services": ``status``, ``o:errorDetails``
  (``detail``, ``o:errorCode``), 4xx user errors, 5xx system errors.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from connectors.erp import NetSuiteRest
from connectors.errors import PermanentError, TransientError
from streams.core.commands import ErpLine, ErpSalesOrder

BASE = "https://demo123.suitetalk.api.netsuite.com/services/rest"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KEY_PEM = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
# The shape of the documented answer; the token itself is opaque to the client.
TOKEN_ANSWER = {"access_token": "eyJraWQiOiJzLlNZU1RFTS4yMDIwXzEiLCJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.e30.sig",
                "expires_in": "3600", "token_type": "bearer"}
PROBLEM = "application/vnd.oracle.resource+json"


def collection(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"links": [{"rel": "self", "href": f"{BASE}/query/v1/suiteql?limit=1000&offset=0"}],
            "count": len(rows), "hasMore": False, "items": [{"links": [], **row} for row in rows],
            "offset": 0, "totalResults": len(rows)}


def problem(status: int, detail: str, code: str) -> httpx.Response:
    return httpx.Response(status, json={"type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1",
                                        "title": "Bad Request", "status": status,
                                        "o:errorDetails": [{"detail": detail, "o:errorCode": code}]},
                          headers={"Content-Type": PROBLEM})


class NetSuite:
    """Documented answers by request; every request kept for the assertions."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.routes: dict[tuple[str, str], Callable[[httpx.Request], httpx.Response]] = {
            ("POST", "/services/rest/auth/oauth2/v1/token"): lambda r: httpx.Response(200, json=TOKEN_ANSWER),
            ("POST", "/services/rest/query/v1/suiteql"): self.suiteql,
        }
        self.rows: dict[str, list[dict[str, Any]]] = {"item": [{"id": "98"}], "customer": [{"id": "110"}],
                                                       "currency": [{"id": "1"}], "transactionline": []}

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = self.routes.get((request.method, request.url.path))
        if route is None:
            return problem(404, "The record instance does not exist. Provide a valid record instance ID.",
                           "NONEXISTENT_ID")
        return route(request)

    def suiteql(self, request: httpx.Request) -> httpx.Response:
        table = json.loads(request.content)["q"].split(" FROM ")[1].split()[0]
        return httpx.Response(200, json=collection(self.rows[table]))

    def connector(self, adjustment_item: str | None = None) -> NetSuiteRest:
        client = httpx.AsyncClient(transport=httpx.MockTransport(self.handle))
        return NetSuiteRest.connect(BASE, "1c343a716c1dceb60e7fc149fa6735929ef77d28fe16293f892976dde7d8e3e2",
                                    "cert-id-1", KEY_PEM, default_customer_id="110",
                                    adjustment_item=adjustment_item, client=client)

    def sent(self, method: str, path_end: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path.endswith(path_end)]


def run(netsuite: NetSuite, call: Callable[[NetSuiteRest], Any], adjustment_item: str | None = None) -> Any:
    async def go() -> Any:
        erp = netsuite.connector(adjustment_item)
        try:
            return await call(erp)
        finally:
            await erp.aclose()
    return asyncio.run(go())


ORDER = ErpSalesOrder(external_id="SO-2026-0001", number="#1001", currency="USD", total=Decimal("25.00"),
                      tax=Decimal(0), cancelled=False, customer_id=None,
                      lines=(ErpLine(line_id="11", sku="MUG", quantity=1, unit_price=Decimal("25.00")),))


def created(netsuite: NetSuite, record_type: str, internal_id: str) -> None:
    netsuite.routes[("PUT", f"/services/rest/record/v1/{record_type}/eid:{ORDER.external_id}")] = \
        lambda r: httpx.Response(204, headers={"Location": f"{BASE}/record/v1/{record_type}/{internal_id}"})


def test_token_request_is_the_documented_client_credentials_form_with_a_signed_assertion():
    netsuite = NetSuite()
    created(netsuite, "salesOrder", "107")
    run(netsuite, lambda erp: erp.upsert_sales_order(ORDER))
    (token_request,) = netsuite.sent("POST", "/auth/oauth2/v1/token")
    assert token_request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = {k: v[0] for k, v in parse_qs(token_request.content.decode()).items()}
    assert form["grant_type"] == "client_credentials"
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    header_b64, payload_b64, signature_b64 = form["client_assertion"].split(".")
    header, payload = json.loads(_unb64(header_b64)), json.loads(_unb64(payload_b64))
    assert header == {"typ": "JWT", "alg": "PS256", "kid": "cert-id-1"}
    assert payload["iss"] == "1c343a716c1dceb60e7fc149fa6735929ef77d28fe16293f892976dde7d8e3e2"
    assert payload["aud"] == f"{BASE}/auth/oauth2/v1/token" and payload["scope"] == ["rest_webservices"]
    assert 0 < payload["exp"] - payload["iat"] < 3600
    KEY.public_key().verify(_unb64(signature_b64), f"{header_b64}.{payload_b64}".encode(),
                            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    bearer = {r.headers["Authorization"] for r in netsuite.requests if r not in (token_request,)}
    assert bearer == {f"Bearer {TOKEN_ANSWER['access_token']}"}, "one token, from expires_in sent as a string"


def test_lookups_are_suiteql_with_prefer_transient_and_read_the_collection_shape():
    netsuite = NetSuite()
    created(netsuite, "salesOrder", "107")
    run(netsuite, lambda erp: erp.upsert_sales_order(ORDER.model_copy()))
    queries = netsuite.sent("POST", "/query/v1/suiteql")
    assert {r.headers["Prefer"] for r in queries} == {"transient"}
    assert [json.loads(r.content)["q"] for r in queries] == [
        "SELECT id FROM item WHERE itemid = 'MUG'", "SELECT id FROM currency WHERE symbol = 'USD'"]


def test_a_new_sales_order_is_the_documented_create_body_upserted_by_external_id():
    netsuite = NetSuite()
    created(netsuite, "salesOrder", "107")
    internal_id = run(netsuite, lambda erp: erp.upsert_sales_order(ORDER))
    assert internal_id == "107", "the id is read from Location"
    (get,) = netsuite.sent("GET", "/salesOrder/eid:SO-2026-0001")
    assert get.url.params["expandSubResources"] == "true"
    (put,) = netsuite.sent("PUT", "/salesOrder/eid:SO-2026-0001")
    assert put.url.params["replace"] == "item"
    body = json.loads(put.content)
    assert body["entity"] == {"id": "110"} and body["orderStatus"] == "B" and body["currency"] == {"id": "1"}
    assert body["item"]["items"] == [{"item": {"id": "98"}, "quantity": 1, "rate": 25.0, "isClosed": False,
                                      "custcol_shopify_line_id": "11"}]


def expanded_order(lines: list[dict[str, Any]], status: str = "B") -> dict[str, Any]:
    """A GET with expandSubResources=true, in the documented format."""
    href = f"{BASE}/record/v1/salesOrder/107"
    return {"links": [{"rel": "self", "href": href}], "id": "107", "externalId": "SO-2026-0001",
            "entity": {"links": [], "id": "110", "refName": "Shopify web orders"}, "otherRefNum": "#1001",
            "orderStatus": {"id": status, "refName": "Pending Fulfillment"},
            "item": {"links": [{"rel": "self", "href": f"{href}/item"}], "totalResults": len(lines),
                     "items": [{"links": [{"rel": "self", "href": f"{href}/item/{line['line']}"}], **line}
                               for line in lines]}}


def existing(netsuite: NetSuite, order: dict[str, Any]) -> None:
    netsuite.routes[("GET", "/services/rest/record/v1/salesOrder/eid:SO-2026-0001")] = \
        lambda r: httpx.Response(200, json=order, headers={"Content-Type": PROBLEM})


def test_an_update_keeps_line_keys_adds_new_lines_unkeyed_and_replaces_the_sublist():
    netsuite = NetSuite()
    existing(netsuite, expanded_order([
        {"line": 1, "item": {"id": "98"}, "quantity": 1.0, "custcol_shopify_line_id": "11"},
        {"line": 2, "item": {"id": "99"}, "quantity": 1.0, "custcol_shopify_line_id": "12"}]))
    created(netsuite, "salesOrder", "107")
    edited = ORDER.model_copy(update={"lines": (
        ErpLine(line_id="11", sku="MUG", quantity=3, unit_price=Decimal("25.00")),
        ErpLine(line_id="13", sku="MUG", quantity=1, unit_price=Decimal("25.00")))})
    run(netsuite, lambda erp: erp.upsert_sales_order(edited))
    (put,) = netsuite.sent("PUT", "/salesOrder/eid:SO-2026-0001")
    body = json.loads(put.content)
    assert put.url.params["replace"] == "item", "line 2 (Shopify line 12) is gone from the order"
    assert [(line.get("line"), line["custcol_shopify_line_id"], line["quantity"]) for line in body["item"]["items"]] \
        == [(1, "11", 3), (None, "13", 1)]
    assert "entity" not in body and "orderStatus" not in body, "set on creation only"


def test_cancellation_is_the_documented_line_close_without_replace():
    netsuite = NetSuite()
    existing(netsuite, expanded_order([{"line": 1, "item": {"id": "98"}, "quantity": 1.0},
                                       {"line": 3, "item": {"id": "98"}, "quantity": 2.0}]))
    created(netsuite, "salesOrder", "107")
    run(netsuite, lambda erp: erp.upsert_sales_order(ORDER.model_copy(update={"cancelled": True})))
    (put,) = netsuite.sent("PUT", "/salesOrder/eid:SO-2026-0001")
    assert "replace" not in put.url.params
    documented = {"item": {"items": [{"line": 1, "isclosed": True}]}}  # field names are case-insensitive
    body = json.loads(put.content)
    assert [{k.lower(): v for k, v in line.items()} for line in body["item"]["items"]] == \
        [documented["item"]["items"][0], {"line": 3, "isclosed": True}]
    assert set(body) == {"item"}


def test_money_before_billing_is_a_deposit_and_after_billing_a_payment_applied_to_the_invoice():
    netsuite = NetSuite()
    existing(netsuite, expanded_order([]))
    netsuite.routes[("PUT", "/services/rest/record/v1/customerDeposit/eid:shopify-txn-7")] = \
        lambda r: httpx.Response(204, headers={"Location": f"{BASE}/record/v1/customerDeposit/201"})
    assert run(netsuite, lambda erp: erp.record_payment("SO-2026-0001", "7", "25.00", "USD")) == "201"
    (deposit,) = netsuite.sent("PUT", "/customerDeposit/eid:shopify-txn-7")
    body = json.loads(deposit.content)
    assert body["customer"] == {"id": "110"} and body["salesOrder"] == {"id": "107"} and body["payment"] == 25.0

    billed = NetSuite()
    existing(billed, expanded_order([], status="G"))
    billed.rows["transactionline"] = [{"transaction": "104"}, {"transaction": "105"}]  # an invoice, a fulfilment
    billed.routes[("GET", "/services/rest/record/v1/invoice/104")] = \
        lambda r: httpx.Response(200, json={"id": "104", "amountRemaining": 200.0})
    billed.routes[("PUT", "/services/rest/record/v1/customerPayment/eid:shopify-txn-8")] = \
        lambda r: httpx.Response(204, headers={"Location": f"{BASE}/record/v1/customerPayment/301"})
    assert run(billed, lambda erp: erp.record_payment("SO-2026-0001", "8", "250.00", "USD")) == "301"
    (payment,) = billed.sent("PUT", "/customerPayment/eid:shopify-txn-8")
    body = json.loads(payment.content)
    assert body["customer"] == {"id": "110"} and body["payment"] == 250.0
    assert body["apply"] == {"items": [{"doc": {"id": "104"}, "apply": True, "amount": 200.0}]}


def test_a_credit_memo_names_the_orders_customer_and_items_by_internal_id():
    netsuite = NetSuite()
    existing(netsuite, expanded_order([]))
    netsuite.routes[("PUT", "/services/rest/record/v1/creditMemo/eid:shopify-refund-9")] = \
        lambda r: httpx.Response(204, headers={"Location": f"{BASE}/record/v1/creditMemo/401"})
    lines = [{"line_id": "11", "sku": "MUG", "quantity": 1, "unit_price": "25.00", "restock_type": "RETURN"}]
    assert run(netsuite, lambda erp: erp.create_credit_memo("SO-2026-0001", "9", "25.00", "USD", lines)) == "401"
    (put,) = netsuite.sent("PUT", "/creditMemo/eid:shopify-refund-9")
    body = json.loads(put.content)
    assert body["entity"] == {"id": "110"} and "createdFrom" not in body
    assert body["item"]["items"] == [{"item": {"id": "98"}, "quantity": 1, "rate": 25.0,
                                      "custcol_shopify_line_id": "11"}]


ADJUSTMENT = "Shopify refund adjustment"


def credit_memo_account() -> NetSuite:
    """An account whose items answer SuiteQL by name: MUG is 98, the adjustment item 77."""
    netsuite = NetSuite()
    existing(netsuite, expanded_order([]))
    netsuite.routes[("PUT", "/services/rest/record/v1/creditMemo/eid:shopify-refund-9")] = \
        lambda r: httpx.Response(204, headers={"Location": f"{BASE}/record/v1/creditMemo/401"})

    def suiteql(request: httpx.Request) -> httpx.Response:
        query = json.loads(request.content)["q"]
        if " FROM item " in query:
            return httpx.Response(200, json=collection([{"id": "77" if ADJUSTMENT in query else "98"}]))
        return netsuite.suiteql(request)
    netsuite.routes[("POST", "/services/rest/query/v1/suiteql")] = suiteql
    return netsuite


@pytest.mark.parametrize("amount, lines, expected", [
    ("25.00", [{"line_id": "11", "sku": "MUG", "quantity": 2, "unit_price": "25.00", "restock_type": "NO_RESTOCK"}],
     [{"item": {"id": "98"}, "quantity": 2, "rate": 25.0, "custcol_shopify_line_id": "11"},
      {"item": {"id": "77"}, "quantity": 1, "rate": -25.0}]),
    ("4.95", [], [{"item": {"id": "77"}, "quantity": 1, "rate": 4.95}]),
], ids=["size-swap-refunds-less-than-its-lines", "shipping-refund-without-lines"])
def test_a_credit_memo_totals_what_shopify_refunded_through_an_adjustment_line(amount, lines, expected):
    netsuite = credit_memo_account()
    assert run(netsuite, lambda erp: erp.create_credit_memo("SO-2026-0001", "9", amount, "USD", lines),
               adjustment_item=ADJUSTMENT) == "401"
    (put,) = netsuite.sent("PUT", "/creditMemo/eid:shopify-refund-9")
    items = json.loads(put.content)["item"]["items"]
    assert [{k: v for k, v in item.items() if k != "description"} for item in items] == expected
    assert sum(item["quantity"] * item["rate"] for item in items) == float(amount)


def test_a_refund_its_lines_do_not_explain_needs_the_adjustment_item_configured():
    netsuite = credit_memo_account()
    lines = [{"line_id": "11", "sku": "MUG", "quantity": 2, "unit_price": "25.00", "restock_type": "NO_RESTOCK"}]
    with pytest.raises(PermanentError, match="EDITSYNC_ERP_ADJUSTMENT_ITEM"):
        run(netsuite, lambda erp: erp.create_credit_memo("SO-2026-0001", "9", "25.00", "USD", lines))
    assert netsuite.sent("PUT", "/creditMemo/eid:shopify-refund-9") == []


@pytest.mark.parametrize("status, error", [(400, PermanentError), (404, PermanentError), (429, TransientError),
                                           (500, TransientError), (503, TransientError)])
def test_documented_error_responses_are_classified_with_their_detail(status, error):
    netsuite = NetSuite()
    detail = "Invalid value for the resource or sub-resource field 'entity'. Provide a valid value."
    netsuite.routes[("PUT", "/services/rest/record/v1/salesOrder/eid:SO-2026-0001")] = \
        lambda r: problem(status, detail, "INVALID_VALUE" if status < 500 else "UNEXPECTED_ERROR")
    with pytest.raises(error) as raised:
        run(netsuite, lambda erp: erp.upsert_sales_order(ORDER))
    if error is PermanentError:
        assert detail in raised.value.reason and raised.value.detail.http_status == status


@pytest.mark.parametrize("retry_after, expected", [("7", 7.0), ("Wed, 21 Oct 2026 07:28:00 GMT", None)])
def test_a_429_is_transient_whatever_form_its_retry_after_takes(retry_after, expected):
    """RFC 9110 allows seconds or an HTTP date; a date leaves the wait to the sink's backoff."""
    netsuite = NetSuite()
    netsuite.routes[("PUT", "/services/rest/record/v1/salesOrder/eid:SO-2026-0001")] = \
        lambda r: httpx.Response(429, headers={"Retry-After": retry_after})
    with pytest.raises(TransientError) as raised:
        run(netsuite, lambda erp: erp.upsert_sales_order(ORDER))
    assert raised.value.retry_after_s == expected


def test_a_401_renews_the_token_once_and_repeats_the_request():
    netsuite = NetSuite()
    answers = iter([problem(401, "Invalid login attempt.", "INVALID_LOGIN"),
                    httpx.Response(204, headers={"Location": f"{BASE}/record/v1/salesOrder/107"})])
    netsuite.routes[("PUT", "/services/rest/record/v1/salesOrder/eid:SO-2026-0001")] = lambda r: next(answers)
    assert run(netsuite, lambda erp: erp.upsert_sales_order(ORDER)) == "107"
    assert len(netsuite.sent("POST", "/auth/oauth2/v1/token")) == 2
    netsuite.routes[("PUT", "/services/rest/record/v1/salesOrder/eid:SO-2026-0001")] = \
        lambda r: problem(401, "Invalid login attempt.", "INVALID_LOGIN")
    with pytest.raises(PermanentError, match="Invalid login attempt"):
        run(netsuite, lambda erp: erp.upsert_sales_order(ORDER))


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
