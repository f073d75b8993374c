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

``orders(query:, sortKey:, reverse:)`` follows the schema's own argument
descriptions (``QueryRoot.orders``) and shopify.dev/docs/api/usage/search-syntax:
a query is terms joined by whitespace (AND implied, or an explicit ``AND``);
a term is ``field:value`` or ``field:<comparator>value`` with comparators
``<``, ``<=``, ``>``, ``>=``; "Date values must be a string surrounded by
quotes" (single or double). Fields answered: ``name``, ``id``, and the times
``updated_at`` and ``created_at`` (ISO 8601, e.g. ``updated_at:>'2020-10-21T23:39:20Z'``).
Sort keys answered: ``PROCESSED_AT`` (the default; the sandbox processes an
order when it is created), ``CREATED_AT``, ``UPDATED_AT``, ``ID``; ties by
id. Stricter readings, since Shopify answers a search it cannot use with
warnings and whatever it could match (an unquoted time was seen matching the
whole day, community.shopify.com/t/searchapi-query-by-updated-at-not-working/106221):
the sandbox refuses an unknown field, an unquoted or unreadable time, ``OR``,
``NOT`` and any other sort key with an error naming it, so a client's
malformed search fails here instead of quietly returning too much. Cursors of
a sorted orders list name the last node's sort value and id, the
``{"last_id", "last_value"}`` form Shopify's cursors take, and the next page
starts after that value: an order updated while a client pages by
``UPDATED_AT`` moves to a later page and is never skipped.

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
``inventoryAdjustQuantities``, ``write_orders`` for ``refundCreate``, and for ``tagsAdd``/``tagsRemove`` on
an order (shopify.dev/docs/api/admin-graphql/latest/mutations/tagsAdd: "Requires ... `write_orders`" for
orders). Protected customer data
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
import re
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
FULFILL_SCOPE = "write_merchant_managed_fulfillment_orders"
ALL_SCOPES = frozenset({"read_orders", "write_orders", "read_customers", "read_products", "read_inventory",
                        "write_inventory",
                        FULFILLMENT_ORDER_SCOPE, FULFILL_SCOPE, PROTECTED_CUSTOMER_DATA})

#: (parent type, field) -> the scope a token needs to read it.
REQUIRED_SCOPE = {("QueryRoot", "order"): "read_orders", ("QueryRoot", "orders"): "read_orders",
                  ("Order", "customer"): "read_customers", ("LineItem", "variant"): "read_products",
                  ("Mutation", "inventoryAdjustQuantities"): "write_inventory",
                  ("Mutation", "refundCreate"): "write_orders",
                  # on an Order; other taggable resources need their own write scope, the sandbox tags orders only
                  ("Mutation", "tagsAdd"): "write_orders", ("Mutation", "tagsRemove"): "write_orders",
                  # the sandbox's locations are the merchant's own: merchant-managed fulfillment orders
                  ("Mutation", "fulfillmentCreate"): FULFILL_SCOPE, ("Mutation", "fulfillmentOrderHold"): FULFILL_SCOPE,
                  ("Mutation", "fulfillmentOrderReleaseHold"): FULFILL_SCOPE,
                  ("Mutation", "fulfillmentOrderReportProgress"): FULFILL_SCOPE,
                  ("Mutation", "fulfillmentOrderOpen"): FULFILL_SCOPE}
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


def _cursor(node: dict[str, Any], value: Any) -> str:
    raw = json.dumps({"last_id": node["id"], "last_value": value}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _read_cursor(cursor: str) -> tuple[Any, Any]:
    try:
        named = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return named["last_id"], named["last_value"]
    except (ValueError, KeyError, TypeError, binascii.Error) as error:
        raise GraphQLError(f"Invalid cursor: {cursor}", extensions={"code": "BAD_REQUEST"}) from error


def _position(cursor: str, items: list[dict[str, Any]]) -> int:
    last_id, _ = _read_cursor(cursor)
    for index, node in enumerate(items):
        if node["id"] == last_id:
            return index
    raise GraphQLError(f"Invalid cursor: {cursor}", extensions={"code": "BAD_REQUEST"})


def _passed(cursor: str, keys: list[tuple[int, str]], descending: bool, inclusive: bool = True) -> int:
    """How many of the sorted ``keys`` come before the key a cursor names (or at it, ``inclusive``)."""
    last_id, last_value = _read_cursor(cursor)
    if not isinstance(last_value, int) or not isinstance(last_id, str):
        raise GraphQLError(f"Invalid cursor: {cursor}", extensions={"code": "BAD_REQUEST"})
    named = (last_value, last_id)
    if inclusive:
        return sum(1 for key in keys if (key >= named if descending else key <= named))
    return sum(1 for key in keys if (key > named if descending else key < named))


def connection(items: list[dict[str, Any]], sort_values: list[int] | None = None) -> Callable[..., dict[str, Any]]:
    """A connection field over nodes that each carry an ``id``: one page per call, as its arguments choose.

    With ``sort_values`` (one per node, already sorted by value then id) cursors name the value, and a page
    starts after it, wherever that node has moved since.
    """

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
        if sort_values is None:
            values: list[Any] = list(range(len(ordered)))
            start = _position(after, ordered) + 1 if after is not None else 0
            end = _position(before, ordered) if before is not None else len(ordered)
        else:
            keys = [(value, node["id"]) for value, node in zip(sort_values, items, strict=True)]
            keys = list(reversed(keys)) if reverse else keys
            values = [value for value, _ in keys]
            start = _passed(after, keys, reverse) if after is not None else 0
            end = _passed(before, keys, reverse, inclusive=False) if before is not None else len(ordered)
        window = ordered[start:max(start, end)]
        offset = start if first is not None else start + max(0, len(window) - size)
        chosen = window[:size] if first is not None else window[len(window) - min(size, len(window)):]
        cursors = [_cursor(node, values[offset + i]) for i, node in enumerate(chosen)]
        return {"nodes": chosen, "edges": [{"node": n, "cursor": c} for n, c in zip(chosen, cursors, strict=True)],
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
        held = order.fulfillment_order_lines(fulfillment_order_id)
        units = {line.id: 0 if order.cancelled_at else line.current_quantity for line in held}
        remaining = {line.id: 0 if order.cancelled_at else line.unfulfilled for line in held}
        location = {"id": gid("Location", location_id), "name": shop.locations[location_id]}
        return {"__typename": "FulfillmentOrder", "id": gid("FulfillmentOrder", fulfillment_order_id),
                "orderId": gid("Order", order.id), "status": order.fulfillment_order_status(fulfillment_order_id),
                "supportedActions": [{"action": action} for action in order.supported_actions(fulfillment_order_id)],
                "fulfillmentHolds": [{"id": gid("FulfillmentHold", h.id), "handle": h.handle, "reason": h.reason,
                                      "reasonNotes": h.reason_notes}
                                     for h in order.holds.get(fulfillment_order_id, [])],
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
        "sourceName": order.source_name,
        "shippingLine": {"title": order.shipping_method[0], "code": order.shipping_method[1]},
        "edited": any(a.reason == "ORDER_EDIT" for a in order.agreements),
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
        "totalOutstandingSet": money(order.outstanding, currency),
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

    def order(self, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
        found = self.shop.orders.get(parse_gid(id, "Order"))
        return None if found is None else order_view(self.shop, found, info.context)

    def node(self, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
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

    def orders(self, info: GraphQLResolveInfo, query: str | None = None, sortKey: str = "PROCESSED_AT",
               **arguments: Any) -> dict[str, Any]:
        if sortKey not in ORDER_SORT_KEYS:
            raise GraphQLError(f"The sandbox does not sort orders by {sortKey}.",
                               extensions={"code": "NOT_IMPLEMENTED"})
        matches = search_terms(query or "")
        chosen = sorted((o for o in self.shop.orders.values() if all(match(o) for match in matches)),
                        key=lambda o: (ORDER_SORT_KEYS[sortKey](o), gid("Order", o.id)))
        return connection([order_view(self.shop, o, info.context) for o in chosen],
                          [ORDER_SORT_KEYS[sortKey](o) for o in chosen])(**arguments)

    def inventoryAdjustQuantities(self, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
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

    def refundCreate(self, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
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

    def tagsAdd(self, info: GraphQLResolveInfo, id: str, tags: list[str]) -> dict[str, Any]:
        return self._tags(info, id, tags, self.shop.add_tags)

    def tagsRemove(self, info: GraphQLResolveInfo, id: str, tags: list[str]) -> dict[str, Any]:
        return self._tags(info, id, tags, self.shop.remove_tags)

    def _tags(self, info: GraphQLResolveInfo, id: str, tags: list[str],
              change: Callable[[int, list[str]], Order]) -> dict[str, Any]:
        """``TagsAddPayload``/``TagsRemovePayload``: the tagged ``node``, or ``userErrors`` on ``id`` or ``tags``."""
        try:
            order = change(parse_gid(id, "Order"), tags)
        except GraphQLError:
            return {"node": None, "userErrors": [{"field": ["id"], "message": "Resource not found"}]}
        except StoreError as error:
            field_name = "tags" if error.field == ("tags",) else "id"
            message = str(error) if field_name == "tags" else "Resource not found"
            return {"node": None, "userErrors": [{"field": [field_name], "message": message}]}
        return {"node": order_view(self.shop, order, info.context), "userErrors": []}

    def fulfillmentCreate(self, info: GraphQLResolveInfo, fulfillment: dict[str, Any],
                          message: str | None = None) -> dict[str, Any]:
        """``FulfillmentCreatePayload``: the ``fulfillment``, or ``userErrors`` naming the input that was refused."""
        try:
            chosen = [(parse_gid(group["fulfillmentOrderId"], "FulfillmentOrder"),
                       None if group.get("fulfillmentOrderLineItems") is None else
                       [(parse_gid(item["id"], "FulfillmentOrderLineItem"), item["quantity"])
                        for item in group["fulfillmentOrderLineItems"]])
                      for group in fulfillment["lineItemsByFulfillmentOrder"]]
            tracking = fulfillment.get("trackingInfo") or {}
            numbers = tuple(tracking.get("numbers") or ([tracking["number"]] if tracking.get("number") else []))
            made = self.shop.fulfill_fulfillment_orders(chosen, tracking.get("company"), numbers,
                                                        bool(fulfillment.get("notifyCustomer")))
        except GraphQLError as error:
            return {"fulfillment": None, "userErrors": [{"field": ["fulfillment"], "message": error.message}]}
        except StoreError as error:
            return {"fulfillment": None, "userErrors": [{"field": list(error.field) or None, "message": str(error)}]}
        return {"userErrors": [], "fulfillment": {
            "__typename": "Fulfillment", "id": gid("Fulfillment", made.id), "status": "SUCCESS",
            "createdAt": iso(made.created_at),
            "trackingInfo": [{"company": made.tracking_company, "number": number} for number in made.tracking_numbers]}}

    def fulfillmentOrderHold(self, info: GraphQLResolveInfo, id: str,
                             fulfillmentHold: dict[str, Any]) -> dict[str, Any]:
        def hold(number: int) -> dict[str, Any]:
            made = self.shop.hold_fulfillment_order(number, fulfillmentHold.get("handle") or "",
                                                    fulfillmentHold["reason"], fulfillmentHold.get("reasonNotes"))
            return {"fulfillmentHold": {"id": gid("FulfillmentHold", made.id), "handle": made.handle,
                                        "reason": made.reason, "reasonNotes": made.reason_notes,
                                        "displayReason": made.reason.replace("_", " ").capitalize(),
                                        "heldByRequestingApp": True}, "remainingFulfillmentOrder": None}
        return self._on_fulfillment_order(info, id, hold)

    def fulfillmentOrderReleaseHold(self, info: GraphQLResolveInfo, id: str, holdIds: list[str] | None = None,
                                    externalId: str | None = None) -> dict[str, Any]:
        def release(number: int) -> dict[str, Any]:
            self.shop.release_fulfillment_order_hold(
                number, [parse_gid(hold, "FulfillmentHold") for hold in holdIds] if holdIds else None)
            return {}
        return self._on_fulfillment_order(info, id, release)

    def fulfillmentOrderReportProgress(self, info: GraphQLResolveInfo, id: str,
                                       progressReport: dict[str, Any] | None = None) -> dict[str, Any]:
        def report(number: int) -> dict[str, Any]:
            self.shop.report_progress(number, (progressReport or {}).get("reasonNotes"))
            return {}
        return self._on_fulfillment_order(info, id, report)

    def fulfillmentOrderOpen(self, info: GraphQLResolveInfo, id: str) -> dict[str, Any]:
        def reopen(number: int) -> dict[str, Any]:
            self.shop.open_fulfillment_order(number)
            return {}
        return self._on_fulfillment_order(info, id, reopen)

    def _on_fulfillment_order(self, info: GraphQLResolveInfo, id: str,
                              change: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
        """A fulfillment order mutation's payload: the ``fulfillmentOrder`` as it now is, or ``userErrors``."""
        try:
            number = parse_gid(id, "FulfillmentOrder")
            payload = change(number)
        except GraphQLError as error:
            return {"fulfillmentOrder": None, "userErrors": [{"field": ["id"], "message": error.message}]}
        except StoreError as error:
            return {"fulfillmentOrder": None, "userErrors": [
                {"field": list(error.field) or None, "message": str(error), "code": error.code}]}
        return {**payload, "fulfillmentOrder": self.node(info, id), "userErrors": []}

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


ORDER_SORT_KEYS: dict[str, Callable[[Order], int]] = {
    "PROCESSED_AT": lambda o: o.created_at, "CREATED_AT": lambda o: o.created_at,
    "UPDATED_AT": lambda o: o.updated_at, "ID": lambda o: o.id}
_TERM = re.compile(r"""\s*(?:(?P<connective>AND|OR|NOT)\s|(?P<field>[a-z_]+):(?P<comparator><=|>=|<|>)?"""
                   r"""(?P<value>'[^']*'|"[^"]*"|[^\s'"]+))\s*""")
_COMPARE: dict[str, Callable[[int, int], bool]] = {
    "": lambda a, b: a == b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b}
_TIMES: dict[str, Callable[[Order], int]] = {"updated_at": lambda o: o.updated_at, "created_at": lambda o: o.created_at}


def search_terms(query: str) -> list[Callable[[Order], bool]]:
    """The filters a search query names, each one an order must pass (see the module's docstring)."""
    matches: list[Callable[[Order], bool]] = []
    position = 0
    while position < len(query):
        term = _TERM.match(query, position)
        if term is None or term.end() == position:
            raise _bad_search(query, f"cannot read the search from {query[position:]!r}")
        position = term.end()
        if term["connective"] == "AND":
            continue
        if term["connective"]:
            raise _bad_search(query, f"the sandbox answers AND only, not {term['connective']}")
        matches.append(_term(query, term["field"], term["comparator"] or "", term["value"]))
    return matches


def _term(query: str, field_name: str, comparator: str, value: str) -> Callable[[Order], bool]:
    quoted = value[:1] in "'\"" and len(value) >= 2
    text = value[1:-1] if quoted else value
    if field_name in _TIMES:
        if not quoted:
            raise _bad_search(query, f"{field_name}: date values must be a string surrounded by quotes")
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise _bad_search(query, f"{field_name}: {text!r} is not an ISO 8601 time") from None
        if moment.tzinfo is None:
            raise _bad_search(query, f"{field_name}: {text!r} names no time zone")
        at, when = int(moment.timestamp() * 1000), _TIMES[field_name]
        return lambda o: _COMPARE[comparator](when(o), at)
    if comparator:
        raise _bad_search(query, f"{field_name} takes no comparator")
    if field_name == "name":
        wanted = text if text.startswith("#") else f"#{text}"
        return lambda o: o.name == wanted
    if field_name == "id":
        return lambda o: str(o.id) == text
    raise _bad_search(query, f"the sandbox does not search orders by {field_name}")


def _bad_search(query: str, reason: str) -> GraphQLError:
    return GraphQLError(f"Invalid search query {query!r}: {reason}.", extensions={"code": "BAD_REQUEST"})


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
