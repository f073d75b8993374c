"""The Peoplevox sandbox over HTTP: the SOAP 1.1 integration service and event callbacks.

Shapes follow public Peoplevox client code (Node.js and PHP integration-service clients):
``/<ClientId>/resources/integrationservicev4.asmx`` (WSDL at ``?WSDL``),
namespace ``http://www.peoplevox.net/``, ``SOAPAction:
http://www.peoplevox.net/<Operation>``; every result is an
``IntegrationResponse`` with ``ResponseId`` (0 ok, -1 refused), ``TotalCount``
and ``Detail``; ``Authenticate`` answers ``Detail`` = ``"<clientId>,<sessionId>"``;
later calls carry a ``UserSessionCredentials`` header. A malformed envelope or
unknown operation is a SOAP 1.1 ``soap:Fault`` with HTTP 500, as ASP.NET ASMX
services answer. Status changes are delivered to subscribed callback URLs,
placeholders filled in, data in the query string, nothing signed.

Bad days, as IIS in front of an ASMX service has them: HTTP 500 answered with
an HTML error page, not a SOAP envelope (ASP.NET's runtime error page, which
is not even well-formed XML), 502/503 with IIS's XHTML status pages, and
timeouts after which the import may well have happened: IIS keeps running a
request whose client has gone, so a timed-out ``SaveData`` is applied and
only its answer is lost *(stricter reading; whether a given timeout happened
before or after the import cannot be known from outside)*.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import httpx
from aiohttp import web
from lxml import etree

from sandboxes.control import Control
from sandboxes.peoplevox.warehouse import Refused, Subscription, Warehouse, fill_callback

log = logging.getLogger(__name__)
NS = "http://www.peoplevox.net/"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSDL = Path(__file__).with_name("integrationservicev4.wsdl").read_text()
OPERATIONS = ("Authenticate", "GetData", "GetReportData", "SaveData", "SubscribeEvent", "UnsubscribeEvent")


def error_response(status: int) -> web.Response:
    reason = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
              503: "Service Unavailable"}.get(status, "Error")
    headers = {"Retry-After": "1"} if status in (429, 503) else {}
    if status == 500:
        # ASP.NET's runtime error page: HTML, unclosed tags and all, served with status 500.
        body = ("<!DOCTYPE html>\r\n<html>\r\n<head>\r\n<title>Runtime Error</title>\r\n"
                '<meta name="viewport" content="width=device-width" />\r\n</head>\r\n<body bgcolor="white">'
                "<span><H1>Server Error in '/' Application.<hr width=100% size=1 color=silver></H1>"
                "<h2> <i>Runtime Error</i> </h2></span><br><b> Description: </b>An application error occurred "
                "on the server.<br><br></body></html>")
    else:
        body = (f'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
                f'"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\r\n<html xmlns="http://www.w3.org/1999/xhtml">'
                f"<head><title>{status} - {reason}</title></head><body><h1>{status} - {reason}</h1></body></html>")
    return web.Response(status=status, text=body, content_type="text/html", headers=headers)


def envelope(operation: str, response_id: int, detail: str, total: int = 0) -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP_ENV}" '
            f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
            f'<soap:Body><{operation}Response xmlns="{NS}"><{operation}Result><ResponseId>{response_id}</ResponseId>'
            f'<TotalCount>{total}</TotalCount><Detail>{escape(detail)}</Detail></{operation}Result>'
            f'</{operation}Response></soap:Body></soap:Envelope>')


def fault(message: str) -> web.Response:
    body = (f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP_ENV}"><soap:Body><soap:Fault>'
            f'<faultcode>soap:Client</faultcode><faultstring>{escape(message)}</faultstring></soap:Fault>'
            f'</soap:Body></soap:Envelope>')
    return web.Response(status=500, text=body, content_type="text/xml", charset="utf-8")


class PeoplevoxSandbox:
    def __init__(self, warehouse: Warehouse | None = None, seed: int | None = None) -> None:
        self.warehouse = warehouse or Warehouse(seed=seed)
        self.warehouse.notify = self._notify
        self.control = Control("peoplevox", error_response, self.warehouse.state, _operation_of, seed)
        self.control.faults.timeout_after_handling = True
        self.callbacks: list[dict[str, Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.control.middleware])
        path = f"/{self.warehouse.client_id}/resources/integrationservicev4.asmx"
        app.add_routes([web.get(path, self.wsdl), web.post(path, self.soap),
                        web.post("/_sandbox/status/{number}", self.force_status),
                        web.post("/_sandbox/expire-sessions", self.expire_sessions),
                        web.put("/_sandbox/pick-cycle", self.pick_cycle),
                        web.post("/_sandbox/item-types", self.add_item_type),
                        web.delete("/_sandbox/item-types/{code}", self.remove_item_type),
                        *self.control.routes()])
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app

    async def _start(self, app: web.Application) -> None:
        self._loop = asyncio.get_running_loop()
        self._client = httpx.AsyncClient(timeout=5.0)
        self._tasks.add(asyncio.ensure_future(self._pick_cycle()))

    async def _stop(self, app: web.Application) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    async def _pick_cycle(self) -> None:
        while True:
            await asyncio.sleep(0.2)
            self.warehouse.advance()

    async def wsdl(self, request: web.Request) -> web.Response:
        if "wsdl" not in {key.lower() for key in request.query}:
            return web.Response(status=400, text="append ?WSDL for the service description")
        location = str(request.url.with_query(None))
        return web.Response(text=WSDL.replace("{location}", escape(location)), content_type="text/xml",
                            charset="utf-8")

    async def force_status(self, request: web.Request) -> web.Response:
        """Move a sales order (the warehouse floor's doing), e.g. to race an edit against picking."""
        body = await request.json()
        try:
            self.warehouse.set_status(request.match_info["number"], body["status"])
        except KeyError:
            return web.json_response({"error": "no such sales order"}, status=404)
        return web.json_response({"status": body["status"]})

    async def add_item_type(self, request: web.Request) -> web.Response:
        """The warehouse sets up a product (in the Peoplevox UI, or its Item types import)."""
        body = await request.json()
        code = str(body.get("item_code", "")).strip()
        if not code:
            return web.json_response({"error": "item_code is required"}, status=400)
        with self.warehouse.lock:
            self.warehouse.item_types[code] = str(body.get("name") or code.title())
        return web.json_response({"item_code": code})

    async def remove_item_type(self, request: web.Request) -> web.Response:
        """The warehouse retires a product: imports naming it are refused from now on."""
        with self.warehouse.lock:
            removed = self.warehouse.item_types.pop(request.match_info["code"], None)
        return web.json_response({"removed": removed is not None}, status=200 if removed is not None else 404)

    async def pick_cycle(self, request: web.Request) -> web.Response:
        """How fast the warehouse picks: ``pick_delay_s`` [min, max] after import, then ``step_s`` per status."""
        body = await request.json()
        if "pick_delay_s" in body:
            low, high = body["pick_delay_s"]
            self.warehouse.pick_delay_s = (float(low), float(high))
        if "step_s" in body:
            self.warehouse.step_s = float(body["step_s"])
        return web.json_response({"pick_delay_s": self.warehouse.pick_delay_s, "step_s": self.warehouse.step_s})

    async def expire_sessions(self, request: web.Request) -> web.Response:
        self.warehouse.expire_sessions()
        return web.json_response({"expired": True})

    async def soap(self, request: web.Request) -> web.Response:
        action = request.headers.get("SOAPAction", "").strip('"')
        try:
            root = etree.fromstring(await request.read(), parser=etree.XMLParser(resolve_entities=False))
        except etree.XMLSyntaxError as error:
            return fault(f"Server was unable to read request. ---> {error}")
        body = root.find(f"{{{SOAP_ENV}}}Body")
        call = body[0] if body is not None and len(body) else None
        operation = etree.QName(call).localname if call is not None else None
        if operation not in OPERATIONS or action != f"{NS}{operation}":
            return fault(f"Server did not recognize the value of HTTP Header SOAPAction: {action}.")
        values = {etree.QName(child).localname: child for child in call}
        warehouse = self.warehouse
        try:
            if operation == "Authenticate":
                detail = warehouse.authenticate(_text(values.get("clientId")), _text(values.get("username")),
                                                _text(values.get("password")))
                return _soap(envelope(operation, 0, detail, 1))
            credentials = root.find(f"{{{SOAP_ENV}}}Header/{{{NS}}}UserSessionCredentials")
            warehouse.check_session(_child(credentials, "ClientId"), _child(credentials, "SessionId"))
            if operation in ("GetData", "GetReportData"):
                # A report is asked for, paged and searched as a data template is.
                request_node = values.get("getRequest" if operation == "GetData" else "getReportRequest")
                read = warehouse.get_data if operation == "GetData" else warehouse.get_report
                total, csv_page = read(_child(request_node, "TemplateName") or "",
                                       int(_child(request_node, "PageNo") or 1),
                                       int(_child(request_node, "ItemsPerPage") or 100),
                                       _child(request_node, "SearchClause"))
                return _soap(envelope(operation, 0, csv_page, total))
            if operation == "SaveData":
                request_node = values.get("saveRequest")
                saved = warehouse.save_data(_child(request_node, "TemplateName") or "",
                                            _child(request_node, "CsvData") or "")
                return _soap(envelope(operation, 0, saved.detail, saved.count))
            if operation == "SubscribeEvent":
                subscription = warehouse.subscribe(_text(values.get("eventType")), _text(values.get("filter")),
                                                   _text(values.get("callbackUrl")))
                return _soap(envelope(operation, 0, str(subscription), 1))
            warehouse.unsubscribe(int(_text(values.get("subscriptionId")) or 0))
            return _soap(envelope(operation, 0, "", 0))
        except Refused as refused:
            return _soap(envelope(operation, -1, str(refused)))
        except ValueError as error:
            return fault(f"Server was unable to read request. ---> {error}")

    def _notify(self, subscription: Subscription, data: dict[str, str]) -> None:
        url = fill_callback(subscription.callback_url, data)
        if self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._send_callback, url)

    def _send_callback(self, url: str) -> None:
        task = asyncio.ensure_future(self._post(url))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, url: str) -> None:
        assert self._client is not None
        for attempt in range(3):
            try:
                response = await self._client.post(url)
                self.callbacks.append({"url": url, "status": response.status_code})
                if response.is_success:
                    return
            except httpx.HTTPError as error:
                self.callbacks.append({"url": url, "status": type(error).__name__})
            await asyncio.sleep(0.5 * 2 ** attempt)


def _operation_of(request: web.Request) -> str | None:
    action = request.headers.get("SOAPAction", "").strip('"')
    return action.rsplit("/", 1)[-1] or None


def _soap(body: str) -> web.Response:
    return web.Response(text=body, content_type="text/xml", charset="utf-8")


def _text(node: Any) -> str:
    return (node.text or "") if node is not None else ""


def _child(node: Any, name: str) -> str | None:
    if node is None:
        return None
    found = node.find(f"{{{NS}}}{name}")
    return found.text if found is not None else None
