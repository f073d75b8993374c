"""The ERP's NetSuite REST record API implementation of ``connectors.ports.Erp``.

Every write is an upsert by external id (``PUT .../record/v1/<type>/eid:<id>``,
Oracle NetSuite REST Web Services), so a command delivered twice writes the
same record twice and never creates a second one: the sales order by Shopify
order id, a customer payment by Shopify transaction id, a credit memo by
Shopify refund id. 429 and 5xx are ``TransientError``; a 400 (invalid
reference, invalid content) is ``PermanentError`` carrying NetSuite's
``o:errorDetails``.
"""

from __future__ import annotations

from typing import Any

import httpx

from connectors.errors import PermanentError, TransientError


class NetSuiteRest:
    def __init__(self, base_url: str, token: str, client: httpx.AsyncClient | None = None,
                 timeout_s: float = 15.0) -> None:
        self._base = f"{base_url.rstrip('/')}/record/v1"
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                         "Prefer": "transient"}
        self._client = client or httpx.AsyncClient(timeout=timeout_s)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def upsert_sales_order(self, record: dict[str, Any]) -> str:
        body = {"tranId": record["number"], "currency": {"refName": record["currency"]},
                "entity": {"externalId": record["customer_id"]} if record.get("customer_id") else None,
                "total": record["total"], "taxTotal": record["tax"],
                "status": "Cancelled" if record["cancelled"] else "Pending Fulfillment",
                "item": {"items": [{"item": {"externalId": line["sku"]}, "quantity": line["quantity"],
                                    "rate": line["unit_price"], "custcol_shopify_line_id": line["line_id"]}
                                   for line in record["lines"]]}}
        return await self._upsert("salesOrder", record["external_id"], body)

    async def record_payment(self, order_external_id: str, transaction_id: str, amount: str, currency: str) -> str:
        body = {"createdFrom": {"externalId": order_external_id}, "payment": amount,
                "currency": {"refName": currency}, "memo": f"Shopify transaction {transaction_id}"}
        return await self._upsert("customerPayment", f"shopify-txn-{transaction_id}", body)

    async def create_credit_memo(self, order_external_id: str, refund_id: str, amount: str, currency: str,
                                 lines: list[dict[str, Any]]) -> str:
        body = {"createdFrom": {"externalId": order_external_id}, "total": amount,
                "currency": {"refName": currency}, "memo": f"Shopify refund {refund_id}",
                "item": {"items": [{"custcol_shopify_line_id": line["line_id"], "quantity": line["quantity"]}
                                   for line in lines]}}
        return await self._upsert("creditMemo", f"shopify-refund-{refund_id}", body)

    async def _upsert(self, record_type: str, external_id: str, body: dict[str, Any]) -> str:
        url = f"{self._base}/{record_type}/eid:{external_id}"
        try:
            response = await self._client.put(url, json={k: v for k, v in body.items() if v is not None},
                                              headers=self._headers)
        except httpx.HTTPError as error:
            raise TransientError(f"ERP unreachable: {type(error).__name__}") from error
        if response.status_code in (200, 204):
            return response.headers.get("Location", "").rsplit("/", 1)[-1]
        details = _error_details(response)
        if response.status_code == 429 or response.status_code >= 500:
            retry_after = response.headers.get("Retry-After")
            raise TransientError(f"ERP answered {response.status_code}", float(retry_after) if retry_after else None,
                                 {"errors": details})
        raise PermanentError(f"ERP refused {record_type} {external_id}: "
                             f"{'; '.join(d.get('detail', '') for d in details) or response.status_code}",
                             {"status": response.status_code, "errors": details})


def _error_details(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        return list(response.json().get("o:errorDetails") or [])
    except (ValueError, AttributeError):
        return []
