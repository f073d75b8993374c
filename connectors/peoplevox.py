"""Peoplevox's SOAP integration service through zeep's async client (over httpx).

zeep reads the service's own WSDL, so envelopes, the SOAPAction and the
``UserSessionCredentials`` header are built from Peoplevox's contract rather
than by hand. One session is reused; whenever the service refuses the session
(any ``Detail`` that speaks of the session: public client code waits for
``System : Security - Invalid Session``, and no other wording is documented)
the client authenticates again and repeats the call once.

Failures are classified by what they are. HTTP 5xx and 429 without a SOAP
envelope (IIS and ASP.NET answer with HTML pages), SOAP faults the server
raised (``soap:Server``: an ASMX service's unhandled exception, e.g. a database
timeout), zeep's "Unknown fault" for a body that holds no fault, connection
errors and timeouts are ``TransientError``. Only a refusal of the request
itself is permanent: ``ResponseId`` -1 (``Refused``), a ``soap:Client`` fault,
another 4xx, or rows the import did not save (``RowsRefused``).

``PeoplevoxWarehouse`` maps editsync's sales order onto the client's import
templates through ``PeoplevoxColumns`` (configuration: Peoplevox templates are
configured per client) and applies the state check: before any write it
re-reads the sales order's status and refuses to touch one past the cut-off.
The same columns are read back (``held``): after a rebuild the sink weighs
the sales order Peoplevox holds, header included, against Shopify's order;
a field no configured column holds is left out of what is read back.
``SaveData`` answers how many rows it saved (``TotalCount``); fewer than sent
is a ``RowsRefused`` naming the refused rows. A sales order is two imports,
header then lines; lines carry their Peoplevox ``Line`` number (read back
before writing), so a write repeated after a lost answer edits the same lines
instead of adding them again, and a new header whose lines are refused is
cancelled at once, so no header-only sales order is left for the warehouse.
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

from connectors.errors import ConnectorError, PermanentError, TransientError
from connectors.ports import SalesOrderRow, Written
from streams.core.details import HeaderField, Held, HeldHeader, ResultDetail
from streams.core.model import Address, Despatch, SalesOrder
from streams.core.peoplevox import CANCELLED, CutOff, PeoplevoxColumns, notes_by_code

SALES_ORDERS, SALES_ORDER_ITEMS, ITEM_TYPES, RETURNS = "Sales orders", "Sales order items", "Item types", "Returns"
XML_MEDIA_TYPES = ("text/xml", "application/soap+xml", "application/xml")


class Refused(PermanentError):
    """The integration service answered ResponseId -1: the request itself was refused."""


class RowsRefused(PermanentError):
    """SaveData saved fewer rows than it was sent; ``detail["refused"]`` says which and why."""


class _Transport(AsyncTransport):
    """zeep's transport, classifying an HTTP failure before zeep mistakes an HTML page for a SOAP fault."""

    async def post(self, address: str, message: Any, headers: Any) -> httpx.Response:
        response = await super().post(address, message, headers)
        status = response.status_code
        media_type = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if status == 200 or media_type in XML_MEDIA_TYPES:
            return response  # a SOAP answer or fault: zeep reads it
        answer = f"Peoplevox answered {status} ({media_type or 'no content type'})"
        if status == 429 or status >= 500:
            retry_after = response.headers.get("Retry-After", "")
            raise TransientError(answer, float(retry_after) if retry_after.isdigit() else None,
                                 ResultDetail(http_status=status))
        raise PermanentError(answer, ResultDetail(http_status=status))


class PeoplevoxClient:
    def __init__(self, url: str, client_id: str, username: str, password: str, timeout_s: float = 15.0,
                 http: httpx.AsyncClient | None = None, wsdl_http: httpx.Client | None = None,
                 attempts: int = 3, retry_delay_s: float = 0.5) -> None:
        self._url = url
        self._attempts, self._retry_delay_s = attempts, retry_delay_s
        self._http, self._wsdl_http = http, wsdl_http
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
                transport = _Transport(client=self._http or httpx.AsyncClient(timeout=self._timeout_s),
                                       wsdl_client=self._wsdl_http or httpx.Client(timeout=self._timeout_s))
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
        """Run GetData/SaveData/UnsubscribeEvent; a transient failure is tried again at once, a few times.

        Safe because the writes are upserts (sales orders by SalesOrderNumber, item rows by Line, returns by
        ReturnReference) and removing a subscription twice removes it once. A single 5xx or lost answer then
        costs a second, not a trip through the sink's retry topic; a longer outage still ends up there.
        SubscribeEvent is not repeated here (:meth:`subscribe`).
        """
        for attempt in range(self._attempts - 1):
            try:
                return await self._call_in_session(operation, request)
            except TransientError:
                await asyncio.sleep(self._retry_delay_s * 2 ** attempt)
        return await self._call_in_session(operation, request)

    async def _call_in_session(self, operation: str, request: dict[str, Any]) -> Any:
        """One call with the session header; log in again once if the session was refused."""
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
            if "session" in (result.Detail or "").lower() and attempt == 0:
                async with self._lock:
                    if self._session == session:
                        self._session = None
                continue
            raise Refused(result.Detail or "refused without detail", ResultDetail(operation=operation))
        raise PermanentError("Peoplevox refused a fresh session", ResultDetail(operation=operation))

    @staticmethod
    async def _call(method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        except zeep.exceptions.TransportError as error:
            if error.status_code == 429 or error.status_code >= 500:
                raise TransientError(f"Peoplevox answered {error.status_code}") from error
            raise PermanentError(f"Peoplevox answered {error.status_code}") from error
        except zeep.exceptions.Fault as fault:
            if (fault.code or "").rsplit(":", 1)[-1] in ("Client", "Sender"):
                raise PermanentError(f"Peoplevox refused the request: {fault.message}") from fault
            raise TransientError(f"Peoplevox fault: {fault.message}") from fault
        except (httpx.HTTPError, zeep.exceptions.XMLSyntaxError) as error:
            raise TransientError(f"Peoplevox unreachable: {type(error).__name__}") from error

    async def get(self, template: str, search: str | None = None, page: int = 1,
                  per_page: int = 500, *, report: bool = False) -> tuple[int, list[dict[str, str]]]:
        """One page of a data template (``GetData``) or, ``report``, of a report by its name in Peoplevox's
        reporting section (``GetReportData``, paged and searched alike: Zynk's "Export Report from Peoplevox")."""
        operation, request = ("GetReportData", "getReportRequest") if report else ("GetData", "getRequest")
        result = await self.call(operation, {request: {"TemplateName": template, "PageNo": page,
                                                       "ItemsPerPage": per_page, "SearchClause": search}})
        return result.TotalCount, list(csv.DictReader(io.StringIO(result.Detail or "")))

    async def get_all(self, template: str, search: str | None = None, per_page: int = 100, *,
                      report: bool = False) -> list[dict[str, str]]:
        """Every row a search matches, page by page as Peoplevox pages (``PageNo`` from 1, ``TotalCount`` rows in
        all; peoplevox.github.io/Documentation §2.2.4, Patchworks' PeopleVox pagination method). A page may hold
        fewer rows than asked for, so only ``TotalCount`` (or an empty page) ends the reading."""
        rows: list[dict[str, str]] = []
        page = 1
        while True:
            total, found = await self.get(template, search, page=page, per_page=per_page, report=report)
            rows.extend(found)
            if not found or len(rows) >= total:
                return rows
            page += 1

    async def save(self, template: str, rows: list[dict[str, str]]) -> None:
        """Import rows; every row must be saved, or ``RowsRefused`` says which were not."""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        result = await self.call("SaveData", {"saveRequest": {"TemplateName": template, "CsvData": out.getvalue(),
                                                              "Action": 0}})
        if result.TotalCount != len(rows):
            refused = [line for line in (result.Detail or "").splitlines() if line.strip()]
            raise RowsRefused(f"Peoplevox saved {result.TotalCount} of {len(rows)} {template} rows: "
                              f"{'; '.join(refused) or 'no reason given'}",
                              ResultDetail(template=template, sent=len(rows), saved=result.TotalCount,
                                           refused=tuple(refused)))

    async def subscribe(self, event_type: str, callback_url: str, filter_: str = "") -> str:
        # One attempt: a repeat after a lost answer makes a second subscription whose id nobody learns, and
        # Peoplevox has no call that lists them; the caller tries again only once it knows where it stands.
        result = await self._call_in_session("SubscribeEvent", {"eventType": event_type, "filter": filter_,
                                                                "callbackUrl": callback_url})
        return result.Detail

    async def unsubscribe(self, subscription_id: int) -> None:
        await self.call("UnsubscribeEvent", {"subscriptionId": subscription_id})


class PeoplevoxWarehouse:
    """editsync's sales orders on the client's Peoplevox templates, with the state check before every write."""

    def __init__(self, client: PeoplevoxClient, cutoff: CutOff, columns: PeoplevoxColumns | None = None) -> None:
        self.client = client
        self.cutoff = cutoff
        self.columns = columns or PeoplevoxColumns()

    def _by_number(self, number: str) -> str:
        return f'{self.columns.sales_order_number}.Equals("{_quote(number)}")'

    async def _header_row(self, number: str) -> dict[str, str] | None:
        _, rows = await self.client.get(SALES_ORDERS, self._by_number(number), per_page=1)
        return rows[0] if rows else None

    async def sales_order(self, number: str) -> SalesOrderRow | None:
        row = await self._header_row(number)
        if row is None:
            return None
        return SalesOrderRow(number, row.get(self.columns.reference) or "", row.get(self.columns.status) or "")

    async def sales_orders_of(self, prefix: str) -> list[SalesOrderRow]:
        columns = self.columns
        search = f'{columns.sales_order_number}.StartsWith("{_quote(prefix)}")'
        return [SalesOrderRow(row[columns.sales_order_number], row.get(columns.reference) or "",
                              row.get(columns.status) or "")
                for row in await self.client.get_all(SALES_ORDERS, search)]

    async def held(self, number: str) -> Held | None:
        row = await self._header_row(number)
        if row is None:
            return None
        columns, items = self.columns, await self._held_lines(number)
        totals: dict[str, int] = {}
        notes: dict[str, str] = {}
        for item in items:
            code = item[columns.item_code]
            totals[code] = totals.get(code, 0) + int(item[columns.quantity] or 0)
            notes.setdefault(code, item.get(columns.line_notes) or "")  # the first line: the one editsync writes
        # Only a column the answer has says what Peoplevox holds; an empty value is no value.
        values: dict[HeaderField, str | None] = {}
        for column, field in columns.header():
            if column in row:
                values.setdefault(field, row[column] or None)
        stored: set[HeaderField] = set(values)
        if columns.line_notes and all(columns.line_notes in item for item in items):
            stored.add("line_notes")
        header = HeldHeader(address=Address(**{f: v for f, v in values.items() if f in Address.model_fields}),
                            email=values.get("email"), gift_message=values.get("gift_message"),
                            line_notes=tuple(sorted((code, text) for code, text in notes.items() if text)),
                            stored=frozenset(stored))
        return Held(number=number, status=row.get(columns.status) or "", lines=tuple(sorted(totals.items())),
                    header=header)

    async def despatches(self, number: str) -> tuple[Despatch, ...]:
        """What Peoplevox despatched of the sales order: its "Despatch summary" report, one row per item."""
        rows = await self.client.get_all(DESPATCH_SUMMARY, f'Salesorder_number.Equals("{_quote(number)}")',
                                         report=True)
        return despatches_of(number, rows)

    async def status(self, number: str) -> str | None:
        row = await self.sales_order(number)
        return row.status if row else None

    async def item_codes(self) -> frozenset[str]:
        return frozenset(row[self.columns.item_code] for row in await self.client.get_all(ITEM_TYPES))

    async def upsert(self, order: SalesOrder, reference: str, *, must_exist: bool) -> Written:
        status = await self.status(order.number)
        if status is None and must_exist:
            raise PermanentError(f"sales order {order.number} is not in Peoplevox", ResultDetail(number=order.number))
        if status is not None and self.cutoff.reached(status):
            return Written(False, status)
        try:
            await self._write(self.client.save(SALES_ORDERS, [self._order_row(order, reference)]), order.number)
            await self._write(self._save_lines(order), order.number, lines=True)
        except _PickingStarted as started:
            return Written(False, started.status)
        return Written(True, status or "New")

    async def _write(self, save: Any, number: str, *, lines: bool = False, done_at: str | None = None) -> None:
        """Run one import. Refused because picking started meanwhile: the warehouse wins. Refused although the
        sales order is already at ``done_at`` (an earlier try whose answer was lost): done. Refused lines of a
        sales order that holds none (this command's header, or an earlier attempt's): the header is
        cancelled rather than left for the warehouse without lines."""
        try:
            await save
        except PermanentError as error:
            status = await self.status(number)
            if done_at is not None and status == done_at:
                return
            if status is not None and status != CANCELLED and self.cutoff.reached(status):
                raise _PickingStarted(status) from None
            if lines and not await self._held_lines(number):
                raise await self._without_header(number, error) from error
            raise

    async def _save_lines(self, order: SalesOrder) -> None:
        columns = self.columns
        held = await self._held_lines(order.number)
        line_of: dict[str, int] = {}
        for row in held:
            line_of.setdefault(row[columns.item_code], int(row[columns.line]))
        next_line = max(line_of.values(), default=0) + 1
        notes = notes_by_code(order.line_notes)
        rows = []
        for code, quantity in order.lines:
            if code not in line_of:
                line_of[code], next_line = next_line, next_line + 1
            row = {columns.sales_order_number: order.number, columns.item_code: code,
                   columns.quantity: str(quantity), columns.line: str(line_of[code])}
            if columns.line_notes:
                row[columns.line_notes] = notes.get(code, "")
            rows.append(row)
        await self.client.save(SALES_ORDER_ITEMS, rows)

    async def _held_lines(self, number: str) -> list[dict[str, str]]:
        return await self.client.get_all(SALES_ORDER_ITEMS, self._by_number(number))

    async def _without_header(self, number: str, error: PermanentError) -> PermanentError:
        """The lines of a new sales order were refused: cancel its header rather than leave it without lines."""
        detail = error.detail.model_copy(update={"number": number})
        try:
            await self.client.save(SALES_ORDERS, [{self.columns.sales_order_number: number,
                                                   self.columns.status: CANCELLED}])
        except ConnectorError as cancel_error:
            return PermanentError(f"{error.reason}; sales order {number} is left in Peoplevox WITHOUT LINES "
                                  f"(cancelling it failed: {cancel_error.reason})",
                                  detail.model_copy(update={"header_only": True}))
        return PermanentError(f"{error.reason}; the new sales order {number} was cancelled so that no header "
                              "without lines is left", detail.model_copy(update={"header_cancelled": True}))

    async def cancel(self, number: str) -> Written:
        status = await self.status(number)
        if status is None or status == CANCELLED:
            return Written(True, status)
        if self.cutoff.reached(status):
            return Written(False, status)
        try:
            # Peoplevox refuses to amend a cancelled sales order, so a cancel repeated after its answer was lost
            # (the client's own retry, or the sink's) is refused although it is done.
            await self._write(self.client.save(SALES_ORDERS, [{self.columns.sales_order_number: number,
                                                              self.columns.status: CANCELLED}]), number,
                              done_at=CANCELLED)
        except _PickingStarted as started:
            return Written(False, started.status)
        return Written(True, CANCELLED)

    async def create_return(self, refund_id: str, number: str, lines: list[tuple[str, int]]) -> None:
        await self.client.save(RETURNS, [{"ReturnReference": f"{refund_id}/{code}", "SalesOrderNumber": number,
                                          "ItemCode": code, "Quantity": str(quantity)} for code, quantity in lines])

    def _order_row(self, order: SalesOrder, reference: str) -> dict[str, str]:
        address, columns = order.address or Address(), self.columns
        fields = {**address.model_dump(), "email": order.email, "gift_message": order.gift_message}
        return {columns.sales_order_number: order.number, columns.reference: reference,
                **{column: fields[field] or "" for column, field in columns.header()}}


class _PickingStarted(PermanentError):
    def __init__(self, status: str) -> None:
        super().__init__(f"picking started: {status}", ResultDetail(status=status))
        self.status = status


def _quote(value: str) -> str:
    return value.replace('"', "")


DESPATCH_SUMMARY = "Despatch summary"


def despatches_of(number: str, rows: list[dict[str, str]]) -> tuple[Despatch, ...]:
    """The report's item rows of one sales order, gathered per despatch number, in the order first listed."""
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.get("Salesorder_number") != number or not row.get("Despatch_number"):
            continue
        despatch = found.setdefault(row["Despatch_number"], {
            "carrier": row.get("Carrier") or None, "tracking_number": row.get("Tracking_number") or None, "items": {}})
        code = row.get("Item_code") or ""
        try:
            units = int(row.get("No_of_items") or 0)
        except ValueError:
            raise PermanentError(f"Peoplevox's Despatch summary says {row.get('No_of_items')!r} items of {code} "
                                 f"for {number}: not a whole number") from None
        despatch["items"][code] = despatch["items"].get(code, 0) + units
    return tuple(Despatch(number=despatch_number, sales_order_number=number, items=tuple(sorted(d["items"].items())),
                          carrier=d["carrier"], tracking_number=d["tracking_number"])
                 for despatch_number, d in found.items())
