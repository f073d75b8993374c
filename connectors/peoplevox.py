"""Peoplevox's SOAP integration service through zeep's async client (over httpx).

zeep reads the service's own WSDL, so envelopes, the SOAPAction and the
``UserSessionCredentials`` header are built from Peoplevox's contract rather
than by hand. One session is reused; when the service says the session is no
longer valid the client authenticates again and repeats the call once.
``ResponseId`` -1 with any other ``Detail`` is a refusal (``Refused``); HTTP
5xx/429 and transport failures are ``TransientError``.

``PeoplevoxWarehouse`` maps editsync's sales order onto the CSV templates and
applies the state check: before any write it re-reads the sales order's
status and refuses to touch one past the cut-off.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
from typing import Any

import httpx
import zeep
import zeep.exceptions
from zeep.transports import AsyncTransport

from connectors.errors import PermanentError, TransientError
from connectors.ports import Written
from streams.core.model import Address
from streams.core.peoplevox import CANCELLED, CutOff, SalesOrder

SESSION_PROBLEMS = ("Security:Invalid Session", "Security:Session")


class Refused(PermanentError):
    """The integration service answered ResponseId -1."""


class PeoplevoxClient:
    def __init__(self, url: str, client_id: str, username: str, password: str, timeout_s: float = 15.0) -> None:
        self._url = url
        self._client_id, self._username = client_id, username
        self._password = base64.b64encode(password.encode()).decode()
        self._timeout_s = timeout_s
        self._zeep: zeep.AsyncClient | None = None
        self._session: str | None = None
        self._lock = asyncio.Lock()
        self.authentications = 0

    async def _service(self) -> Any:
        if self._zeep is None:
            def load() -> zeep.AsyncClient:
                transport = AsyncTransport(client=httpx.AsyncClient(timeout=self._timeout_s),
                                           wsdl_client=httpx.Client(timeout=self._timeout_s))
                return zeep.AsyncClient(f"{self._url}?WSDL", transport=transport)

            try:
                self._zeep = await asyncio.to_thread(load)
            except (httpx.HTTPError, zeep.exceptions.TransportError) as error:
                raise TransientError(f"Peoplevox WSDL unavailable: {error}") from error
        return self._zeep.service

    async def aclose(self) -> None:
        if self._zeep is not None:
            await self._zeep.transport.aclose()

    async def _authenticate(self) -> str:
        service = await self._service()
        result = await self._call(service.Authenticate, self._client_id, self._username, self._password)
        if result.ResponseId != 0:
            raise PermanentError(f"Peoplevox login refused: {result.Detail}")
        self.authentications += 1
        return result.Detail.split(",", 1)[1]

    async def call(self, operation: str, request: dict[str, Any]) -> Any:
        """Run GetData/SaveData/SubscribeEvent with the session header; log in again once if it expired."""
        for attempt in range(2):
            async with self._lock:
                if self._session is None:
                    self._session = await self._authenticate()
                session = self._session
            service = await self._service()
            header = {"UserSessionCredentials": {"UserId": 0, "ClientId": self._client_id, "SessionId": session}}
            result = await self._call(getattr(service, operation), **request, _soapheaders=header)
            if result.ResponseId == 0:
                return result
            if any(problem in (result.Detail or "") for problem in SESSION_PROBLEMS) and attempt == 0:
                async with self._lock:
                    if self._session == session:
                        self._session = None
                continue
            raise Refused(result.Detail or "refused without detail", {"operation": operation})
        raise PermanentError("Peoplevox session could not be renewed")

    @staticmethod
    async def _call(method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        except zeep.exceptions.TransportError as error:
            if error.status_code in (429,) or error.status_code >= 500:
                raise TransientError(f"Peoplevox answered {error.status_code}") from error
            raise PermanentError(f"Peoplevox answered {error.status_code}") from error
        except zeep.exceptions.Fault as fault:
            raise PermanentError(f"Peoplevox SOAP fault: {fault.message}") from fault
        except (httpx.HTTPError, zeep.exceptions.XMLSyntaxError) as error:
            raise TransientError(f"Peoplevox unreachable: {type(error).__name__}") from error

    async def get(self, template: str, search: str | None = None, page: int = 1,
                  per_page: int = 500) -> tuple[int, list[dict[str, str]]]:
        result = await self.call("GetData", {"getRequest": {"TemplateName": template, "PageNo": page,
                                                            "ItemsPerPage": per_page, "SearchClause": search}})
        return result.TotalCount, list(csv.DictReader(io.StringIO(result.Detail or "")))

    async def save(self, template: str, rows: list[dict[str, str]]) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        result = await self.call("SaveData", {"saveRequest": {"TemplateName": template, "CsvData": out.getvalue(),
                                                              "Action": 0}})
        return result.Detail or ""

    async def subscribe(self, event_type: str, callback_url: str, filter_: str = "") -> str:
        result = await self.call("SubscribeEvent", {"eventType": event_type, "filter": filter_,
                                                    "callbackUrl": callback_url})
        return result.Detail

    async def unsubscribe(self, subscription_id: int) -> None:
        await self.call("UnsubscribeEvent", {"subscriptionId": subscription_id})


class PeoplevoxWarehouse:
    """editsync's sales orders on Peoplevox's templates, with the state check before every write."""

    def __init__(self, client: PeoplevoxClient, cutoff: CutOff) -> None:
        self.client = client
        self.cutoff = cutoff

    async def sales_order(self, number: str) -> dict[str, str] | None:
        _, rows = await self.client.get("Sales Orders", f'SalesOrderNumber.Equals("{_quote(number)}")', per_page=1)
        return rows[0] if rows else None

    async def status(self, number: str) -> str | None:
        row = await self.sales_order(number)
        return row["Status"] if row else None

    async def item_codes(self) -> frozenset[str]:
        codes: set[str] = set()
        page = 1
        while True:
            total, rows = await self.client.get("Item Types", page=page)
            codes.update(row["ItemCode"] for row in rows)
            if not rows or len(codes) >= total:
                return frozenset(codes)
            page += 1

    async def upsert(self, order: SalesOrder, reference: str, *, must_exist: bool) -> Written:
        status = await self.status(order.number)
        if status is None and must_exist:
            raise PermanentError(f"sales order {order.number} is not in Peoplevox", {"number": order.number})
        if status is not None and self.cutoff.reached(status):
            return Written(False, status)
        try:
            await self.client.save("Sales Orders", [_order_row(order, reference)])
            await self.client.save("Sales Order Items", [
                {"SalesOrderNumber": order.number, "ItemCode": code, "Quantity": str(quantity),
                 "Notes": "; ".join(note for c, note in order.line_notes if c == code)}
                for code, quantity in order.lines])
        except Refused:
            # Picking may have started between the read and the write: the warehouse wins.
            status = await self.status(order.number)
            if status is not None and self.cutoff.reached(status):
                return Written(False, status)
            raise
        return Written(True, status or "New")

    async def cancel(self, number: str) -> Written:
        status = await self.status(number)
        if status is None or status == CANCELLED:
            return Written(True, status)
        if self.cutoff.reached(status):
            return Written(False, status)
        try:
            await self.client.save("Sales Orders", [{"SalesOrderNumber": number, "Status": CANCELLED}])
        except Refused:
            status = await self.status(number)
            if status is not None and status != CANCELLED and self.cutoff.reached(status):
                return Written(False, status)
            raise
        return Written(True, CANCELLED)

    async def create_return(self, refund_id: str, number: str, lines: list[tuple[str, int]]) -> None:
        await self.client.save("Returns", [{"ReturnReference": f"{refund_id}/{code}", "SalesOrderNumber": number,
                                            "ItemCode": code, "Quantity": str(quantity)} for code, quantity in lines])


def _order_row(order: SalesOrder, reference: str) -> dict[str, str]:
    address = order.address or Address()
    return {"SalesOrderNumber": order.number, "CustomerPurchaseOrderReferenceNumber": reference,
            "Email": order.email or "", "ShippingName": address.name or "",
            "ShippingAddressLine1": address.address1 or "", "ShippingAddressLine2": address.address2 or "",
            "ShippingCity": address.city or "", "ShippingRegion": address.province_code or "",
            "ShippingPostcode": address.zip or "", "ShippingCountry": address.country_code or "",
            "ShippingPhone": address.phone or "", "GiftMessage": order.gift_message or ""}


def _quote(value: str) -> str:
    return value.replace('"', "")
