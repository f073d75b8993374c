"""The ERP sandbox: NetSuite's REST record API (SuiteTalk REST web services), for the records editsync writes.

Every rule below is from Oracle's NetSuite help (docs.oracle.com/en/cloud/saas/
netsuite/ns-online-help/<page>.html); where the help is silent the stricter
reading is taken, and said so.

Addressing and upsert
- Records live at ``/services/rest/record/v1/<recordType>/<id>``; ``eid:<externalId>``
  addresses a record by external id, and ``PUT`` on it is the upsert: create,
  or update the existing record ("Using the Upsert Operation",
  section_156335203191). The answer is ``204`` with the record's URL in
  ``Location`` ("Updating a Record Instance", section_1545142173). Record type
  ids are case-insensitive in the help's own examples (``customerdeposit``,
  ``customerpayment``), and so are field names (``entityid``, ``isclosed``).
- ``GET`` answers body fields only; sublists are links unless
  ``expandSubResources=true`` ("Format of Sublists and Subrecords",
  section_1545141947). Unknown ids answer 404 ``NONEXISTENT_ID``.
- Errors are RFC 9457 problem details with ``o:errorDetails`` (``detail``,
  ``o:errorCode``). A field the record does not have, or a read-only one
  (``total``, ``status``, a credit memo's ``createdFrom``, which only a
  transform sets), is refused: the stricter reading of the property
  validation NetSuite applies.

Sublists (item lines, apply lines)
- Updating merges: a line whose key matches an existing line updates it,
  lines without a key are ADDED, nothing is removed ("Updating a Sublist",
  section_1545295601; "Use Case For Updating Your Sales Order",
  section_159795512874: ``{"line": 1, "isclosed": true}`` updates line 1, a
  line without ``line`` creates a new one).
- With ``?replace=<sublist>`` (comma-separated names, accepted by POST, PATCH
  and the PUT upsert per the REST API Browser) keyed lines are updated, every
  other existing line is removed and unkeyed lines are added ("Replacing a
  Sublist", section_1545297048; "Working with Sublists", chapter_1545142407:
  removing a line is done only this way). A ``line`` key that matches no
  line is refused (stricter than adding it). The item sublist is keyed by
  ``line``; a payment's ``apply`` sublist by ``doc``.

References and required fields
- Records reference each other by internal id, ``{"id": …}`` ("Use Case For
  Approving Your Sales Order", section_159795516182: ``"entity": {"id":
  "110"}``, ``"item": {"id": 98}``). A reference to a record that does not
  exist, or in another shape (``externalId``, ``refName``), is refused with
  ``Invalid Field Value``.
- A sales order needs ``entity`` (the customer) and at least one item line;
  each new line needs ``item`` and ``quantity``.
- ``orderStatus`` takes codes: ``A`` pending approval, ``B`` pending
  fulfilment (section_159795516182). Free text is refused; so are the codes
  NetSuite derives itself (closed, billed, …).
- A sales order is closed by closing its lines (``isClosed``) (same page,
  "Close a Sales Order"); with every line closed its status is ``H`` (Closed).
- Money received before billing is a customer deposit: ``customer``,
  ``payment`` and the ``salesOrder`` it is for ("Customer Deposit",
  article_0830072110). Refused when the sales order belongs to another
  customer or is already billed (stricter reading).
- A customer payment needs ``customer`` and ``payment`` and applies to
  invoices through its ``apply`` sublist (``doc`` = invoice id, ``apply``,
  ``amount``) ("Customer Payment", article_0224093711). Applied amounts may
  not exceed the payment or an invoice's amount remaining.
- A credit memo needs ``entity`` and item lines whose ``item`` is an internal
  id (the REST record, like the sales order).
- Item types: the catalogue's items are Inventory Items; an Other Charge item
  ("Other Charge Items", a non-inventory charge or credit such as a fee or an
  adjustment) may carry a negative rate on a transaction line. Where NetSuite's
  documentation is silent, the stricter reading: a negative rate on an
  Inventory Item line is refused, and so is a credit memo whose total is not
  above zero.
- Items and customers are found by query, e.g. SuiteQL through
  ``POST /services/rest/query/v1/suiteql`` (see ``suiteql.py``).

Authentication and limits
- OAuth 2.0 client credentials: see ``oauth.py``. Expired or unknown bearer
  tokens answer 401 ``INVALID_LOGIN``.
- The account's concurrency limit (default 5 requests at once, shared by every
  integration) answers 429 ``CONCURRENCY_LIMIT_EXCEEDED`` to one more.

Sandbox-only: ``/_sandbox/`` (state, calls, faults), ``PUT /_sandbox/oauth``
(token lifetime), ``POST /_sandbox/expire-tokens``, ``POST /_sandbox/bill/<external
id>`` (NetSuite bills a sales order: an invoice for its open lines).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from sandboxes.control import Control
from sandboxes.erp import suiteql
from sandboxes.erp.oauth import TOKEN_PATH, Integration, TokenRefused

PROBLEM_TYPES = {400: "15.5.1", 401: "15.5.2", 404: "15.5.5", 429: "6.5.4", 500: "15.6.1", 502: "15.6.3",
                 503: "15.6.4"}
ORDER_STATUSES = {"A": "Pending Approval", "B": "Pending Fulfillment", "G": "Billed", "H": "Closed"}
SETTABLE_ORDER_STATUSES = frozenset({"A", "B"})
INVENTORY, OTHER_CHARGE = "InvtPart", "OthCharge"  # NetSuite's item type codes
REF, TEXT, NUMBER, BOOL, STATUS, SUBLIST, READ_ONLY = "ref", "text", "number", "bool", "status", "sublist", "read-only"

ITEM_LINE = {"line": NUMBER, "item": REF, "quantity": NUMBER, "rate": NUMBER, "isClosed": BOOL,
             "description": TEXT, "custcol_shopify_line_id": TEXT, "amount": READ_ONLY}
APPLY_LINE = {"doc": REF, "apply": BOOL, "amount": NUMBER, "line": NUMBER}
COMMON = {"externalId": TEXT, "currency": REF, "memo": TEXT, "tranDate": TEXT, "id": READ_ONLY,
          "createdDate": READ_ONLY, "lastModifiedDate": READ_ONLY, "status": READ_ONLY, "total": READ_ONLY}
FIELDS: dict[str, dict[str, str]] = {
    "salesOrder": {**COMMON, "entity": REF, "tranId": TEXT, "otherRefNum": TEXT, "email": TEXT,
                   "orderStatus": STATUS, "item": SUBLIST, "subtotal": READ_ONLY},
    "customerDeposit": {**COMMON, "customer": REF, "salesOrder": REF, "payment": NUMBER},
    "customerPayment": {**COMMON, "customer": REF, "payment": NUMBER, "apply": SUBLIST},
    "creditMemo": {**COMMON, "entity": REF, "otherRefNum": TEXT, "custbody_shopify_order_id": TEXT,
                   "item": SUBLIST, "createdFrom": READ_ONLY},
}
SUBLISTS = {"item": ("line", ITEM_LINE), "apply": ("doc", APPLY_LINE)}
#: What each reference field points at: a record type, or one of the lists the sandbox is seeded with.
TARGETS = {"entity": "customer", "customer": "customer", "item": "inventoryItem", "currency": "currency",
           "salesOrder": "salesOrder", "doc": "invoice"}
READABLE = (*FIELDS, "invoice", "customer", "inventoryItem")


class Refusal(Exception):
    def __init__(self, detail: str, code: str = "USER_ERROR", status: int = 400) -> None:
        super().__init__(detail)
        self.detail, self.code, self.status = detail, code, status


def problem(status: int, title: str, detail: str, code: str) -> web.Response:
    section = PROBLEM_TYPES.get(status, "15.6.1")
    rfc = "https://tools.ietf.org/html/rfc6585#section-4" if status == 429 else \
        f"https://www.rfc-editor.org/rfc/rfc9110.html#section-{section}"
    return web.json_response({"type": rfc, "title": title, "status": status,
                              "o:errorDetails": [{"detail": detail, "o:errorCode": code}]}, status=status,
                             content_type="application/vnd.oracle.resource+json")


def error_response(status: int) -> web.Response:
    if status == 429:
        return problem(429, "Too Many Requests", "Request blocked by the concurrency limit of this account.",
                       "CONCURRENCY_LIMIT_EXCEEDED")
    if status < 500:
        return problem(status, "Bad Request", "Invalid content in the request body.", "INVALID_CONTENT")
    return problem(status, "Internal Server Error", "An unexpected error occurred. Error ID: sandbox",
                   "UNEXPECTED_ERROR")


@dataclass
class Seed:
    """What the account holds before editsync writes anything: items, customers, currencies."""

    items: dict[str, str]  # itemId (the SKU) -> external id ("" when none)
    customers: list[dict[str, str]]  # entityId, email, externalId
    currencies: tuple[str, ...] = ("USD", "GBP", "EUR", "CAD")
    other_charge_items: tuple[str, ...] = ()  # itemId of each Other Charge item (refund adjustments)


class ErpSandbox:
    def __init__(self, integration: Integration, seed: Seed, concurrency_limit: int = 5,
                 random_seed: int | None = None) -> None:
        self.integration = integration
        self.concurrency_limit = concurrency_limit
        self._ids = itertools.count(1001)
        self.records: dict[str, dict[int, dict[str, Any]]] = {t: {} for t in READABLE}
        self.currencies = {next(self._ids): symbol for symbol in seed.currencies}
        for sku, external in seed.items.items():
            self.add_item(sku, external)
        for name in seed.other_charge_items:
            self.add_item(name, item_type=OTHER_CHARGE)
        for customer in seed.customers:
            self._store("customer", {"entityId": customer["entityId"], "email": customer.get("email"),
                                     "externalId": customer.get("externalId") or None})
        self.writes = 0
        self._active = 0
        self.control = Control("erp", error_response, self.state, _operation, random_seed)

    # --- inspection ---------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {**{t: {str(r["externalId"]): self._render(t, r, expand=True) for r in self.records[t].values()}
                   for t in FIELDS},
                "invoice": {str(i): self._render("invoice", r, expand=True)
                            for i, r in self.records["invoice"].items()},
                "items": {str(i): r["itemId"] for i, r in self.records["inventoryItem"].items()},
                "customers": {str(i): {"entityId": r["entityId"], "email": r["email"], "externalId": r["externalId"]}
                              for i, r in self.records["customer"].items()}}

    def by_external_id(self, record_type: str, external_id: str) -> dict[str, Any] | None:
        record = self._find(record_type, f"eid:{external_id}")
        return None if record is None else self._render(record_type, record, expand=True)

    def add_item(self, sku: str, external_id: str = "", item_type: str = INVENTORY) -> str:
        """An item the account sells (Item Name/Number = the SKU), as a merchant sets one up; its internal id."""
        return str(self._store("inventoryItem", {"itemId": sku, "externalId": external_id or None,
                                                 "itemType": item_type}))

    def customer_id(self, entity_id: str) -> str:
        return next(str(i) for i, r in self.records["customer"].items() if r["entityId"] == entity_id)

    # --- HTTP ---------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._concurrency, self.control.middleware])
        base = "/services/rest/record/v1/{type}/{ref}"
        app.add_routes([web.put(base, self.upsert), web.get(base, self.get),
                        web.post("/services/rest/query/v1/suiteql", self.suiteql),
                        web.post(TOKEN_PATH, self.token),
                        web.put("/_sandbox/oauth", self.set_oauth), web.post("/_sandbox/expire-tokens", self.expire),
                        web.post("/_sandbox/bill/{external}", self.bill), *self.control.routes()])
        return app

    @web.middleware
    async def _concurrency(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/_sandbox/"):
            return await handler(request)
        if self._active >= self.concurrency_limit:
            return error_response(429)
        self._active += 1
        try:
            await asyncio.sleep(0.005)  # a record write is never instant; lets concurrent requests overlap
            return await handler(request)
        finally:
            self._active -= 1

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        try:
            answer = self.integration.issue({k: str(v) for k, v in form.items()}, f"{request.url.origin()}{TOKEN_PATH}")
        except TokenRefused as refused:
            return web.json_response({"error": refused.error, "error_description": refused.description}, status=400)
        return web.json_response(answer)

    async def suiteql(self, request: web.Request) -> web.Response:
        if not self.integration.valid(request.headers.get("Authorization")):
            return _unauthorised()
        if request.headers.get("Prefer") != "transient":
            return problem(400, "Bad Request", "SuiteQL requests need the header Prefer: transient.",
                           "INVALID_HEADER")
        try:
            body = await request.json()
            rows = suiteql.run(str(body["q"]), self._tables())
        except (ValueError, KeyError, TypeError) as error:
            return problem(400, "Bad Request", str(error) or "Invalid content in the request body.",
                           "INVALID_PARAMETER")
        items = [{"links": [], **row} for row in rows]
        return web.json_response({"links": [{"rel": "self", "href": str(request.url)}], "count": len(items),
                                  "hasMore": False, "items": items, "offset": 0, "totalResults": len(items)})

    async def get(self, request: web.Request) -> web.Response:
        if not self.integration.valid(request.headers.get("Authorization")):
            return _unauthorised()
        record_type = _record_type(request.match_info["type"], READABLE)
        if record_type is None:
            return _no_such_type(request.match_info["type"])
        record = self._find(record_type, request.match_info["ref"])
        if record is None:
            return problem(404, "Not Found", "The record instance does not exist. Provide a valid record instance ID.",
                           "NONEXISTENT_ID")
        expand = request.query.get("expandSubResources", "").lower() == "true"
        return web.json_response(self._render(record_type, record, expand, str(request.url.origin())),
                                 content_type="application/vnd.oracle.resource+json")

    async def upsert(self, request: web.Request) -> web.Response:
        if not self.integration.valid(request.headers.get("Authorization")):
            return _unauthorised()
        record_type = _record_type(request.match_info["type"], tuple(FIELDS))
        if record_type is None:
            return _no_such_type(request.match_info["type"])
        ref = request.match_info["ref"]
        if not ref.startswith("eid:"):
            return problem(400, "Bad Request", "Upsert requires an external ID: use eid:<externalId>.", "INVALID_ID")
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return problem(400, "Bad Request", "Invalid content in the request body.", "INVALID_CONTENT")
        replace = {name.strip().lower() for name in request.query.get("replace", "").split(",") if name.strip()}
        existing = self._find(record_type, ref)
        try:
            record = self._merged(record_type, existing, body, replace)
            record["externalId"] = ref[4:]
            self._check(record_type, record)
        except Refusal as refusal:
            return problem(refusal.status, "Bad Request", refusal.detail, refusal.code)
        internal = self._store(record_type, record, existing)
        self.writes += 1
        location = f"{request.url.origin()}/services/rest/record/v1/{record_type}/{internal}"
        return web.Response(status=204, headers={"Location": location})

    async def set_oauth(self, request: web.Request) -> web.Response:
        self.integration.token_lifetime_s = float((await request.json())["token_lifetime_s"])
        return web.json_response({"token_lifetime_s": self.integration.token_lifetime_s})

    async def expire(self, request: web.Request) -> web.Response:
        self.integration.expire_all()
        return web.json_response({"expired": True})

    async def bill(self, request: web.Request) -> web.Response:
        """What NetSuite does when the merchant bills a sales order: an invoice for its open lines."""
        order = self._find("salesOrder", f"eid:{request.match_info['external']}")
        if order is None:
            return web.json_response({"error": "no such sales order"}, status=404)
        total = sum((_amount(line) for line in order["item"] if not line.get("isClosed")), Decimal(0))
        internal = self._store("invoice", {"entity": order["entity"], "createdFrom": {"id": order["id"]},
                                           "total": total, "externalId": None})
        order["billed"] = True
        return web.json_response({"id": str(internal), "total": str(total)})

    # --- records ------------------------------------------------------------------------------

    def _find(self, record_type: str, ref: str) -> dict[str, Any] | None:
        if ref.startswith("eid:"):
            return next((r for r in self.records[record_type].values() if r.get("externalId") == ref[4:]), None)
        return self.records[record_type].get(int(ref)) if ref.isdigit() else None

    def _store(self, record_type: str, record: dict[str, Any], existing: dict[str, Any] | None = None) -> int:
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        internal = int(existing["id"]) if existing else next(self._ids)
        self.records[record_type][internal] = {**record, "id": str(internal), "lastModifiedDate": now,
                                               "createdDate": existing["createdDate"] if existing else now}
        return internal

    def _merged(self, record_type: str, existing: dict[str, Any] | None, body: dict[str, Any],
                replace: set[str]) -> dict[str, Any]:
        fields = FIELDS[record_type]
        record = {k: v for k, v in (existing or {}).items() if k not in ("id", "createdDate", "lastModifiedDate")}
        for raw_name, value in body.items():
            name = _canonical(raw_name, fields)
            kind = fields[name]
            if kind == READ_ONLY:
                raise Refusal(f"The field {name} is read-only and cannot be set.", "INVALID_CONTENT")
            if kind == SUBLIST:
                key, line_fields = SUBLISTS[name]
                items = value.get("items") if isinstance(value, dict) else None
                if not isinstance(items, list):
                    raise Refusal(f"Invalid content for the sublist {name}: expected {{\"items\": [...]}}.",
                                  "INVALID_CONTENT")
                record[name] = self._merge_lines(name, record.get(name, []), items, key, line_fields,
                                                 name.lower() in replace)
            else:
                record[name] = self._value(name, kind, value)
        for name in replace:
            if name not in {n.lower() for n, k in fields.items() if k == SUBLIST}:
                raise Refusal(f"Invalid replace parameter: {name} is not a sublist of {record_type}.",
                              "INVALID_PARAMETER")
        return record

    def _merge_lines(self, sublist: str, existing: list[dict[str, Any]], incoming: list[Any], key: str,
                     line_fields: dict[str, str], replace: bool) -> list[dict[str, Any]]:
        by_key = {_key(line[key]): dict(line) for line in existing}
        kept: dict[Any, dict[str, Any]] = {} if replace else dict(by_key)
        added: list[dict[str, Any]] = []
        next_line = max((line.get("line", 0) for line in existing), default=0) + 1
        for raw in incoming:
            if not isinstance(raw, dict):
                raise Refusal(f"Invalid content for the sublist {sublist}.", "INVALID_CONTENT")
            values = {}
            for raw_name, value in raw.items():
                name = _canonical(raw_name, line_fields)
                if line_fields[name] == READ_ONLY:
                    raise Refusal(f"The field {sublist}.{name} is read-only and cannot be set.", "INVALID_CONTENT")
                values[name] = self._value(name, line_fields[name], value)
            if "line" in values:
                values["line"] = int(values["line"])
            identity = _key(values[key]) if key in values else None
            if identity is not None and identity in by_key:
                kept[identity] = {**kept.get(identity, by_key[identity]), **values}
            elif identity is not None and key == "line":
                raise Refusal(f"Invalid line key {identity} for the sublist {sublist}: no such line.")
            else:
                if key == "line":
                    values["line"] = next_line
                    next_line += 1
                added.append(values)
        return [*kept.values(), *added]

    def _value(self, name: str, kind: str, value: Any) -> Any:
        if kind == REF:
            target = TARGETS.get(name, name)
            if not isinstance(value, dict) or set(value) != {"id"} or not str(value["id"]).isdigit() \
                    or not self._exists(target, int(value["id"])):
                raise Refusal(f"Invalid Field Value {value!r} for the following field: {name}. "
                              "Reference records by internal id: {\"id\": \"...\"}.")
            return {"id": str(value["id"])}
        if kind == NUMBER:
            try:
                return Decimal(str(value)) if not isinstance(value, bool) else _invalid(name, value)
            except InvalidOperation:
                return _invalid(name, value)
        if kind == BOOL:
            return value if isinstance(value, bool) else _invalid(name, value)
        if kind == STATUS:
            if not isinstance(value, str) or value not in SETTABLE_ORDER_STATUSES:
                raise Refusal(f"Invalid Field Value {value!r} for the following field: orderStatus. "
                              "Use A (Pending Approval) or B (Pending Fulfillment).")
            return value
        return value if isinstance(value, str) else _invalid(name, value)

    def _exists(self, target: str, internal: int) -> bool:
        return internal in self.currencies if target == "currency" else internal in self.records[target]

    def _check(self, record_type: str, record: dict[str, Any]) -> None:
        """Record-level rules: required fields and what the referenced records must be."""
        party = "customer" if record_type in ("customerDeposit", "customerPayment") else "entity"
        if party not in record:
            raise Refusal(f"Please enter value(s) for: {'Customer' if party == 'customer' else 'Customer (entity)'}.")
        if record_type in ("salesOrder", "creditMemo"):
            open_or_not = record.get("item", [])
            if not open_or_not:
                raise Refusal("You must enter at least one line item for this transaction.")
            for line in open_or_not:
                if "item" not in line or "quantity" not in line:
                    raise Refusal("Please enter value(s) for: Item, Quantity.")
                if line["quantity"] <= 0:
                    raise Refusal(f"Invalid Field Value {line['quantity']} for the following field: quantity.")
                item = self.records["inventoryItem"][int(line["item"]["id"])]
                if line.get("rate", Decimal(0)) < 0 and item["itemType"] != OTHER_CHARGE:
                    raise Refusal(f"Invalid Field Value {line['rate']} for the following field: rate "
                                  f"(item {item['itemId']} is not an Other Charge item).")
            if record_type == "creditMemo" and sum(map(_amount, open_or_not), Decimal(0)) <= 0:
                raise Refusal("The total of a credit memo must be greater than zero.")
            return
        if record.get("payment", Decimal(0)) <= 0:
            raise Refusal("Please enter value(s) for: Payment Amount.")
        if record_type == "customerDeposit":
            order = self.records["salesOrder"].get(int(record["salesOrder"]["id"])) if "salesOrder" in record else None
            if order is not None and order["entity"] != record["customer"]:
                raise Refusal("The sales order belongs to another customer.")
            if order is not None and order.get("billed"):
                raise Refusal("The sales order is billed: apply the payment to its invoice.")
            return
        applied = [line for line in record.get("apply", []) if line.get("apply") is True]
        if not applied:
            raise Refusal("A customer payment must be applied to at least one invoice.")
        total = Decimal(0)
        for line in applied:
            invoice = self.records["invoice"][int(line["doc"]["id"])]
            remaining = self._remaining(line["doc"]["id"], but=record["externalId"])
            amount = line.setdefault("amount", min(remaining, record["payment"]))
            if invoice["entity"] != record["customer"] or amount > remaining:
                raise Refusal(f"Invalid Field Value for the following field: apply (invoice {line['doc']['id']}).")
            total += amount
        if total > record["payment"]:
            raise Refusal("The total applied exceeds the payment amount.")

    def _remaining(self, invoice_id: str, but: str | None = None) -> Decimal:
        """An invoice's amount remaining: its total less what other payments applied to it."""
        applied = sum((line["amount"] for payment in self.records["customerPayment"].values()
                       if payment["externalId"] != but for line in payment.get("apply", [])
                       if line["doc"]["id"] == invoice_id and line.get("apply")), Decimal(0))
        return self.records["invoice"][int(invoice_id)]["total"] - applied

    def _tables(self) -> dict[str, suiteql.Table]:
        def text(value: Any) -> str:
            return "" if value is None else str(value)

        invoices = self.records["invoice"]
        return {
            "item": suiteql.Table(frozenset({"id", "itemid", "externalid"}), [
                {"id": str(i), "itemid": r["itemId"], "externalid": text(r["externalId"])}
                for i, r in self.records["inventoryItem"].items()]),
            "customer": suiteql.Table(frozenset({"id", "entityid", "email", "externalid"}), [
                {"id": str(i), "entityid": r["entityId"], "email": text(r["email"]),
                 "externalid": text(r["externalId"])}
                for i, r in self.records["customer"].items()]),
            "currency": suiteql.Table(frozenset({"id", "symbol"}),
                                      [{"id": str(i), "symbol": s} for i, s in self.currencies.items()]),
            "transactionline": suiteql.Table(frozenset({"transaction", "createdfrom"}), [
                {"transaction": str(i), "createdfrom": r["createdFrom"]["id"]} for i, r in invoices.items()]),
        }

    def _render(self, record_type: str, record: dict[str, Any], expand: bool, origin: str = "") -> dict[str, Any]:
        self_href = f"{origin}/services/rest/record/v1/{record_type}/{record['id']}"
        shown: dict[str, Any] = {"links": [{"rel": "self", "href": self_href}]}
        for name, value in record.items():
            if name == "billed":
                continue
            if name in SUBLISTS:
                links = [{"rel": "self", "href": f"{self_href}/{name}"}]
                shown[name] = {"links": links, "items": [self._render_line(line) for line in value],
                               "totalResults": len(value)} if expand else {"links": links}
            else:
                shown[name] = self._render_value(name, value)
        if record_type == "salesOrder":
            status = self._order_status(record)
            shown["orderStatus"] = {"id": status, "refName": ORDER_STATUSES[status]}
            shown["status"] = ORDER_STATUSES[status]
            shown["subtotal"] = shown["total"] = float(sum((_amount(line) for line in record["item"]), Decimal(0)))
        if record_type == "invoice":
            shown["amountRemaining"] = float(self._remaining(record["id"]))
        if record_type == "creditMemo":
            shown["total"] = float(sum((_amount(line) for line in record["item"]), Decimal(0)))
        return shown

    def _render_line(self, line: dict[str, Any]) -> dict[str, Any]:
        shown = {name: self._render_value(name, value) for name, value in line.items()}
        if "item" in line:
            shown["amount"] = float(_amount(line))
        return shown

    def _render_value(self, name: str, value: Any) -> Any:
        if isinstance(value, Decimal):
            return float(value)
        if isinstance(value, dict) and "id" in value:
            return {"id": value["id"], "refName": self._ref_name(TARGETS.get(name, name), int(value["id"]))}
        return value

    def _ref_name(self, target: str, internal: int) -> str:
        if target == "currency":
            return self.currencies.get(internal, "")
        record = self.records.get(target, {}).get(internal, {})
        return str(record.get("itemId") or record.get("entityId") or record.get("tranId") or internal)

    @staticmethod
    def _order_status(record: dict[str, Any]) -> str:
        if record.get("billed"):
            return "G"
        if record["item"] and all(line.get("isClosed") for line in record["item"]):
            return "H"
        return record.get("orderStatus", "A")


def _record_type(name: str, allowed: tuple[str, ...]) -> str | None:
    return next((t for t in allowed if t.lower() == name.lower()), None)


def _canonical(name: str, fields: dict[str, str]) -> str:
    canonical = next((f for f in fields if f.lower() == name.lower()), None)
    if canonical is None:
        raise Refusal(f"Invalid content in the request body. The field {name} does not exist on this record.",
                      "INVALID_CONTENT")
    return canonical


def _key(value: Any) -> Any:
    return value["id"] if isinstance(value, dict) else int(value)


def _amount(line: dict[str, Any]) -> Decimal:
    return Decimal(line.get("quantity", 0)) * Decimal(line.get("rate", 0))


def _invalid(name: str, value: Any) -> Any:
    raise Refusal(f"Invalid Field Value {value!r} for the following field: {name}.")


def _operation(request: web.Request) -> str:
    if request.path.endswith("/suiteql"):
        return "POST suiteql"
    if request.path == TOKEN_PATH:
        return "POST token"
    return f"{request.method} {request.match_info.get('type')}"


def _no_such_type(name: str) -> web.Response:
    return problem(404, "Not Found", f"Record type '{name}' does not exist.", "INVALID_RECORD_TYPE")


def _unauthorised() -> web.Response:
    return problem(401, "Unauthorized", "Invalid login attempt. For more details, see the Login Audit Trail in the "
                                        "NetSuite UI at Setup > Users/Roles > User Management > View Login Audit "
                                        "Trail.", "INVALID_LOGIN")
