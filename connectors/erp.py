"""The ERP's NetSuite REST record API implementation of ``connectors.ports.Erp``.

How each command lands in NetSuite (rules and their sources: ``sandboxes/erp/server.py``):

- **Sales order**, upserted by Shopify order id (``PUT …/salesOrder/eid:<id>?replace=item``).
  The order is read first (``expandSubResources=true``) and every line that
  NetSuite already has keeps its ``line`` key, matched through the
  ``custcol_shopify_line_id`` column; new lines go without a key, and
  ``replace=item`` removes lines the order no longer has. Why both: without
  ``replace`` NetSuite *merges* the sublist, so a re-upsert would append every
  line again and never drop a removed one; without line keys ``replace``
  would delete and re-add every line on each edit, losing the line identity
  that fulfilments and invoices point at (and NetSuite refuses to delete a
  fulfilled line). Both together converge to exactly the order's current
  lines however often the upsert repeats. ``entity``, ``currency`` and
  ``orderStatus`` (``B``, pending fulfilment: approved, as Shopify took the
  money) are set on creation only.
- **Cancellation** closes the lines (``isClosed``), which NetSuite turns into
  status Closed; nothing is deleted. A never-synced cancelled order is
  created with its lines closed, so its payment and refund have an order.
- **Money** captured in Shopify before NetSuite billed the order is a
  ``customerDeposit`` for the sales order; once the order is billed, a
  ``customerPayment`` applied (``apply``) to its open invoices.
- **Refunds** are ``creditMemo`` records for the order's customer (``entity``)
  with item lines by internal id, tagged with the Shopify order id
  (``custbody_shopify_order_id``): a credit memo's ``createdFrom`` is set only
  by transforming an invoice or return authorisation. NetSuite totals a credit
  memo from its lines, but what Shopify refunded is rarely the refunded lines'
  value (a size swap refunds the removed lines less the added one; shipping,
  tax and goodwill refunds have no lines), so the difference goes on one line
  of the configured adjustment item (an Other Charge item, rate may be
  negative): the credit memo's total is always exactly Shopify's refund.
- **References** are internal ids. Items are found by SKU (``itemid``),
  customers by external id (the Shopify customer id), then by email, then the
  configured default customer; currencies by ISO code: SuiteQL, cached for the
  life of the process (misses are not cached, so an item created later is
  found on the next attempt).

One-off records (deposit, payment, credit memo) are looked up by their
external id first and never written twice. 429, 5xx, timeouts and an
unreachable NetSuite are ``TransientError``; any other refusal is
``PermanentError`` with NetSuite's ``o:errorDetails`` in the reason. A 401
renews the access token once and repeats the request.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from connectors.errors import PermanentError, TransientError
from connectors.netsuite_auth import ClientCredentials
from streams.core.commands import ErpSalesOrder
from streams.core.details import ResultDetail, SystemMessage

BILLED = "G"  # NetSuite's sales order status code for Billed


class NetSuiteRest:
    def __init__(self, base_url: str, credentials: ClientCredentials, client: httpx.AsyncClient,
                 default_customer_id: str | None = None, adjustment_item: str | None = None) -> None:
        self._base = base_url.rstrip("/")
        self._credentials = credentials
        self._client = client
        self._default_customer = default_customer_id
        self._adjustment_item = adjustment_item
        self._ids: dict[tuple[str, str], str] = {}  # (what, key) -> internal id

    @classmethod
    def connect(cls, base_url: str, client_id: str, certificate_id: str, private_key_pem: bytes,
                default_customer_id: str | None = None, adjustment_item: str | None = None,
                timeout_s: float = 15.0, client: httpx.AsyncClient | None = None,
                transport: httpx.AsyncBaseTransport | None = None) -> NetSuiteRest:
        """``base_url`` is ``https://<account>.suitetalk.api.netsuite.com/services/rest``."""
        client = client or httpx.AsyncClient(timeout=timeout_s, transport=transport)
        token_url = f"{base_url.rstrip('/')}/auth/oauth2/v1/token"
        return cls(base_url, ClientCredentials(token_url, client_id, certificate_id, private_key_pem, client),
                   client, default_customer_id, adjustment_item)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def ping(self) -> None:
        """Does NetSuite answer again? The smallest authenticated question: one SuiteQL look-up."""
        await self._query("SELECT id FROM currency WHERE symbol = 'USD'")

    # --- the three commands -------------------------------------------------------------------

    async def upsert_sales_order(self, order: ErpSalesOrder) -> str:
        existing = await self._get("salesOrder", order.external_id)
        if existing is not None and (order.cancelled or not order.lines):
            # Closing is an update of the lines NetSuite has: merge, no replace, nothing else touched.
            closing = [{"line": line["line"], "isClosed": True} for line in _lines(existing)]
            return await self._put("salesOrder", order.external_id, {"item": {"items": closing}})
        if not order.lines:
            raise PermanentError(f"order {order.number} has no lines to record as a NetSuite sales order")
        known = {line.get("custcol_shopify_line_id"): line["line"] for line in _lines(existing or {})}
        items = []
        for line in order.lines:
            item = {"item": {"id": await self._item_id(line.sku)}, "quantity": line.quantity,
                    "rate": _number(line.unit_price), "isClosed": order.cancelled,
                    "custcol_shopify_line_id": line.line_id}
            if line.line_id in known:
                item["line"] = known[line.line_id]
            items.append(item)
        body: dict[str, Any] = {"otherRefNum": order.number, "item": {"items": items}}
        if existing is None:
            body |= {"entity": {"id": await self._customer_id(order.customer_id, order.email)},
                     "currency": {"id": await self._currency_id(order.currency)}, "orderStatus": "B"}
        return await self._put("salesOrder", order.external_id, body, replace="item")

    async def record_payment(self, order_external_id: str, transaction_id: str, amount: str, currency: str) -> str:
        external_id = f"shopify-txn-{transaction_id}"
        for record_type in ("customerDeposit", "customerPayment"):
            found = await self._get(record_type, external_id)
            if found is not None:
                return str(found["id"])
        order = await self._order(order_external_id)
        body: dict[str, Any] = {"customer": {"id": order["entity"]["id"]}, "payment": _number(amount),
                                "currency": {"id": await self._currency_id(currency)},
                                "memo": f"Shopify transaction {transaction_id} for {order.get('otherRefNum', '')}"}
        if (order.get("orderStatus") or {}).get("id") != BILLED:
            return await self._put("customerDeposit", external_id, {**body, "salesOrder": {"id": str(order["id"])}})
        apply, left = [], Decimal(amount)
        for invoice_id, remaining in await self._open_invoices(str(order["id"])):
            if left <= 0:
                break
            share = min(left, remaining)
            apply.append({"doc": {"id": invoice_id}, "apply": True, "amount": _number(share)})
            left -= share
        if not apply:
            raise PermanentError(f"sales order {order_external_id} is billed but has no open invoice to apply "
                                 f"Shopify transaction {transaction_id} to")
        return await self._put("customerPayment", external_id, {**body, "apply": {"items": apply}})

    async def create_credit_memo(self, order_external_id: str, refund_id: str, amount: str, currency: str,
                                 lines: list[dict[str, Any]]) -> str:
        external_id = f"shopify-refund-{refund_id}"
        found = await self._get("creditMemo", external_id)
        if found is not None:
            return str(found["id"])
        if any(line.get("unit_price") is None for line in lines):
            raise PermanentError(f"Shopify refund {refund_id} has a line without its unit price (a command from "
                                 "before editsync 1.2): retry it to re-read the order")
        order = await self._order(order_external_id)
        items = [{"item": {"id": await self._item_id(line["sku"])}, "quantity": line["quantity"],
                  "rate": _number(line["unit_price"]), "custcol_shopify_line_id": line["line_id"]} for line in lines]
        lines_value = sum((Decimal(str(line["unit_price"])) * line["quantity"] for line in lines), Decimal(0))
        difference = Decimal(amount) - lines_value
        if difference:
            if not self._adjustment_item:
                raise PermanentError(
                    f"Shopify refunded {amount} {currency} in refund {refund_id} but its lines are worth "
                    f"{lines_value}: set EDITSYNC_ERP_ADJUSTMENT_ITEM to a NetSuite Other Charge item for the "
                    "difference")
            items.append({"item": {"id": await self._item_id(self._adjustment_item)}, "quantity": 1,
                          "rate": _number(difference),
                          "description": f"Shopify refund {refund_id}: refunded {amount}, lines {lines_value}"})
        body = {"entity": {"id": order["entity"]["id"]}, "currency": {"id": await self._currency_id(currency)},
                "otherRefNum": order.get("otherRefNum", ""), "custbody_shopify_order_id": order_external_id,
                "memo": f"Shopify refund {refund_id}: {amount} {currency}", "item": {"items": items}}
        return await self._put("creditMemo", external_id, body)

    # --- lookups --------------------------------------------------------------------------------

    async def _order(self, external_id: str) -> dict[str, Any]:
        order = await self._get("salesOrder", external_id)
        if order is None:
            raise PermanentError(f"NetSuite has no sales order with external id {external_id}")
        return order

    async def _item_id(self, sku: str | None) -> str:
        if not sku:
            raise PermanentError("a line without a SKU cannot be matched to a NetSuite item")
        return await self._one("item", sku, f"SELECT id FROM item WHERE itemid = {_literal(sku)}")

    async def _currency_id(self, code: str) -> str:
        return await self._one("currency", code, f"SELECT id FROM currency WHERE symbol = {_literal(code)}")

    async def _customer_id(self, shopify_customer_id: str | None, email: str | None) -> str:
        for key, column in ((shopify_customer_id, "externalid"), (email, "email")):
            if not key:
                continue
            if ("customer", key) in self._ids:
                return self._ids[("customer", key)]
            rows = await self._query(f"SELECT id FROM customer WHERE {column} = {_literal(key)}")
            if len(rows) == 1:
                self._ids[("customer", key)] = str(rows[0]["id"])
                return self._ids[("customer", key)]
        if self._default_customer:
            return self._default_customer
        raise PermanentError(f"no NetSuite customer with external id {shopify_customer_id!r} or email {email!r}, "
                             "and no default customer is configured (EDITSYNC_ERP_DEFAULT_CUSTOMER_ID)")

    async def _one(self, what: str, key: str, sql: str) -> str:
        if (what, key) not in self._ids:
            rows = await self._query(sql)
            if len(rows) != 1:
                raise PermanentError(f"NetSuite has {len(rows) or 'no'} {what} records for {key!r}: expected one")
            self._ids[(what, key)] = str(rows[0]["id"])
        return self._ids[(what, key)]

    async def _open_invoices(self, order_id: str) -> list[tuple[str, Decimal]]:
        rows = await self._query("SELECT DISTINCT transaction FROM transactionline "
                                 f"WHERE createdfrom = {int(order_id)}")
        invoices = []
        for row in rows:  # fulfilments are created from the order too: only invoices answer as invoices
            invoice = await self._get("invoice", str(row["transaction"]), by_external_id=False)
            if invoice is not None and Decimal(str(invoice.get("amountRemaining", 0))) > 0:
                invoices.append((str(invoice["id"]), Decimal(str(invoice["amountRemaining"]))))
        return invoices

    async def _query(self, sql: str) -> list[dict[str, Any]]:
        response = await self._call("POST", "/query/v1/suiteql", f"SuiteQL {sql}", json={"q": sql},
                                    headers={"Prefer": "transient"})
        assert response is not None
        return list(response.json().get("items") or [])

    # --- HTTP -----------------------------------------------------------------------------------

    async def _get(self, record_type: str, ref: str, by_external_id: bool = True) -> dict[str, Any] | None:
        address = f"eid:{quote(ref, safe='')}" if by_external_id else quote(ref, safe="")
        response = await self._call("GET", f"/record/v1/{record_type}/{address}", f"{record_type} {ref}",
                                    params={"expandSubResources": "true"}, missing_ok=True)
        return None if response is None else response.json()

    async def _put(self, record_type: str, external_id: str, body: dict[str, Any], replace: str | None = None) -> str:
        response = await self._call("PUT", f"/record/v1/{record_type}/eid:{quote(external_id, safe='')}",
                                    f"{record_type} {external_id}", json=body,
                                    params={"replace": replace} if replace else None)
        assert response is not None
        return response.headers.get("Location", "").rsplit("/", 1)[-1]

    async def _call(self, method: str, path: str, what: str, missing_ok: bool = False,
                    **request: Any) -> httpx.Response | None:
        headers = request.pop("headers", {})
        for attempt in (1, 2):
            token = await self._credentials.token()
            try:
                response = await self._client.request(method, f"{self._base}{path}", **request,
                                                       headers={**headers, "Authorization": f"Bearer {token}"})
            except httpx.HTTPError as error:
                raise TransientError(f"NetSuite unreachable: {type(error).__name__}") from error
            if response.status_code != 401 or attempt == 2:
                break
            self._credentials.invalidate(token)  # expired or revoked early: one new token, one more try
        if response.status_code < 300:
            return response
        if response.status_code == 404 and missing_ok:
            return None
        details = _error_details(response)
        if response.status_code == 429 or response.status_code >= 500:
            # Retry-After may also be an HTTP date (RFC 9110): then the sink's own backoff decides.
            retry_after = response.headers.get("Retry-After", "").strip()
            raise TransientError(f"NetSuite answered {response.status_code} to {what}",
                                 float(retry_after) if retry_after.isdigit() else None,
                                 ResultDetail(errors=_messages(details)))
        reasons = "; ".join(d.get("detail", "") for d in details) or str(response.status_code)
        raise PermanentError(f"NetSuite refused {what}: {reasons}",
                             ResultDetail(http_status=response.status_code, errors=_messages(details)))


def _lines(record: dict[str, Any]) -> list[dict[str, Any]]:
    return list((record.get("item") or {}).get("items") or [])


def _number(amount: str | Decimal) -> float:
    return float(Decimal(str(amount)))


def _literal(value: str) -> str:
    """A SuiteQL string literal: single quotes, a quote doubled (SQL-92)."""
    return "'" + value.replace("'", "''") + "'"


def _messages(details: list[dict[str, Any]]) -> tuple[SystemMessage, ...]:
    return tuple(SystemMessage(message=each.get("detail"), code=each.get("o:errorCode")) for each in details)


def _error_details(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        return list(response.json().get("o:errorDetails") or [])
    except (ValueError, AttributeError):
        return []
