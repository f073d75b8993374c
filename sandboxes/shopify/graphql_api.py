"""Admin GraphQL over the sandbox store: Shopify's schema, the sandbox's data.

Every document is parsed and validated against Shopify's real 2026-10 schema
(``schema.py``) before it runs, then executed by graphql-core with resolvers
that read the store. Answers follow shopify.dev/docs/api/admin-graphql:
global ids (``gid://shopify/Order/1``), ``MoneyBag`` amounts as decimal
strings, ``userErrors`` on mutation payloads, errors with ``extensions.code``;
and the rules the schema's own descriptions state: ``inventoryAdjustQuantities``
and ``refundCreate`` require an ``@idempotent(key:)`` directive from 2026-04 (a
repeated key returns the first result and changes nothing). ``refundCreate``
refunds the money its ``transactions`` carry (none: a refund that only
restocks) and answers a refund line the order cannot take (a ``RETURN`` of a
unit never fulfilled, a ``CANCEL`` of one shipped, more units than are
refundable; see ``store.py``) with ``userErrors`` naming the input field, and
no refund. Only the fields editsync reads
resolve to data; others resolve to null, which Shopify's schema allows for
most of them.

Connections paginate as shopify.dev/docs/api/usage/pagination-graphql says:
``first``/``last`` choose a page of at most 250 nodes ("You can retrieve up
to a maximum of 250 resources"), ``after``/``before`` take a cursor from an
earlier page, and ``pageInfo { hasNextPage hasPreviousPage startCursor
endCursor }`` says whether more exist. Cursors are opaque (base64 JSON naming
the last node, like Shopify's own); a cursor that names no node of the
connection is refused rather than guessed at (the sandbox's wording: Shopify
does not document that error). ``Order.refunds`` and ``Order.transactions``
are plain lists, truncated to ``first``, as the schema types them.

Access follows shopify.dev/docs/api/usage/access-scopes and the object pages
of the Admin reference: each access token has its own scopes. A field the
token may not read answers ``null`` with an error shaped as Shopify's
changelog "New error messages for GraphQL operations without necessary
access scopes" (2020-07) documents: message ``Access denied for <field>
field. Required access: `<scope>` access scope.``, ``extensions.code``
``ACCESS_DENIED``, a documentation link, and the required access
(``extensions.requiredAccess``). Scopes enforced: ``read_orders`` for
``order``/``orders``/refund nodes, ``read_customers`` for ``Order.customer``,
``read_products`` for ``LineItem.variant``, ``write_inventory`` for
``inventoryAdjustQuantities``, ``write_orders`` for ``refundCreate``. Protected customer data
(shopify.dev/docs/apps/launch/protected-customer-data): without level 2
approval (name, address, phone, email) ``Order.email``, ``phone``,
``shippingAddress`` and ``billingAddress`` are denied the same way; the page
allows "errors or redacted data", and the sandbox takes the error, the
reading that cannot pass unnoticed. Fulfillment orders are the exception
Shopify documents on the FulfillmentOrder object: "An API client will only
receive a subset of the fulfillment orders ... if they don't have the
necessary access scopes", so without ``read_merchant_managed_fulfillment_orders``
they are left out silently, with no error.

Stricter readings where Shopify is silent: a fulfillment order keeps every
line assigned to it, at ``totalQuantity`` 0 once an edit removed it, so the
line's location stays readable; ``RefundLineItem.location`` is null for a
refund line that restocked nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLResolveInfo,
    execute,
    get_directive_values,
)

from sandboxes.shopify.schema import admin_schema
from sandboxes.shopify.store import Order, Shop, StoreError

MAX_PAGE_SIZE = 250
ACCESS_SCOPES_DOC = "https://shopify.dev/api/usage/access-scopes"
PROTECTED_DATA_DOC = "https://shopify.dev/docs/apps/launch/protected-customer-data"
#: What protected-customer-data approval is called here: it is granted in the Partner Dashboard, not as a scope.
PROTECTED_CUSTOMER_DATA = "protected_customer_data_level_2"
PROTECTED_ACCESS = "Level 2 access to Customer data including name, address, phone, and email fields."
FULFILLMENT_ORDER_SCOPE = "read_merchant_managed_fulfillment_orders"
ALL_SCOPES = frozenset({"read_orders", "write_orders", "read_customers", "read_products", "read_inventory",
                        "write_inventory",
                        FULFILLMENT_ORDER_SCOPE, PROTECTED_CUSTOMER_DATA})

#: (parent type, field) -> the scope a token needs to read it.
REQUIRED_SCOPE = {("QueryRoot", "order"): "read_orders", ("QueryRoot", "orders"): "read_orders",
                  ("Order", "customer"): "read_customers", ("LineItem", "variant"): "read_products",
                  ("Mutation", "inventoryAdjustQuantities"): "write_inventory",
                  ("Mutation", "refundCreate"): "write_orders"}
PROTECTED_FIELDS = frozenset({("Order", "email"), ("Order", "phone"), ("Order", "shippingAddress"),
                              ("Order", "billingAddress")})


def gid(kind: str, number: int | None) -> str | None:
    return None if number is None else f"gid://shopify/{kind}/{number}"


def parse_gid(value: str, kind: str) -> int:
    prefix = f"gid://shopify/{kind}/"
    if not value.startswith(prefix) or not value[len(prefix):].isdigit():
        raise GraphQLError(f"Invalid id: {value}", extensions={"code": "INVALID_ID"})
    return int(value[len(prefix):])


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def money(amount: Decimal, currency: str) -> dict[str, Any]:
    value = {"amount": str(amount.quantize(Decimal("0.01"))), "currencyCode": currency}
    return {"shopMoney": value, "presentmentMoney": value}


def access_denied(field_name: str, scope: str) -> GraphQLError:
    if scope == PROTECTED_CUSTOMER_DATA:
        required, documentation = PROTECTED_ACCESS, PROTECTED_DATA_DOC
    else:
        required, documentation = f"`{scope}` access scope.", ACCESS_SCOPES_DOC
    return GraphQLError(f"Access denied for {field_name} field. Required access: {required}",
                        extensions={"code": "ACCESS_DENIED", "documentation": documentation,
                                    "requiredAccess": required})


def _cursor(node: dict[str, Any], index: int) -> str:
    raw = json.dumps({"last_id": node["id"], "last_value": index}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _position(cursor: str, items: list[dict[str, Any]]) -> int:
    try:
        last_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))["last_id"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        last_id = None
    for index, node in enumerate(items):
        if node["id"] == last_id:
            return index
    raise GraphQLError(f"Invalid cursor: {cursor}", extensions={"code": "BAD_REQUEST"})


def connection(items: list[dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """A connection field over nodes that each carry an ``id``: one page per call, as its arguments choose."""

    def page(first: int | None = None, last: int | None = None, after: str | None = None,
             before: str | None = None, reverse: bool = False, **_: Any) -> dict[str, Any]:
        if first is None and last is None:
            raise GraphQLError("you must provide one of first or last", extensions={"code": "BAD_REQUEST"})
        size = first if first is not None else last
        assert size is not None
        if size < 0 or size > MAX_PAGE_SIZE:
            raise GraphQLError(f"The page size must be between 0 and {MAX_PAGE_SIZE}, {size} was given.",
                               extensions={"code": "BAD_REQUEST"})
        ordered = list(reversed(items)) if reverse else items
        start = _position(after, ordered) + 1 if after is not None else 0
        end = _position(before, ordered) if before is not None else len(ordered)
        window = ordered[start:max(start, end)]
        offset = start if first is not None else start + max(0, len(window) - size)
        chosen = window[:size] if first is not None else window[len(window) - min(size, len(window)):]
        cursors = [_cursor(node, offset + i) for i, node in enumerate(chosen)]
        return {"nodes": chosen, "edges": [{"node": n, "cursor": c} for n, c in zip(chosen, cursors)],
                "pageInfo": {"hasNextPage": offset + len(chosen) < len(ordered), "hasPreviousPage": offset > 0,
                             "startCursor": cursors[0] if cursors else None,
                             "endCursor": cursors[-1] if cursors else None}}

    return page


def order_view(shop: Shop, order: Order, scopes: frozenset[str]) -> dict[str, Any]:
    currency = order.currency
    lines = {line.id: line for line in order.lines}

    def line_view(line_id: int) -> dict[str, Any]:
        line = lines[line_id]
        variant = shop.variants.get(line.variant_id) if line.variant_id else None
        return {
            "__typename": "LineItem",
            "id": gid("LineItem", line.id), "sku": line.sku, "title": line.title, "name": line.title,
            "quantity": line.quantity, "currentQuantity": line.current_quantity,
            "unfulfilledQuantity": line.unfulfilled, "fulfillableQuantity": line.unfulfilled,
            "requiresShipping": line.requires_shipping,
            "originalUnitPriceSet": money(line.price, currency),
            "discountedUnitPriceAfterAllDiscountsSet": money(line.price, currency),
            "customAttributes": [{"key": k, "value": v} for k, v in line.properties],
            "variant": None if variant is None else {
                "id": gid("ProductVariant", variant.id), "sku": variant.sku,
                "inventoryItem": {"id": gid("InventoryItem", variant.inventory_item_id)}},
            "lineItemGroup": None if line.group is None else {
                "id": gid("LineItemGroup", line.group["id"]), "title": line.group["title"],
                "quantity": line.group["quantity"], "variantId": gid("ProductVariant", line.group["variant_id"]),
                "variantSku": line.group["variant_sku"]},
        }

    def fulfillment_order_view(location_id: int, fulfillment_order_id: int) -> dict[str, Any]:
        held = [line for line in order.lines if line.location_id == location_id]
        units = {line.id: 0 if order.cancelled_at else line.current_quantity for line in held}
        remaining = {line.id: 0 if order.cancelled_at else line.unfulfilled for line in held}
        location = {"id": gid("Location", location_id), "name": shop.locations[location_id]}
        return {"__typename": "FulfillmentOrder", "id": gid("FulfillmentOrder", fulfillment_order_id),
                "orderId": gid("Order", order.id), "status": "OPEN" if any(remaining.values()) else "CLOSED",
                "assignedLocation": {"location": location, "name": location["name"]},
                "lineItems": connection([
                    {"id": gid("FulfillmentOrderLineItem", line.id), "lineItem": line_view(line.id),
                     "totalQuantity": units[line.id], "remainingQuantity": remaining[line.id]} for line in held])}

    purchasing = None
    if order.company_location_id:
        purchasing = {"__typename": "PurchasingCompany", "company": {"id": gid("Company", order.company_id)},
                      "location": {"id": gid("CompanyLocation", order.company_location_id)}}
    elif order.customer_id:
        purchasing = {"__typename": "Customer", "id": gid("Customer", order.customer_id)}
    fulfillment_orders = [fulfillment_order_view(location_id, fo_id)
                          for location_id, fo_id in order.fulfillment_order_ids.items()]
    return {
        "__typename": "Order",
        "id": gid("Order", order.id), "legacyResourceId": str(order.id), "name": order.name,
        "createdAt": iso(order.created_at), "updatedAt": iso(order.updated_at),
        "cancelledAt": iso(order.cancelled_at), "cancelReason": order.cancel_reason,
        "currencyCode": currency, "email": order.email, "note": order.note, "tags": sorted(order.tags),
        "sourceName": order.source_name, "edited": any(a.reason == "ORDER_EDIT" for a in order.agreements),
        "customAttributes": [{"key": k, "value": v} for k, v in order.attributes],
        "customer": {"id": gid("Customer", order.customer_id)} if order.customer_id else None,
        "purchasingEntity": purchasing,
        "shippingAddress": None if order.shipping_address is None else {
            "name": order.shipping_address.get("name"), "company": order.shipping_address.get("company"),
            "address1": order.shipping_address.get("address1"), "address2": order.shipping_address.get("address2"),
            "city": order.shipping_address.get("city"), "provinceCode": order.shipping_address.get("province_code"),
            "zip": order.shipping_address.get("zip"), "countryCodeV2": order.shipping_address.get("country_code"),
            "phone": order.shipping_address.get("phone")},
        "currentTotalPriceSet": money(order.total, currency),
        "currentTotalTaxSet": money(Decimal(0), currency),
        "totalPriceSet": money(sum((line.price * line.quantity for line in order.lines), Decimal(0)), currency),
        "lineItems": connection([line_view(line.id) for line in order.lines]),
        "fulfillmentOrders": connection(fulfillment_orders if FULFILLMENT_ORDER_SCOPE in scopes else []),
        "transactions": lambda first=None, **_: [
            {"id": gid("OrderTransaction", t.id), "kind": t.kind, "status": t.status,
             "amountSet": money(t.amount, currency), "createdAt": iso(t.created_at)}
            for t in order.transactions][:first],
        "refunds": lambda first=None, **_: [
            {"__typename": "Refund", "id": gid("Refund", r.id), "createdAt": iso(r.created_at), "note": r.note,
             "totalRefundedSet": money(r.amount, currency),
             "refundLineItems": connection([
                 {"id": gid("RefundLineItem", r.id * 1000 + i), "lineItem": line_view(rl.line_id),
                  "quantity": rl.quantity, "restockType": rl.restock_type, "restocked": rl.restocked,
                  "location": None if rl.location_id is None else {"id": gid("Location", rl.location_id)},
                  "subtotalSet": money(rl.subtotal, currency)} for i, rl in enumerate(r.lines)])}
            for r in order.refunds][:first],
        "agreements": connection([
            {"__typename": "OrderAgreement" if a.reason == "ORDER" else
             "OrderEditAgreement" if a.reason == "ORDER_EDIT" else "RefundAgreement",
             "id": gid("SalesAgreement", a.id), "reason": a.reason, "happenedAt": iso(a.happened_at),
             "sales": connection([
                 {"__typename": "ProductSale", "id": gid("Sale", a.id * 1000 + i), "actionType": s.action,
                  "lineType": "PRODUCT", "quantity": s.quantity, "lineItem": line_view(s.line_id),
                  "totalAmount": money(s.amount, currency)} for i, s in enumerate(a.sales)])}
            for a in order.agreements]),
    }


class AdminGraphQL:
    """Runs Admin API documents against one sandbox shop."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop

    def execute(self, document: DocumentNode, variables: dict[str, Any] | None,
                operation_name: str | None = None, scopes: frozenset[str] = ALL_SCOPES) -> ExecutionResult:
        """Run a document already validated by ``schema.check_document``, for a token holding ``scopes``."""
        return execute(admin_schema(), document, root_value=self, context_value=scopes, variable_values=variables,
                       operation_name=operation_name, field_resolver=self._resolve, type_resolver=_type_of)

    # --- root fields ----------------------------------------------------------------------

    def order(self, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:  # noqa: A002 - Shopify's name
        found = self.shop.orders.get(parse_gid(id, "Order"))
        return None if found is None else order_view(self.shop, found, info.context)

    def node(self, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:  # noqa: A002 - Shopify's name
        """The nodes editsync pages through: refunds (``read_orders``) and fulfillment orders."""
        kind = id.removeprefix("gid://shopify/").split("/", 1)[0]
        if kind == "Refund":
            if "read_orders" not in info.context:
                raise access_denied("node", "read_orders")
            number = parse_gid(id, kind)
            for order in self.shop.orders.values():
                if any(refund.id == number for refund in order.refunds):
                    refunds = order_view(self.shop, order, info.context)["refunds"]()
                    return next(refund for refund in refunds if refund["id"] == id)
            return None
        if kind == "FulfillmentOrder":
            number = parse_gid(id, kind)
            for order in self.shop.orders.values():
                if number in order.fulfillment_order_ids.values():
                    page = order_view(self.shop, order, info.context)["fulfillmentOrders"](first=MAX_PAGE_SIZE)
                    return next((fo for fo in page["nodes"] if fo["id"] == id), None)
            return None
        raise GraphQLError(f"The sandbox does not resolve {kind} nodes.", extensions={"code": "NOT_IMPLEMENTED"})

    def orders(self, info: GraphQLResolveInfo, query: str | None = None, **arguments: Any) -> dict[str, Any]:
        chosen = list(self.shop.orders.values())
        if query:
            # The subset of Shopify's search syntax editsync uses: name:#1001 and id:123.
            for term in query.split():
                field_name, _, value = term.partition(":")
                if field_name == "name":
                    chosen = [o for o in chosen if o.name == (value if value.startswith("#") else f"#{value}")]
                elif field_name == "id":
                    chosen = [o for o in chosen if str(o.id) == value]
        return connection([order_view(self.shop, o, info.context) for o in chosen])(**arguments)

    def inventoryAdjustQuantities(self, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:  # noqa: N802,A002
        key = _idempotency_key(info)
        try:
            changes = [{"inventory_item_id": parse_gid(c["inventoryItemId"], "InventoryItem"),
                        "location_id": parse_gid(c["locationId"], "Location"), "delta": c["delta"],
                        "change_from": c.get("changeFromQuantity")} for c in input["changes"]]
        except GraphQLError as error:
            return {"inventoryAdjustmentGroup": None,
                    "userErrors": [{"field": ["input", "changes"], "message": error.message, "code": "INVALID"}]}
        if input["name"] != "available":
            return {"inventoryAdjustmentGroup": None, "userErrors": [
                {"field": ["input", "name"], "message": "The quantity name must be 'available'.",
                 "code": "INVALID_QUANTITY_NAME"}]}
        group, errors = self.shop.adjust_quantities(key, input["reason"], input.get("referenceDocumentUri"), changes)
        if group is None:
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        return {"userErrors": [], "inventoryAdjustmentGroup": {
            "id": gid("InventoryAdjustmentGroup", group["id"]), "createdAt": iso(group["created_at"]),
            "reason": group["reason"], "referenceDocumentUri": group["reference_document_uri"],
            "changes": [{"name": "available", "delta": c["delta"], "quantityAfterChange": c["quantity_after"],
                         "item": {"id": gid("InventoryItem", c["inventory_item_id"])},
                         "location": {"id": gid("Location", c["location_id"])}} for c in group["changes"]]}}

    def refundCreate(self, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:  # noqa: N802,A002
        key = _idempotency_key(info)
        if key not in self.shop.refund_keys:
            try:
                order_id = parse_gid(input["orderId"], "Order")
                items = [(parse_gid(item["lineItemId"], "LineItem"), item["quantity"],
                          item.get("restockType") or "NO_RESTOCK",
                          parse_gid(item["locationId"], "Location") if item.get("locationId") else None)
                         for item in input.get("refundLineItems") or []]
                amount = sum((Decimal(t["amount"]) for t in input.get("transactions") or [] if t["kind"] == "REFUND"),
                             Decimal("0.00"))
                refund = self.shop.create_refund(order_id, items, amount, input.get("note"))
            except StoreError as error:
                return {"refund": None, "order": None,
                        "userErrors": [{"field": ["input", *error.field] if error.field else None,
                                        "message": str(error)}]}
            except GraphQLError as error:
                return {"refund": None, "order": None, "userErrors": [{"field": ["input"], "message": error.message}]}
            self.shop.refund_keys[key] = (order_id, refund.id)
        order_id, refund_id = self.shop.refund_keys[key]
        view = order_view(self.shop, self.shop.orders[order_id], info.context)
        refund_view = next(r for r in view["refunds"]() if r["id"] == gid("Refund", refund_id))
        return {"refund": refund_view, "order": view, "userErrors": []}

    # --- resolution -----------------------------------------------------------------------

    def _resolve(self, source: Any, info: GraphQLResolveInfo, **arguments: Any) -> Any:
        name = info.field_name
        where = (info.parent_type.name, name)
        scope = PROTECTED_CUSTOMER_DATA if where in PROTECTED_FIELDS else REQUIRED_SCOPE.get(where)
        if scope is not None and scope not in info.context:
            raise access_denied(name, scope)
        if source is self:
            handler = getattr(self, name, None)
            if handler is None:
                raise GraphQLError(f"The sandbox does not implement {name}.", extensions={"code": "NOT_IMPLEMENTED"})
            try:
                with self.shop.lock:
                    return handler(info, **arguments)
            except StoreError as error:
                raise GraphQLError(str(error)) from error
        value = source.get(name) if isinstance(source, dict) else None
        return value(**arguments) if callable(value) else value


def _type_of(value: Any, info: GraphQLResolveInfo, abstract: Any) -> str | None:
    return value.get("__typename") if isinstance(value, dict) else None


def _idempotency_key(info: GraphQLResolveInfo) -> str:
    node: FieldNode = info.field_nodes[0]
    values = get_directive_values(admin_schema().get_directive("idempotent"), node, info.variable_values)
    key = (values or {}).get("key", "")
    if not key.strip():
        raise GraphQLError("The @idempotent directive is required for this mutation.",
                           extensions={"code": "BAD_REQUEST"})
    return key
