"""The sandbox warehouse: sessions, item types, sales orders moving through the pick cycle.

Rules follow the Peoplevox integration service as public sources show it; where
the behaviour is not public the sandbox takes the stricter reading, marked
*(stricter)* below.

- Import templates are configured per client ("Integration" page: the client
  uploads the list of columns each template expects; Patchworks' Peoplevox
  destination guide). ``TEMPLATES`` is this sandbox client's configuration:
  the default integration templates as integrators publish them (Zynk's
  "Peoplevox XML Sales Orders" and "Import Sales Orders into Peoplevox":
  ``Sales Order`` = SalesOrderNumber, Customer, CustomerPurchaseOrderReferenceNumber,
  ShippingAddressLine1/2, ShippingAddressCity, ShippingAddressRegion,
  ShippingAddressPostcode, ShippingAddressCountry, …, Email, ContactName, …;
  ``Sales Order Item`` = SalesOrderNumber, ItemCode, QuantityOrdered,
  RequestedDeliveryDate, Line, Sequence, SalePrice), plus two custom fields
  this client added: ``GiftMessage`` on sales orders and ``Notes`` on items.
- Template names as public client code spells them: "Sales orders",
  "Sales order items", "Item types", "Returns" (PeepConn's table map;
  melvin-hamilton-digital/peoplevox-api's README). Names match exactly *(stricter)*.
- A CSV column the template does not have refuses the whole request
  (ResponseId -1) *(stricter: never silently dropped)*.
- ``SaveData`` answers ``TotalCount`` = rows saved (melvin-hamilton-digital/
  peoplevox-api's ``saveData`` returns it) and ``Detail`` empty on success (its
  unit test's SaveData answer). Rows are imported one by one and a refused row
  does not refuse the others (Zynk's import task writes a success file and a
  fail file per record); refused rows are listed in ``Detail`` as
  ``Row <n>: <reason>`` while ResponseId stays 0 *(stricter: only TotalCount
  tells a partial import from a whole one)*.
- "If updating an existing SalesOrder the items will be added or edited
  depending on what information is provided, it is not possible to remove
  lines" (Zynk): an item row whose ``Line`` names an existing line edits it;
  any other row adds a line *(stricter: a row sent twice without its Line is
  two lines)*. A quantity of 0 or less is refused, and so is a row whose ``Line``
  holds another ItemCode *(stricter: editing quantities is documented, turning
  one item into another is not)*.
- Field lengths from Zynk's field tables: SalesOrderNumber string(30),
  Customer and CustomerPurchaseOrderReferenceNumber string(50),
  ShippingAddressLine1/2 string(100); longer values refuse the row.
- An unknown ItemCode is refused; once a sales order is being picked the
  warehouse owns it and an update or cancellation is refused.
- ``GetData`` pages: ``PageNo`` (from 1) and ``ItemsPerPage`` choose the page and
  ``TotalCount`` counts every row the search matches, so a client pages until it
  holds ``TotalCount`` rows (the public documentation's getRequest, peoplevox.github.io/
  Documentation §2.2.4; Patchworks' "PeopleVox pagination method": a page size and
  the ``TotalCount`` field, ``PageNo`` counted up). The largest page Peoplevox serves
  is not public: a page holds at most ``max_items_per_page`` rows (20) whatever
  ``ItemsPerPage`` asks *(stricter: a client that reads only the first page, or
  stops at a page shorter than it asked for, misses rows)*. Search clauses as public
  client code writes them (melvin-hamilton-digital/peoplevox-api's SearchClause,
  after §2.2.2 "Search values"): ``Field.Equals("v")`` and ``Field.StartsWith("v")``;
  anything else is refused *(stricter)*.
- ``GetData`` reads through the same templates ``SaveData`` writes: public client
  code reads sales orders by the import template's name ("Sales orders",
  PeepConn's table map; a Node.js Peoplevox client's ``peoplevoxOrderGet``) and
  searches them on an import column (melvin-hamilton-digital/peoplevox-api's
  README: ``getData('Sales orders', …, SearchClause::fieldValueIn("Customer", …))``).
  So a row answers the client's template columns, custom fields included, each
  as last imported. Which columns an answer carries is not public beyond that:
  here exactly the template's, a column never imported answering "" like an
  empty one, nothing tidied (no country names for codes) *(stricter: a reader
  cannot tell empty from never written, and must map the columns itself)*;
  item rows carry each line's own ``Notes``.
- Despatches are read from the "Despatch summary" report, one row per item despatched (Zynk's "Export
  Despatches from Peoplevox": "exported using the "Despatch summary" report"; its Peoplevox Despatch XML
  lists Salesorder number, Despatch number, Carrier, Service, Despatch date, Tracking number, Item code,
  No of items, ...). A report is asked for by name, paged and searched like ``GetData`` (Zynk's "Export
  Report from Peoplevox": Template, Items Per Page, Search Clauses), through ``GetReportData``. Columns are
  spelt as Zynk's XML names them (``Salesorder_number``, ...) *(the SOAP shape of reports is not public:
  the sandbox takes GetData's)*. Reaching Despatched despatches every line of the order in one despatch,
  with a carrier and a tracking number, before the status callback goes out.
- An expired or unknown session answers ``System : Security - Invalid Session``,
  the wording public client code waits for before it logs in again
  (a Node.js Peoplevox client's ``peoplevoxStandardInterpreter``); a wrong login
  ``System : Security:Invalid Username or Password`` (the same client code).
"""

from __future__ import annotations

import base64
import csv
import io
import itertools
import random
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

PICK_CYCLE = ("New", "Picking", "Packed", "Despatched")
CANCELLED = "Cancelled"
SALES_ORDERS, SALES_ORDER_ITEMS, ITEM_TYPES, RETURNS = "Sales orders", "Sales order items", "Item types", "Returns"
DESPATCH_SUMMARY = "Despatch summary"
REPORTS: dict[str, tuple[str, ...]] = {
    DESPATCH_SUMMARY: ("Salesorder_number", "Despatch_number", "Carrier", "Carrier_reference", "Service",
                       "Despatch_date", "Tracking_number", "Item_code", "No_of_items"),
}
CARRIERS = (("DPD", "UK Next Day"), ("Royal Mail", "Tracked 48"), ("Evri", "Standard"))
TEMPLATES: dict[str, tuple[str, ...]] = {
    SALES_ORDERS: ("SalesOrderNumber", "Customer", "CustomerPurchaseOrderReferenceNumber", "ShippingAddressLine1",
                   "ShippingAddressLine2", "ShippingAddressCity", "ShippingAddressRegion", "ShippingAddressPostcode",
                   "ShippingAddressCountry", "ShippingAddressReference", "InvoiceAddressLine1", "InvoiceAddressLine2",
                   "InvoiceAddressCity", "InvoiceAddressRegion", "InvoiceAddressPostcode", "InvoiceAddressCountry",
                   "InvoiceAddressReference", "IsPartialShipment", "Status", "RequestedDeliveryDate", "ShippingCost",
                   "Email", "ContactName", "TotalSale", "Discount", "TaxPaid", "CreatedDate", "PaymentMethod",
                   "ServiceType", "ChannelName", "GiftMessage"),
    SALES_ORDER_ITEMS: ("SalesOrderNumber", "ItemCode", "QuantityOrdered", "RequestedDeliveryDate", "Line", "Sequence",
                        "SalePrice", "Notes"),
    ITEM_TYPES: ("ItemCode", "Name", "Barcode"),
    RETURNS: ("ReturnReference", "SalesOrderNumber", "ItemCode", "Quantity"),
}
MAX_LENGTH = {"SalesOrderNumber": 30, "Customer": 50, "CustomerPurchaseOrderReferenceNumber": 50,
              "ShippingAddressLine1": 100, "ShippingAddressLine2": 100}
INVALID_SESSION = "System : Security - Invalid Session"
INVALID_LOGIN = "System : Security:Invalid Username or Password"
SEARCH = re.compile(r'^\s*(\w+)\.(Equals|StartsWith)\("([^"]*)"\)\s*$')


class Refused(Exception):
    """What the integration service answers with ResponseId -1 and this Detail."""


class RowRefused(Exception):
    """One CSV row the import did not save; the others still are."""


@dataclass
class Line:
    item_code: str
    quantity: int
    notes: str = ""


@dataclass
class SalesOrder:
    number: str
    fields: dict[str, str]
    lines: dict[int, Line] = field(default_factory=dict)  # by Line number
    status: str = "New"
    modified_at: float = field(default_factory=time.time)
    picking_due: float | None = None

    @property
    def reference(self) -> str:
        return self.fields.get("CustomerPurchaseOrderReferenceNumber", "")


@dataclass
class Despatch:
    number: str
    sales_order_number: str
    carrier: str
    service: str
    tracking_number: str
    despatched_at: float
    items: dict[str, int]  # ItemCode -> units


@dataclass(frozen=True)
class Saved:
    """A SaveData answer: how many rows were saved, and why the others were not."""

    count: int
    refusals: tuple[str, ...] = ()

    @property
    def detail(self) -> str:
        return "\n".join(self.refusals)


@dataclass
class Subscription:
    id: int
    event_type: str
    filter: str
    callback_url: str


Notify = Callable[[Subscription, dict[str, str]], None]


@dataclass
class Warehouse:
    client_id: str = "editsync"
    username: str = "integration"
    password: str = "sandbox-password"
    session_ttl_s: float = 1800.0
    pick_delay_s: tuple[float, float] = (30.0, 60.0)  # New → Picking after a random time in this range
    step_s: float = 5.0  # each later status after this long
    max_items_per_page: int = 20  # GetData serves at most this many rows a page, whatever is asked
    templates: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(TEMPLATES))
    item_types: dict[str, str] = field(default_factory=dict)  # ItemCode -> Name
    orders: dict[str, SalesOrder] = field(default_factory=dict)
    returns: dict[str, dict[str, str]] = field(default_factory=dict)
    despatches: list[Despatch] = field(default_factory=list)
    subscriptions: dict[int, Subscription] = field(default_factory=dict)
    notify: Notify | None = None
    seed: int | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    _sessions: dict[str, float] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    # --- sessions -------------------------------------------------------------------------

    def authenticate(self, client_id: str, username: str, password_b64: str) -> str:
        try:
            password = base64.b64decode(password_b64, validate=True).decode()
        except ValueError:
            password = None
        if client_id != self.client_id or username != self.username or password != self.password:
            raise Refused(INVALID_LOGIN)
        session = secrets.token_hex(16)
        self._sessions[session] = time.time() + self.session_ttl_s
        return f"{self.client_id},{session}"

    def check_session(self, client_id: str | None, session: str | None) -> None:
        expires = self._sessions.get(session or "")
        if client_id != self.client_id or expires is None or expires < time.time():
            self._sessions.pop(session or "", None)
            raise Refused(INVALID_SESSION)

    def expire_sessions(self) -> None:
        self._sessions.clear()

    # --- GetData --------------------------------------------------------------------------

    def get_data(self, template: str, page: int, per_page: int, search: str | None) -> tuple[int, str]:
        columns = self._columns(template)
        with self.lock:
            if template == SALES_ORDERS:
                rows = [{**o.fields, "SalesOrderNumber": o.number, "Status": o.status} for o in self.orders.values()]
            elif template == SALES_ORDER_ITEMS:
                rows = [{"SalesOrderNumber": o.number, "ItemCode": line.item_code,
                         "QuantityOrdered": str(line.quantity), "Line": str(number), "Notes": line.notes}
                        for o in self.orders.values() for number, line in sorted(o.lines.items())]
            elif template == ITEM_TYPES:
                rows = [{"ItemCode": code, "Name": name, "Barcode": code}
                        for code, name in sorted(self.item_types.items())]
            else:
                rows = list(self.returns.values())
        return _page(columns, _search(columns, rows, search), page, per_page, self.max_items_per_page)

    def get_report(self, report: str, page: int, per_page: int, search: str | None) -> tuple[int, str]:
        if report not in REPORTS:
            raise Refused(f"Report '{report}' not found")
        with self.lock:
            rows = [{"Salesorder_number": d.sales_order_number, "Despatch_number": d.number, "Carrier": d.carrier,
                     "Carrier_reference": d.carrier, "Service": d.service,
                     "Despatch_date": time.strftime("'%d/%m/%Y %H:%M'", time.gmtime(d.despatched_at)),
                     "Tracking_number": d.tracking_number, "Item_code": code, "No_of_items": str(units)}
                    for d in self.despatches for code, units in sorted(d.items.items())]
        return _page(REPORTS[report], _search(REPORTS[report], rows, search), page, per_page,
                     self.max_items_per_page)

    def _columns(self, template: str) -> tuple[str, ...]:
        if template not in self.templates:
            raise Refused(f"Template '{template}' not found")
        return self.templates[template]

    # --- SaveData -------------------------------------------------------------------------

    def save_data(self, template: str, csv_data: str) -> Saved:
        columns = self._columns(template)
        header, rows = _from_csv(csv_data)
        unknown = [column for column in header if column not in columns]
        if unknown:
            raise Refused(f"Column(s) {', '.join(unknown)} not in template '{template}'")
        key = {SALES_ORDERS: "SalesOrderNumber", SALES_ORDER_ITEMS: "SalesOrderNumber", RETURNS: "ReturnReference"}
        if template not in key:
            raise Refused(f"Template '{template}' cannot be imported")
        if key[template] not in header:
            raise Refused(f"{key[template]} is required")
        apply = {SALES_ORDERS: self._save_order_row, SALES_ORDER_ITEMS: self._save_item_row,
                 RETURNS: self._save_return_row}[template]
        saved, refusals = 0, []
        with self.lock:
            for number, row in enumerate(rows, start=1):
                try:
                    for column, limit in MAX_LENGTH.items():
                        if len(row.get(column) or "") > limit:
                            raise RowRefused(f"{column} is longer than {limit} characters")
                    apply(row)
                    saved += 1
                except RowRefused as refused:
                    refusals.append(f"Row {number}: {refused}")
        return Saved(saved, tuple(refusals))

    def _save_order_row(self, row: dict[str, str]) -> None:
        number = row["SalesOrderNumber"].strip()
        if not number:
            raise RowRefused("SalesOrderNumber is required")
        existing = self.orders.get(number)
        if existing is not None and existing.status != "New":
            raise RowRefused(f"Sales order {number} cannot be amended: status is {existing.status}")
        status = row.get("Status") or ""
        if status not in ("", "New", CANCELLED):
            raise RowRefused(f"Status '{status}' cannot be imported")
        values = {c: v for c, v in row.items() if c not in ("SalesOrderNumber", "Status")}
        if existing is None:
            low, high = self.pick_delay_s
            existing = SalesOrder(number, values, picking_due=time.time() + self._random.uniform(low, high))
            self.orders[number] = existing
        else:
            existing.fields.update(values)
        if status == CANCELLED:
            self._set_status(existing, CANCELLED)
        existing.modified_at = time.time()

    def _save_item_row(self, row: dict[str, str]) -> None:
        number, code = row["SalesOrderNumber"], row.get("ItemCode") or ""
        order = self.orders.get(number)
        if order is None:
            raise RowRefused(f"Sales order {number} not found")
        if order.status != "New":
            raise RowRefused(f"Sales order {number} cannot be amended: status is {order.status}")
        if code not in self.item_types:
            raise RowRefused(f"Item code {code} not found")
        try:
            quantity = int(row.get("QuantityOrdered") or "")
        except ValueError:
            raise RowRefused(f"QuantityOrdered '{row.get('QuantityOrdered')}' is not a whole number") from None
        if quantity <= 0:
            raise RowRefused("QuantityOrdered must be greater than zero; lines cannot be removed by an import")
        line_number = _int_or_none(row.get("Line"))
        if line_number is None or line_number not in order.lines:
            line_number = line_number if line_number is not None else max(order.lines, default=0) + 1
            order.lines[line_number] = Line(code, quantity, row.get("Notes") or "")
        else:
            existing = order.lines[line_number]
            if existing.item_code != code:
                raise RowRefused(f"Line {line_number} of sales order {number} holds {existing.item_code}, not {code}")
            existing.quantity = quantity
            if "Notes" in row:
                existing.notes = row["Notes"] or ""
        order.modified_at = time.time()

    def _save_return_row(self, row: dict[str, str]) -> None:
        if row.get("SalesOrderNumber") not in self.orders:
            raise RowRefused(f"Sales order {row.get('SalesOrderNumber')} not found")
        self.returns[row["ReturnReference"]] = {c: row.get(c) or "" for c in self.templates[RETURNS]}

    # --- pick cycle and events ------------------------------------------------------------

    def advance(self, now: float | None = None) -> None:
        """Move due sales orders one step through the pick cycle (the warehouse's day)."""
        now = time.time() if now is None else now
        with self.lock:
            for order in self.orders.values():
                if order.status in (CANCELLED, PICK_CYCLE[-1]) or order.picking_due is None:
                    continue
                if now >= order.picking_due:
                    self._set_status(order, PICK_CYCLE[PICK_CYCLE.index(order.status) + 1])
                    order.picking_due = now + self.step_s

    def set_status(self, number: str, status: str) -> None:
        with self.lock:
            self._set_status(self.orders[number], status)

    def _set_status(self, order: SalesOrder, status: str) -> None:
        order.status = status
        order.modified_at = time.time()
        if status == CANCELLED:
            order.picking_due = None
        if status == PICK_CYCLE[-1] and not any(d.sales_order_number == order.number for d in self.despatches):
            carrier, service = self._random.choice(CARRIERS)
            self.despatches.append(Despatch(f"D{next(self._ids)}", order.number, carrier, service,
                                            f"{self._random.randrange(10**11, 10**12)}", order.modified_at,
                                            _quantities(order)))
        data = {"SalesOrderNumber": order.number, "SalesOrderStatus.Name": status,
                "LastModificationTime": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(order.modified_at))}
        for subscription in list(self.subscriptions.values()):
            if subscription.event_type == "SalesOrderStatusChanges" and self.notify is not None:
                self.notify(subscription, data)

    def subscribe(self, event_type: str, filter_: str, callback_url: str) -> int:
        subscription = Subscription(next(self._ids), event_type, filter_, callback_url)
        self.subscriptions[subscription.id] = subscription
        return subscription.id

    def unsubscribe(self, subscription_id: int) -> None:
        """An id Peoplevox does not hold is refused *(stricter reading: the public clients only show the
        call, not its answer for an unknown id; a caller must cope with a refusal)*."""
        if self.subscriptions.pop(subscription_id, None) is None:
            raise Refused(f"Subscription {subscription_id} not found")

    def state(self) -> dict[str, Any]:
        """Per sales order: ``lines`` sums every line of an ItemCode, so a line imported twice shows doubled."""
        with self.lock:
            return {"sales_orders": {n: {"reference": o.reference, "status": o.status, "fields": dict(o.fields),
                                         "lines": _quantities(o), "notes": _notes(o),
                                         "line_rows": {str(k): line.__dict__ for k, line in o.lines.items()}}
                                     for n, o in self.orders.items()},
                    "returns": dict(self.returns), "item_types": sorted(self.item_types),
                    "despatches": [d.__dict__ for d in self.despatches],
                    "subscriptions": [s.__dict__ for s in self.subscriptions.values()]}


def _search(columns: tuple[str, ...], rows: list[dict[str, str]], search: str | None) -> list[dict[str, str]]:
    if not search:
        return rows
    match = SEARCH.match(search)
    if not match or match.group(1) not in columns:
        raise Refused(f"Invalid search clause: {search}")
    column, test, value = match.groups()
    return [row for row in rows if (row.get(column) or "") == value
            or (test == "StartsWith" and (row.get(column) or "").startswith(value))]


def _page(columns: tuple[str, ...], rows: list[dict[str, str]], page: int, per_page: int,
          largest: int) -> tuple[int, str]:
    if page < 1 or per_page < 1:
        raise Refused("PageNo and ItemsPerPage must be positive")
    per_page = min(per_page, largest)
    return len(rows), _to_csv(columns, rows[(page - 1) * per_page: page * per_page])


def _quantities(order: SalesOrder) -> dict[str, int]:
    totals: dict[str, int] = {}
    for line in order.lines.values():
        totals[line.item_code] = totals.get(line.item_code, 0) + line.quantity
    return totals


def _notes(order: SalesOrder) -> dict[str, str]:
    return {line.item_code: line.notes for line in order.lines.values() if line.notes}


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        raise RowRefused(f"Line '{value}' is not a whole number") from None


def fill_callback(template: str, data: dict[str, str]) -> str:
    """Peoplevox fills ``{Placeholder}``s of a subscription's callback URL with the event's data."""
    return re.sub(r"\{([\w.]+)\}", lambda m: quote(data.get(m.group(1), ""), safe=""), template)


def _to_csv(columns: tuple[str, ...], rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _from_csv(data: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(data))
    rows = list(reader)
    if not rows or not reader.fieldnames:
        raise Refused("No rows to import")
    if None in (key for row in rows for key in row):
        raise Refused("A row has more values than the header has columns")
    return list(reader.fieldnames), rows
