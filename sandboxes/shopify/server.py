"""The Shopify sandbox over HTTP: Admin GraphQL, scenario operations, inspection, faults.

Admin API behaviour follows shopify.dev/docs/api/admin-graphql and
shopify.dev/docs/api/usage: ``POST /admin/api/<version>/graphql.json`` with the
``X-Shopify-Access-Token`` header (401 ``{"errors": "[API] Invalid API key or
access token ..."}`` without it; each token holds its own access scopes, set
with ``grant`` or ``PUT /_sandbox/tokens/<token>``, and fields outside them
answer ``ACCESS_DENIED`` as ``graphql_api`` describes), answers 200 with ``data``/``errors`` and
``extensions.cost`` (``requestedQueryCost``, ``actualQueryCost``,
``throttleStatus``); a query over the bucket is answered with a ``THROTTLED``
error and no data; a query costing over 1,000 with ``MAX_COST_EXCEEDED``; a
throttled REST-style 429 carries ``Retry-After``. Unknown API versions 404.

``/_sandbox/scenario/<operation>`` runs a merchant operation from
``store.Shop`` (create_order, edit_order, change_address, set_line_properties,
cancel_order, refund, recreate_order, fulfill, and customer_edit_order: the
customer's order-editing app), for the demo and tests; one the store refuses
answers 422 with the reason and the ``userErrors`` Shopify's mutation would
carry; an edit the customer's app refuses on a locked order answers 409.

Calls are logged, and can be failed one operation at a time (``fail_operation``
in ``sandboxes/control.py``), under the root field the request runs
(``order``, ``orders``, ``node``, ``inventoryAdjustQuantities``), whatever the
client named its operation.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from typing import Any

from aiohttp import web
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, parse

from sandboxes.control import Control
from sandboxes.shopify.cost import MAX_QUERY_COST, Bucket, actual_cost, requested_cost
from sandboxes.shopify.graphql_api import ALL_SCOPES, AdminGraphQL
from sandboxes.shopify.schema import API_VERSION, admin_schema, check_document
from sandboxes.shopify.store import EditLocked, Order, Shop, StoreError
from sandboxes.shopify.webhooks import WebhookEmitter

SCENARIOS = ("create_order", "edit_order", "change_address", "set_line_properties", "cancel_order", "refund",
             "recreate_order", "fulfill", "customer_edit_order", "pay_outstanding")
THROTTLE_DOC = "https://shopify.dev/api/usage/limits#rate-limits"


@functools.lru_cache(maxsize=256)
def root_field(query: str, operation_name: str | None) -> str | None:
    """The first root field of the operation a document runs (the named one, or its only one)."""
    try:
        document = parse(query)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)
                  and (operation_name is None or (d.name is not None and d.name.value == operation_name))]
    if len(operations) != 1:
        return None
    fields = [s for s in operations[0].selection_set.selections if isinstance(s, FieldNode)]
    return fields[0].name.value if fields else None


def error_response(status: int) -> web.Response:
    if status == 429:
        return web.json_response({"errors": "Exceeded 2 calls per second for api client. Reduce request rates to "
                                            "resume uninterrupted service."}, status=429,
                                 headers={"Retry-After": "2.0"})
    return web.json_response({"errors": "Internal Server Error"}, status=status)


class ShopifySandbox:
    def __init__(self, shop: Shop | None = None, access_token: str = "shpat_sandbox", bucket: Bucket | None = None,
                 seed: int | None = None) -> None:
        self.shop = shop or Shop()
        self.access_token = access_token
        self.tokens: dict[str, frozenset[str]] = {access_token: ALL_SCOPES}
        self.bucket = bucket or Bucket()
        self.api = AdminGraphQL(self.shop)
        self.control = Control("shopify", error_response, self.state, self._operation_of, seed)
        self.emitter: WebhookEmitter | None = None  # set by whoever starts one for this shop

    def grant(self, token: str, scopes: frozenset[str] | set[str]) -> None:
        """Install the app with ``token`` holding exactly ``scopes`` (replacing what it held)."""
        self.tokens[token] = frozenset(scopes)

    def state(self) -> dict[str, Any]:
        with self.shop.lock:
            return {
                "orders": {str(o.id): order_summary(o) for o in self.shop.orders.values()},
                "stock": {f"{item}@{location}": level for (item, location), level in self.shop.levels.items()},
                "adjustments": list(self.shop.adjustments),
                "variants": {v.sku or str(v.id): {"id": v.id, "price": str(v.price),
                                                  "inventory_item_id": v.inventory_item_id}
                             for v in self.shop.variants.values()},
                "locations": {str(k): v for k, v in self.shop.locations.items()},
                "company_locations": {str(k): {"company_id": c, "prices": {str(v): str(p) for v, p in prices.items()}}
                                      for k, (c, prices) in self.shop.company_locations.items()},
            }

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.control.middleware])
        app.add_routes([web.post("/admin/api/{version}/graphql.json", self.graphql),
                        web.post("/_sandbox/scenario/{operation}", self.scenario),
                        web.put("/_sandbox/webhooks", self.delivery_plan),
                        web.put("/_sandbox/tokens/{token}", self.token_scopes),
                        *self.control.routes()])
        return app

    @staticmethod
    def _operation_of(request: web.Request) -> str | None:
        """The root field the request runs (``order``, ``inventoryAdjustQuantities``): what a call is, whatever
        the client named its operation."""
        try:
            body = json.loads(request._read_bytes or b"{}")
        except ValueError:
            return None
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return None
        return root_field(body["query"], body.get("operationName"))

    async def graphql(self, request: web.Request) -> web.Response:
        scopes = self.tokens.get(request.headers.get("X-Shopify-Access-Token", ""))
        if scopes is None:
            return web.json_response({"errors": "[API] Invalid API key or access token (unrecognized login or "
                                                "wrong password)"}, status=401)
        if request.match_info["version"] != API_VERSION:
            return web.json_response({"errors": "Not Found"}, status=404)
        try:
            body = await request.json()
            query = body["query"]
        except (ValueError, KeyError, TypeError):
            return web.json_response({"errors": [{"message": "Bad Request: a JSON body with 'query' is required",
                                                  "extensions": {"code": "BAD_REQUEST"}}]}, status=400)
        variables = body.get("variables") or {}
        document, errors = check_document(query)
        if errors:
            return web.json_response({"errors": [e.formatted for e in errors]})
        cost = requested_cost(admin_schema(), document, variables)
        if cost > MAX_QUERY_COST:
            return web.json_response({"errors": [{
                "message": f"Query cost is {cost}, which exceeds the single query max cost limit "
                           f"({MAX_QUERY_COST}).", "extensions": {"code": "MAX_COST_EXCEEDED", "cost": cost,
                                                                 "maxCost": MAX_QUERY_COST}}]})
        extensions = {"cost": {"requestedQueryCost": cost, "actualQueryCost": None,
                               "throttleStatus": None}}
        if not self.bucket.take(cost):
            extensions["cost"]["throttleStatus"] = self.bucket.status()
            return web.json_response({"errors": [{"message": "Throttled", "extensions": {
                "code": "THROTTLED", "documentation": THROTTLE_DOC}}], "extensions": extensions})
        result = self.api.execute(document, variables, body.get("operationName"), scopes)
        actual = min(cost, actual_cost(admin_schema(), document, variables, result.data))
        self.bucket.refund(cost - actual)
        extensions["cost"].update(actualQueryCost=actual, throttleStatus=self.bucket.status())
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [e.formatted for e in result.errors]
        answer["extensions"] = extensions
        return web.json_response(answer)

    async def token_scopes(self, request: web.Request) -> web.Response:
        try:
            scopes = (await request.json())["scopes"]
            if not isinstance(scopes, list) or not set(scopes) <= ALL_SCOPES:
                raise ValueError(f"scopes must be a list drawn from {sorted(ALL_SCOPES)}")
        except (ValueError, KeyError, TypeError) as error:
            return web.json_response({"error": str(error)}, status=400)
        self.grant(request.match_info["token"], set(scopes))
        return web.json_response({"token": request.match_info["token"], "scopes": sorted(scopes)})

    async def delivery_plan(self, request: web.Request) -> web.Response:
        """Make webhook delivery as unreliable as Shopify allows: duplicates, delays, reordering."""
        if self.emitter is None:
            return web.json_response({"error": "no webhook emitter"}, status=404)
        try:
            changes = await request.json()
            plan = self.emitter.plan
            for name, value in changes.items():
                if not hasattr(plan, name):
                    raise ValueError(f"unknown delivery setting {name!r}")
                setattr(plan, name, tuple(value) if isinstance(value, list) else type(getattr(plan, name))(value))
        except (ValueError, TypeError) as error:
            return web.json_response({"error": str(error)}, status=400)
        return web.json_response(dataclasses.asdict(self.emitter.plan))

    async def scenario(self, request: web.Request) -> web.Response:
        operation = request.match_info["operation"]
        if operation not in SCENARIOS:
            return web.json_response({"error": f"unknown scenario operation {operation!r}"}, status=404)
        try:
            arguments = await request.json()
            result = getattr(self.shop, operation)(**_decode_arguments(arguments))
        except EditLocked as error:
            return web.json_response({"error": str(error)}, status=409)
        except StoreError as error:
            return web.json_response({"error": str(error), "userErrors": [
                {"field": list(error.field) or None, "message": str(error)}]}, status=422)
        except (TypeError, KeyError, ValueError) as error:
            return web.json_response({"error": str(error)}, status=422)
        order = result if isinstance(result, Order) else self.shop.orders[int(arguments["order_id"])]
        return web.json_response(order_summary(order), dumps=lambda v: json.dumps(v, default=str))


def _decode_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    """JSON has no tuples or int keys: give the store the types it takes."""
    decoded = dict(arguments)
    if "set_quantity" in decoded:
        decoded["set_quantity"] = {int(k): v for k, v in decoded["set_quantity"].items()}
    for key in ("lines", "line_locations"):
        if key in decoded:
            decoded[key] = {int(k): v for k, v in decoded[key].items()}
    for key in ("items", "add", "attributes"):
        if key in decoded:
            decoded[key] = [tuple(item) for item in decoded[key]]
    return decoded


def order_summary(order: Order) -> dict[str, Any]:
    """The order as the merchant's admin shows it, everything a reconciliation needs to judge it by.

    Per line, from the order's agreements (``SalesAgreement.sales``): ``sold`` is
    every unit Shopify ever committed for it (positive ORDER sales, at checkout
    or by edits), ``at_checkout`` what the checkout agreement sold (0 for a
    line an edit added). Refunds carry their lines' restock type, whether they
    were restocked and where.
    """
    sold: dict[int, int] = {}
    at_checkout: dict[int, int] = {}
    for agreement in order.agreements:
        for sale in agreement.sales:
            if sale.action == "ORDER" and sale.quantity > 0:
                sold[sale.line_id] = sold.get(sale.line_id, 0) + sale.quantity
                if agreement.reason == "ORDER":
                    at_checkout[sale.line_id] = at_checkout.get(sale.line_id, 0) + sale.quantity
    return {"id": order.id, "name": order.name, "updated_at": order.updated_at, "cancelled": bool(order.cancelled_at),
            "total": str(order.total), "paid": str(order.paid), "outstanding": str(order.outstanding),
            "customer_id": order.customer_id,
            "email": order.email, "note": order.note, "company_location_id": order.company_location_id,
            "shipping_address": order.shipping_address, "tags": order.tags, "attributes": order.attributes,
            "lines": [{"id": line.id, "variant_id": line.variant_id, "sku": line.sku, "quantity": line.quantity,
                       "current_quantity": line.current_quantity, "fulfilled": line.fulfilled,
                       "sold": sold.get(line.id, 0),
                       "at_checkout": at_checkout.get(line.id, 0), "price": str(line.price),
                       "location_id": line.location_id or order.location_id,
                       "properties": line.properties, "group": line.group["title"] if line.group else None}
                      for line in order.lines],
            "refunds": [{"id": r.id, "amount": str(r.amount),
                         "lines": [{"line_id": rl.line_id, "quantity": rl.quantity, "restock_type": rl.restock_type,
                                    "restocked": rl.restocked, "location_id": rl.location_id} for rl in r.lines]}
                        for r in order.refunds],
            "transactions": [{"id": t.id, "kind": t.kind, "status": t.status, "amount": str(t.amount)}
                             for t in order.transactions],
            "fulfillments": [{"id": f.id, "lines": dict(f.lines), "tracking_company": f.tracking_company,
                              "tracking_numbers": list(f.tracking_numbers), "notify_customer": f.notify_customer}
                             for f in order.fulfillments]}
