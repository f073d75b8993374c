"""The Peoplevox connector against request/response shapes public client code shows, over httpx's
MockTransport: no sandbox, so these check the connector against the real service's contract, not
against our own double of it.

Sources (public code, read for the shapes only):
- melvin-hamilton-digital/peoplevox-api (PHP): ``SessionProvider`` sends ``clientId``, ``username``
  and the password base64-encoded to ``Authenticate`` and splits ``AuthenticateResult/Detail`` on ","
  into client id and session id; ``Client::callApi`` sends a ``UserSessionCredentials`` header in
  namespace ``http://www.peoplevox.net/`` and treats ``ResponseId`` -1 as an error carrying
  ``Detail``; ``saveData`` returns ``TotalCount``; its ``ClientTest`` answers GetData with
  ``TotalCount`` 1234 and SaveData with ``Detail`` "" and ``TotalCount`` 12, and errors with
  ``ResponseId`` -1 and ``Detail`` "Error: bar"; template names "Sales orders".
- A Node.js Peoplevox client (``peoplevox.utils.js``, ``peoplevoxOrderGet``): ``SOAPAction:
  http://www.peoplevox.net/GetData``, ``getRequest`` with ``TemplateName`` "Sales orders" and
  ``SearchClause`` ``SalesOrderNumber.Equals("…")``, ``UserId`` 0 in the session header, and a fresh
  login when ``Detail`` is ``System : Security - Invalid Session``.
- ASP.NET ASMX (what the ``.asmx`` service runs on): a request it cannot dispatch is a ``soap:Client``
  fault ("Server did not recognize the value of HTTP Header SOAPAction"), an exception inside the
  service a ``soap:Server`` fault ("Server was unable to process request. ---> …"), both with HTTP 500;
  an unhandled error outside SOAP is ASP.NET's HTML "Runtime Error" page.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

import httpx
import pytest
from lxml import etree
from pydantic import ValidationError

from connectors.errors import PermanentError, TransientError
from connectors.peoplevox import PeoplevoxClient, PeoplevoxWarehouse, Refused, RowsRefused
from streams.core.model import Address, SalesOrder
from streams.core.peoplevox import CutOff
from streams.runtime.settings import Settings

NS = "http://www.peoplevox.net/"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
URL = "https://wms.example/editsync/resources/integrationservicev4.asmx"
WSDL = (Path(__file__).resolve().parents[3] / "sandboxes/peoplevox/integrationservicev4.wsdl").read_text()

Answer = httpx.Response | Exception | Callable[[], httpx.Response]


def result(operation: str, response_id: int, detail: str, total: int = 0) -> httpx.Response:
    body = (f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP}" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
            f'<soap:Body><{operation}Response xmlns="{NS}"><{operation}Result><ResponseId>{response_id}</ResponseId>'
            f'<TotalCount>{total}</TotalCount><Detail>{escape(detail)}</Detail></{operation}Result>'
            f'</{operation}Response></soap:Body></soap:Envelope>')
    return httpx.Response(200, text=body, headers={"Content-Type": "text/xml; charset=utf-8"})


def soap_fault(code: str, message: str) -> httpx.Response:
    body = (f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP}"><soap:Body><soap:Fault>'
            f'<faultcode>{code}</faultcode><faultstring>{escape(message)}</faultstring><detail />'
            '</soap:Fault></soap:Body></soap:Envelope>')
    return httpx.Response(500, text=body, headers={"Content-Type": "text/xml; charset=utf-8"})


LOGIN = result("Authenticate", 0, "editsync,b1946ac92492d2347c6235b4d2611184", 1)
RUNTIME_ERROR_PAGE = ("<!DOCTYPE html>\r\n<html>\r\n<head>\r\n<title>Runtime Error</title>\r\n</head>\r\n"
                      "<body bgcolor=\"white\"><span><H1>Server Error in '/' Application.<hr width=100% size=1>"
                      "</H1></span><br><b> Description: </b>An application error occurred on the server.<br></body>"
                      "</html>")


class Peoplevox:
    """Answers each SOAP call with the next scripted answer and keeps every request it was sent."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[tuple[str, etree._Element]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, text=WSDL.replace("{location}", URL), headers={"Content-Type": "text/xml"})
        self.requests.append((request.headers["SOAPAction"].strip('"'), etree.fromstring(request.read())))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer() if callable(answer) else answer

    def client(self) -> PeoplevoxClient:
        transport = httpx.MockTransport(self.handle)
        return PeoplevoxClient(URL, "editsync", "integration", "secret", http=httpx.AsyncClient(transport=transport),
                               wsdl_http=httpx.Client(transport=transport), attempts=1)

    def text(self, index: int, path: str) -> str | None:
        node = self.requests[index][1].find(path, {"soap": SOAP, "p": NS})
        return node.text if node is not None else None


def test_login_and_a_sales_order_read_are_sent_as_public_clients_send_them():
    csv = "SalesOrderNumber,CustomerPurchaseOrderReferenceNumber,Status\n1001,5550001,New\n"
    service = Peoplevox(LOGIN, result("GetData", 0, csv, 1))
    row = asyncio.run(PeoplevoxWarehouse(service.client(), CutOff()).sales_order("1001"))
    assert (row.reference, row.status) == ("5550001", "New")
    assert [action for action, _ in service.requests] == [f"{NS}Authenticate", f"{NS}GetData"]
    assert service.text(0, "soap:Body/p:Authenticate/p:clientId") == "editsync"
    assert base64.b64decode(service.text(0, "soap:Body/p:Authenticate/p:password") or "") == b"secret"
    assert service.text(1, "soap:Header/p:UserSessionCredentials/p:UserId") == "0"
    assert service.text(1, "soap:Header/p:UserSessionCredentials/p:SessionId") == "b1946ac92492d2347c6235b4d2611184"
    assert service.text(1, "soap:Body/p:GetData/p:getRequest/p:TemplateName") == "Sales orders"
    assert service.text(1, "soap:Body/p:GetData/p:getRequest/p:SearchClause") == 'SalesOrderNumber.Equals("1001")'


def test_savedata_total_count_must_match_the_rows_sent():
    rows = [{"SalesOrderNumber": str(n)} for n in range(12)]
    service = Peoplevox(LOGIN, result("SaveData", 0, "", 12), result("SaveData", 0, "", 11))
    client = service.client()
    asyncio.run(client.save("Sales orders", rows))
    with pytest.raises(RowsRefused, match="saved 11 of 12"):
        asyncio.run(client.save("Sales orders", rows))
    assert service.text(1, "soap:Body/p:SaveData/p:saveRequest/p:TemplateName") == "Sales orders"
    assert (service.text(1, "soap:Body/p:SaveData/p:saveRequest/p:CsvData") or "").startswith("SalesOrderNumber\n0\n")


def test_response_id_minus_one_is_a_refusal_carrying_its_detail():
    service = Peoplevox(LOGIN, result("GetData", -1, "Error: bar"))
    with pytest.raises(Refused, match="Error: bar"):
        asyncio.run(service.client().get("Sales orders"))


def test_an_invalid_session_logs_in_again_and_repeats_the_call():
    service = Peoplevox(LOGIN, result("GetData", -1, "System : Security - Invalid Session"),
                        result("Authenticate", 0, "editsync,0fresh0", 1), result("GetData", 0, "ItemCode\nMUG\n", 1))
    client = service.client()
    total, rows = asyncio.run(client.get("Item types"))
    assert (total, rows, client.authentications) == (1, [{"ItemCode": "MUG"}], 2)
    assert service.text(3, "soap:Header/p:UserSessionCredentials/p:SessionId") == "0fresh0"


@pytest.mark.parametrize("answer", [
    lambda: httpx.Response(500, text=RUNTIME_ERROR_PAGE, headers={"Content-Type": "text/html; charset=utf-8"}),
    lambda: httpx.Response(503, text="<html><body><h1>Service Unavailable</h1></body></html>",
                           headers={"Content-Type": "text/html"}),
    lambda: httpx.Response(429, text="", headers={"Retry-After": "1"}),
    lambda: httpx.Response(500, text="<html><body><h1>500</h1></body></html>", headers={"Content-Type": "text/xml"}),
    lambda: httpx.Response(502, text="<html><body>", headers={"Content-Type": "text/xml"}),
    lambda: soap_fault("soap:Server", "Server was unable to process request. ---> Timeout expired."),
    httpx.ReadTimeout("read timed out"),
    httpx.ConnectError("connection refused"),
], ids=["500-aspnet-html", "503-html", "429", "500-html-labelled-xml", "502-broken-xml", "soap-server-fault",
        "timeout", "connect"])
def test_bad_moments_on_a_soap_call_are_transient(answer):
    service = Peoplevox(LOGIN, answer)
    with pytest.raises(TransientError):
        asyncio.run(service.client().get("Sales orders"))
    assert service.requests[-1][0] == f"{NS}GetData", "the failure hit the SOAP call, not the WSDL"


@pytest.mark.parametrize("answer", [
    lambda: soap_fault("soap:Client", "Server did not recognize the value of HTTP Header SOAPAction: x."),
    lambda: httpx.Response(400, text="<html>Bad Request</html>", headers={"Content-Type": "text/html"}),
], ids=["soap-client-fault", "400"])
def test_a_refusal_of_the_request_itself_is_permanent(answer):
    service = Peoplevox(LOGIN, answer)
    with pytest.raises(PermanentError):
        asyncio.run(service.client().get("Sales orders"))


def test_columns_come_from_configuration(monkeypatch):
    monkeypatch.setenv("EDITSYNC_PEOPLEVOX_COLUMNS", '{"city": "Town", "gift_message": "", "quantity": "Qty"}')
    columns = Settings().peoplevox_columns
    assert (columns.city, columns.gift_message, columns.quantity, columns.email) == ("Town", "", "Qty", "Email")
    service = Peoplevox(LOGIN, result("GetData", 0, "SalesOrderNumber,Status\n", 0), result("SaveData", 0, "", 1),
                        result("GetData", 0, "SalesOrderNumber,ItemCode,QuantityOrdered,Line\n", 0),
                        result("SaveData", 0, "", 1))
    order = SalesOrder(number="1001", lines=(("MUG", 2),), address=Address(city="Leeds"), gift_message="Happy day")
    asyncio.run(PeoplevoxWarehouse(service.client(), CutOff(), columns).upsert(order, "555", must_exist=False))
    header = (service.text(2, "soap:Body/p:SaveData/p:saveRequest/p:CsvData") or "").splitlines()
    assert "Town" in header[0].split(",") and "ShippingAddressCity" not in header[0] and "Happy day" not in header[1]
    items = (service.text(4, "soap:Body/p:SaveData/p:saveRequest/p:CsvData") or "").splitlines()
    assert items == ["SalesOrderNumber,ItemCode,Qty,Line,Notes", "1001,MUG,2,1,"]


def test_the_header_is_read_back_through_the_configured_columns_and_only_those(monkeypatch):
    """A client whose templates name the city "Town", keep the name in Customer and have no gift message or
    notes: what those columns hold comes back; the gift message and notes are not held, whatever the rows say,
    and neither are a region and country the answer has no column for (unknown is not empty)."""
    monkeypatch.setenv("EDITSYNC_PEOPLEVOX_COLUMNS",
                       '{"city": "Town", "contact_name": "", "customer": "Customer", "gift_message": "", '
                       '"line_notes": ""}')
    header = ("SalesOrderNumber,CustomerPurchaseOrderReferenceNumber,Status,Customer,ShippingAddressLine1,"
              "ShippingAddressLine2,Town,ShippingAddressPostcode,Email,GiftMessage\n"
              "1001-R1,5550001,Picking,Ann Lee,1 Wall St,,Leeds,LS1 4AP,ann@example.com,Hi\n")
    items = "SalesOrderNumber,ItemCode,QuantityOrdered,Line,Notes\n1001-R1,MUG,2,1,Engraving: AB\n1001-R1,MUG,1,2,\n"
    service = Peoplevox(LOGIN, result("GetData", 0, header, 1), result("GetData", 0, items, 2))
    warehouse = PeoplevoxWarehouse(service.client(), CutOff(), Settings().peoplevox_columns)
    found = asyncio.run(warehouse.held("1001-R1"))
    assert (found.status, found.lines) == ("Picking", (("MUG", 3),))
    assert found.header.address == Address(name="Ann Lee", address1="1 Wall St", city="Leeds", zip="LS1 4AP")
    assert (found.header.email, found.header.gift_message, found.header.line_notes) == ("ann@example.com", None, ())
    assert found.header.stored == {"name", "address1", "address2", "city", "zip", "email"}
    searches = [service.text(i, "soap:Body/p:GetData/p:getRequest/p:SearchClause") for i in (1, 2)]
    assert searches == ['SalesOrderNumber.Equals("1001-R1")'] * 2


@pytest.mark.parametrize("columns", ['{"reference": ""}', '{"colour": "Colour"}'])
def test_a_required_or_unknown_column_setting_is_refused_at_start(monkeypatch, columns):
    monkeypatch.setenv("EDITSYNC_PEOPLEVOX_COLUMNS", columns)
    with pytest.raises(ValidationError):
        Settings()


def test_a_cancel_whose_answer_was_lost_is_done_when_its_repeat_is_refused_as_cancelled():
    """The first SaveData cancels, its answer never comes; Peoplevox refuses the repeat (a cancelled sales
    order cannot be amended). The warehouse holds what was asked: the cancel is done, not failed."""
    before = "SalesOrderNumber,CustomerPurchaseOrderReferenceNumber,Status\n1100,5000000667,New\n"
    after = "SalesOrderNumber,CustomerPurchaseOrderReferenceNumber,Status\n1100,5000000667,Cancelled\n"
    service = Peoplevox(LOGIN, result("GetData", 0, before, 1), httpx.ReadTimeout("read timed out"),
                        result("SaveData", -1, "Row 1: Sales order 1100 cannot be amended: status is Cancelled"),
                        result("GetData", 0, after, 1))
    transport = httpx.MockTransport(service.handle)
    client = PeoplevoxClient(URL, "editsync", "integration", "secret", http=httpx.AsyncClient(transport=transport),
                             wsdl_http=httpx.Client(transport=transport), attempts=2, retry_delay_s=0)
    written = asyncio.run(PeoplevoxWarehouse(client, CutOff()).cancel("1100"))
    assert (written.applied, written.status) == (True, "Cancelled")
    assert [action.removeprefix(NS) for action, _ in service.requests].count("SaveData") == 2


def test_a_subscription_whose_answer_was_lost_is_not_made_again_by_the_client():
    """A repeat would make a second subscription nobody learns the id of (Peoplevox lists none); an
    unsubscribe, which may be repeated, is."""
    service = Peoplevox(LOGIN, httpx.ReadTimeout("read timed out"), result("UnsubscribeEvent", 0, ""))
    transport = httpx.MockTransport(service.handle)
    client = PeoplevoxClient(URL, "editsync", "integration", "secret", http=httpx.AsyncClient(transport=transport),
                             wsdl_http=httpx.Client(transport=transport), attempts=3, retry_delay_s=0)
    with pytest.raises(TransientError):
        asyncio.run(client.subscribe("SalesOrderStatusChanges", "https://editsync.example/webhooks/peoplevox"))
    assert [action for action, _ in service.requests] == [f"{NS}Authenticate", f"{NS}SubscribeEvent"]
    service.answers = [httpx.ReadTimeout("read timed out"), result("UnsubscribeEvent", 0, "")]
    asyncio.run(client.unsubscribe(7))
    assert [action for action, _ in service.requests][2:] == [f"{NS}UnsubscribeEvent"] * 2
