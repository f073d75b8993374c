"""The sandbox warehouse: sessions, item types, sales orders moving through the pick cycle.

Rules follow the Peoplevox integration service as public client code and
Peoplevox's integration guides describe it (see DESIGN.md): data moves as
CSV through named templates ("Sales Orders", "Sales Order Items", "Item
Types", "Returns"); an import may add or edit sales order lines but never
remove one; an unknown ItemCode is refused; once a sales order is being
picked the warehouse owns it and an update or cancellation is refused.
Peoplevox templates are configured per client; the columns here are the
sandbox client's configuration, documented in the README.

A save is all or nothing here: any refused row refuses the whole save, which
is at least as strict as the real service.
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
ORDER_COLUMNS = ("SalesOrderNumber", "CustomerPurchaseOrderReferenceNumber", "Status", "Email", "ShippingName",
                 "ShippingAddressLine1", "ShippingAddressLine2", "ShippingCity", "ShippingRegion",
                 "ShippingPostcode", "ShippingCountry", "ShippingPhone", "GiftMessage", "LastModified")
ITEM_COLUMNS = ("SalesOrderNumber", "ItemCode", "Quantity", "Notes")
ITEM_TYPE_COLUMNS = ("ItemCode", "Name", "Barcode")
RETURN_COLUMNS = ("ReturnReference", "SalesOrderNumber", "ItemCode", "Quantity")
SEARCH = re.compile(r'^\s*(\w+)\.Equals\("([^"]*)"\)\s*$')


class Refused(Exception):
    """What the integration service answers with ResponseId -1 and this Detail."""


@dataclass
class SalesOrder:
    number: str
    reference: str
    fields: dict[str, str]
    lines: dict[str, tuple[int, str]] = field(default_factory=dict)  # ItemCode -> (quantity, notes)
    status: str = "New"
    modified_at: float = field(default_factory=time.time)
    picking_due: float | None = None


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
    item_types: dict[str, str] = field(default_factory=dict)  # ItemCode -> Name
    orders: dict[str, SalesOrder] = field(default_factory=dict)
    returns: dict[str, dict[str, str]] = field(default_factory=dict)
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
            raise Refused("System : Security:Invalid Username or Password")
        session = secrets.token_hex(16)
        self._sessions[session] = time.time() + self.session_ttl_s
        return f"{self.client_id},{session}"

    def check_session(self, client_id: str | None, session: str | None) -> None:
        expires = self._sessions.get(session or "")
        if client_id != self.client_id or expires is None or expires < time.time():
            self._sessions.pop(session or "", None)
            raise Refused("System : Security:Invalid Session")

    def expire_sessions(self) -> None:
        self._sessions.clear()

    # --- GetData --------------------------------------------------------------------------

    def get_data(self, template: str, page: int, per_page: int, search: str | None) -> tuple[int, str]:
        with self.lock:
            if template == "Sales Orders":
                rows = [self._order_row(o) for o in self.orders.values()]
                columns = ORDER_COLUMNS
            elif template == "Sales Order Items":
                rows = [{"SalesOrderNumber": o.number, "ItemCode": code, "Quantity": str(q), "Notes": notes}
                        for o in self.orders.values() for code, (q, notes) in sorted(o.lines.items())]
                columns = ITEM_COLUMNS
            elif template == "Item Types":
                rows = [{"ItemCode": code, "Name": name, "Barcode": code} for code, name in sorted(self.item_types.items())]
                columns = ITEM_TYPE_COLUMNS
            elif template == "Returns":
                rows = list(self.returns.values())
                columns = RETURN_COLUMNS
            else:
                raise Refused(f"Template '{template}' not found")
        if search:
            match = SEARCH.match(search)
            if not match or match.group(1) not in columns:
                raise Refused(f"Invalid search clause: {search}")
            rows = [row for row in rows if row.get(match.group(1)) == match.group(2)]
        if page < 1 or per_page < 1:
            raise Refused("PageNo and ItemsPerPage must be positive")
        chosen = rows[(page - 1) * per_page: page * per_page]
        return len(rows), _to_csv(columns, chosen)

    def _order_row(self, order: SalesOrder) -> dict[str, str]:
        modified = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(order.modified_at))
        return {**{c: "" for c in ORDER_COLUMNS}, **order.fields, "SalesOrderNumber": order.number,
                "CustomerPurchaseOrderReferenceNumber": order.reference, "Status": order.status,
                "LastModified": modified}

    # --- SaveData -------------------------------------------------------------------------

    def save_data(self, template: str, csv_data: str) -> list[str]:
        rows = _from_csv(csv_data)
        with self.lock:
            if template == "Sales Orders":
                plan = [self._check_order_row(row) for row in rows]
                return [self._apply_order_row(row, existing) for row, existing in plan]
            if template == "Sales Order Items":
                for row in rows:
                    self._check_item_row(row)
                return [self._apply_item_row(row) for row in rows]
            if template == "Returns":
                for row in rows:
                    if row.get("SalesOrderNumber") not in self.orders:
                        raise Refused(f"Sales order {row.get('SalesOrderNumber')} not found")
                for row in rows:
                    self.returns[row["ReturnReference"]] = {c: row.get(c, "") for c in RETURN_COLUMNS}
                return [row["ReturnReference"] for row in rows]
            raise Refused(f"Template '{template}' not found or not importable")

    def _check_order_row(self, row: dict[str, str]) -> tuple[dict[str, str], SalesOrder | None]:
        number = row.get("SalesOrderNumber", "").strip()
        if not number:
            raise Refused("SalesOrderNumber is required")
        existing = self.orders.get(number)
        if existing is not None and existing.status != "New":
            raise Refused(f"Sales order {number} cannot be amended: status is {existing.status}")
        if row.get("Status") not in (None, "", "New", CANCELLED):
            raise Refused(f"Status '{row['Status']}' cannot be imported")
        return row, existing

    def _apply_order_row(self, row: dict[str, str], existing: SalesOrder | None) -> str:
        number = row["SalesOrderNumber"].strip()
        values = {c: row[c] for c in ORDER_COLUMNS if c in row and c not in ("Status", "LastModified",
                                                                              "SalesOrderNumber")}
        if existing is None:
            low, high = self.pick_delay_s
            existing = SalesOrder(number, values.pop("CustomerPurchaseOrderReferenceNumber", ""), values,
                                  picking_due=time.time() + self._random.uniform(low, high))
            self.orders[number] = existing
        else:
            existing.fields.update({k: v for k, v in values.items() if k != "CustomerPurchaseOrderReferenceNumber"})
        if row.get("Status") == CANCELLED:
            self._set_status(existing, CANCELLED)
        existing.modified_at = time.time()
        return number

    def _check_item_row(self, row: dict[str, str]) -> None:
        number, code = row.get("SalesOrderNumber", ""), row.get("ItemCode", "")
        order = self.orders.get(number)
        if order is None:
            raise Refused(f"Sales order {number} not found")
        if order.status != "New":
            raise Refused(f"Sales order {number} cannot be amended: status is {order.status}")
        if code not in self.item_types:
            raise Refused(f"Item code {code} not found")
        try:
            quantity = int(row.get("Quantity", ""))
        except ValueError:
            raise Refused(f"Quantity '{row.get('Quantity')}' is not a whole number") from None
        if quantity <= 0:
            raise Refused("Quantity must be greater than zero; lines cannot be removed by an import")

    def _apply_item_row(self, row: dict[str, str]) -> str:
        order = self.orders[row["SalesOrderNumber"]]
        order.lines[row["ItemCode"]] = (int(row["Quantity"]), row.get("Notes", ""))
        order.modified_at = time.time()
        return f"{order.number}/{row['ItemCode']}"

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
        data = {"SalesOrderNumber": order.number, "SalesOrderStatus.Name": status,
                "LastModificationTime": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(order.modified_at))}
        for subscription in list(self.subscriptions.values()):
            if subscription.event_type == "SalesOrderStatusChanges" and self.notify is not None:
                self.notify(subscription, data)

    def subscribe(self, event_type: str, filter_: str, callback_url: str) -> int:
        subscription = Subscription(next(self._ids), event_type, filter_, callback_url)
        self.subscriptions[subscription.id] = subscription
        return subscription.id

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {"sales_orders": {n: {"reference": o.reference, "status": o.status, "fields": o.fields,
                                         "lines": {c: q for c, (q, _) in o.lines.items()},
                                         "notes": {c: notes for c, (_, notes) in o.lines.items() if notes}}
                                     for n, o in self.orders.items()},
                    "returns": dict(self.returns), "item_types": sorted(self.item_types),
                    "subscriptions": [s.__dict__ for s in self.subscriptions.values()]}


def fill_callback(template: str, data: dict[str, str]) -> str:
    """Peoplevox fills ``{Placeholder}``s of a subscription's callback URL with the event's data."""
    return re.sub(r"\{([\w.]+)\}", lambda m: quote(data.get(m.group(1), ""), safe=""), template)


def _to_csv(columns: tuple[str, ...], rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _from_csv(data: str) -> list[dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(data)))
    if not rows:
        raise Refused("No rows to import")
    return rows
