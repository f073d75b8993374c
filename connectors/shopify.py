"""Shopify Admin GraphQL over httpx: read orders completely, find one by name, adjust inventory.

Throttle-aware as shopify.dev/docs/api/usage/limits asks: every answer's
``extensions.cost.throttleStatus`` says how many points are left and how fast
they return, so a query waits until the bucket holds what it will cost
(``requestedQueryCost``, remembered per query and page size) instead of being
refused; a ``THROTTLED`` error waits for the refill and retries; an HTTP 429
honours ``Retry-After``. Writes (a lock tag, a fulfillment-order hold, a
fulfillment, a stock adjustment, and the reads each needs) queue apart from
order reads and sweeps, and reads leave ``WRITES_SHARE`` of the bucket to them:
under a burst of reads, which can take the bucket for minutes, the lock that
closes an order for edits still lands in seconds. An order is read with tight pages and follow-up
queries for whatever does not fit (``connectors.shopify_order``), each page
paid for and waited for on its own.

The sweep's list of recently updated orders asks only ``id`` and
``updatedAt``, ``sortKey: UPDATED_AT`` with the search
``updated_at:>'<ISO time>'`` (shopify.dev/docs/api/usage/search-syntax: "Date
values must be a string surrounded by quotes"; the schema's ``orders(query:)``
description lists ``updated_at`` as a time filter), and pages with ``after``:
each page of ``SWEEP_PAGE`` orders is requested at about 2 + 100 × 2 points
(an ``Order`` object and ``pageInfo`` are 1 each, scalars 0) and charged for
what it returned.

Errors: 5xx, transport errors, a body that is not JSON (a proxy's error page)
and Shopify's ``INTERNAL_SERVER_ERROR`` (answered with HTTP 200 "instead of
500", shopify.dev changelog "Improved GraphQL errors") are ``TransientError``
(the caller retries later). A field the token may not read answers ``ACCESS_DENIED``
(shopify.dev/changelog/new-error-messages-for-graphql-operations-without-necessary-access-scopes:
"Access denied for <field-name>. Required access: <access scope required>
access scope", with the required access also in ``extensions``): that is
``AccessDenied`` naming what to grant, never a partial order. A 401/403 or
any other GraphQL error is ``PermanentError``.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from connectors.errors import AccessDenied, PermanentError, TransientError
from connectors.ports import OrderUpdate, StockChange
from connectors.shopify_order import (
    AGREEMENTS_PAGE,
    FIND_BY_NAME_QUERY,
    FULFILLMENT_CREATE_MUTATION,
    FULFILLMENT_LINES_FOR_FULFILLMENT,
    FULFILLMENT_LINES_PAGE,
    FULFILLMENT_ORDER_LINES_QUERY,
    FULFILLMENT_ORDER_MUTATIONS,
    FULFILLMENT_ORDER_STATES_QUERY,
    FULFILLMENT_ORDERS_FOR_FULFILLMENT,
    FULFILLMENT_ORDERS_FOR_STATES,
    FULFILLMENT_ORDERS_PAGE,
    INVENTORY_MUTATION,
    LINES_PAGE,
    ORDER_QUERY,
    PING_QUERY,
    REFUND_LINES_PAGE,
    REFUNDS_LIST,
    SALES_PAGE,
    TAGS_ADD_MUTATION,
    TAGS_REMOVE_MUTATION,
    TRANSACTIONS_LIST,
    UPDATED_SINCE_QUERY,
    FollowUpSizes,
    PageSizes,
    numeric,
    snapshot_from_graphql,
    version_of,
)
from streams.core.commands import (
    FulfillmentOrderChange,
    HoldFulfillmentOrders,
    OpenFulfillmentOrders,
    ReleaseFulfillmentHolds,
    ReportProgress,
)
from streams.core.details import ResultDetail, SystemMessage
from streams.core.model import OrderSnapshot

#: The changelog's message shape, for answers whose extensions do not name the required access.
_REQUIRED_IN_MESSAGE = re.compile(r"Required access: (.+?)\.?$")
READ_ATTEMPTS = 3  # an order edited while its pages were read is read again from the start, this often
#: The part of the bucket order reads and sweeps leave to writes: on a Standard shop's 2,000 points, 200, twenty
#: mutations at Shopify's 10 points each.
WRITES_SHARE = 0.1
SWEEP_PAGE = 100  # orders per page of the sweep's list: ~200 points requested, leaving room for order reads


class _OrderChanged(Exception):
    """The order's ``updatedAt`` moved between two pages of one read."""


@dataclass
class _Bucket:
    available: float = 0.0
    restore_rate: float = 0.0
    maximum: float = 0.0
    read_at: float = 0.0

    def _now_available(self) -> float:
        return min(self.maximum, self.available + (time.monotonic() - self.read_at) * self.restore_rate)

    def wait_for(self, cost: float, keep: float = 0.0) -> float:
        """How long until the bucket holds ``cost`` with ``keep`` to spare (never more than it can hold)."""
        if not self.restore_rate:
            return 0.0
        return max(0.0, (min(cost + keep, self.maximum) - self._now_available()) / self.restore_rate)

    def reserve(self, cost: float) -> None:
        if self.restore_rate:
            self.available, self.read_at = self._now_available() - cost, time.monotonic()


class ShopifyAdmin:
    def __init__(self, base_url: str, access_token: str, api_version: str = "2026-10",
                 client: httpx.AsyncClient | None = None, max_throttle_retries: int = 5,
                 timeout_s: float = 10.0, pages: PageSizes = PageSizes(),
                 follow_ups: FollowUpSizes = FollowUpSizes(),
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._url = f"{base_url.rstrip('/')}/admin/api/{api_version}/graphql.json"
        self._headers = {"X-Shopify-Access-Token": access_token, "Content-Type": "application/json"}
        self._client = client or httpx.AsyncClient(timeout=timeout_s, transport=transport)
        self._bucket = _Bucket()
        self._costs: dict[str, float] = {}  # last requested cost per query: what to wait for next time
        self._max_throttle_retries = max_throttle_retries
        self._lanes = {False: asyncio.Lock(), True: asyncio.Lock()}  # reads, writes: one waiter at a time in each
        self._pages = pages
        self._follow_ups = follow_ups
        self.queries_sent = 0  # every GraphQL request, pages included: what the order reads really cost

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch_order(self, order_id: str) -> OrderSnapshot | None:
        """The order with every line, agreement, sale, fulfillment order, refund and transaction, or None."""
        gid = f"gid://shopify/Order/{order_id}"
        for _ in range(READ_ATTEMPTS):
            node = (await self._query(ORDER_QUERY, {"id": gid, **self._pages.variables()})).get("order")
            if node is None:
                return None
            try:
                await self._read_rest(gid, node)
            except _OrderChanged:
                continue
            return snapshot_from_graphql(node)
        raise TransientError(f"order {order_id} kept changing while its pages were read")

    async def _read_rest(self, gid: str, order: dict[str, Any]) -> None:
        """Complete, in place, every connection and list of ``order`` that did not fit its first page."""
        more, version = self._follow_ups, order["updatedAt"]

        async def order_page(query: str, variables: dict[str, Any], *path: str | int) -> dict[str, Any]:
            data = (await self._query(query, {"id": gid, **variables})).get("order")
            if data is None or data["updatedAt"] != version:
                raise _OrderChanged
            return _dig(data, path)

        async def node_page(node_id: str, query: str, variables: dict[str, Any], field: str) -> dict[str, Any]:
            data = (await self._query(query, {"id": node_id, **variables})).get("node")
            if data is None:
                raise _OrderChanged  # gone since the first page: the order changed
            return data[field]

        await _drain(order["lineItems"], "nodes",
                     lambda after: order_page(LINES_PAGE, {"first": more.lines, "after": after}, "lineItems"))
        await _drain(order["agreements"], "edges", lambda after: order_page(
            AGREEMENTS_PAGE, {"first": more.agreements, "after": after, "sales": self._pages.sales}, "agreements"))
        edges = order["agreements"]["edges"]
        for index, edge in enumerate(edges):
            before = edges[index - 1]["cursor"] if index else None
            await _drain(edge["node"]["sales"], "nodes", lambda after, before=before: order_page(
                SALES_PAGE, {"agreementAfter": before, "first": more.sales, "after": after},
                "agreements", "nodes", 0, "sales"))
        await _drain(order["fulfillmentOrders"], "nodes", lambda after: order_page(
            FULFILLMENT_ORDERS_PAGE, {"first": more.fulfillment_orders, "after": after,
                                      "fulfillmentLines": self._pages.fulfillment_lines}, "fulfillmentOrders"))
        for fulfillment_order in order["fulfillmentOrders"]["nodes"]:
            await _drain(fulfillment_order["lineItems"], "nodes", lambda after, fo=fulfillment_order: node_page(
                fo["id"], FULFILLMENT_LINES_PAGE, {"first": more.fulfillment_lines, "after": after}, "lineItems"))
        asked = self._pages.refunds
        for refunds, lines in more.refunds:
            if len(order["refunds"]) < asked:
                break
            order["refunds"] = await order_page(REFUNDS_LIST, {"refunds": refunds, "refundLines": lines}, "refunds")
            asked = refunds
        else:
            if len(order["refunds"]) >= asked:
                raise PermanentError(f"order {numeric(gid)} has more than {asked} refunds; editsync reads no more")
        for refund in order["refunds"]:
            await _drain(refund["refundLineItems"], "nodes", lambda after, r=refund: node_page(
                r["id"], REFUND_LINES_PAGE, {"first": more.refund_lines, "after": after}, "refundLineItems"))
        if len(order["transactions"]) >= self._pages.transactions:
            order["transactions"] = await order_page(TRANSACTIONS_LIST, {"transactions": more.transactions},
                                                     "transactions")
            if len(order["transactions"]) >= more.transactions:
                raise PermanentError(f"order {numeric(gid)} has more than {more.transactions} transactions; "
                                     "editsync reads no more")

    async def updated_since(self, since_ms: int) -> AsyncIterator[OrderUpdate]:
        since = datetime.fromtimestamp(since_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        variables: dict[str, Any] = {"query": f"updated_at:>'{since}'", "first": SWEEP_PAGE, "after": None}
        while True:
            page = (await self._query(UPDATED_SINCE_QUERY, variables))["orders"]
            for node in page["nodes"]:
                yield OrderUpdate(numeric(node["id"]) or "", version_of(node))
            if not page["pageInfo"]["hasNextPage"]:
                return
            variables["after"] = page["pageInfo"]["endCursor"]

    async def find_order_id(self, name: str) -> str | None:
        wanted = name if name.startswith("#") else f"#{name}"
        data = await self._query(FIND_BY_NAME_QUERY, {"query": f"name:{wanted}"})
        nodes = data["orders"]["nodes"]
        return numeric(nodes[0]["id"]) if nodes else None

    async def ping(self) -> None:
        await self._query(PING_QUERY, {})

    async def adjust_inventory(self, key: str, changes: list[StockChange], reason: str,
                               reference_document_uri: str | None) -> dict[str, Any]:
        variables = {"key": key, "input": {
            "name": "available", "reason": reason, "referenceDocumentUri": reference_document_uri,
            "changes": [{"inventoryItemId": f"gid://shopify/InventoryItem/{c.inventory_item_id}",
                         "locationId": f"gid://shopify/Location/{c.location_id}", "delta": c.delta}
                        for c in changes]}}
        payload = (await self._query(INVENTORY_MUTATION, variables, write=True))["inventoryAdjustQuantities"]
        if payload["userErrors"]:
            raise _refused("inventoryAdjustQuantities", payload["userErrors"])
        return payload["inventoryAdjustmentGroup"]

    async def change_tags(self, order_id: str, *, add: tuple[str, ...] = (), remove: tuple[str, ...] = ()) -> None:
        """Add, then remove, tags of the order; each mutation leaves the order's other tags as they are."""
        gid = f"gid://shopify/Order/{order_id}"
        for mutation, field, tags in ((TAGS_ADD_MUTATION, "tagsAdd", add),
                                      (TAGS_REMOVE_MUTATION, "tagsRemove", remove)):
            if not tags:
                continue
            payload = (await self._query(mutation, {"id": gid, "tags": list(tags)}, write=True))[field]
            if payload["userErrors"]:
                raise _refused(field, payload["userErrors"])
            if payload["node"] is None:
                raise PermanentError(f"Shopify has no order {order_id} to tag")

    async def _fulfillment_orders(self, order_id: str, query: str, variables: dict[str, Any]) -> list[dict[str, Any]]:
        """The order's fulfillment orders as ``query`` reads them, all of them or an error."""
        order = (await self._query(query, {"id": f"gid://shopify/Order/{order_id}", **variables}, write=True))["order"]
        if order is None:
            raise PermanentError(f"Shopify has no order {order_id}")
        fulfillment_orders = order["fulfillmentOrders"]
        if fulfillment_orders["pageInfo"]["hasNextPage"] or any(
                fo["lineItems"]["pageInfo"]["hasNextPage"] for fo in fulfillment_orders["nodes"] if "lineItems" in fo):
            raise PermanentError(f"order {order_id} has more fulfillment orders, or lines in one, than editsync "
                                 f"reads at once ({variables}): change it in Shopify")
        nodes: list[dict[str, Any]] = fulfillment_orders["nodes"]
        return nodes

    async def change_fulfillment_orders(self, order_id: str, change: FulfillmentOrderChange) -> int:
        """Each fulfillment order that Shopify says takes the change now (its ``supportedActions``) gets it."""
        changed = 0
        for fo in await self._fulfillment_orders(order_id, FULFILLMENT_ORDER_STATES_QUERY,
                                                 {"orders": FULFILLMENT_ORDERS_FOR_STATES}):
            variables: dict[str, Any] = {"id": fo["id"]}
            actions = {each["action"] for each in fo["supportedActions"]}
            ours = [hold["id"] for hold in fo["fulfillmentHolds"]
                    if isinstance(change, HoldFulfillmentOrders | ReleaseFulfillmentHolds)
                    and hold["handle"] == change.handle]
            if isinstance(change, ReportProgress):
                # Open ones only: one in progress already shows it, one on hold or closed is not the warehouse's.
                wanted = fo["status"] == "OPEN" and "REPORT_PROGRESS" in actions
                variables["notes"] = change.reason_notes
            elif isinstance(change, OpenFulfillmentOrders):
                wanted = "MARK_AS_OPEN" in actions  # only progress reported, nothing fulfilled, can be undone
            elif isinstance(change, HoldFulfillmentOrders):
                wanted = "HOLD" in actions and not ours
                variables.update(handle=change.handle, notes=change.reason_notes)
            else:
                wanted = bool(ours)
                variables["holds"] = ours
            if not wanted:
                continue
            field, mutation = FULFILLMENT_ORDER_MUTATIONS[change.kind]
            payload = (await self._query(mutation, variables, write=True))[field]
            if payload["userErrors"]:
                raise _refused(field, payload["userErrors"])
            changed += 1
        return changed

    async def create_fulfillment(self, order_id: str, lines: dict[str, int], *, carrier: str | None,
                                 tracking_number: str | None, notify_customer: bool) -> tuple[str, ...]:
        """Fulfil, per location, the units of ``lines`` Shopify does not show fulfilled yet: one
        ``fulfillmentCreate`` per location, from the fulfillment orders that still hold those units."""
        nodes = await self._fulfillment_orders(order_id, FULFILLMENT_ORDER_LINES_QUERY, {
            "orders": FULFILLMENT_ORDERS_FOR_FULFILLMENT, "lines": FULFILLMENT_LINES_FOR_FULFILLMENT})
        line_id = {f"gid://shopify/LineItem/{key}": key for key in lines}
        missing = dict(lines)
        for fo in nodes:
            for item in fo["lineItems"]["nodes"]:
                key = line_id.get(item["lineItem"]["id"])
                if key is not None:
                    missing[key] -= item["totalQuantity"] - item["remainingQuantity"]  # fulfilled already
        by_location: dict[str, list[tuple[str, str, int]]] = {}
        for fo in nodes:
            for item in fo["lineItems"]["nodes"]:
                key = line_id.get(item["lineItem"]["id"])
                take = min(missing[key], item["remainingQuantity"]) if key is not None else 0
                if key is not None and take > 0:
                    missing[key] -= take
                    by_location.setdefault(fo["assignedLocation"]["location"]["id"], []).append(
                        (fo["id"], item["id"], take))
        tracking = {k: v for k, v in (("company", carrier), ("number", tracking_number)) if v}
        made = []
        for items in by_location.values():
            per_order: dict[str, list[dict[str, Any]]] = {}
            for fulfillment_order_id, item_id, quantity in items:
                per_order.setdefault(fulfillment_order_id, []).append({"id": item_id, "quantity": quantity})
            fulfillment = {"notifyCustomer": notify_customer, "lineItemsByFulfillmentOrder": [
                {"fulfillmentOrderId": fo_id, "fulfillmentOrderLineItems": chosen}
                for fo_id, chosen in per_order.items()]}
            if tracking:
                fulfillment["trackingInfo"] = tracking
            answer = await self._query(FULFILLMENT_CREATE_MUTATION, {"fulfillment": fulfillment}, write=True)
            payload = answer["fulfillmentCreate"]
            if payload["userErrors"]:
                raise _refused("fulfillmentCreate", payload["userErrors"])
            made.append(payload["fulfillment"]["id"])
        return tuple(made)

    async def _query(self, query: str, variables: dict[str, Any], *, write: bool = False) -> dict[str, Any]:
        # Page sizes set the requested cost; ids and cursors do not.
        shape = query + json.dumps({k: v for k, v in sorted(variables.items()) if isinstance(v, int)})
        for _ in range(self._max_throttle_retries + 1):
            async with self._lanes[write]:  # each waiter reserves its cost, so waits in one lane do not collide
                cost = self._costs.get(shape, 0)
                keep = 0.0 if write else self._bucket.maximum * WRITES_SHARE
                # A write in the other lane may take points while this one sleeps: look again on waking.
                while (wait := self._bucket.wait_for(cost, keep)) > 0:
                    await asyncio.sleep(wait)
                self._bucket.reserve(cost)
            self.queries_sent += 1
            try:
                response = await self._client.post(self._url, json={"query": query, "variables": variables},
                                                   headers=self._headers)
            except httpx.HTTPError as error:
                raise TransientError(f"Shopify unreachable: {type(error).__name__}") from error
            if response.status_code == 429:
                await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                continue
            if response.status_code in (401, 403):
                raise PermanentError(f"Shopify refused the access token ({response.status_code})")
            if response.status_code >= 500:
                raise TransientError(f"Shopify answered {response.status_code}")
            if response.status_code != 200:
                raise PermanentError(f"Shopify answered {response.status_code}",
                                     ResultDetail(http_status=response.status_code, body=response.text[:500]))
            try:
                body = response.json()
            except ValueError as error:
                raise TransientError("Shopify answered 200 without JSON") from error
            self._read_cost(shape, (body.get("extensions") or {}).get("cost") or {})
            errors = body.get("errors") or []
            if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
                continue  # the bucket status just read says how long to wait
            denied = [e for e in errors if (e.get("extensions") or {}).get("code") == "ACCESS_DENIED"]
            if denied:
                raise _access_denied(denied)
            messages = ResultDetail(errors=tuple(SystemMessage(message=e.get("message")) for e in errors))
            if any((e.get("extensions") or {}).get("code") == "INTERNAL_SERVER_ERROR" for e in errors):
                raise TransientError("Shopify internal error", detail=messages)
            if errors:
                raise PermanentError("Shopify GraphQL error", messages)
            return body["data"]
        raise TransientError("Shopify kept throttling", retry_after_s=self._bucket.wait_for(self._costs.get(shape, 0)))

    def _read_cost(self, shape: str, cost: dict[str, Any]) -> None:
        if cost.get("requestedQueryCost") is not None:
            self._costs[shape] = float(cost["requestedQueryCost"])
        status = cost.get("throttleStatus")
        if status:
            self._bucket = _Bucket(float(status["currentlyAvailable"]), float(status["restoreRate"]),
                                   float(status["maximumAvailable"]), time.monotonic())


def _access_denied(errors: list[dict[str, Any]]) -> AccessDenied:
    """One error naming everything the token lacks, each as Shopify worded it."""
    required: list[str] = []
    for error in errors:
        named = (error.get("extensions") or {}).get("requiredAccess")
        if not named:
            found = _REQUIRED_IN_MESSAGE.search(error.get("message") or "")
            named = found.group(1) if found else "an access scope Shopify did not name"
        named = named.rstrip(".")
        if named not in required:
            required.append(named)
    fields = [".".join(str(p) for p in error.get("path") or ()) for error in errors]
    return AccessDenied("Shopify", "; ".join(required), ResultDetail(fields=tuple(fields)))


def _dig(data: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        data = data[step]
    return data


async def _drain(connection: dict[str, Any], key: str, next_page: Any) -> None:
    """Append every further page of ``connection`` (its ``nodes`` or ``edges``) until ``hasNextPage`` is false."""
    page = connection
    while page["pageInfo"]["hasNextPage"]:
        page = await next_page(page["pageInfo"]["endCursor"])
        connection[key].extend(page[key])
    connection["pageInfo"] = page["pageInfo"]


def _refused(mutation: str, errors: list[dict[str, Any]]) -> PermanentError:
    """A mutation's ``userErrors`` as the refusal it is, Shopify's own words in the reason a person reads."""
    said = "; ".join(e.get("message") or "" for e in errors if e.get("message"))
    return PermanentError(f"Shopify refused {mutation}" + (f": {said}" if said else ""), _user_errors(errors))


def _user_errors(errors: list[dict[str, Any]]) -> ResultDetail:
    """A mutation's ``userErrors`` as the result detail says them."""
    return ResultDetail(user_errors=tuple(
        SystemMessage(message=e.get("message"), code=e.get("code"), field=tuple(e.get("field") or ())) for e in errors))
